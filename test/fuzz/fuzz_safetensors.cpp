//===- fuzz_safetensors.cpp - Fuzzing the Hugging Face reader -------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Input: config.json, kSplit, model.safetensors[, kSplit, tokenizer.json].
// The directory is compiled through the front half (FuzzCommon.h).
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/FuzzCommon.h"

using namespace llamac::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = splitInput(data, size, 3);
  putFile("config.json", parts[0]);
  putFile("model.safetensors", parts.size() > 1 ? parts[1] : "",
          parts.size() > 1);
  putFile("tokenizer.json", parts.size() > 2 ? parts[2] : "", parts.size() > 2);
  compileFrontHalf(scratchDir());
  return 0;
}
