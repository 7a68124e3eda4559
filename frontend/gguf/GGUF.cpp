//===- GGUF.cpp - GGUF files ----------------------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file reads GGUF (versions 2 and 3): "GGUF", a version, the tensor and
// metadata counts, typed key/value metadata (scalars, strings, arrays of
// either), tensor infos (name, dimensions innermost first, GGML type, offset)
// and, after padding to `general.alignment`, the tensor data. A cursor reads
// the header with every access checked against the end of the file, so a
// corrupt length or count becomes an error, never a large allocation.
//
// `loadGGUF` maps the `llama.*` keys onto a ModelConfig. GGUF files written by
// llama.cpp's converter store the query and key projections with their rows
// permuted so that rotating adjacent pairs (2i, 2i+1) equals Hugging Face's
// rotate-half convention on the original rows; the model is therefore built
// with interleaved rotary pairs.
//
//===----------------------------------------------------------------------===//

#include "frontend/gguf/GGUF.h"
#include "frontend/tokenizer/TokenizerImport.h"

#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>
#include <cstring>

using namespace llamac;
using llvm::createStringError;
using llvm::formatv;
using llvm::StringRef;

namespace {

constexpr uint32_t kMaxDims = 4;

/// A bounds-checked little-endian reader over the file.
class Cursor {
public:
  Cursor(StringRef data, StringRef path) : data_(data), path_(path) {}

  uint64_t position() const { return pos_; }
  uint64_t remaining() const { return data_.size() - pos_; }

  llvm::Error need(uint64_t bytes, StringRef what) {
    if (bytes > remaining())
      return createStringError(
          "%s: truncated: %s needs %llu bytes at offset %llu but the file "
          "has %llu",
          path_.str().c_str(), what.str().c_str(),
          static_cast<unsigned long long>(bytes),
          static_cast<unsigned long long>(pos_),
          static_cast<unsigned long long>(data_.size()));
    return llvm::Error::success();
  }

  template <typename T> llvm::Expected<T> read(StringRef what) {
    if (llvm::Error e = need(sizeof(T), what))
      return std::move(e);
    T value = llvm::support::endian::read<T, llvm::endianness::little>(
        data_.data() + pos_);
    pos_ += sizeof(T);
    return value;
  }

  llvm::Expected<std::string> readString(StringRef what) {
    llvm::Expected<uint64_t> length = read<uint64_t>(what);
    if (!length)
      return length.takeError();
    if (*length > remaining())
      return createStringError(
          "%s: %s has length %llu at offset %llu, beyond the end of the file",
          path_.str().c_str(), what.str().c_str(),
          static_cast<unsigned long long>(*length),
          static_cast<unsigned long long>(pos_ - 8));
    std::string s(data_.data() + pos_, *length);
    pos_ += *length;
    return s;
  }

