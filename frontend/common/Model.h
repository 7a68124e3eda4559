//===- Model.h - A model as the front ends read it --------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares what every front end produces: the model's
// hyper-parameters (ModelConfig), its tensors as they lie in the memory-
// mapped source files (WeightStore), and the builder that writes the
// `llama` dialect forward pass from the two.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_COMMON_MODEL_H
#define LLAMAC_FRONTEND_COMMON_MODEL_H

#include "runtime/src/tokenizer.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llamac {

/// Element types a source tensor can be stored in.
/// U8: raw bytes, the packed 4-bit values of an ONNX MatMulNBits weight.
enum class DType { F32, F16, BF16, Q8_0, Q4_0, Q4_1, U8 };

llvm::StringRef dtypeName(DType dtype);
/// Whether `dtype` is one of GGML's block formats (32 values per block).
bool isBlockQuantized(DType dtype);
/// Bytes of a row of `cols` values stored as `dtype`.
int64_t rowBytes(DType dtype, int64_t cols);

/// A tensor in a memory-mapped source file.
struct TensorSource {
  std::string name;
  DType dtype = DType::F32;
  /// Row-major shape, outermost first ([rows, cols] for a matrix).
  std::vector<int64_t> shape;
  const uint8_t *data = nullptr;
  uint64_t bytes = 0;
  /// The file it lives in, for messages.
  std::string file;
  /// When not empty: the stored type, which llamac cannot read. Such tensors
  /// are listed (so `inspect` shows them) but fail when used.
  std::string unsupportedType;
  /// A transposed window of a stored matrix (ONNX MatMul weights are stored
  /// [K, N]): when storedColumns is not 0, row r of this [rows, cols] tensor
  /// is column firstColumn + r of the [cols, storedColumns] matrix at data.
  int64_t storedColumns = 0;
  int64_t firstColumn = 0;
  /// An ONNX MatMulNBits weight (dtype U8: per row, blocks of `nbitsBlock`
  /// 4-bit values, two per byte, low nibble first): its per-block scales
  /// (F32 or F16, one per row and block) and, when not null, its 4-bit zero
  /// points (per row, one nibble per block, low first, rows padded to a
  /// byte). Without zero points the zero point is 8.
  const TensorSource *nbitsScales = nullptr;
  const TensorSource *nbitsZeroPoints = nullptr;
  int64_t nbitsBlock = 0;

  int64_t numElements() const;
};

/// Rotary frequency scaling (see #llama.rope_scaling).
struct RopeScaling {
  enum class Kind { Linear, Llama3 } kind = Kind::Llama3;
  double factor = 1.0;
  double lowFreqFactor = 1.0;
  double highFreqFactor = 4.0;
  int64_t originalMaxPosition = 8192;
};

/// Hyper-parameters of a Llama-family decoder.
struct ModelConfig {
  std::string architecture = "llama";
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  /// Rotated features per head (partial rotary); 0 means headDim.
  int64_t rotaryDim = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 1e-5;
  double ropeTheta = 10000.0;
  std::optional<RopeScaling> ropeScaling;
  /// Rotate pairs (2i, 2i+1) instead of (i, i + d/2): GGUF's permuted Q/K.
  bool ropeInterleaved = false;
  bool tieWordEmbeddings = false;
  bool attentionBias = false;
  bool mlpBias = false;
  int32_t bosTokenId = -1;
  std::vector<int32_t> eosTokenIds;
  bool addBos = true;

  /// Checks the numbers against each other; the message names the key.
  llvm::Error validate() const;
};

/// The parts of a decoder layer a weight can be.
enum class WeightRole {
  TokenEmbedding,
  OutputNorm,
  Output,
  AttentionNorm,
  Query,
  Key,
  Value,
  AttentionOutput,
  QueryBias,
  KeyBias,
  ValueBias,
  AttentionOutputBias,
  FFNNorm,
  Gate,
  Up,
  Down,
};

/// The tensors of a model, memory-mapped from their files.
class WeightStore {
public:
  /// Maps `path` and keeps it mapped for the store's lifetime.
  llvm::Expected<const llvm::MemoryBuffer *> map(llvm::StringRef path);
  /// Keeps `buffer` (data a front end decoded) for the store's lifetime.
  const llvm::MemoryBuffer *adopt(std::unique_ptr<llvm::MemoryBuffer> buffer);
  /// Registers a tensor (its data must lie in a mapped buffer).
  llvm::Error add(TensorSource tensor);
  const TensorSource *find(llvm::StringRef name) const;
  /// Drops the pages of `tensor` this process has mapped, when it lies in a
  /// memory-mapped file (the data stays in the file; a later read maps it
  /// again). Streaming a model tensor by tensor through release keeps the
  /// resident set near one tensor instead of the whole checkpoint.
  void release(const TensorSource &tensor) const;
  const std::vector<std::string> &names() const { return order_; }

private:
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers_;
  llvm::StringMap<TensorSource> tensors_;
  std::vector<std::string> order_;
};

/// One metadata entry of the model file, for `llamac inspect --metadata`:
/// `value` is JSON (numbers, strings, booleans, arrays of them).
struct MetadataEntry {
  std::string key;
  std::string type; // the file's own type name (u32, f32, string, array...)
  std::string value;
};

/// What a front end hands to the compiler.
struct LoadedModel {
  std::string path;
  std::string format; // "safetensors", "gguf", "onnx"
  ModelConfig config;
  WeightStore weights;
  std::vector<MetadataEntry> metadata;
  /// Why the config is unusable, when loaded for inspection only.
  std::string configProblem;
  /// The model's tokenizer, when its files carry one, and where it came from.
  std::optional<runtime::TokenizerSpec> tokenizer;
  std::string tokenizerSource;
  /// The checkpoint's tensor name for a role (layer -1 for global ones), or
  /// "" when the model has no such tensor.
  std::function<std::string(WeightRole, int64_t layer)> weightName;
  /// What a front end keeps for a later stage (the ONNX graph).
  std::shared_ptr<void> frontendData;
};

/// Options of the forward pass the builder writes.
struct BuildOptions {
  /// Cache length; 0 takes the model's context, capped at 4096.
  int64_t maxContext = 0;
};

/// Writes `@forward` in the llama dialect for `model`. Checks that every
/// tensor the forward pass needs exists with the shape the config implies and
/// a supported dtype; errors name the file and the tensor.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
buildForward(mlir::MLIRContext &context, const LoadedModel &model,
             const BuildOptions &options);

/// The cache length buildForward uses for `options`.
int64_t contextLength(const ModelConfig &config, const BuildOptions &options);

} // namespace llamac

#endif // LLAMAC_FRONTEND_COMMON_MODEL_H
