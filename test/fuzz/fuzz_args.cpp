//===- fuzz_args.cpp - Fuzzing a compiled model's command line ------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Input: the arguments after argv[0], separated by NUL bytes, parsed by the
// executable's parser (runtime/src/options.h). Whatever it accepts must be
// within the documented ranges.
//
//===----------------------------------------------------------------------===//

#include "options.h"

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

using namespace llamac::runtime;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string> words{"chat"};
  std::string word;
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.push_back(word);
      word.clear();
    } else {
      word.push_back(static_cast<char>(data[i]));
    }
  }
  if (size)
    words.push_back(word);
  std::vector<char *> argv;
  for (std::string &w : words)
    argv.push_back(w.data());
  argv.push_back(nullptr);
  Options options;
  int status =
      parse_args(static_cast<int>(words.size()), argv.data(), &options);
  if (status == 0) {
    bool sane = options.n_predict >= 0 && options.temperature >= 0 &&
                std::isfinite(options.temperature) && options.top_k >= 0 &&
                options.top_p > 0 && options.top_p <= 1 &&
                options.threads >= 0 && options.threads <= 4096 &&
                options.ctx >= 0;
    for (int32_t id : options.tokens)
      sane = sane && id >= 0;
    if (!sane)
      abort();
  }
  return 0;
}