  StringRef path() const { return path_; }

private:
  StringRef data_;
  StringRef path_;
  uint64_t pos_ = 0;
};

/// Bytes of one element of a scalar type (0 for strings and arrays).
uint64_t scalarBytes(GGUFType type) {
  switch (type) {
  case GGUFType::UInt8:
  case GGUFType::Int8:
  case GGUFType::Bool:
    return 1;
  case GGUFType::UInt16:
  case GGUFType::Int16:
    return 2;
  case GGUFType::UInt32:
  case GGUFType::Int32:
  case GGUFType::Float32:
    return 4;
  case GGUFType::UInt64:
  case GGUFType::Int64:
  case GGUFType::Float64:
    return 8;
  case GGUFType::String:
  case GGUFType::Array:
    return 0;
  }
  return 0;
}

bool validType(uint32_t type) { return type <= 12; }

/// Reads one scalar of `type` into `out` (integers and floats only).
llvm::Error readScalar(Cursor &c, GGUFType type, StringRef key,
                       int64_t *integer, double *number) {
  auto take = [&](auto value) -> llvm::Error {
    if (!value)
      return value.takeError();
    using T = std::decay_t<decltype(*value)>;
    if constexpr (std::is_floating_point_v<T>)
      *number = *value;
    else
      *integer = static_cast<int64_t>(*value);
    return llvm::Error::success();
  };
  std::string what = ("value of '" + key + "'").str();
  switch (type) {
  case GGUFType::UInt8:
  case GGUFType::Bool:
    return take(c.read<uint8_t>(what));
  case GGUFType::Int8:
    return take(c.read<int8_t>(what));
  case GGUFType::UInt16:
    return take(c.read<uint16_t>(what));
  case GGUFType::Int16:
    return take(c.read<int16_t>(what));
  case GGUFType::UInt32:
    return take(c.read<uint32_t>(what));
  case GGUFType::Int32:
    return take(c.read<int32_t>(what));
  case GGUFType::UInt64:
    return take(c.read<uint64_t>(what));
  case GGUFType::Int64:
    return take(c.read<int64_t>(what));
  case GGUFType::Float32: {
    llvm::Expected<uint32_t> bits = c.read<uint32_t>(what);
    if (!bits)
      return bits.takeError();
    float f;
    std::memcpy(&f, &*bits, 4);
    *number = f;
    return llvm::Error::success();
  }
  case GGUFType::Float64: {
    llvm::Expected<uint64_t> bits = c.read<uint64_t>(what);
    if (!bits)
      return bits.takeError();
    std::memcpy(number, &*bits, 8);
    return llvm::Error::success();
  }
  case GGUFType::String:
  case GGUFType::Array:
    break;
  }
  llvm_unreachable("not a scalar type");
}

llvm::Error readValue(Cursor &c, GGUFType type, StringRef key, GGUFValue &out) {
  out.type = type;
  if (type == GGUFType::String) {
    llvm::Expected<std::string> s =
        c.readString(("string value of '" + key + "'").str());
    if (!s)
      return s.takeError();
    out.string = std::move(*s);
    return llvm::Error::success();
  }
  if (type != GGUFType::Array)
    return readScalar(c, type, key, &out.integer, &out.number);

  llvm::Expected<uint32_t> elementType =
      c.read<uint32_t>(("array type of '" + key + "'").str());
  llvm::Expected<uint64_t> count =
      c.read<uint64_t>(("array length of '" + key + "'").str());
  if (!elementType)
    return elementType.takeError();
  if (!count)
    return count.takeError();
  if (!validType(*elementType) ||
      static_cast<GGUFType>(*elementType) == GGUFType::Array)
    return createStringError("%s: array '%s' has invalid element type %u",
                             c.path().str().c_str(), key.str().c_str(),
                             *elementType);
  out.elementType = static_cast<GGUFType>(*elementType);
  out.arrayLength = *count;
  // Every element takes at least one byte (strings: 8 for the length), so a
  // count beyond the remaining bytes is corrupt; check before reserving.
  uint64_t minimum =
      out.elementType == GGUFType::String ? 8 : scalarBytes(out.elementType);
  if (*count > c.remaining() / minimum)
    return createStringError(
        "%s: array '%s' claims %llu elements, more than the file can hold",
        c.path().str().c_str(), key.str().c_str(),
        static_cast<unsigned long long>(*count));
  if (out.elementType == GGUFType::String) {
    out.strings.reserve(*count);
    for (uint64_t i = 0; i < *count; ++i) {
      llvm::Expected<std::string> s =
          c.readString(formatv("element {0} of '{1}'", i, key).str());
      if (!s)
        return s.takeError();
      out.strings.push_back(std::move(*s));
    }
    return llvm::Error::success();
  }
  bool floating = out.elementType == GGUFType::Float32 ||
                  out.elementType == GGUFType::Float64;
  if (floating)
    out.numbers.reserve(*count);
  else
    out.integers.reserve(*count);
  for (uint64_t i = 0; i < *count; ++i) {
    int64_t integer = 0;
    double number = 0;
    if (llvm::Error e = readScalar(c, out.elementType, key, &integer, &number))
      return e;
    if (floating)
      out.numbers.push_back(number);
    else
      out.integers.push_back(integer);
  }
  return llvm::Error::success();
}

/// GGML block size and bytes per block of the types llamac knows the size
/// of (for bounds checks); {0, 0} for unknown types.
std::pair<uint64_t, uint64_t> ggmlBlock(uint32_t type) {
  switch (type) {
  case 0: // F32
    return {1, 4};
  case 1:  // F16
  case 30: // BF16
    return {1, 2};
  case 2: // Q4_0
    return {32, 18};
  case 3: // Q4_1
    return {32, 20};
  case 6: // Q5_0
    return {32, 22};
  case 7: // Q5_1
    return {32, 24};
  case 8: // Q8_0
    return {32, 34};
  case 9: // Q8_1
    return {32, 36};
  case 10: // Q2_K
    return {256, 84};
  case 11: // Q3_K
    return {256, 110};
  case 12: // Q4_K
    return {256, 144};
  case 13: // Q5_K
    return {256, 176};
  case 14: // Q6_K
    return {256, 210};
  case 15: // Q8_K
    return {256, 292};
  case 24: // I8
    return {1, 1};
  case 25: // I16
    return {1, 2};
  case 26: // I32
    return {1, 4};
  case 27: // I64
  case 28: // F64
    return {1, 8};
  default:
    return {0, 0};
  }
}

const char *typeName(GGUFType type) {
  switch (type) {
  case GGUFType::UInt8:
    return "u8";
  case GGUFType::Int8:
    return "i8";
  case GGUFType::UInt16:
    return "u16";
  case GGUFType::Int16:
    return "i16";
  case GGUFType::UInt32:
    return "u32";
  case GGUFType::Int32:
    return "i32";
  case GGUFType::Float32:
    return "f32";
  case GGUFType::Bool:
    return "bool";
  case GGUFType::String:
    return "string";
  case GGUFType::Array:
    return "array";
  case GGUFType::UInt64:
    return "u64";
  case GGUFType::Int64:
    return "i64";
  case GGUFType::Float64:
    return "f64";
  }
  return "?";
}

/// The value as JSON.
std::string toJSON(const GGUFValue &value) {
  std::string out;
  llvm::raw_string_ostream os(out);
  llvm::json::OStream json(os);
  auto scalar = [&](GGUFType type, int64_t integer, double number) {
    if (type == GGUFType::Bool)
      json.value(integer != 0);
    else if (type == GGUFType::Float32 || type == GGUFType::Float64)
      json.value(number);
    else if (type == GGUFType::UInt64)
      json.value(static_cast<uint64_t>(integer));
    else
      json.value(integer);
  };
  auto text = [&](const std::string &s) {
    // JSON strings must be UTF-8; show invalid bytes as escapes.
    if (llvm::json::isUTF8(s))
      json.value(s);
    else
      json.value(llvm::json::fixUTF8(s));
  };
  if (value.type == GGUFType::String) {
    text(value.string);
  } else if (value.type == GGUFType::Array) {
    json.arrayBegin();
    if (value.elementType == GGUFType::String)
      for (const std::string &s : value.strings)
        text(s);
    else if (value.elementType == GGUFType::Float32 ||
             value.elementType == GGUFType::Float64)
      for (double d : value.numbers)
        scalar(value.elementType, 0, d);
    else
      for (int64_t i : value.integers)
        scalar(value.elementType, i, 0);
    json.arrayEnd();
  } else {
    scalar(value.type, value.integer, value.number);
  }
  return out;
}

} // namespace

