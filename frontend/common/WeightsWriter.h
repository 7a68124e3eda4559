//===- WeightsWriter.h - Streaming the weights blob -------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the writer of the weights blob (runtime/include/llamac/
// blob.h): every `llama.param` of a laid-out module is read from its source
// tensor, converted row by row to the type the param declares, and written
// at its offset. Memory use is a few rows, whatever the model's size.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_COMMON_WEIGHTSWRITER_H
#define LLAMAC_FRONTEND_COMMON_WEIGHTSWRITER_H

#include "dialects/Llama/LlamaOps.h"
#include "frontend/common/Model.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace llamac {

/// What the blob's header carries besides the weights.
struct BlobInfo {
  uint64_t fingerprint = 0;
  int32_t vocabSize = 0;
  int32_t bosToken = -1;
  std::vector<int32_t> eosTokens;
  bool addBos = true;
  /// The tokenizer, serialized by the tokenizer compiler; may be empty.
  std::string tokenizer;
};

/// Writes the blob for `module` (after llama-layout-weights) to `out`, which
/// Returns the number of bytes written.
llvm::Expected<uint64_t> writeWeightsBlob(mlir::ModuleOp module,
                                          const LoadedModel &model,
                                          const BlobInfo &info,
                                          llvm::raw_ostream &out);

/// Converts `rows` x `cols` values of `source` starting at row `firstRow`
/// into the encoding of `target` (f32, f16, bf16 tensor element type, or a
/// !llama.qtensor scheme), appending to `out`. Exposed for tests.
llvm::Error convertRows(const TensorSource &source, mlir::Type target,
                        int64_t firstRow, int64_t rows, int64_t cols,
                        std::vector<uint8_t> &out);

/// Rearranges 16 rows of canonical GGML blocks (q8_0, q4_0, q4_1) into the
/// r16 layout of !llama.qtensor.
void interleaveR16(const std::vector<uint8_t> &rows, llama::QuantKind kind,
                   int64_t cols, std::vector<uint8_t> &out);

/// Decodes one row of `cols` values stored as `dtype` into floats.
void decodeRow(DType dtype, const uint8_t *row, int64_t cols, float *out);

} // namespace llamac

#endif // LLAMAC_FRONTEND_COMMON_WEIGHTSWRITER_H
