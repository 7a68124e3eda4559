//===- LlamaOps.cpp - Ops of the llama dialect ----------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the verifiers and helpers of the `llama` ops. Each
// verifier checks the shape rules its op's formula relies on; the messages
// name the dimensions in the model's words.
//
//===----------------------------------------------------------------------===//

#include "dialects/Llama/LlamaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace llamac::llama;

namespace {

/// Two dimensions agree when they are equal or either is dynamic.
bool compatibleDims(int64_t lhs, int64_t rhs) {
  return ShapedType::isDynamic(lhs) || ShapedType::isDynamic(rhs) || lhs == rhs;
}

/// The [rows, cols] shape of a plain or quantized weight matrix.
ArrayRef<int64_t> getWeightShape(Type type) {
  if (auto qtensor = dyn_cast<QTensorType>(type))
    return qtensor.getShape();
  return cast<RankedTensorType>(type).getShape();
}

/// Activations are [tokens, features]: only the token count may be dynamic.
LogicalResult verifyStaticFeatures(Operation *op, Value value, StringRef what) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.isDynamicDim(1))
    return op->emitOpError() << what << " feature dimension must be static";
  return success();
}

/// The token dimensions of two activations must agree.
LogicalResult verifySameTokens(Operation *op, Value lhs, StringRef lhsName,
                               Value rhs, StringRef rhsName) {
  int64_t lhsTokens = cast<ShapedType>(lhs.getType()).getDimSize(0);
  int64_t rhsTokens = cast<ShapedType>(rhs.getType()).getDimSize(0);
  if (!compatibleDims(lhsTokens, rhsTokens))
    return op->emitOpError()
           << lhsName << " has " << lhsTokens << " tokens but " << rhsName
           << " has " << rhsTokens;
  return success();
}

} // namespace