bool GGUFValue::isInteger() const {
  switch (type) {
  case GGUFType::UInt8:
  case GGUFType::Int8:
  case GGUFType::UInt16:
  case GGUFType::Int16:
  case GGUFType::UInt32:
  case GGUFType::Int32:
  case GGUFType::UInt64:
  case GGUFType::Int64:
  case GGUFType::Bool:
    return true;
  default:
    return false;
  }
}

const GGUFValue *GGUFFile::find(StringRef key) const {
  auto it = metadata.find(key);
  return it == metadata.end() ? nullptr : &it->second;
}

std::string llamac::ggmlTypeName(uint32_t type) {
  static const char *names[] = {
      "f32",   "f16",   "q4_0",    "q4_1",   "q4_2",    "q4_3",  "q5_0",
      "q5_1",  "q8_0",  "q8_1",    "q2_K",   "q3_K",    "q4_K",  "q5_K",
      "q6_K",  "q8_K",  "iq2_xxs", "iq2_xs", "iq3_xxs", "iq1_s", "iq4_nl",
      "iq3_s", "iq2_s", "iq4_xs",  "i8",     "i16",     "i32",   "i64",
      "f64",   "iq1_m", "bf16"};
  if (type < sizeof(names) / sizeof(names[0]))
    return names[type];
  return formatv("type {0}", type).str();
}

