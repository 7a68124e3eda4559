//===- RaiseONNX.cpp - onnx graphs into the llama forward pass ------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements onnx-raise-llama: it reads `@main_graph`, an ONNX
// decoder graph in the `onnx` dialect, and writes the same model as the
// `llama` dialect's `@forward`, the contract every backend compiles:
//
//   token ids      -> tokens (batch 1; the runtime feeds int32 ids)
//   past/present   -> the runtime's key/value cache, one layer per attention
//   key/values        node, in graph order
//   logits         -> the last position's logits
//
// Only what the outputs need is translated: the attention-mask
// bookkeeping of exported graphs (sequence lengths for the attention
// kernel) has no counterpart, as llamac's attention is causal over the
// cache by construction.
//
// Operators are translated where they are recognised:
//
//   Gather(table, ids)                        -> llama.embedding
//   SimplifiedLayerNormalization, RMSNorm.    -> llama.rms_norm
//   SkipSimplifiedLayerNormalization          -> llama.add + llama.rms_norm
//   MatMul(x, W[K, N] initializer) (+ bias)   -> llama.linear with W read
//                                                transposed (a param view)
//   MatMulNBits(x, B, scales[, zero_points])  -> llama.linear on a q4_0 (or,
//     (4 bits, blocks of 32 or more)             with zero points, q4_1)
//                                                param: the weights writer
//                                                moves B's codes into GGML
//                                                blocks, never requantizes
//   Mul(Mul(g, Sigmoid(g)), u)                -> llama.swiglu
//   Add(a, b)                                 -> llama.add
//   GroupQueryAttention (packed or separate   -> llama.linear x3 (views of the
//     Q/K/V, rotary from cos/sin tables)         packed weight), llama.rope
//                                                with the tables' frequencies,
//                                                llama.attention
//   RotaryEmbedding (com.microsoft, or opset  -> llama.rope with the tables'
//     23's) at the graph's position ids          frequencies
//   Attention (opset 23: 3-D Q/K/V, past      -> llama.attention (causal over
//     keys/values as graph inputs, is_causal)    the cache: the spec's frontier
//                                                 at the last key)
//
// Anything else the outputs depend on is reported with its node name.
//
//===----------------------------------------------------------------------===//

#include "dialects/ONNX/ONNXDialect.h"
#include "passes/Passes.h"
#include "passes/WeightsLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <cmath>
#include <map>

namespace llamac {
#define GEN_PASS_DEF_ONNXRAISELLAMA
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

namespace {

/// What an onnx value became.
struct Raised {
  enum Kind {
    Unknown,
    Activation, // `value`: a llama activation [tokens, features]
    Linear,     // x W, not yet written: input, weight, view, bias
    Sigmoid,    // sigmoid(value)
    Silu,       // value * sigmoid(value)
    KeyCache,   // a layer's present key (only returned)
    ValueCache,
    Table,  // an initializer (weight, embedding table, norm scale)
    TableT, // Transpose(initializer [N, K]): a MatMul weight as stored
  } kind = Unknown;
  Value value;
  // Linear:
  std::string weight;   // initializer name
  Type element;         // its element type
  int64_t rows = 0;     // N: outputs
  int64_t cols = 0;     // K: inputs
  bool storedKN = true; // the initializer is [K, N] (a MatMul weight)
  std::string bias;     // a 1-D initializer [N], or ""
  // A MatMulNBits weight (weight: the packed codes [N, blocks, block / 2]):
  int64_t nbitsBlock = 0;      // 0 for a float weight
  std::string nbitsScales;     // initializer of the scales
  std::string nbitsZeroPoints; // initializer of the 4-bit zero points, or ""
  // Table / TableT:
  RankedTensorType type;

  static Raised of(Kind kind, Value value = {}) {
    Raised r;
    r.kind = kind;
    r.value = value;
    return r;
  }
};

class Raiser {
public:
  Raiser(ModuleOp module, func::FuncOp graph, int64_t maxContext)
      : module_(module), graph_(graph), maxContext_(maxContext),
        b_(module.getContext()) {}

  LogicalResult run();

private:
  InFlightDiagnostic fail(Operation *op, const Twine &message) {
    return op->emitError() << message;
  }
  LogicalResult markLive();
  LogicalResult scanAttention();
  LogicalResult scanStandardAttention(Operation *op);
  LogicalResult recordLayer(Operation *op, int64_t layer, int64_t heads,
                            int64_t kvHeads, int64_t headDim, unsigned pastKey,
                            StringRef kind);
  /// llama.attention on the cache for an attention node's Q, K, V; its
  /// results become the output and the present key/value caches.
  void emitAttention(Operation *op, Value q, Value k, Value v, int64_t layer);
  LogicalResult raise(Operation *op);
  FailureOr<Value> activation(Value v, Operation *user);
  Value param(StringRef name, Type type, std::optional<int64_t> firstColumn,
              NamedAttrList extra = {});
  Value emitLinear(const Raised &lin, int64_t first, int64_t count,
                   Value input);
  FailureOr<Raised> asLinear(Value v, Operation *user);
  static int64_t intAttr(Operation *op, StringRef name, int64_t otherwise);
  static double floatAttr(Operation *op, StringRef name, double otherwise);
  FailureOr<SmallVector<double>> rotaryFrequencies(Operation *op, Value cos,
                                                   Value sin);

  ModuleOp module_;
  func::FuncOp graph_;
  int64_t maxContext_;
  OpBuilder b_;
  llvm::DenseMap<Value, Raised> raised_;
  llvm::DenseSet<Operation *> live_;
  std::map<std::string, Value> params_;

