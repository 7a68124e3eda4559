//===- fuzz_gguf.cpp - Fuzzing the GGUF reader ----------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Input: one GGUF file (header, metadata with the tokenizer, tensor infos,
// data), compiled through the front half (FuzzCommon.h).
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/FuzzCommon.h"

using namespace llamac::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  compileFrontHalf(
      putFile("model.gguf",
              std::string_view(reinterpret_cast<const char *>(data), size)));
  return 0;
}