llvm::Expected<GGUFFile> llamac::parseGGUF(StringRef data, StringRef path) {
  GGUFFile file;
  file.path = path.str();
  Cursor c(data, path);
  llvm::Expected<uint32_t> magic = c.read<uint32_t>("the magic number");
  if (!magic)
    return magic.takeError();
  if (*magic != 0x46554747) // "GGUF"
    return createStringError("%s: not a GGUF file (bad magic)",
                             path.str().c_str());
  llvm::Expected<uint32_t> version = c.read<uint32_t>("the version");
  if (!version)
    return version.takeError();
  if (*version != 2 && *version != 3)
    return createStringError("%s: GGUF version %u is not supported (llamac "
                             "reads versions 2 and 3)",
                             path.str().c_str(), *version);
  file.version = *version;
  llvm::Expected<uint64_t> tensorCount = c.read<uint64_t>("the tensor count");
  llvm::Expected<uint64_t> kvCount = c.read<uint64_t>("the metadata count");
  if (!tensorCount)
    return tensorCount.takeError();
  if (!kvCount)
    return kvCount.takeError();
  // Every entry takes at least a byte: larger counts are corrupt. (Nothing
  // is reserved by count; the entries' own reads are bounds-checked.)
  if (*kvCount > c.remaining() || *tensorCount > c.remaining())
    return createStringError("%s: header counts (%llu tensors, %llu metadata "
                             "entries) exceed what the file can hold",
                             path.str().c_str(),
                             static_cast<unsigned long long>(*tensorCount),
                             static_cast<unsigned long long>(*kvCount));

  for (uint64_t i = 0; i < *kvCount; ++i) {
    llvm::Expected<std::string> key =
        c.readString(formatv("the key of metadata entry {0}", i).str());
    if (!key)
      return key.takeError();
    llvm::Expected<uint32_t> type =
        c.read<uint32_t>(("the type of '" + *key + "'"));
    if (!type)
      return type.takeError();
    if (!validType(*type))
      return createStringError("%s: metadata '%s' has invalid type %u",
                               path.str().c_str(), key->c_str(), *type);
    GGUFValue value;
    if (llvm::Error e = readValue(c, static_cast<GGUFType>(*type), *key, value))
      return std::move(e);
    if (!file.metadata.try_emplace(*key, std::move(value)).second)
      return createStringError("%s: metadata key '%s' appears twice",
                               path.str().c_str(), key->c_str());
    file.metadataOrder.push_back(*key);
  }

  if (const GGUFValue *alignment = file.find("general.alignment")) {
    if (!alignment->isInteger() || alignment->integer <= 0 ||
        !llvm::isPowerOf2_64(alignment->integer))
      return createStringError("%s: general.alignment must be a power of two",
                               path.str().c_str());
    file.alignment = alignment->integer;
  }

  for (uint64_t i = 0; i < *tensorCount; ++i) {
    GGUFTensorInfo info;
    llvm::Expected<std::string> name =
        c.readString(formatv("the name of tensor {0}", i).str());
    if (!name)
      return name.takeError();
    info.name = std::move(*name);
    llvm::Expected<uint32_t> dims =
        c.read<uint32_t>("the rank of '" + info.name + "'");
    if (!dims)
      return dims.takeError();
    if (*dims == 0 || *dims > kMaxDims)
      return createStringError("%s: tensor '%s' has rank %u (1 to 4 allowed)",
                               path.str().c_str(), info.name.c_str(), *dims);
    uint64_t elements = 1;
    for (uint32_t d = 0; d < *dims; ++d) {
      llvm::Expected<uint64_t> size =
          c.read<uint64_t>("the shape of '" + info.name + "'");
      if (!size)
        return size.takeError();
      bool overflow = false;
      elements = llvm::SaturatingMultiply(elements, *size, &overflow);
      if (overflow || *size == 0 || elements > (1ull << 48))
        return createStringError("%s: tensor '%s' has an impossible shape",
                                 path.str().c_str(), info.name.c_str());
      info.ne.push_back(*size);
    }
    llvm::Expected<uint32_t> type =
        c.read<uint32_t>("the type of '" + info.name + "'");
    llvm::Expected<uint64_t> offset =
        c.read<uint64_t>("the offset of '" + info.name + "'");
    if (!type)
      return type.takeError();
    if (!offset)
      return offset.takeError();
    info.ggmlType = *type;
    info.offset = *offset;
    auto [blockSize, blockBytes] = ggmlBlock(*type);
    if (blockSize == 0)
      return createStringError("%s: tensor '%s' has unknown GGML type %u",
                               path.str().c_str(), info.name.c_str(), *type);
    if (info.ne[0] % blockSize != 0)
      return createStringError(
          "%s: tensor '%s' of type %s has rows of %llu values, not whole "
          "blocks of %llu",
          path.str().c_str(), info.name.c_str(), ggmlTypeName(*type).c_str(),
          static_cast<unsigned long long>(info.ne[0]),
          static_cast<unsigned long long>(blockSize));
    info.bytes = elements / blockSize * blockBytes;
    if (info.offset % file.alignment != 0)
      return createStringError("%s: tensor '%s' has offset %llu, not aligned "
                               "to %llu",
                               path.str().c_str(), info.name.c_str(),
                               static_cast<unsigned long long>(info.offset),
                               static_cast<unsigned long long>(file.alignment));
    file.tensors.push_back(std::move(info));
  }

  file.dataOffset = llvm::alignTo(c.position(), file.alignment);
  uint64_t dataBytes =
      file.dataOffset <= data.size() ? data.size() - file.dataOffset : 0;
  for (const GGUFTensorInfo &info : file.tensors)
    if (file.dataOffset > data.size() || info.offset > dataBytes ||
        info.bytes > dataBytes - info.offset)
      return createStringError(
          "%s: tensor '%s' (%llu bytes at data offset %llu) lies outside the "
          "file's %llu bytes of data",
          path.str().c_str(), info.name.c_str(),
          static_cast<unsigned long long>(info.bytes),
          static_cast<unsigned long long>(info.offset),
          static_cast<unsigned long long>(dataBytes));
  return file;
}

