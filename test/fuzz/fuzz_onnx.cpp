//===- fuzz_onnx.cpp - Fuzzing the ONNX reader ----------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Input: model.onnx (a ModelProto), kSplit, model.onnx.data (what external
// data references point into)[, kSplit, genai_config.json]. Compiled through
// the front half (FuzzCommon.h): import into the onnx dialect, raising.
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/FuzzCommon.h"

using namespace llamac::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = splitInput(data, size, 3);
  std::string model = putFile("model.onnx", parts[0]);
  putFile("model.onnx.data", parts.size() > 1 ? parts[1] : "",
          parts.size() > 1);
  putFile("genai_config.json", parts.size() > 2 ? parts[2] : "",
          parts.size() > 2);
  compileFrontHalf(model);
  return 0;
}