  // The forward pass being written.
  Value tokens_, pos_, kCache_, vCache_;
  Value tokenArg_;                            // the graph's token ids
  llvm::DenseMap<Value, int64_t> pastKeys_;   // graph arg -> layer
  llvm::DenseMap<Value, int64_t> pastValues_; // graph arg -> layer
  SmallVector<Operation *> attentions_;
  int64_t heads_ = 0, kvHeads_ = 0, headDim_ = 0, vocab_ = 0;
  Type cacheElement_;
};

int64_t Raiser::intAttr(Operation *op, StringRef name, int64_t otherwise) {
  if (auto attr = op->getAttrOfType<IntegerAttr>(name))
    return attr.getInt();
  return otherwise;
}

double Raiser::floatAttr(Operation *op, StringRef name, double otherwise) {
  if (auto attr = op->getAttrOfType<FloatAttr>(name))
    return attr.getValueAsDouble();
  return otherwise;
}

bool isNone(Value v) { return isa<NoneType>(v.getType()); }

/// The last dimension of an onnx value: its type's, or the output width of
/// the MatMul (with a weight initializer, maybe plus a bias) defining it.
int64_t featureWidth(Value v) {
  if (auto type = dyn_cast<RankedTensorType>(v.getType());
      type && type.getRank() > 0 && !type.isDynamicDim(type.getRank() - 1))
    return type.getDimSize(type.getRank() - 1);
  Operation *def = v.getDefiningOp();
  if (!def)
    return 0;
  if (isa<onnx::AddOp>(def))
    return std::max(featureWidth(def->getOperand(0)),
                    featureWidth(def->getOperand(1)));
  if (isa<onnx::CastOp, onnx::MS_RotaryEmbeddingOp, onnx::RotaryEmbeddingOp>(
          def))
    return featureWidth(def->getOperand(0));
  if (isa<onnx::MS_MatMulNBitsOp>(def))
    if (auto n = def->getAttrOfType<IntegerAttr>("N"))
      return n.getInt();
  if (isa<onnx::MatMulOp>(def)) {
    Value w = def->getOperand(1);
    bool transposed = false;
    if (auto t = w.getDefiningOp<onnx::TransposeOp>()) {
      w = t->getOperand(0);
      transposed = true;
    }
    if (auto init = w.getDefiningOp<onnx::InitializerOp>())
      if (init.getType().getRank() == 2)
        return init.getType().getDimSize(transposed ? 0 : 1);
  }
  return 0;
}

/// The operands an op needs for the outputs; the rest (attention-mask
/// bookkeeping, cache inputs, tables read at compile time) are not followed.
SmallVector<Value> neededOperands(Operation *op) {
  if (isa<onnx::MS_GroupQueryAttentionOp, onnx::AttentionOp>(op))
    return {op->getOperand(0), op->getOperand(1), op->getOperand(2)};
  // Positions and cos/sin tables are read at compile time.
  if (isa<onnx::MS_RotaryEmbeddingOp, onnx::RotaryEmbeddingOp>(op))
    return {op->getOperand(0)};
  SmallVector<Value> all;
  for (Value v : op->getOperands())
    if (!isNone(v))
      all.push_back(v);
  return all;
}

LogicalResult Raiser::markLive() {
  SmallVector<Value> work;
  Operation *ret = graph_.getBody().front().getTerminator();
  llvm::append_range(work, ret->getOperands());
  while (!work.empty()) {
    Value v = work.pop_back_val();
    Operation *def = v.getDefiningOp();
    if (!def || !live_.insert(def).second)
      continue;
    llvm::append_range(work, neededOperands(def));
  }
  return success();
}

LogicalResult Raiser::scanAttention() {
  for (Operation &op : graph_.getBody().front()) {
    if (!live_.contains(&op))
      continue;
    if (isa<onnx::AttentionOp>(op)) {
      if (failed(scanStandardAttention(&op)))
        return failure();
      continue;
    }
    if (!isa<onnx::MS_GroupQueryAttentionOp>(op))
      continue;
    int64_t layer = static_cast<int64_t>(attentions_.size());
    attentions_.push_back(&op);
    int64_t heads = intAttr(&op, "num_heads", 0);
    int64_t kvHeads = intAttr(&op, "kv_num_heads", 0);
    if (heads <= 0 || kvHeads <= 0 || heads % kvHeads)
      return fail(&op, "GroupQueryAttention needs num_heads and kv_num_heads "
                       "with num_heads a multiple of kv_num_heads");
    if (intAttr(&op, "local_window_size", -1) != -1 ||
        floatAttr(&op, "softcap", 0) != 0 ||
        intAttr(&op, "smooth_softmax", 0) != 0 ||
        intAttr(&op, "qk_output", 0) != 0)
      return fail(&op, "GroupQueryAttention with a sliding window, softcap, "
                       "smooth softmax or QK output is not supported");
    for (int i : {10, 11})
      if (!isNone(op.getOperand(i)))
        return fail(&op, "GroupQueryAttention with attention_bias or "
                         "head_sink is not supported");
    // Head size from the (packed) query's width.
    int64_t width = featureWidth(op.getOperand(0));
    if (width <= 0)
      return fail(&op, "cannot tell the query's width (not a MatMul with a "
                       "weight initializer, nor a tensor of static width)");
    int64_t headDim = 0;
    if (isNone(op.getOperand(1))) {
      if (width % (heads + 2 * kvHeads))
        return fail(&op, "packed query width is not (num_heads + "
                         "2 kv_num_heads) x head_dim");
      headDim = width / (heads + 2 * kvHeads);
    } else {
      if (width % heads)
        return fail(&op, "query width is not num_heads x head_dim");
      headDim = width / heads;
    }
    if (failed(recordLayer(&op, layer, heads, kvHeads, headDim,
                           /*pastKey=*/3, "GroupQueryAttention")))
      return failure();
  }
  if (attentions_.empty())
    return graph_.emitError("no attention node (GroupQueryAttention or "
                            "Attention) feeds the outputs: not a decoder "
                            "llamac can raise");
  return success();
}

/// Opset 23's Attention as a decoder layer: 3-D Q, K, V (q_num_heads and
/// kv_num_heads), the past keys/values graph inputs, present outputs, and
/// is_causal. Its causal frontier is aligned to the last key (query i of a
/// call after P cached keys sees keys 0..P+i; the reference implementation
/// and onnxruntime agree), which is llama.attention's.
LogicalResult Raiser::scanStandardAttention(Operation *op) {
  int64_t layer = static_cast<int64_t>(attentions_.size());
  attentions_.push_back(op);
  int64_t heads = intAttr(op, "q_num_heads", 0);
  int64_t kvHeads = intAttr(op, "kv_num_heads", 0);
  if (heads <= 0 || kvHeads <= 0 || heads % kvHeads)
    return fail(op, "Attention is raised with 3-D inputs: q_num_heads and "
                    "kv_num_heads, q_num_heads a multiple of kv_num_heads");
  if (!intAttr(op, "is_causal", 0))
    return fail(op, "Attention without is_causal is not a decoder's: "
                    "llamac's attention is causal over the cache");
  if (!isNone(op->getOperand(3)))
    return fail(op, "Attention with an attn_mask is not raised (llamac's "
                    "attention is causal over the cache; padding masks have "
                    "no counterpart)");
  if (floatAttr(op, "softcap", 0) != 0)
    return fail(op, "Attention with softcap is not supported");
  if (op->getNumResults() > 3 && !op->getResult(3).use_empty())
    return fail(op, "Attention's qk_matmul_output is used");
  int64_t qWidth = featureWidth(op->getOperand(0));
  int64_t kWidth = featureWidth(op->getOperand(1));
  int64_t vWidth = featureWidth(op->getOperand(2));
  if (qWidth <= 0 || kWidth <= 0 || vWidth <= 0)
    return fail(op, "cannot tell the widths of Q, K and V (not MatMuls with "
                    "weight initializers, nor tensors of static width)");
  if (qWidth % heads || kWidth % kvHeads ||
      qWidth / heads != kWidth / kvHeads || vWidth != kWidth)
    return fail(op, "Q, K and V widths are not heads x one head size");
  return recordLayer(op, layer, heads, kvHeads, qWidth / heads,
                     /*pastKey=*/4, "Attention");
}

/// The first attention layer sets the head counts and size, the others must
/// agree; the layer's past key and value (operands pastKey, pastKey + 1)
/// must be graph inputs, which become the runtime's cache.
LogicalResult Raiser::recordLayer(Operation *op, int64_t layer, int64_t heads,
                                  int64_t kvHeads, int64_t headDim,
                                  unsigned pastKey, StringRef kind) {
  if (layer == 0) {
    heads_ = heads;
    kvHeads_ = kvHeads;
    headDim_ = headDim;
  } else if (heads != heads_ || kvHeads != kvHeads_ || headDim != headDim_) {
    return fail(op, "attention layers differ in their head counts or size");
  }
  for (auto [index, map] :
       {std::pair{pastKey, &pastKeys_}, {pastKey + 1, &pastValues_}}) {
    auto arg = dyn_cast<BlockArgument>(op->getOperand(index));
    if (!arg)
      return fail(op, kind + "'s past key/value must be graph inputs (they "
                             "become the runtime's cache)");
    (*map)[arg] = layer;
  }
  return success();
}

Value Raiser::param(StringRef name, Type type,
                    std::optional<int64_t> firstColumn, NamedAttrList extra) {
  std::string key;
  llvm::raw_string_ostream os(key);
  os << name << '\0' << type << '\0' << (firstColumn ? *firstColumn : -1)
     << '\0' << extra.getDictionary(b_.getContext());
  if (Value v = params_[key])
    return v;
  OpBuilder::InsertionGuard guard(b_);
  auto param =
      ParamOp::create(b_, b_.getUnknownLoc(), type, b_.getStringAttr(name));
  if (firstColumn)
    param->setAttr(kTransposeFromAttr, b_.getI64IntegerAttr(*firstColumn));
  for (NamedAttribute attr : extra)
    param->setAttr(attr.getName(), attr.getValue());
  return params_[key] = param;
}

/// A weight or table initializer (or a Transpose of one).
FailureOr<Raised> Raiser::asLinear(Value v, Operation *user) {
  if (auto it = raised_.find(v);
      it != raised_.end() && it->second.kind == Raised::Linear)
    return it->second;
  return failure();
}

Value Raiser::emitLinear(const Raised &lin, int64_t first, int64_t count,
                         Value input) {
  auto type = RankedTensorType::get({count, lin.cols}, lin.element);
  Value weight;
  if (lin.nbitsBlock) {
    // Repacked into GGML's 4-bit blocks when the weights are written: q4_0
    // is MatMulNBits' default zero point of 8, q4_1 any other.
    QuantKind kind =
        lin.nbitsZeroPoints.empty() ? QuantKind::Q4_0 : QuantKind::Q4_1;
    auto qtype =
        QTensorType::get(b_.getContext(), {count, lin.cols},
                         QuantSchemeAttr::getGGML(b_.getContext(), kind));
    NamedAttrList nbits;
    nbits.set("scales", b_.getStringAttr(lin.nbitsScales));
    if (!lin.nbitsZeroPoints.empty())
      nbits.set("zero_points", b_.getStringAttr(lin.nbitsZeroPoints));
    nbits.set("block_size", b_.getI64IntegerAttr(lin.nbitsBlock));
    NamedAttrList extra;
    extra.set(kMatMulNBitsAttr, nbits.getDictionary(b_.getContext()));
    if (first != 0 || count != lin.rows)
      extra.set(kRowsFromAttr, b_.getI64IntegerAttr(first));
    weight = param(lin.weight, qtype, std::nullopt, extra);
  } else {
    weight = lin.storedKN
                 ? param(lin.weight, type, first)
                 : param(lin.weight, type, std::nullopt); // rows as stored
  }
  Value bias;
  if (!lin.bias.empty())
    bias = param(lin.bias, RankedTensorType::get({count}, b_.getF32Type()),
                 std::nullopt);
  auto inputType = cast<RankedTensorType>(input.getType());
  auto result =
      RankedTensorType::get({inputType.getDimSize(0), count}, b_.getF32Type());
  return LinearOp::create(b_, input.getLoc(), result, input, weight, bias);
}

FailureOr<Value> Raiser::activation(Value v, Operation *user) {
  auto it = raised_.find(v);
  if (it == raised_.end()) {
    user->emitError() << "reads a value llamac could not raise ("
                      << (v.getDefiningOp()
                              ? v.getDefiningOp()->getName().getStringRef()
                              : StringRef("a graph input"))
                      << ")";
    return failure();
  }
  Raised &r = it->second;
  if (r.kind == Raised::Activation)
    return r.value;
  if (r.kind == Raised::Linear) {
    Value out = emitLinear(r, 0, r.rows, r.value);
    r = Raised::of(Raised::Activation, out);
    return out;
  }
  user->emitError() << "uses a value (" << static_cast<int>(r.kind)
                    << ") that has no llama form on its own here";
  return failure();
}

FailureOr<SmallVector<double>> Raiser::rotaryFrequencies(Operation *op,
                                                         Value cos, Value sin) {
  auto cosOp = cos.getDefiningOp<onnx::ConstantOp>();
  auto sinOp = sin.getDefiningOp<onnx::ConstantOp>();
  auto cosValues =
      cosOp ? dyn_cast_or_null<DenseElementsAttr>(cosOp->getAttr("value"))
            : DenseElementsAttr();
  auto sinValues =
      sinOp ? dyn_cast_or_null<DenseElementsAttr>(sinOp->getAttr("value"))
            : DenseElementsAttr();
  if (!cosValues || !sinValues || cosValues.getType() != sinValues.getType() ||
      cosValues.getType().getRank() != 2 ||
      !cosValues.getElementType().isF32() ||
      cosValues.getType().getDimSize(0) < 2) {
    op->emitError("rotary cos/sin caches must be constant [positions, "
                  "rotary_dim / 2] float tables");
    return failure();
  }
  int64_t positions = cosValues.getType().getDimSize(0);
  int64_t pairs = cosValues.getType().getDimSize(1);
  auto c = cosValues.getValues<float>();
  auto s = sinValues.getValues<float>();
  SmallVector<double> frequencies;
  for (int64_t i = 0; i < pairs; ++i)
    frequencies.push_back(std::atan2(s[pairs + i], c[pairs + i]));
  // The tables must be cos/sin of position x frequency at every position
  // (spot-checked), else the frequencies do not describe them.
  for (int64_t p : {int64_t(2), positions / 3, positions - 1}) {
    if (p >= positions)
      continue;
    for (int64_t i = 0; i < pairs; ++i) {
      double angle = static_cast<double>(p) * frequencies[i];
      if (std::abs(std::cos(angle) - c[p * pairs + i]) > 2e-3 ||
          std::abs(std::sin(angle) - s[p * pairs + i]) > 2e-3) {
        op->emitError() << "rotary tables are not cos/sin of position x "
                           "frequency (position "
                        << p << ", pair " << i << ")";
        return failure();
      }
    }
  }
  return frequencies;
}

void Raiser::emitAttention(Operation *op, Value q, Value k, Value v,
                           int64_t layer) {
  double scale = floatAttr(op, "scale", 0);
  FloatAttr scaleAttr = scale != 0 ? b_.getF64FloatAttr(scale) : FloatAttr();
  auto attention = AttentionOp::create(
      b_, op->getLoc(), q.getType(), kCache_.getType(), vCache_.getType(), q, k,
      v, kCache_, vCache_, pos_, b_.getI64IntegerAttr(layer),
      b_.getI64IntegerAttr(heads_), b_.getI64IntegerAttr(kvHeads_), scaleAttr,
      /*key_rope=*/DenseF64ArrayAttr(),
      /*key_rope_interleaved=*/UnitAttr());
  kCache_ = attention.getKCacheOut();
  vCache_ = attention.getVCacheOut();
  raised_[op->getResult(0)] =
      Raised::of(Raised::Activation, attention.getOutput());
  raised_[op->getResult(1)] = Raised::of(Raised::KeyCache);
  raised_[op->getResult(2)] = Raised::of(Raised::ValueCache);
}

LogicalResult Raiser::raise(Operation *op) {
  Location loc = op->getLoc();
  auto result = [&](unsigned i, Raised r) { raised_[op->getResult(i)] = r; };
  auto known = [&](Value v) -> Raised * {
    auto it = raised_.find(v);
    return it == raised_.end() ? nullptr : &it->second;
  };

  if (auto init = dyn_cast<onnx::InitializerOp>(op)) {
    Raised r = Raised::of(Raised::Table);
    r.type = cast<RankedTensorType>(init.getType());
    r.weight = init.getName().str();
    result(0, r);
    return success();
  }
  if (isa<onnx::ConstantOp, onnx::NoneOp>(op))
    return success();

  if (isa<onnx::TransposeOp>(op)) {
    Raised *in = known(op->getOperand(0));
    auto perm = op->getAttrOfType<ArrayAttr>("perm");
    bool swap = !perm ||
                (perm.size() == 2 && cast<IntegerAttr>(perm[0]).getInt() == 1 &&
                 cast<IntegerAttr>(perm[1]).getInt() == 0);
    if (!in || in->kind != Raised::Table || in->type.getRank() != 2 || !swap)
      return fail(op, "Transpose is only raised on a 2-D initializer (a "
                      "tied or pre-transposed weight)");
    Raised r = *in;
    r.kind = Raised::TableT;
    result(0, r);
    return success();
  }

  if (isa<onnx::GatherOp>(op)) {
    Raised *table = known(op->getOperand(0));
    if (!table || table->kind != Raised::Table || table->type.getRank() != 2 ||
        intAttr(op, "axis", 0) != 0 || op->getOperand(1) != tokenArg_)
      return fail(op, "Gather is raised as the token embedding: rows of a "
                      "2-D initializer indexed by the token ids");
    vocab_ = table->type.getDimSize(0);
    Value tablePar = param(table->weight, table->type, std::nullopt);
    auto type = RankedTensorType::get(
        {ShapedType::kDynamic, table->type.getDimSize(1)}, b_.getF32Type());
    result(0,
           Raised::of(Raised::Activation,
                      EmbeddingOp::create(b_, loc, type, tablePar, tokens_)));
    return success();
  }

  auto norm = [&](Value x, Value scale, double eps) -> FailureOr<Value> {
    Raised *weight = known(scale);
    if (!weight || weight->kind != Raised::Table || weight->type.getRank() != 1)
      return fail(op, "the normalization scale must be a 1-D initializer");
    Value w = param(weight->weight, weight->type, std::nullopt);
    return RMSNormOp::create(b_, loc, x.getType(), x, w,
                             b_.getF64FloatAttr(eps))
        .getResult();
  };
  StringRef name = op->getName().getStringRef();
  if (name == "onnx.SimplifiedLayerNormalization" ||
      name == "onnx.ms.SimplifiedLayerNormalization" ||
      name == "onnx.RMSNormalization") {
    int64_t axis = intAttr(op, "axis", -1);
    if (axis != -1 && axis != 2)
      return fail(op, "RMS normalization is raised over the last axis only");
    for (unsigned i = 1; i < op->getNumResults(); ++i)
      if (!op->getResult(i).use_empty())
        return fail(op, "the normalization's statistics outputs are used");
    FailureOr<Value> x = activation(op->getOperand(0), op);
    if (failed(x))
      return failure();
    FailureOr<Value> y =
        norm(*x, op->getOperand(1), floatAttr(op, "epsilon", 1e-5));
    if (failed(y))
      return failure();
    result(0, Raised::of(Raised::Activation, *y));
    return success();
  }
  if (isa<onnx::MS_SkipSimplifiedLayerNormalizationOp>(op)) {
    if (!isNone(op->getOperand(3)))
      return fail(op, "SkipSimplifiedLayerNormalization with a bias is not "
                      "supported");
    if (!op->getResult(1).use_empty() || !op->getResult(2).use_empty())
      return fail(op, "the normalization's statistics outputs are used");
    FailureOr<Value> a = activation(op->getOperand(0), op);
    FailureOr<Value> s = failed(a) ? FailureOr<Value>(failure())
                                   : activation(op->getOperand(1), op);
    if (failed(s))
      return failure();
    Value sum = AddOp::create(b_, loc, a->getType(), *a, *s);
    FailureOr<Value> y =
        norm(sum, op->getOperand(2), floatAttr(op, "epsilon", 1e-5));
    if (failed(y))
      return failure();
    result(0, Raised::of(Raised::Activation, *y));
    result(3, Raised::of(Raised::Activation, sum));
    return success();
  }

  if (isa<onnx::MatMulOp>(op)) {
    Raised *w = known(op->getOperand(1));
    if (!w || (w->kind != Raised::Table && w->kind != Raised::TableT) ||
        w->type.getRank() != 2)
      return fail(op, "MatMul is raised when its right operand is a 2-D "
                      "initializer (a weight); a product of two activations "
                      "is attention written out in operators, which llamac "
                      "does not raise yet");
    if (!isa<FloatType>(w->type.getElementType()))
      return fail(op, "MatMul's weight initializer is not of a float type");
    FailureOr<Value> x = activation(op->getOperand(0), op);
    if (failed(x))
      return failure();
    Raised lin = Raised::of(Raised::Linear, *x);
    lin.weight = w->weight;
    lin.element = w->type.getElementType();
    lin.storedKN = w->kind == Raised::Table;
    lin.cols = w->type.getDimSize(lin.storedKN ? 0 : 1);
    lin.rows = w->type.getDimSize(lin.storedKN ? 1 : 0);
    if (cast<RankedTensorType>(x->getType()).getDimSize(1) != lin.cols)
      return fail(op, "MatMul's operands do not agree on the inner dimension");
    result(0, lin);
    return success();
  }

  if (isa<onnx::MS_MatMulNBitsOp>(op)) {
    // Y = A B^T with B [N, K] in blocks of block_size values along K: codes
    // q (4 bits), per block a scale s and a zero point z (8 by default),
    // B = s (q - z).
    int64_t k = intAttr(op, "K", 0), n = intAttr(op, "N", 0),
            bits = intAttr(op, "bits", 4), block = intAttr(op, "block_size", 0);
    if (bits != 4)
      return fail(op, "MatMulNBits with bits = ")
             << bits << ": llamac reads 4-bit weights";
    if (block < 32 || !llvm::isPowerOf2_64(block) || k <= 0 || n <= 0 ||
        k % block != 0)
      return fail(op, "MatMulNBits with K = ")
             << k << ", N = " << n << ", block_size = " << block
             << ": llamac needs K a multiple of block_size, and block_size a "
                "power of two of at least 32 (its 4-bit kernels work in "
                "blocks of 32)";
    if (!isNone(op->getOperand(4)))
      return fail(op, "MatMulNBits with g_idx (act-order) is not supported");
    int64_t blocks = k / block;
    auto isU8 = [](Type t) { return t.isUnsignedInteger(8); };
    Raised *w = known(op->getOperand(1));
    if (!w || w->kind != Raised::Table || w->type.getRank() != 3 ||
        !isU8(w->type.getElementType()) ||
        w->type.getShape() != ArrayRef<int64_t>{n, blocks, block / 2})
      return fail(op, "MatMulNBits' B must be a uint8 initializer of shape [")
             << n << ", " << blocks << ", " << block / 2 << "]";
    Raised *s = known(op->getOperand(2));
    if (!s || s->kind != Raised::Table ||
        !(s->type.getElementType().isF32() ||
          s->type.getElementType().isF16()) ||
        s->type.getNumElements() != n * blocks)
      return fail(op, "MatMulNBits' scales must be an f32 or f16 initializer "
                      "of ")
             << n * blocks << " values";
    Raised lin = Raised::of(Raised::Linear);
    if (!isNone(op->getOperand(3))) {
      Raised *z = known(op->getOperand(3));
      if (!z || z->kind != Raised::Table || !isU8(z->type.getElementType()) ||
          z->type.getNumElements() != n * ((blocks + 1) / 2))
        return fail(op, "MatMulNBits' zero points must be a uint8 "
                        "initializer of packed 4-bit values, ")
               << n * ((blocks + 1) / 2)
               << " bytes (float zero points are not supported)";
      lin.nbitsZeroPoints = z->weight;
    }
    if (!isNone(op->getOperand(5))) {
      Raised *bias = known(op->getOperand(5));
      if (!bias || bias->kind != Raised::Table || bias->type.getRank() != 1 ||
          bias->type.getDimSize(0) != n || !bias->type.getElementType().isF32())
        return fail(op, "MatMulNBits' bias must be an f32 initializer [N]");
      lin.bias = bias->weight;
    }
    FailureOr<Value> x = activation(op->getOperand(0), op);
    if (failed(x))
      return failure();
    if (cast<RankedTensorType>(x->getType()).getDimSize(1) != k)
      return fail(op, "MatMulNBits' input width is not K = ") << k;
    lin.value = *x;
    lin.weight = w->weight;
    lin.element = b_.getF32Type();
    lin.rows = n;
    lin.cols = k;
    lin.storedKN = false;
    lin.nbitsBlock = block;
    lin.nbitsScales = s->weight;
    result(0, lin);
    return success();
  }

  if (isa<onnx::AddOp>(op)) {
    Raised *lhs = known(op->getOperand(0)), *rhs = known(op->getOperand(1));
    for (auto [lin, bias] : {std::pair{lhs, rhs}, {rhs, lhs}}) {
      if (lin && bias && lin->kind == Raised::Linear && lin->bias.empty() &&
          bias->kind == Raised::Table && bias->type.getRank() == 1 &&
          bias->type.getDimSize(0) == lin->rows &&
          bias->type.getElementType().isF32()) {
        Raised r = *lin;
        r.bias = bias->weight;
        result(0, r);
        return success();
      }
    }
    FailureOr<Value> a = activation(op->getOperand(0), op);
    FailureOr<Value> c = failed(a) ? FailureOr<Value>(failure())
                                   : activation(op->getOperand(1), op);
    if (failed(c))
      return failure();
    if (a->getType() != c->getType())
      return fail(op, "Add is raised for two activations of one shape");
    result(0, Raised::of(Raised::Activation,
                         AddOp::create(b_, loc, a->getType(), *a, *c)));
    return success();
  }

  if (isa<onnx::CastOp>(op)) {
    // Between float types: llamac computes activations in f32 throughout.
    auto to = intAttr(op, "to", 0);
    bool floatTarget =
        to == 1 /*FLOAT*/ || to == 10 /*FLOAT16*/ || to == 16 /*BFLOAT16*/;
    Raised *in = known(op->getOperand(0));
    if (!floatTarget || !in)
      return fail(op, "Cast is raised between float types only");
    result(0, *in);
    return success();
  }

  if (isa<onnx::SigmoidOp>(op)) {
    FailureOr<Value> x = activation(op->getOperand(0), op);
    if (failed(x))
      return failure();
    result(0, Raised::of(Raised::Sigmoid, *x));
    return success();
  }

  if (isa<onnx::MulOp>(op)) {
    Raised *lhs = known(op->getOperand(0)), *rhs = known(op->getOperand(1));
    // x * sigmoid(x): SiLU, kept for the product with the up projection.
    for (auto [sig, other] :
         {std::pair{lhs, op->getOperand(1)}, {rhs, op->getOperand(0)}}) {
      if (sig && sig->kind == Raised::Sigmoid) {
        FailureOr<Value> x = activation(other, op);
        if (failed(x))
          return failure();
        if (*x != sig->value)
          break;
        result(0, Raised::of(Raised::Silu, *x));
        return success();
      }
    }
    for (auto [silu, other] :
         {std::pair{lhs, op->getOperand(1)}, {rhs, op->getOperand(0)}}) {
      if (silu && silu->kind == Raised::Silu) {
        FailureOr<Value> up = activation(other, op);
        if (failed(up))
          return failure();
        if (up->getType() != silu->value.getType())
          return fail(op, "SwiGLU's gate and up differ in shape");
        result(0, Raised::of(Raised::Activation,
                             SwiGLUOp::create(b_, loc, up->getType(),
                                              silu->value, *up)));
        return success();
      }
    }
    return fail(op, "Mul is raised only as SiLU (x * Sigmoid(x)) and SwiGLU "
                    "(SiLU(gate) * up)");
  }

  if (isa<onnx::MS_GroupQueryAttentionOp>(op)) {
    int64_t layer = llvm::find(attentions_, op) - attentions_.begin();
    int64_t qWidth = heads_ * headDim_, kvWidth = kvHeads_ * headDim_;
    Value q, k, v;
    if (isNone(op->getOperand(1))) {
      FailureOr<Raised> packed = asLinear(op->getOperand(0), op);
      if (failed(packed))
        return fail(op, "a packed GroupQueryAttention query must come from a "
                        "MatMul with a weight initializer");
      if (!packed->bias.empty())
        return fail(op, "a packed Q/K/V projection with a bias is not "
                        "supported");
      q = emitLinear(*packed, 0, qWidth, packed->value);
      k = emitLinear(*packed, qWidth, kvWidth, packed->value);
      v = emitLinear(*packed, qWidth + kvWidth, kvWidth, packed->value);
    } else {
      FailureOr<Value> qa = activation(op->getOperand(0), op);
      FailureOr<Value> ka = failed(qa) ? FailureOr<Value>(failure())
                                       : activation(op->getOperand(1), op);
      FailureOr<Value> va = failed(ka) ? FailureOr<Value>(failure())
                                       : activation(op->getOperand(2), op);
      if (failed(va))
        return failure();
      q = *qa;
      k = *ka;
      v = *va;
    }
    if (intAttr(op, "do_rotary", 0)) {
      FailureOr<SmallVector<double>> frequencies =
          rotaryFrequencies(op, op->getOperand(7), op->getOperand(8));
      if (failed(frequencies))
        return failure();
      int64_t rotaryDim = 2 * static_cast<int64_t>(frequencies->size());
      if (rotaryDim > headDim_)
        return fail(op, "the rotary tables rotate more features than a head "
                        "has");
      bool interleaved = intAttr(op, "rotary_interleaved", 0) != 0;
      auto rope = [&](Value x) {
        return RopeOp::create(
            b_, loc, x.getType(), x, pos_, b_.getI64IntegerAttr(headDim_),
            rotaryDim == headDim_ ? IntegerAttr()
                                  : b_.getI64IntegerAttr(rotaryDim),
            b_.getF64FloatAttr(10000.0),
            interleaved ? b_.getUnitAttr() : UnitAttr(), RopeScalingAttr(),
            b_.getDenseF64ArrayAttr(*frequencies));
      };
      q = rope(q);
      k = rope(k);
    }
    emitAttention(op, q, k, v, layer);
    if (!op->getResult(3).use_empty())
      return fail(op, "GroupQueryAttention's output_qk is used");
    return success();
  }

  if (isa<onnx::AttentionOp>(op)) {
    int64_t layer = llvm::find(attentions_, op) - attentions_.begin();
    FailureOr<Value> q = activation(op->getOperand(0), op);
    FailureOr<Value> k = failed(q) ? FailureOr<Value>(failure())
                                   : activation(op->getOperand(1), op);
    FailureOr<Value> v = failed(k) ? FailureOr<Value>(failure())
                                   : activation(op->getOperand(2), op);
    if (failed(v))
      return failure();
    emitAttention(op, *q, *k, *v, layer);
    return success();
  }

  // com.microsoft.RotaryEmbedding (input, position_ids, cos_cache,
  // sin_cache) and ai.onnx RotaryEmbedding of opset 23 (X, cos_cache,
  // sin_cache, position_ids): a separate rotary before GroupQueryAttention
  // (do_rotary = 0). The positions must be a graph input (the position ids
  // the runtime gives as pos + t); the frequencies come from the tables.
  if (isa<onnx::MS_RotaryEmbeddingOp, onnx::RotaryEmbeddingOp>(op)) {
    bool microsoft = isa<onnx::MS_RotaryEmbeddingOp>(op);
    Value positions = op->getOperand(microsoft ? 1 : 3);
    Value cos = op->getOperand(microsoft ? 2 : 1);
    Value sin = op->getOperand(microsoft ? 3 : 2);
    if (isNone(positions) || !isa<BlockArgument>(positions))
      return fail(op, "RotaryEmbedding's position ids must be a graph input "
                      "(the positions of the call's tokens)");
    if (floatAttr(op, "scale", 1.0) != 1.0 ||
        intAttr(op, "is_packed_batching", 0) != 0)
      return fail(op, "RotaryEmbedding with a scale or packed batching is "
                      "not supported");
    FailureOr<Value> x = activation(op->getOperand(0), op);
    if (failed(x))
      return failure();
    int64_t width = cast<RankedTensorType>(x->getType()).getDimSize(1);
    int64_t heads = intAttr(op, "num_heads", 0);
    if (heads <= 0 || width % heads != 0)
      return fail(op, "RotaryEmbedding on [batch, sequence, hidden] input "
                      "needs num_heads dividing the hidden size");
    int64_t headDim = width / heads;
    FailureOr<SmallVector<double>> frequencies =
        rotaryFrequencies(op, cos, sin);
    if (failed(frequencies))
      return failure();
    int64_t rotaryDim = 2 * static_cast<int64_t>(frequencies->size());
    int64_t declared = intAttr(op, "rotary_embedding_dim", 0);
    if (rotaryDim > headDim || (declared != 0 && declared != rotaryDim))
      return fail(op, "RotaryEmbedding's rotary_embedding_dim does not match "
                      "its cos/sin tables and head size");
    bool interleaved = intAttr(op, "interleaved", 0) != 0;
    Value rope = RopeOp::create(
        b_, loc, x->getType(), *x, pos_, b_.getI64IntegerAttr(headDim),
        rotaryDim == headDim ? IntegerAttr() : b_.getI64IntegerAttr(rotaryDim),
        b_.getF64FloatAttr(10000.0),
        interleaved ? b_.getUnitAttr() : UnitAttr(), RopeScalingAttr(),
        b_.getDenseF64ArrayAttr(*frequencies));
    result(0, Raised::of(Raised::Activation, rope));
    return success();
  }

  return fail(op, "is not an operator llamac raises into the llama dialect "
                  "(its result is needed by the graph's outputs)");
}

LogicalResult Raiser::run() {
  if (failed(markLive()))
    return failure();
  Block &body = graph_.getBody().front();

  // The token ids: the indices of the embedding Gather.
  for (Operation &op : body)
    if (live_.contains(&op) && isa<onnx::GatherOp>(op))
      if (auto arg = dyn_cast<BlockArgument>(op.getOperand(1)))
        if (!tokenArg_)
          tokenArg_ = arg;
  if (!tokenArg_)
    return graph_.emitError("no Gather of the token ids from an embedding "
                            "table: not a decoder llamac can raise");
  if (failed(scanAttention()))
    return failure();

  // The element type of the caches: the attention inputs' (f32 here).
  cacheElement_ = b_.getF32Type();
  int64_t layers = static_cast<int64_t>(attentions_.size());
  int64_t context = maxContext_ > 0 ? maxContext_ : 4096;
  auto cacheType = RankedTensorType::get({layers, kvHeads_, context, headDim_},
                                         cacheElement_);

  // Every graph input the outputs read must be the token ids or a cache.
  for (Operation &op : body) {
    if (!live_.contains(&op))
      continue;
    for (Value v : neededOperands(&op))
      if (auto arg = dyn_cast<BlockArgument>(v); arg && arg != tokenArg_)
        return op.emitError()
               << "reads graph input #" << arg.getArgNumber()
               << " which is neither the token ids nor a key/value cache";
  }

  // @forward(tokens, pos, k_cache, v_cache) -> (logits, k_cache, v_cache).
  b_.setInsertionPointToEnd(module_.getBody());
  auto tokensType =
      RankedTensorType::get({ShapedType::kDynamic}, b_.getI32Type());
  // The logits type needs the vocabulary; written once it is known.
  auto forward = func::FuncOp::create(
      b_, graph_.getLoc(), "forward",
      b_.getFunctionType({tokensType, b_.getIndexType(), cacheType, cacheType},
                         {}));
  Block *entry = forward.addEntryBlock();
  b_.setInsertionPointToStart(entry);
  tokens_ = entry->getArgument(0);
  pos_ = entry->getArgument(1);
  kCache_ = entry->getArgument(2);
  vCache_ = entry->getArgument(3);

  for (Operation &op : body) {
    if (!live_.contains(&op) || isa<func::ReturnOp>(op))
      continue;
    if (failed(raise(&op)))
      return failure();
  }

  // The outputs: one logits tensor and the present key/values.
  Value logits;
  Operation *ret = body.getTerminator();
  for (Value out : ret->getOperands()) {
    Raised &r = raised_[out];
    if (r.kind == Raised::KeyCache || r.kind == Raised::ValueCache)
      continue;
    if (logits || (r.kind != Raised::Linear && r.kind != Raised::Activation))
      return ret->emitError("the graph must return one logits tensor besides "
                            "its present keys and values");
    // Only the last position's logits: slice the product's input.
    Value x = r.kind == Raised::Linear ? r.value : r.value;
    auto type = cast<RankedTensorType>(x.getType());
    Location loc = ret->getLoc();
    Value zero = arith::ConstantIndexOp::create(b_, loc, 0);
    Value one = arith::ConstantIndexOp::create(b_, loc, 1);
    Value count = tensor::DimOp::create(b_, loc, x, zero);
    Value last = arith::SubIOp::create(b_, loc, count, one);
    auto rowType =
        RankedTensorType::get({1, type.getDimSize(1)}, type.getElementType());
    Value row = tensor::ExtractSliceOp::create(
        b_, loc, rowType, x, ValueRange{last}, ValueRange{}, ValueRange{},
        b_.getDenseI64ArrayAttr({ShapedType::kDynamic, 0}),
        b_.getDenseI64ArrayAttr({1, type.getDimSize(1)}),
        b_.getDenseI64ArrayAttr({1, 1}));
    logits = r.kind == Raised::Linear ? emitLinear(r, 0, r.rows, row) : row;
  }
  if (!logits)
    return ret->emitError("the graph returns no logits");
  func::ReturnOp::create(b_, ret->getLoc(),
                         ValueRange{logits, kCache_, vCache_});
  forward.setFunctionType(
      b_.getFunctionType({tokensType, b_.getIndexType(), cacheType, cacheType},
                         {logits.getType(), cacheType, cacheType}));
  graph_.erase();
  return success();
}

struct ONNXRaiseLlamaPass
    : public llamac::impl::ONNXRaiseLlamaBase<ONNXRaiseLlamaPass> {
  using ONNXRaiseLlamaBase::ONNXRaiseLlamaBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto graph = module.lookupSymbol<func::FuncOp>("main_graph");
    if (!graph) {
      module.emitError("onnx-raise-llama: no @main_graph (an imported ONNX "
                       "graph) in the module");
      return signalPassFailure();
    }
    if (failed(Raiser(module, graph, maxContext).run()))
      return signalPassFailure();
  }
};

} // namespace