//===----------------------------------------------------------------------===//
// loadGGUF
//===----------------------------------------------------------------------===//

namespace {

class MetadataReader {
public:
  MetadataReader(const GGUFFile &file, std::string prefix)
      : file_(file), prefix_(std::move(prefix)) {}

  llvm::Expected<int64_t> integer(StringRef key) const {
    const GGUFValue *value = file_.find(prefix_ + key.str());
    if (!value)
      return createStringError("%s: missing metadata '%s'", file_.path.c_str(),
                               (prefix_ + key.str()).c_str());
    return integerOf(*value, key);
  }
  llvm::Expected<int64_t> integer(StringRef key, int64_t fallback) const {
    const GGUFValue *value = file_.find(prefix_ + key.str());
    return value ? integerOf(*value, key) : fallback;
  }
  llvm::Expected<double> number(StringRef key, double fallback) const {
    const GGUFValue *value = file_.find(prefix_ + key.str());
    if (!value)
      return fallback;
    if (!value->isNumber())
      return createStringError("%s: metadata '%s' must be a number",
                               file_.path.c_str(),
                               (prefix_ + key.str()).c_str());
    return value->asDouble();
  }

private:
  llvm::Expected<int64_t> integerOf(const GGUFValue &value,
                                    StringRef key) const {
    if (!value.isInteger())
      return createStringError("%s: metadata '%s' must be an integer",
                               file_.path.c_str(),
                               (prefix_ + key.str()).c_str());
    return value.integer;
  }

  const GGUFFile &file_;
  std::string prefix_;
};

} // namespace

static llvm::Error readConfig(const GGUFFile &file, StringRef path,
                              LoadedModel &model);

