//===- FuzzCommon.h - Shared pieces of the libFuzzer harnesses --*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// The importers read files and directories, so each harness writes its input
// into a private scratch directory and runs the compiler's own front half on
// it: load, build or raise @forward, lay out and write the weights (to a null
// stream). An input that holds several files separates them with kSplit.
// Errors are the expected outcome for most inputs and are dropped; a crash or
// a sanitizer report is a finding.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_TEST_FUZZ_FUZZCOMMON_H
#define LLAMAC_TEST_FUZZ_FUZZCOMMON_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace llamac {
namespace fuzz {

/// Separates the files of one input (make_corpus.py writes the same).
constexpr std::string_view kSplit = "\n@@llamac-fuzz-file@@\n";

/// The input cut at each kSplit; at most `max` parts (the last keeps the rest).
std::vector<std::string_view> splitInput(const uint8_t *data, size_t size,
                                         size_t max);

/// A directory of this process's own, created on first use.
const std::string &scratchDir();

/// Writes `bytes` to scratchDir()/name, or removes that file when `present`
/// is false. Returns the path.
std::string putFile(const std::string &name, std::string_view bytes,
                    bool present = true);

/// Runs llamac's front half on `path` (a file or a directory): loadModel,
/// the ONNX import and raising or buildForward, the tokenizer check,
/// llama-layout-weights and, when the weights are small, writeWeightsBlob.
void compileFrontHalf(const std::string &path);

} // namespace fuzz
} // namespace llamac

#endif // LLAMAC_TEST_FUZZ_FUZZCOMMON_H
