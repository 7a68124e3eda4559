//===- GGUF.h - GGUF files ---------------------------------------*- C++
//-*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the GGUF reader: the parsed header (typed metadata and
// tensor infos, every size checked against the file before use) and the
// loader that turns a llama-architecture GGUF into a LoadedModel.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_GGUF_GGUF_H
#define LLAMAC_FRONTEND_GGUF_GGUF_H

#include "frontend/common/Model.h"

#include "llvm/ADT/StringMap.h"

#include <cstdint>
#include <string>
#include <vector>

namespace llamac {

/// GGUF metadata value types, as stored in the file.
enum class GGUFType : uint32_t {
  UInt8 = 0,
  Int8 = 1,
  UInt16 = 2,
  Int16 = 3,
  UInt32 = 4,
  Int32 = 5,
  Float32 = 6,
  Bool = 7,
  String = 8,
  Array = 9,
  UInt64 = 10,
  Int64 = 11,
  Float64 = 12,
};

/// One metadata value. Scalars keep every integer as int64/uint64 and every
/// float as double; arrays keep their element type and a vector of the
/// matching kind.
struct GGUFValue {
  GGUFType type = GGUFType::UInt8;
  GGUFType elementType = GGUFType::UInt8; // arrays
  int64_t integer = 0;                    // all integer types and bool
  double number = 0;                      // Float32, Float64
  std::string string;
  std::vector<int64_t> integers; // integer and bool arrays
  std::vector<double> numbers;   // float arrays
  std::vector<std::string> strings;
  uint64_t arrayLength = 0;

  bool isInteger() const;
  bool isNumber() const {
    return isInteger() || type == GGUFType::Float32 ||
           type == GGUFType::Float64;
  }
  double asDouble() const { return isInteger() ? double(integer) : number; }
};

struct GGUFTensorInfo {
  std::string name;
  /// GGML's ne[]: innermost dimension first.
  std::vector<uint64_t> ne;
  uint32_t ggmlType = 0;
  uint64_t offset = 0; // from the start of the data section
  uint64_t bytes = 0;
};

struct GGUFFile {
  std::string path;
  uint32_t version = 0;
  uint64_t alignment = 32;
  uint64_t dataOffset = 0; // from the start of the file
  llvm::StringMap<GGUFValue> metadata;
  std::vector<std::string> metadataOrder;
  std::vector<GGUFTensorInfo> tensors;

  const GGUFValue *find(llvm::StringRef key) const;
};

/// Parses the header of the GGUF file held in `data` (named `path` in
/// messages). Every length, count, offset and size is checked against the
/// file before it is used; nothing is allocated beyond what the file holds.
llvm::Expected<GGUFFile> parseGGUF(llvm::StringRef data, llvm::StringRef path);

/// The name GGML gives a tensor type ("q4_K", "f16"), or "type N".
std::string ggmlTypeName(uint32_t type);

/// Reads a llama-architecture GGUF file into a LoadedModel. When not
/// `strict`, a file whose metadata is not a usable llama config still loads
/// (its tensors and metadata, for `inspect`), with the problem recorded.
llvm::Expected<std::unique_ptr<LoadedModel>> loadGGUF(llvm::StringRef path,
                                                      bool strict = true);

} // namespace llamac

#endif // LLAMAC_FRONTEND_GGUF_GGUF_H