llvm::Expected<std::unique_ptr<LoadedModel>> llamac::loadGGUF(StringRef path,
                                                              bool strict) {
  auto model = std::make_unique<LoadedModel>();
  model->path = path.str();
  model->format = "gguf";
  llvm::Expected<const llvm::MemoryBuffer *> mapped = model->weights.map(path);
  if (!mapped)
    return mapped.takeError();
  StringRef data = (*mapped)->getBuffer();
  llvm::Expected<GGUFFile> parsed = parseGGUF(data, path);
  if (!parsed)
    return parsed.takeError();
  const GGUFFile &file = *parsed;
  for (const std::string &key : file.metadataOrder) {
    const GGUFValue &value = *file.find(key);
    std::string type = typeName(value.type);
    if (value.type == GGUFType::Array)
      type += std::string("<") + typeName(value.elementType) + ">";
    model->metadata.push_back({key, type, toJSON(value)});
  }

  // Tensors first, so that `inspect` can show them whatever the config.
  for (const GGUFTensorInfo &info : file.tensors) {
    TensorSource tensor;
    tensor.name = info.name;
    tensor.file = path.str();
    for (auto it = info.ne.rbegin(); it != info.ne.rend(); ++it)
      tensor.shape.push_back(static_cast<int64_t>(*it));
    tensor.data = reinterpret_cast<const uint8_t *>(data.data()) +
                  file.dataOffset + info.offset;
    tensor.bytes = info.bytes;
    switch (info.ggmlType) {
    case 0:
      tensor.dtype = DType::F32;
      break;
    case 1:
      tensor.dtype = DType::F16;
      break;
    case 30:
      tensor.dtype = DType::BF16;
      break;
    case 8:
      tensor.dtype = DType::Q8_0;
      break;
    case 2:
      tensor.dtype = DType::Q4_0;
      break;
    case 3:
      tensor.dtype = DType::Q4_1;
      break;
    default:
      tensor.unsupportedType = ggmlTypeName(info.ggmlType);
      break;
    }
    if (llvm::Error e = model->weights.add(std::move(tensor)))
      return std::move(e);
  }

  if (llvm::Error e = readConfig(file, path, *model)) {
    if (strict)
      return std::move(e);
    model->configProblem = llvm::toString(std::move(e));
  }
  const GGUFValue *tokenizerModel = file.find("tokenizer.ggml.model");
  if (tokenizerModel && tokenizerModel->string != "none") {
    llvm::Expected<runtime::TokenizerSpec> tokenizer =
        importGGUFTokenizer(file);
    if (tokenizer) {
      model->tokenizer = std::move(*tokenizer);
      model->tokenizerSource = path.str();
    } else if (strict) {
      return tokenizer.takeError();
    } else {
      model->configProblem += llvm::toString(tokenizer.takeError());
    }
  }
  return model;
}

