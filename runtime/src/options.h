//===- options.h - The command line of a compiled model ---------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The flags of the executables llamac produces, parsed apart from main() so
// the parser can be fuzzed (test/fuzz/fuzz_args.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_RUNTIME_OPTIONS_H
#define LLAMAC_RUNTIME_OPTIONS_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace llamac {
namespace runtime {

struct Options {
  std::string prompt;
  bool has_prompt = false;
  std::vector<int32_t> tokens;
  bool has_tokens = false;
  int n_predict = 64;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  bool has_seed = false;
  int threads = 0;
  int ctx = 0;
  bool print_ids = false;
  bool ignore_eos = false;
  bool chat = false;
  bool tokenize = false;
  std::string dump_logits;
  std::string weights;
  std::string perplexity; // a text file to score
  bool score = false;     // score the prompt instead of generating
};

/// Prints --help.
void print_usage(const char *argv0, FILE *out);

/// Parses argv into *out. Returns 0 to go on, 1 after --help, 2 on error
/// (the error is printed on stderr).
int parse_args(int argc, char **argv, Options *out);

} // namespace runtime
} // namespace llamac

#endif // LLAMAC_RUNTIME_OPTIONS_H