//===----------------------------------------------------------------------===//
// ParamOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  if (getName().empty())
    return emitOpError("needs a non-empty parameter name");
  if (auto tensor = dyn_cast<RankedTensorType>(getType()))
    if (llvm::any_of(tensor.getShape(), [](int64_t dim) { return dim <= 0; }))
      return emitOpError("parameter dimensions must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// EmbeddingOp
//===----------------------------------------------------------------------===//

LogicalResult EmbeddingOp::verify() {
  ArrayRef<int64_t> table = getWeightShape(getTable().getType());
  RankedTensorType result = getResult().getType();
  if (failed(verifyStaticFeatures(*this, getResult(), "result")))
    return failure();
  if (result.getDimSize(1) != table[1])
    return emitOpError() << "result has " << result.getDimSize(1)
                         << " features but the table's rows have " << table[1];
  if (!compatibleDims(result.getDimSize(0),
                      getTokens().getType().getDimSize(0)))
    return emitOpError() << "result has " << result.getDimSize(0)
                         << " rows but there are "
                         << getTokens().getType().getDimSize(0) << " tokens";
  return success();
}

//===----------------------------------------------------------------------===//
// RMSNormOp
//===----------------------------------------------------------------------===//

LogicalResult RMSNormOp::verify() {
  if (failed(verifyStaticFeatures(*this, getInput(), "input")))
    return failure();
  int64_t features = getInput().getType().getDimSize(1);
  int64_t weight = getWeight().getType().getDimSize(0);
  if (weight != features)
    return emitOpError() << "weight has " << weight
                         << " elements but the input has " << features
                         << " features";
  if (!(getEpsilon().convertToDouble() > 0))
    return emitOpError("epsilon must be positive");
  return success();
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

namespace {

/// The rules of one product: `input x weight^T -> result`.
LogicalResult verifyProduct(Operation *op, Value inputValue, Value weightValue,
                            Value resultValue) {
  if (failed(verifyStaticFeatures(op, inputValue, "input")) ||
      failed(verifyStaticFeatures(op, resultValue, "result")))
    return failure();
  ArrayRef<int64_t> weight = getWeightShape(weightValue.getType());
  auto input = cast<RankedTensorType>(inputValue.getType());
  auto result = cast<RankedTensorType>(resultValue.getType());
  if (input.getDimSize(1) != weight[1])
    return op->emitOpError() << "input has " << input.getDimSize(1)
                             << " features but the weight [" << weight[0]
                             << ", " << weight[1] << "] expects " << weight[1];
  if (result.getDimSize(1) != weight[0])
    return op->emitOpError() << "result has " << result.getDimSize(1)
                             << " features but the weight [" << weight[0]
                             << ", " << weight[1] << "] produces " << weight[0];
  if (failed(verifySameTokens(op, inputValue, "input", resultValue, "result")))
    return failure();
  if (input.getElementType() != result.getElementType())
    return op->emitOpError("result element type must match the input's");
  return success();
}

/// The `norm %g eps = E` prologue: both or neither, g one per feature.
LogicalResult verifyNormPrologue(Operation *op, Value input, Value norm,
                                 std::optional<llvm::APFloat> eps) {
  if (static_cast<bool>(norm) != eps.has_value())
    return op->emitOpError("norm and norm_eps go together");
  if (!norm)
    return success();
  int64_t features = cast<RankedTensorType>(input.getType()).getDimSize(1);
  int64_t size = cast<RankedTensorType>(norm.getType()).getDimSize(0);
  if (size != features)
    return op->emitOpError()
           << "norm weight has " << size << " elements but the input has "
           << features << " features";
  if (!(eps->convertToDouble() > 0))
    return op->emitOpError("norm epsilon must be positive");
  return success();
}

} // namespace

LogicalResult LinearOp::verify() {
  if (failed(verifyProduct(*this, getInput(), getWeight(), getResult())) ||
      failed(verifyNormPrologue(*this, getInput(), getNorm(), getNormEps())))
    return failure();
  ArrayRef<int64_t> weight = getWeightShape(getWeight().getType());
  if (getNorm() && getUp())
    return emitOpError("takes one prologue, norm or swiglu, not both");
  if (Value up = getUp())
    if (up.getType() != getInput().getType())
      return emitOpError("swiglu up must have the input's type");
  if (Value residual = getResidual())
    if (residual.getType() != getResult().getType())
      return emitOpError("residual must have the result's type");
  if (Value bias = getBias()) {
    int64_t biasSize = cast<RankedTensorType>(bias.getType()).getDimSize(0);
    if (biasSize != weight[0])
      return emitOpError() << "bias has " << biasSize
                           << " elements but the layer has " << weight[0]
                           << " outputs";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// MultiLinearOp
//===----------------------------------------------------------------------===//

LogicalResult MultiLinearOp::verify() {
  if (getWeights().empty())
    return emitOpError("needs at least one weight");
  if (getWeights().size() != getResults().size())
    return emitOpError() << "has " << getWeights().size() << " weights but "
                         << getResults().size() << " results";
  for (auto [weight, result] : llvm::zip(getWeights(), getResults()))
    if (failed(verifyProduct(*this, getInput(), weight, result)))
      return failure();
  return verifyNormPrologue(*this, getInput(), getNorm(), getNormEps());
}

//===----------------------------------------------------------------------===//
// RopeOp
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  if (failed(verifyStaticFeatures(*this, getInput(), "input")))
    return failure();
  int64_t features = getInput().getType().getDimSize(1);
  int64_t headDim = getHeadDim();
  if (headDim <= 0)
    return emitOpError() << "head_dim must be positive, got " << headDim;
  if (features % headDim != 0)
    return emitOpError() << "input has " << features
                         << " features, not a multiple of head_dim " << headDim;
  int64_t rotaryDim = getRotaryDimOrHeadDim();
  if (rotaryDim <= 0 || rotaryDim > headDim)
    return emitOpError() << "rotary_dim " << rotaryDim
                         << " must be in [1, head_dim = " << headDim << "]";
  if (rotaryDim % 2 != 0)
    return emitOpError() << "rotary dimension " << rotaryDim
                         << " must be even (features rotate in pairs)";
  if (!(getTheta().convertToDouble() > 0))
    return emitOpError("theta must be positive");
  if (auto frequencies = getFrequencies()) {
    if (static_cast<int64_t>(frequencies->size()) != rotaryDim / 2)
      return emitOpError() << "has " << frequencies->size()
                           << " frequencies but rotates " << rotaryDim / 2
                           << " pairs";
    if (llvm::any_of(*frequencies,
                     [](double f) { return !(f >= 0) || std::isinf(f); }))
      return emitOpError("frequencies must be finite and non-negative");
  }
  return success();
}

double RopeOp::getFrequency(int64_t i) {
  if (auto frequencies = getFrequencies())
    return (*frequencies)[i];
  double exponent = -2.0 * static_cast<double>(i) /
                    static_cast<double>(getRotaryDimOrHeadDim());
  double frequency = std::pow(getTheta().convertToDouble(), exponent);
  if (RopeScalingAttr scaling = getScalingAttr())
    return scaling.scaleFrequency(frequency);
  return frequency;
}

std::vector<double> RopeOp::getAllFrequencies() {
  std::vector<double> frequencies;
  for (int64_t i = 0, e = getRotaryDimOrHeadDim() / 2; i < e; ++i)
    frequencies.push_back(getFrequency(i));
  return frequencies;
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

namespace {
/// [layers, kv_heads, context, head_dim]
ArrayRef<int64_t> getCacheShape(Value cache) {
  return cast<RankedTensorType>(cache.getType()).getShape();
}
} // namespace

int64_t AttentionOp::getKeyHeadDim() { return getCacheShape(getKCache())[3]; }
int64_t AttentionOp::getValueHeadDim() { return getCacheShape(getVCache())[3]; }
int64_t AttentionOp::getContextLength() {
  return getCacheShape(getKCache())[2];
}
double AttentionOp::getScaleOrDefault() {
  if (std::optional<APFloat> scale = getScale())
    return scale->convertToDouble();
  return 1.0 / std::sqrt(static_cast<double>(getKeyHeadDim()));
}

LogicalResult AttentionOp::verify() {
  int64_t heads = getNumHeads(), kvHeads = getNumKvHeads();
  if (heads <= 0 || kvHeads <= 0)
    return emitOpError("head counts must be positive");
  if (heads % kvHeads != 0)
    return emitOpError() << "heads (" << heads
                         << ") must be a multiple of kv_heads (" << kvHeads
                         << ")";

  // Caches: [layers, kv_heads, context, head_dim].
  ArrayRef<int64_t> kCache = getCacheShape(getKCache());
  ArrayRef<int64_t> vCache = getCacheShape(getVCache());
  if (kCache[1] != kvHeads || vCache[1] != kvHeads)
    return emitOpError() << "caches hold " << kCache[1] << " and " << vCache[1]
                         << " key/value heads but kv_heads is " << kvHeads;
  if (kCache[0] != vCache[0] || kCache[2] != vCache[2])
    return emitOpError("key and value caches must have the same layers and "
                       "context length");
  int64_t layer = getLayer();
  if (layer < 0 || layer >= kCache[0])
    return emitOpError() << "layer " << layer << " is outside the caches' "
                         << kCache[0] << " layers";

  for (auto [value, name] : {std::pair{getQuery(), "query"},
                             {getKey(), "key"},
                             {getValue(), "value"},
                             {getOutput(), "output"}})
    if (failed(verifyStaticFeatures(*this, value, name)))
      return failure();

  int64_t keyHeadDim = kCache[3], valueHeadDim = vCache[3];
  auto features = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getDimSize(1);
  };
  if (features(getQuery()) != heads * keyHeadDim)
    return emitOpError() << "query has " << features(getQuery())
                         << " features but heads x head_dim is " << heads
                         << " x " << keyHeadDim;
  if (features(getKey()) != kvHeads * keyHeadDim)
    return emitOpError() << "key has " << features(getKey())
                         << " features but kv_heads x head_dim is " << kvHeads
                         << " x " << keyHeadDim;
  if (features(getValue()) != kvHeads * valueHeadDim)
    return emitOpError() << "value has " << features(getValue())
                         << " features but kv_heads x value head_dim is "
                         << kvHeads << " x " << valueHeadDim;
  if (features(getOutput()) != heads * valueHeadDim)
    return emitOpError() << "output has " << features(getOutput())
                         << " features but heads x value head_dim is " << heads
                         << " x " << valueHeadDim;

  if (failed(verifySameTokens(*this, getQuery(), "query", getKey(), "key")) ||
      failed(
          verifySameTokens(*this, getQuery(), "query", getValue(), "value")) ||
      failed(
          verifySameTokens(*this, getQuery(), "query", getOutput(), "output")))
    return failure();

  if (std::optional<APFloat> scale = getScale())
    if (!(scale->convertToDouble() > 0))
      return emitOpError("scale must be positive");
  if (std::optional<ArrayRef<double>> rope = getKeyRope()) {
    if (rope->empty() || static_cast<int64_t>(rope->size()) * 2 > keyHeadDim)
      return emitOpError() << "key_rope has " << rope->size()
                           << " frequencies; a head of " << keyHeadDim
                           << " features rotates 1 to " << keyHeadDim / 2
                           << " pairs";
    for (double f : *rope)
      if (!(f > 0) || !std::isfinite(f))
        return emitOpError("key_rope frequencies must be positive and finite");
  } else if (getKeyRopeInterleaved()) {
    return emitOpError("key_rope_interleaved without key_rope");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ArgmaxOp
//===----------------------------------------------------------------------===//

LogicalResult ArgmaxOp::verify() {
  if (failed(
          verifySameTokens(*this, getInput(), "input", getResult(), "result")))
    return failure();
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Llama/LlamaOps.cpp.inc"