static llvm::Error readConfig(const GGUFFile &file, StringRef path,
                              LoadedModel &loaded) {
  LoadedModel *model = &loaded;
  const GGUFValue *arch = file.find("general.architecture");
  if (!arch || arch->type != GGUFType::String)
    return createStringError("%s: no general.architecture", path.str().c_str());
  if (arch->string != "llama")
    return createStringError("%s: architecture '%s' is not supported (llamac "
                             "compiles llama)",
                             path.str().c_str(), arch->string.c_str());
  MetadataReader meta(file, "llama.");
  ModelConfig &c = model->config;
  auto hidden = meta.integer("embedding_length");
  auto layers = meta.integer("block_count");
  auto ffn = meta.integer("feed_forward_length");
  auto heads = meta.integer("attention.head_count");
  for (llvm::Expected<int64_t> *v : {&hidden, &layers, &ffn, &heads})
    if (!*v)
      return v->takeError();
  c.hiddenSize = *hidden;
  c.numLayers = *layers;
  c.intermediateSize = *ffn;
  c.numHeads = *heads;
  if (c.numHeads <= 0)
    return createStringError("%s: llama.attention.head_count must be positive",
                             path.str().c_str());
  auto kvHeads = meta.integer("attention.head_count_kv", c.numHeads);
  auto headDim =
      meta.integer("attention.key_length", c.hiddenSize / c.numHeads);
  auto context = meta.integer("context_length", 2048);
  auto eps = meta.number("attention.layer_norm_rms_epsilon", 1e-5);
  auto theta = meta.number("rope.freq_base", 10000.0);
  for (llvm::Expected<int64_t> *v : {&kvHeads, &headDim, &context})
    if (!*v)
      return v->takeError();
  for (llvm::Expected<double> *v : {&eps, &theta})
    if (!*v)
      return v->takeError();
  c.numKVHeads = *kvHeads;
  c.headDim = *headDim;
  c.maxPositions = *context;
  c.rmsNormEps = *eps;
  c.ropeTheta = *theta;
  auto rotary = meta.integer("rope.dimension_count", c.headDim);
  if (!rotary)
    return rotary.takeError();
  c.rotaryDim = *rotary;
  c.ropeInterleaved = true;

  if (const GGUFValue *scaling = file.find("llama.rope.scaling.type")) {
    std::string type = scaling->type == GGUFType::String ? scaling->string : "";
    if (type == "linear") {
      auto factor = meta.number("rope.scaling.factor", 1.0);
      if (!factor)
        return factor.takeError();
      c.ropeScaling = RopeScaling{RopeScaling::Kind::Linear, *factor};
    } else if (type != "none") {
      return createStringError("%s: rope scaling type '%s' is not supported",
                               path.str().c_str(), type.c_str());
    }
  }
  for (const GGUFTensorInfo &info : file.tensors)
    if (info.name == "rope_freqs.weight")
      return createStringError("%s: per-frequency rope factors "
                               "(rope_freqs.weight, llama 3.1 scaling) are "
                               "not supported yet",
                               path.str().c_str());

  // Tokenizer facts the header needs (the tokenizer itself: see Tokenizer).
  if (const GGUFValue *tokens = file.find("tokenizer.ggml.tokens"))
    c.vocabSize = static_cast<int64_t>(tokens->arrayLength);
  if (const GGUFValue *bos = file.find("tokenizer.ggml.bos_token_id"))
    c.bosTokenId = static_cast<int32_t>(bos->integer);
  if (const GGUFValue *eos = file.find("tokenizer.ggml.eos_token_id"))
    c.eosTokenIds.push_back(static_cast<int32_t>(eos->integer));
  if (const GGUFValue *eot = file.find("tokenizer.ggml.eot_token_id"))
    if (c.eosTokenIds.empty() || c.eosTokenIds[0] != eot->integer)
      c.eosTokenIds.push_back(static_cast<int32_t>(eot->integer));
  if (const GGUFValue *addBos = file.find("tokenizer.ggml.add_bos_token"))
    c.addBos = addBos->integer != 0;

  bool hasOutput = model->weights.find("output.weight") != nullptr;
  if (c.vocabSize == 0)
    if (const TensorSource *embedding =
            model->weights.find("token_embd.weight"))
      c.vocabSize = embedding->shape.empty() ? 0 : embedding->shape[0];
  if (const GGUFValue *vocab = file.find("llama.vocab_size"))
    c.vocabSize = vocab->integer;
  c.tieWordEmbeddings = !hasOutput;
  c.attentionBias = model->weights.find("blk.0.attn_q.bias") != nullptr;

  model->weightName = [](WeightRole role, int64_t layer) -> std::string {
    std::string prefix = formatv("blk.{0}.", layer).str();
    switch (role) {
    case WeightRole::TokenEmbedding:
      return "token_embd.weight";
    case WeightRole::OutputNorm:
      return "output_norm.weight";
    case WeightRole::Output:
      return "output.weight";
    case WeightRole::AttentionNorm:
      return prefix + "attn_norm.weight";
    case WeightRole::Query:
      return prefix + "attn_q.weight";
    case WeightRole::Key:
      return prefix + "attn_k.weight";
    case WeightRole::Value:
      return prefix + "attn_v.weight";
    case WeightRole::AttentionOutput:
      return prefix + "attn_output.weight";
    case WeightRole::QueryBias:
      return prefix + "attn_q.bias";
    case WeightRole::KeyBias:
      return prefix + "attn_k.bias";
    case WeightRole::ValueBias:
      return prefix + "attn_v.bias";
    case WeightRole::AttentionOutputBias:
      return prefix + "attn_output.bias";
    case WeightRole::FFNNorm:
      return prefix + "ffn_norm.weight";
    case WeightRole::Gate:
      return prefix + "ffn_gate.weight";
    case WeightRole::Up:
      return prefix + "ffn_up.weight";
    case WeightRole::Down:
      return prefix + "ffn_down.weight";
    }
    return "";
  };
  return llvm::Error::success();
}
