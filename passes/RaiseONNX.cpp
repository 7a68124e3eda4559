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
//   Attention in plain operators (torch.onnx, -> llama.rms_norm, llama.rope,
//     optimum: MatMul/Softmax with a mask        llama.attention (see
//     computed from positions, rotate_half)      raisePlain below)
//
// Anything else the outputs depend on is reported with its node name.
//
//===----------------------------------------------------------------------===//

#include "dialects/ONNX/ONNXDialect.h"
#include "dialects/ONNX/ONNXEval.h"
#include "passes/Passes.h"
#include "passes/WeightsLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

#include <cmath>
#include <map>
#include <memory>

namespace llamac {
#define GEN_PASS_DEF_ONNXRAISELLAMA
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

namespace {

/// One factor of a view's axis: the tokens (S), the projection's features
/// (F) before a reshape splits them into heads (H) x features per head (D),
/// a repetition of the key/value heads (R, grouped-query attention), or the
/// positions of the cache (C: past keys/values concatenated with the
/// tokens').
struct Factor {
  enum Kind : uint8_t { S, F, H, D, R, C } kind;
  int64_t size;
  bool operator==(const Factor &o) const {
    return kind == o.kind && size == o.size;
  }
};

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
    // Plain-operator exports (see raisePlain):
    Known,         // computed while compiling (shapes, positions, masks)
    View,          // an activation seen through reshapes and transposes
    ViewSlice,     // a slice of a view's last (head feature) axis
    RotateHalf,    // Concat(-x[..., D/2:], x[..., :D/2]) of a view
    RopeCos,       // view x cos table
    RopeSin,       // rotate_half(view) x sin table
    Scores,        // query view . key view^T, maybe masked
    Probs,         // softmax of causally masked scores
    NaNOf,         // IsNaN(probs)
    RmsSquare,     // x^2
    RmsMean,       // mean(x^2) over the features
    RmsMeanEps,    // mean(x^2) + eps
    RmsRoot,       // sqrt(mean(x^2) + eps)
    RmsInverse,    // 1 / sqrt(mean(x^2) + eps)
    RmsNormalized, // x / sqrt(mean(x^2) + eps), before the scale
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
  // View: `value` [tokens, features] with the features split as heads x
  // headDim once a reshape splits them; each axis of the onnx value is a
  // list of factors (size-1 ones dropped), in memory order.
  SmallVector<SmallVector<Factor, 2>, 5> axes;
  int64_t heads = 0, headDim = 0, repeat = 1;
  double scale = 1; // a factor applied to the view's elements
  // ViewSlice: [sliceFrom, sliceTo) of the last axis, maybe negated.
  int64_t sliceFrom = 0, sliceTo = 0;
  bool negated = false;
  bool masked = false; // Scores
  Value table;    // RopeCos / RopeSin: the cos or sin values; NaNOf: the probs
  double eps = 0; // Rms*
  std::shared_ptr<Raised> view, keys; // ViewSlice..RopeSin; Scores, Probs

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
  /// The llama.attention op itself (the caches move on to its results).
  Value emitAttentionOp(Location loc, Value q, Value k, Value v, int64_t layer,
                        FloatAttr scale);

  // --- Attention written out in plain operators (torch.onnx, optimum) -----
  /// Runs the graph's shape, position and mask arithmetic at kPoints.
  void evaluate();
  const onnx::EvalTensor *shapeOf(Value v) const {
    return evals_.empty() ? nullptr : evals_.front()->lookup(v);
  }
  FailureOr<bool> raisePlain(Operation *op);
  FailureOr<Raised> viewOf(Value v, Operation *user);
  FailureOr<Raised> regroup(const Raised &view, ArrayRef<int64_t> shape);
  LogicalResult agrees(Operation *op, const Raised &view);
  /// The frequencies of rotary cos/sin tables applied to a view: tables
  /// broadcast against it ([.., tokens, head size], the halves repeated),
  /// or with `halfTables`, RotaryEmbedding's caches [batch, tokens, D / 2].
  FailureOr<SmallVector<double>> viewRotary(Operation *op, const Raised &view,
                                            Value cos, Value sin,
                                            bool halfTables = false);
  /// The scores' shape at one of kPoints.
  using ScoresShape = function_ref<std::optional<SmallVector<int64_t>>(
      const onnx::GraphEvaluator &)>;
  LogicalResult checkCausal(Operation *op, Value mask, ScoresShape scores,
                            bool boolean);
  /// llama.attention for Q, K, V views; the result is the output view
  /// [1.., heads, S, D] of `op`.
  FailureOr<bool> emitPlainAttention(Operation *op, const Raised &q,
                                     const Raised &k, const Raised &v,
                                     double scale);
  /// The head structure of attention's Q.K^T or P.V operand.
  struct Heads {
    int64_t heads = 1, kvHeads = 1, headDim = 0;
    Factor::Kind positions = Factor::S; // the tokens', or the cache's
  };
  FailureOr<Heads> headsOf(Operation *op, const Raised &view, bool keysT);
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

  /// Sequence lengths at which the graph is evaluated; the first gives the
  /// shapes the views are read from (a length no head count or size is
  /// likely to equal), the others re-check the position tables and masks.
  /// The cached positions and new tokens at which the graph is evaluated.
  /// The first gives the shapes the views are read from (a length no head
  /// count or size is likely to equal) and the rotary frequencies; the
  /// others re-check the position tables and masks, with a past only for a
  /// graph with past keys/values.
  struct Point {
    int64_t past, length;
  };
  static constexpr Point kPoints[] = {{0, 11}, {0, 1}, {0, 2},
                                      {0, 6},  {3, 1}, {5, 4}};
  static constexpr int64_t kLength = kPoints[0].length;
  SmallVector<Point> points_; // those evaluated: evals_[i] at points_[i]
  bool hasPast_ = false;      // past keys/values among the graph's inputs
  llvm::DenseSet<Value> presents_, pastsUsed_;
  /// The keys and values (llama activations) of the attention layers
  /// raised from plain operators: a graph returning them as they are (a
  /// present output without past inputs) returns the cache.
  llvm::DenseSet<Value> cacheActivations_;
  /// A mask value at or below this (the most negative f16) hides a key.
  static constexpr double kMasked = -65504.0;
  SmallVector<std::unique_ptr<onnx::GraphEvaluator>> evals_;
  int64_t plainExpected_ = 0; // Softmax nodes to raise as attention
  int64_t plainLayers_ = 0;   // attention layers raised from them
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
  if (!attentions_.empty()) {
    if (plainExpected_)
      return graph_.emitError("a graph mixing 3-D and 4-D Attention nodes");
    return success();
  }
  if (plainExpected_)
    return success();
  // Attention in plain operators: one Softmax per layer.
  for (Operation &op : graph_.getBody().front())
    if (live_.contains(&op) && isa<onnx::SoftmaxOp>(op))
      ++plainExpected_;
  if (!plainExpected_)
    return graph_.emitError("no attention (a GroupQueryAttention or "
                            "Attention node, or a Softmax of scores) feeds "
                            "the outputs: not a decoder llamac can raise");
  return success();
}

/// Opset 23's Attention as a decoder layer: 3-D Q, K, V (q_num_heads and
/// kv_num_heads), the past keys/values graph inputs, present outputs, and
/// is_causal. Its causal frontier is aligned to the last key (query i of a
/// call after P cached keys sees keys 0..P+i; the reference implementation
/// and onnxruntime agree), which is llama.attention's.
LogicalResult Raiser::scanStandardAttention(Operation *op) {
  // The 4-D form (no head counts): views of heads, raised by raisePlain.
  if (!op->hasAttr("q_num_heads") && !op->hasAttr("kv_num_heads")) {
    ++plainExpected_;
    return success();
  }
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
  if (r.kind == Raised::View) {
    // [S, F] or [S, H D] again (other axes of size 1): the activation.
    SmallVector<const SmallVector<Factor, 2> *> axes;
    for (const auto &axis : r.axes)
      if (!axis.empty())
        axes.push_back(&axis);
    auto isFeatures = [&](const SmallVector<Factor, 2> &axis) {
      if (axis.size() == 1)
        return axis[0].kind == Factor::F ||
               (axis[0].kind == Factor::D && r.heads <= 1);
      return axis.size() == 2 && axis[0].kind == Factor::H &&
             axis[1].kind == Factor::D;
    };
    if (axes.size() == 2 && axes[0]->size() == 1 &&
        (*axes[0])[0].kind == Factor::S && isFeatures(*axes[1]) &&
        r.repeat == 1 && r.scale == 1)
      return r.value;
    user->emitError() << "uses a value arranged as heads (a reshape or "
                         "transpose of an activation) where the tokens' "
                         "features are needed";
    return failure();
  }
  user->emitError() << "uses a value ("
                    << (r.kind == Raised::Known
                            ? "computed from shapes or positions"
                            : "part of an attention, normalization or rotary "
                              "pattern")
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

Value Raiser::emitAttentionOp(Location loc, Value q, Value k, Value v,
                              int64_t layer, FloatAttr scale) {
  auto attention = AttentionOp::create(
      b_, loc, q.getType(), kCache_.getType(), vCache_.getType(), q, k, v,
      kCache_, vCache_, pos_, b_.getI64IntegerAttr(layer),
      b_.getI64IntegerAttr(heads_), b_.getI64IntegerAttr(kvHeads_), scale,
      /*key_rope=*/DenseF64ArrayAttr(),
      /*key_rope_interleaved=*/UnitAttr());
  kCache_ = attention.getKCacheOut();
  vCache_ = attention.getVCacheOut();
  return attention.getOutput();
}

void Raiser::emitAttention(Operation *op, Value q, Value k, Value v,
                           int64_t layer) {
  double scale = floatAttr(op, "scale", 0);
  FloatAttr scaleAttr = scale != 0 ? b_.getF64FloatAttr(scale) : FloatAttr();
  raised_[op->getResult(0)] =
      Raised::of(Raised::Activation,
                 emitAttentionOp(op->getLoc(), q, k, v, layer, scaleAttr));
  raised_[op->getResult(1)] = Raised::of(Raised::KeyCache);
  raised_[op->getResult(2)] = Raised::of(Raised::ValueCache);
}

//===----------------------------------------------------------------------===//
// Attention written out in plain operators
//===----------------------------------------------------------------------===//
//
// Exporters that know no attention operator (torch.onnx, optimum) write a
// Llama layer as its arithmetic: RMSNorm as Pow/ReduceMean/Add/Sqrt/
// Reciprocal/Mul, heads as Reshape/Transpose of a projection, rotary as
// x cos + rotate_half(x) sin with rotate_half a Slice/Neg/Concat and the
// tables computed from positions, grouped-query heads repeated by
// Unsqueeze/Expand/Reshape, scores as a MatMul with the keys transposed,
// plus a mask built from the sequence length, Softmax, and a MatMul with
// the values. The raising follows the data of each token through these:
//
// - A *view* is a llama activation [tokens, features] as the onnx value
//   sees it: each onnx axis holds factors - tokens S, features F (split by
//   a reshape into heads H x head size D), repeats R - whose sizes are
//   read from the graph evaluated at a sequence length (kPoints[0]).
//   Reshape, Transpose, Unsqueeze, Squeeze and Expand move factors between
//   axes; a view whose axes read [S, F] (or [S, H D]) again is the
//   activation.
// - What depends on the sequence length only (shapes, the cos/sin tables,
//   the mask) is computed by onnx::GraphEvaluator, at every length of
//   kPoints: the tables must be cos/sin(position x frequency) (the
//   frequencies come from them), the mask causal (0 or -inf, or true and
//   false, for key <= query). A graph with no cache input computes its
//   outputs from all the tokens so far; with a causal mask and tables that
//   depend on the position alone, that equals llama.attention over the
//   runtime's cache, which is what it is raised into.
//
// Anything else the outputs need stays an error naming the node.

namespace {
std::optional<int64_t> lastAxisOf(ArrayRef<int64_t> axes, int64_t rank) {
  if (axes.size() != 1)
    return std::nullopt;
  int64_t axis = axes[0] < 0 ? axes[0] + rank : axes[0];
  if (axis != rank - 1)
    return std::nullopt;
  return axis;
}

/// The head-feature size of a view's last axis ({D}, or {F} unsplit: one
/// head), or 0.
int64_t lastHeadDim(const Raised &view) {
  if (view.axes.empty() || view.axes.back().size() != 1)
    return 0;
  const Factor &f = view.axes.back().front();
  return f.kind == Factor::D || f.kind == Factor::F ? f.size : 0;
}

bool sameView(const Raised &a, const Raised &b) {
  return a.value == b.value && a.axes == b.axes && a.scale == b.scale &&
         a.repeat == b.repeat;
}
} // namespace

void Raiser::evaluate() {
  // The inputs a decoder export has besides the token ids: past keys/values
  // (rank-4 floats [batch, kv heads, past, head size]), an attention mask
  // (taken as all ones: the runtime has no padding) and position ids (the
  // positions of the call's tokens).
  Block &body = graph_.getBody().front();
  for (BlockArgument arg : body.getArguments()) {
    auto type = dyn_cast<RankedTensorType>(arg.getType());
    if (arg != tokenArg_ && type && type.getRank() == 4 &&
        isa<FloatType>(type.getElementType()))
      hasPast_ = true;
  }
  for (Point point : kPoints) {
    if (point.past && !hasPast_)
      continue;
    auto eval = std::make_unique<onnx::GraphEvaluator>(graph_);
    for (BlockArgument arg : body.getArguments()) {
      auto type = dyn_cast<RankedTensorType>(arg.getType());
      if (!type)
        continue;
      auto nameAttr =
          graph_.getArgAttrOfType<StringAttr>(arg.getArgNumber(), "onnx.name");
      StringRef name = nameAttr ? nameAttr.getValue() : StringRef();
      onnx::EvalTensor t;
      t.isFloat = isa<FloatType>(type.getElementType());
      int64_t total = point.past + point.length;
      if (arg == tokenArg_) {
        t.shape = type.getRank() == 2 ? SmallVector<int64_t>{1, point.length}
                                      : SmallVector<int64_t>{point.length};
      } else if (type.getRank() == 4 && t.isFloat) {
        if (type.isDynamicDim(1) || type.isDynamicDim(3))
          continue;
        t.shape = {1, type.getDimSize(1), point.past, type.getDimSize(3)};
      } else if (!t.isFloat && type.getRank() == 2 &&
                 name.contains("attention_mask")) {
        t.shape = {1, total};
        t.values = std::vector<double>(total, 1.0);
      } else if (!t.isFloat && type.getRank() == 2 &&
                 name.contains("position_ids")) {
        t.shape = {1, point.length};
        t.values.emplace();
        for (int64_t i = point.past; i < total; ++i)
          t.values->push_back(static_cast<double>(i));
      } else {
        continue;
      }
      eval->bind(arg, std::move(t));
    }
    eval->run();
    evals_.push_back(std::move(eval));
    points_.push_back(point);
  }
}

FailureOr<Raised> Raiser::viewOf(Value v, Operation *user) {
  if (auto it = raised_.find(v);
      it != raised_.end() && it->second.kind == Raised::View)
    return it->second;
  FailureOr<Value> x = activation(v, user);
  if (failed(x))
    return failure();
  const onnx::EvalTensor *t = shapeOf(v);
  int64_t length = kLength;
  int64_t features = cast<RankedTensorType>(x->getType()).getDimSize(1);
  auto unknown = [&]() -> FailureOr<Raised> {
    return fail(user, "cannot tell how an operand's shape maps onto tokens "
                      "and features");
  };
  if (!t || t->shape.size() < 2 || t->shape.back() != features ||
      features == length)
    return unknown();
  Raised r = Raised::of(Raised::View, *x);
  r.axes.resize(t->shape.size());
  bool tokens = false;
  for (size_t i = 0; i + 1 < t->shape.size(); ++i) {
    if (t->shape[i] == length && !tokens) {
      r.axes[i].push_back({Factor::S, length});
      tokens = true;
    } else if (t->shape[i] != 1) {
      return unknown();
    }
  }
  if (!tokens)
    return unknown();
  r.axes.back().push_back({Factor::F, features});
  return r;
}

FailureOr<Raised> Raiser::regroup(const Raised &view, ArrayRef<int64_t> shape) {
  SmallVector<Factor> flat;
  for (const auto &axis : view.axes)
    llvm::append_range(flat, axis);
  Raised out = view;
  out.axes.clear();
  size_t next = 0;
  for (int64_t target : shape) {
    SmallVector<Factor, 2> axis;
    int64_t product = 1;
    while (product < target) {
      if (next >= flat.size())
        return failure();
      Factor f = flat[next++];
      int64_t grown;
      if (__builtin_mul_overflow(product, f.size, &grown) || grown > target) {
        // Only a projection's features split, into heads x head size.
        int64_t heads = target / product;
        if (f.kind != Factor::F || target % product || f.size % heads)
          return failure();
        axis.push_back({Factor::H, heads});
        flat.insert(flat.begin() + next, Factor{Factor::D, f.size / heads});
        out.heads = heads;
        out.headDim = f.size / heads;
        product = target;
        break;
      }
      axis.push_back(f);
      product *= f.size;
    }
    if (product != target)
      return failure();
    out.axes.push_back(axis);
  }
  if (next != flat.size())
    return failure();
  return out;
}

LogicalResult Raiser::agrees(Operation *op, const Raised &view) {
  const onnx::EvalTensor *t = shapeOf(op->getResult(0));
  bool same = t && t->shape.size() == view.axes.size();
  for (size_t i = 0; same && i < view.axes.size(); ++i) {
    int64_t size = 1;
    for (const Factor &f : view.axes[i])
      same = same && !__builtin_mul_overflow(size, f.size, &size);
    same = same && size == t->shape[i];
  }
  if (!same)
    return fail(op, "the raised view of this value disagrees with its shape");
  return success();
}

FailureOr<SmallVector<double>> Raiser::viewRotary(Operation *op,
                                                  const Raised &view, Value cos,
                                                  Value sin, bool halfTables) {
  int64_t rank = static_cast<int64_t>(view.axes.size());
  int64_t headDim = lastHeadDim(view);
  int64_t tokens = -1;
  for (int64_t i = 0; i < rank; ++i)
    if (view.axes[i].size() == 1 && view.axes[i][0].kind == Factor::S)
      tokens = i;
  if (headDim <= 0 || headDim % 2 || tokens < 0)
    return fail(op, "rotary embedding is raised on a view of [..., tokens, "
                    "head features] with an even head size");
  int64_t half = headDim / 2;
  int64_t width = halfTables ? half : headDim;
  SmallVector<double> frequencies;
  for (auto [n, eval] : llvm::enumerate(evals_)) {
    int64_t length = points_[n].length, past = points_[n].past;
    // table[p][d] for both tables, broadcast against the view.
    SmallVector<std::vector<double>, 2> rows;
    for (Value table : {cos, sin}) {
      const onnx::EvalTensor *t = eval->lookup(table);
      if (!t || !t->values || static_cast<int64_t>(t->shape.size()) > rank)
        return fail(op, "the rotary cos/sin tables are not computable from "
                        "the sequence length while compiling");
      if (halfTables) {
        int64_t r = static_cast<int64_t>(t->shape.size());
        if (r < 2 || t->shape[r - 1] != half || t->shape[r - 2] != length ||
            t->numElements() != length * half)
          return fail(op, "RotaryEmbedding's caches without position ids "
                          "must be [batch 1, tokens, head size / 2]");
        rows.push_back(*t->values);
        continue;
      }
      int64_t offset = rank - static_cast<int64_t>(t->shape.size());
      SmallVector<int64_t> strides(t->shape.size(), 1);
      for (int64_t i = static_cast<int64_t>(t->shape.size()) - 2; i >= 0; --i)
        strides[i] = strides[i + 1] * t->shape[i + 1];
      int64_t strideP = 0, strideD = 0;
      for (int64_t i = 0; i < static_cast<int64_t>(t->shape.size()); ++i) {
        int64_t axis = i + offset, dim = t->shape[i];
        if (axis == tokens && dim == length)
          strideP = dim == 1 ? 0 : strides[i];
        else if (axis == rank - 1 && dim == headDim)
          strideD = strides[i];
        else if (dim != 1)
          return fail(op, "the rotary tables vary along an axis other than "
                          "the tokens and the head features");
      }
      if (length > 1 && strideP == 0)
        return fail(op, "the rotary tables do not vary with the position");
      std::vector<double> table2d;
      for (int64_t p = 0; p < length; ++p)
        for (int64_t d = 0; d < headDim; ++d)
          table2d.push_back((*t->values)[p * strideP + d * strideD]);
      rows.push_back(std::move(table2d));
    }
    if (n == 0) {
      // Frequencies from position 1 (the tables of transformers' rotate_half
      // convention repeat them: [f_0 .. f_{D/2-1}, f_0 .. f_{D/2-1}]).
      for (int64_t d = 0; d < half; ++d)
        frequencies.push_back(
            std::atan2(rows[1][width + d], rows[0][width + d]));
    }
    for (int64_t p = 0; p < length; ++p)
      for (int64_t d = 0; d < width; ++d) {
        double angle = static_cast<double>(past + p) * frequencies[d % half];
        if (std::abs(std::cos(angle) - rows[0][p * width + d]) > 1e-4 ||
            std::abs(std::sin(angle) - rows[1][p * width + d]) > 1e-4)
          return fail(op, "the rotary tables are not cos/sin of position x "
                          "frequency (with transformers' tables, the "
                          "frequencies repeated over both halves of a head; "
                          "sequence length ")
                 << length << " after " << past << " cached, position "
                 << past + p << ", feature " << d << ")";
      }
  }
  return frequencies;
}

LogicalResult Raiser::checkCausal(Operation *op, Value mask, ScoresShape scores,
                                  bool boolean) {
  for (auto [n, eval] : llvm::enumerate(evals_)) {
    const onnx::EvalTensor *m = eval->lookup(mask);
    std::optional<SmallVector<int64_t>> s = scores(*eval);
    if (!m || !m->values || !s || s->size() < 2 || m->shape.size() > s->size())
      return fail(op, "the attention mask is not computable from the "
                      "sequence length while compiling (a padding mask or "
                      "cache input llamac does not raise)");
    int64_t rank = static_cast<int64_t>(s->size());
    int64_t offset = rank - static_cast<int64_t>(m->shape.size());
    for (int64_t i = 0; i < static_cast<int64_t>(m->shape.size()); ++i)
      if (m->shape[i] != 1 && m->shape[i] != (*s)[i + offset])
        return fail(op, "the attention mask's shape does not broadcast to "
                        "the scores'");
    // Every element of the mask, with its (query, key) position.
    SmallVector<int64_t> index(m->shape.size(), 0);
    for (size_t flat = 0; flat < m->values->size(); ++flat) {
      int64_t rem = static_cast<int64_t>(flat);
      for (int64_t i = static_cast<int64_t>(m->shape.size()) - 1; i >= 0; --i) {
        index[i] = rem % m->shape[i];
        rem /= m->shape[i];
      }
      int64_t mr = static_cast<int64_t>(m->shape.size());
      int64_t query = mr >= 2 ? index[mr - 2] : 0;
      int64_t key = mr >= 1 ? index[mr - 1] : 0;
      if ((mr < 2 || m->shape[mr - 2] == 1) && (*s)[rank - 2] > 1)
        return fail(op, "the attention mask does not depend on the query "
                        "position: not causal");
      double x = (*m->values)[flat];
      bool allowed = key <= points_[n].past + query;
      bool ok =
          boolean ? (x != 0) == allowed : (allowed ? x == 0 : x <= kMasked);
      if (!ok)
        return fail(op, "the attention mask is not causal (sequence length ")
               << points_[n].length << " after " << points_[n].past
               << " cached, query " << query << ", key " << key
               << "): llamac's attention is causal over the cache";
    }
  }
  return success();
}

FailureOr<Raiser::Heads> Raiser::headsOf(Operation *op, const Raised &view,
                                         bool keysT) {
  // [1.., heads, S, D] (or [1.., heads, D, S] for keys transposed).
  int64_t rank = static_cast<int64_t>(view.axes.size());
  auto bad = [&]() -> FailureOr<Heads> {
    return fail(op, "an attention product's operand is not a view of "
                    "[heads, tokens, head features]");
  };
  if (rank < 3)
    return bad();
  const auto &tokens = view.axes[rank - (keysT ? 1 : 2)];
  const auto &features = view.axes[rank - (keysT ? 2 : 1)];
  if (tokens.size() != 1 ||
      (tokens[0].kind != Factor::S && tokens[0].kind != Factor::C) ||
      features.size() != 1 ||
      (features[0].kind != Factor::D && features[0].kind != Factor::F))
    return bad();
  Heads h;
  h.positions = tokens[0].kind;
  h.headDim = features[0].size;
  h.kvHeads = features[0].kind == Factor::F ? 1 : view.heads;
  // The heads axis: H then R (a key/value head repeated), or nothing.
  int64_t found = 0;
  for (int64_t i = 0; i < rank - 2; ++i) {
    const auto &axis = view.axes[i];
    if (axis.empty())
      continue;
    if (found++)
      return bad();
    size_t next = 0;
    if (next < axis.size() && axis[next].kind == Factor::H)
      ++next;
    if (next < axis.size() && axis[next].kind == Factor::R)
      ++next;
    if (next != axis.size())
      return bad();
  }
  h.heads = h.kvHeads * view.repeat;
  if (view.heads > 1 && features[0].kind == Factor::D &&
      view.heads * h.headDim !=
          cast<RankedTensorType>(view.value.getType()).getDimSize(1))
    return bad();
  return h;
}

FailureOr<bool> Raiser::emitPlainAttention(Operation *op, const Raised &q,
                                           const Raised &k, const Raised &v,
                                           double scale) {
  FailureOr<Heads> qh = headsOf(op, q, /*keysT=*/false);
  FailureOr<Heads> kh =
      headsOf(op, k, /*keysT=*/k.axes.size() >= 2 && lastHeadDim(k) == 0);
  FailureOr<Heads> vh = headsOf(op, v, /*keysT=*/false);
  if (failed(qh) || failed(kh) || failed(vh))
    return failure();
  if (q.repeat != 1 || qh->heads % kh->heads || kh->kvHeads != vh->kvHeads ||
      kh->heads != vh->heads || qh->headDim != kh->headDim ||
      kh->headDim != vh->headDim || v.scale != 1)
    return fail(op, "the query's, keys' and values' heads do not match");
  // With past keys/values among the inputs, the keys and values attended
  // over must be the past ones concatenated with the new: the cache.
  Factor::Kind keys = hasPast_ ? Factor::C : Factor::S;
  if (qh->positions != Factor::S || kh->positions != keys ||
      vh->positions != keys)
    return fail(op, hasPast_ ? "attention over keys or values that are not "
                               "the past ones concatenated with the new"
                             : "attention's operands are not views of the "
                               "tokens");
  int64_t layer = plainLayers_++;
  if (layer == 0) {
    heads_ = qh->heads;
    kvHeads_ = kh->kvHeads;
    headDim_ = qh->headDim;
  } else if (qh->heads != heads_ || kh->kvHeads != kvHeads_ ||
             qh->headDim != headDim_) {
    return fail(op, "attention layers differ in their head counts or size");
  }
  double standard = 1.0 / std::sqrt(static_cast<double>(headDim_));
  FloatAttr scaleAttr = std::abs(scale - standard) > 1e-6 * standard
                            ? b_.getF64FloatAttr(scale)
                            : FloatAttr();
  Value out = emitAttentionOp(op->getLoc(), q.value, k.value, v.value, layer,
                              scaleAttr);
  cacheActivations_.insert(k.value);
  cacheActivations_.insert(v.value);
  // The output as [1.., heads, S, D].
  Raised r = Raised::of(Raised::View, out);
  const onnx::EvalTensor *shape = shapeOf(op->getResult(0));
  int64_t rank = shape ? static_cast<int64_t>(shape->shape.size()) : 0;
  if (rank < 3)
    return fail(op, "cannot tell the attention output's shape");
  r.axes.resize(rank);
  if (heads_ > 1)
    r.axes[rank - 3].push_back({Factor::H, heads_});
  r.axes[rank - 2].push_back({Factor::S, kLength});
  r.axes[rank - 1].push_back({Factor::D, headDim_});
  r.heads = heads_;
  r.headDim = headDim_;
  if (failed(agrees(op, r)))
    return failure();
  raised_[op->getResult(0)] = r;
  return true;
}

FailureOr<bool> Raiser::raisePlain(Operation *op) {
  auto known = [&](Value v) -> Raised * {
    auto it = raised_.find(v);
    return it == raised_.end() ? nullptr : &it->second;
  };
  auto kindOf = [&](Value v) {
    Raised *r = known(v);
    return r ? r->kind : Raised::Unknown;
  };
  auto isFlow = [&](Value v) {
    Raised::Kind k = kindOf(v);
    return k == Raised::View || k == Raised::Activation || k == Raised::Linear;
  };
  auto scalar = [&](Value v) { return evals_.front()->scalar(v); };
  auto hasValues = [&](Value v) {
    return evals_.front()->valuesOf(v) != nullptr;
  };
  auto share = [](const Raised &r) { return std::make_shared<Raised>(r); };
  auto shapeIn = [](Value v) {
    return [v](const onnx::GraphEvaluator &eval)
               -> std::optional<SmallVector<int64_t>> {
      if (const onnx::EvalTensor *t = eval.lookup(v))
        return t->shape;
      return std::nullopt;
    };
  };
  auto done = [&](Raised r) -> FailureOr<bool> {
    raised_[op->getResult(0)] = std::move(r);
    return true;
  };
  Location loc = op->getLoc();
  if (op->getNumOperands() == 0 || op->getNumResults() == 0)
    return false;
  Value a = op->getOperand(0);
  Value b = op->getNumOperands() > 1 ? op->getOperand(1) : Value();

  // Views move through reshapes and transposes.
  if ((isa<onnx::ReshapeOp, onnx::UnsqueezeOp, onnx::SqueezeOp, onnx::FlattenOp,
           onnx::ExpandOp>(op) ||
       (isa<onnx::TransposeOp>(op) && kindOf(a) != Raised::Table)) &&
      isFlow(a)) {
    FailureOr<Raised> view = viewOf(a, op);
    if (failed(view))
      return failure();
    const onnx::EvalTensor *out = shapeOf(op->getResult(0));
    if (!out)
      return fail(op, "cannot tell this value's shape while compiling");
    FailureOr<Raised> result = failure();
    if (auto transpose = dyn_cast<onnx::TransposeOp>(op)) {
      int64_t rank = static_cast<int64_t>(view->axes.size());
      SmallVector<int64_t> perm;
      if (auto attr = op->getAttrOfType<ArrayAttr>("perm"))
        for (Attribute p : attr)
          perm.push_back(cast<IntegerAttr>(p).getInt());
      else
        for (int64_t i = rank - 1; i >= 0; --i)
          perm.push_back(i);
      if (static_cast<int64_t>(perm.size()) != rank)
        return fail(op, "Transpose's perm does not match its input's rank");
      Raised r = *view;
      for (int64_t i = 0; i < rank; ++i) {
        if (perm[i] < 0 || perm[i] >= rank)
          return fail(op, "Transpose's perm is out of range");
        r.axes[i] = view->axes[perm[i]];
      }
      result = r;
    } else if (isa<onnx::ExpandOp>(op)) {
      // Broadcasting a size-1 axis repeats the heads (grouped-query
      // attention's repeat_kv).
      Raised r = *view;
      int64_t rank = static_cast<int64_t>(out->shape.size());
      if (rank < static_cast<int64_t>(r.axes.size()))
        return fail(op, "Expand to a lower rank");
      r.axes.insert(r.axes.begin(), rank - r.axes.size(), {});
      for (int64_t i = 0; i < rank; ++i) {
        int64_t size = 1;
        for (const Factor &f : r.axes[i])
          size *= f.size;
        if (size == out->shape[i])
          continue;
        if (size != 1 || r.repeat != 1)
          return fail(op, "Expand is raised only as a repetition of the "
                          "key/value heads");
        r.axes[i].push_back({Factor::R, out->shape[i]});
        r.repeat = out->shape[i];
      }
      result = r;
    } else {
      result = regroup(*view, out->shape);
      if (failed(result))
        return fail(op, "this reshape does not keep tokens apart from "
                        "features, or splits features other than into "
                        "heads x head size");
    }
    if (failed(agrees(op, *result)))
      return failure();
    return done(*result);
  }

  // RMSNorm written out: x * 1/sqrt(mean(x^2) + eps) * weight.
  if (isa<onnx::PowOp>(op) && isFlow(a) && scalar(b) == 2.0) {
    FailureOr<Value> x = activation(a, op);
    if (failed(x))
      return failure();
    return done(Raised::of(Raised::RmsSquare, *x));
  }
  if (isa<onnx::ReduceMeanOp>(op) && kindOf(a) == Raised::RmsSquare) {
    const onnx::EvalTensor *in = shapeOf(a);
    SmallVector<int64_t> axes;
    if (b && !isNone(b)) {
      const std::vector<double> *values = evals_.front()->valuesOf(b);
      if (!values)
        return fail(op, "ReduceMean's axes must be known when compiling");
      for (double v : *values)
        axes.push_back(static_cast<int64_t>(v));
    } else if (auto attr = op->getAttrOfType<ArrayAttr>("axes")) {
      for (Attribute v : attr)
        axes.push_back(cast<IntegerAttr>(v).getInt());
    }
    if (!in || !lastAxisOf(axes, in->shape.size()) ||
        intAttr(op, "keepdims", 1) != 1)
      return fail(op, "the mean of squares is raised over the last axis with "
                      "keepdims (RMS normalization)");
    Raised r = *known(a);
    r.kind = Raised::RmsMean;
    return done(r);
  }
  if (isa<onnx::AddOp>(op)) {
    for (auto [x, y] : {std::pair{a, b}, {b, a}}) {
      if (kindOf(x) == Raised::RmsMean && scalar(y)) {
        Raised r = *known(x);
        r.kind = Raised::RmsMeanEps;
        r.eps = *scalar(y);
        return done(r);
      }
      if (kindOf(x) == Raised::RopeCos && kindOf(y) == Raised::RopeSin) {
        Raised cosPart = *known(x), sinPart = *known(y);
        if (!sameView(*cosPart.view, *sinPart.view))
          return fail(op, "the two halves of a rotary embedding rotate "
                          "different values");
        FailureOr<SmallVector<double>> frequencies =
            viewRotary(op, *cosPart.view, cosPart.table, sinPart.table);
        if (failed(frequencies))
          return failure();
        Raised r = *cosPart.view;
        int64_t headDim = lastHeadDim(r);
        r.value = RopeOp::create(b_, loc, r.value.getType(), r.value, pos_,
                                 b_.getI64IntegerAttr(headDim), IntegerAttr(),
                                 b_.getF64FloatAttr(10000.0), UnitAttr(),
                                 RopeScalingAttr(),
                                 b_.getDenseF64ArrayAttr(*frequencies));
        return done(r);
      }
      if (kindOf(x) == Raised::Scores && !known(x)->masked && hasValues(y)) {
        if (failed(checkCausal(op, y, shapeIn(x), /*boolean=*/false)))
          return failure();
        Raised r = *known(x);
        r.masked = true;
        return done(r);
      }
    }
  }
  if (isa<onnx::SqrtOp>(op) && kindOf(a) == Raised::RmsMeanEps) {
    Raised r = *known(a);
    r.kind = Raised::RmsRoot;
    return done(r);
  }
  if (isa<onnx::ReciprocalOp>(op) && kindOf(a) == Raised::RmsRoot) {
    Raised r = *known(a);
    r.kind = Raised::RmsInverse;
    return done(r);
  }
  if (isa<onnx::DivOp>(op)) {
    if (kindOf(b) == Raised::RmsRoot) {
      FailureOr<Value> x = activation(a, op);
      if (failed(x))
        return failure();
      if (*x != known(b)->value)
        return fail(op, "divides by the root mean square of another value");
      Raised r = *known(b);
      r.kind = Raised::RmsNormalized;
      return done(r);
    }
    if ((kindOf(a) == Raised::View || kindOf(a) == Raised::Scores) &&
        scalar(b) && *scalar(b) != 0) {
      Raised r = *known(a);
      r.scale /= *scalar(b);
      return done(r);
    }
  }
  if (isa<onnx::MulOp>(op)) {
    for (auto [x, y] : {std::pair{a, b}, {b, a}}) {
      Raised::Kind kx = kindOf(x);
      if (kx == Raised::RmsInverse) {
        FailureOr<Value> v = activation(y, op);
        if (failed(v))
          return failure();
        if (*v != known(x)->value)
          return fail(op, "multiplies by the inverse root mean square of "
                          "another value");
        Raised r = *known(x);
        r.kind = Raised::RmsNormalized;
        return done(r);
      }
      if (kx == Raised::RmsNormalized) {
        Raised *weight = known(y);
        Raised n = *known(x);
        int64_t features =
            cast<RankedTensorType>(n.value.getType()).getDimSize(1);
        if (!weight || weight->kind != Raised::Table ||
            weight->type.getRank() != 1 ||
            weight->type.getDimSize(0) != features)
          return fail(op, "RMS normalization is raised with a 1-D weight "
                          "initializer of the feature width");
        Value w = param(weight->weight, weight->type, std::nullopt);
        return done(
            Raised::of(Raised::Activation,
                       RMSNormOp::create(b_, loc, n.value.getType(), n.value, w,
                                         b_.getF64FloatAttr(n.eps))));
      }
      if ((kx == Raised::View || kx == Raised::Scores) && scalar(y)) {
        Raised r = *known(x);
        r.scale *= *scalar(y);
        return done(r);
      }
      if (kx == Raised::View && hasValues(y)) {
        Raised r = Raised::of(Raised::RopeCos);
        r.view = share(*known(x));
        r.table = y;
        return done(r);
      }
      if (kx == Raised::RotateHalf && hasValues(y)) {
        Raised r = Raised::of(Raised::RopeSin);
        r.view = known(x)->view;
        r.table = y;
        return done(r);
      }
    }
  }

  // Opset 23's RotaryEmbedding on a 4-D view, with caches computed for the
  // call's positions (no position ids).
  if (isa<onnx::RotaryEmbeddingOp>(op) && kindOf(a) == Raised::View) {
    if (!isNone(op->getOperand(3)))
      return fail(op, "RotaryEmbedding of a 4-D view is raised with caches "
                      "computed for the positions (no position ids)");
    const Raised &view = *known(a);
    int64_t headDim = lastHeadDim(view);
    int64_t declared = intAttr(op, "rotary_embedding_dim", 0);
    if (declared != 0 && declared != headDim)
      return fail(op, "partial rotary embedding (rotary_embedding_dim) of a "
                      "4-D view is not supported");
    FailureOr<SmallVector<double>> frequencies =
        viewRotary(op, view, b, op->getOperand(2), /*halfTables=*/true);
    if (failed(frequencies))
      return failure();
    Raised r = view;
    r.value = RopeOp::create(
        b_, loc, r.value.getType(), r.value, pos_,
        b_.getI64IntegerAttr(headDim), IntegerAttr(),
        b_.getF64FloatAttr(10000.0),
        intAttr(op, "interleaved", 0) ? b_.getUnitAttr() : UnitAttr(),
        RopeScalingAttr(), b_.getDenseF64ArrayAttr(*frequencies));
    if (failed(agrees(op, r)))
      return failure();
    return done(r);
  }

  // rotate_half: Concat(-x[..., D/2:], x[..., :D/2]).
  if (isa<onnx::SliceOp>(op) && kindOf(a) == Raised::View) {
    const Raised &view = *known(a);
    int64_t rank = static_cast<int64_t>(view.axes.size());
    int64_t headDim = lastHeadDim(view);
    auto valuesAt = [&](unsigned i) -> const std::vector<double> * {
      if (i >= op->getNumOperands() || isNone(op->getOperand(i)))
        return nullptr;
      return evals_.front()->valuesOf(op->getOperand(i));
    };
    const std::vector<double> *starts = valuesAt(1), *ends = valuesAt(2),
                              *axes = valuesAt(3), *steps = valuesAt(4);
    bool oneAxis = starts && ends && starts->size() == 1 && ends->size() == 1;
    int64_t axis = axes && axes->size() == 1
                       ? static_cast<int64_t>(axes->front())
                       : (axes ? -1 : 0);
    if (axis < 0)
      axis += rank;
    if (!oneAxis || headDim <= 0 || axis != rank - 1 ||
        (steps && (steps->size() != 1 || steps->front() != 1)))
      return fail(op, "Slice of a view is raised along the head features "
                      "only, with step 1 (rotate_half)");
    auto clampTo = [&](double x) {
      double v = x < 0 ? x + static_cast<double>(headDim) : x;
      return static_cast<int64_t>(
          std::clamp(v, 0.0, static_cast<double>(headDim)));
    };
    Raised r = Raised::of(Raised::ViewSlice);
    r.view = share(view);
    r.sliceFrom = clampTo(starts->front());
    r.sliceTo = clampTo(ends->front());
    return done(r);
  }
  if (isa<onnx::NegOp>(op) && kindOf(a) == Raised::ViewSlice) {
    Raised r = *known(a);
    r.negated = !r.negated;
    return done(r);
  }
  // Past keys/values concatenated with the new ones along the tokens: the
  // runtime's cache (the result may also be a present output).
  if (isa<onnx::ConcatOp>(op) && op->getNumOperands() == 2 &&
      isa<BlockArgument>(a) && isFlow(b)) {
    FailureOr<Raised> view = viewOf(b, op);
    if (failed(view))
      return failure();
    int64_t rank = static_cast<int64_t>(view->axes.size());
    int64_t axis = intAttr(op, "axis", 0);
    if (axis < 0)
      axis += rank;
    auto pastType = dyn_cast<RankedTensorType>(a.getType());
    const onnx::EvalTensor *out = shapeOf(op->getResult(0));
    if (!hasPast_ || !pastType || pastType.getRank() != rank || axis < 0 ||
        axis >= rank || view->axes[axis].size() != 1 ||
        view->axes[axis][0].kind != Factor::S || !out)
      return fail(op, "Concat of a graph input and a value of the tokens is "
                      "raised as past keys/values [batch, heads, past, head "
                      "size] followed by the new ones along the positions");
    if (!pastsUsed_.insert(a).second)
      return fail(op, "a past key/value input is concatenated twice");
    Raised r = *view;
    r.axes[axis] = {{Factor::C, out->shape[axis]}};
    presents_.insert(op->getResult(0));
    if (failed(agrees(op, r)))
      return failure();
    return done(r);
  }
  if (isa<onnx::ConcatOp>(op) && op->getNumOperands() == 2 &&
      kindOf(a) == Raised::ViewSlice && kindOf(b) == Raised::ViewSlice) {
    const Raised &first = *known(a), &second = *known(b);
    int64_t headDim = lastHeadDim(*first.view);
    int64_t rank = static_cast<int64_t>(first.view->axes.size());
    int64_t axis = intAttr(op, "axis", 0);
    if (axis < 0)
      axis += rank;
    int64_t half = headDim / 2;
    if (!sameView(*first.view, *second.view) || axis != rank - 1 ||
        headDim % 2 || !first.negated || second.negated ||
        first.sliceFrom != half || first.sliceTo != headDim ||
        second.sliceFrom != 0 || second.sliceTo != half)
      return fail(op, "Concat of slices of a view is raised as rotate_half "
                      "only: Concat(-x[..., D/2:], x[..., :D/2])");
    Raised r = Raised::of(Raised::RotateHalf);
    r.view = first.view;
    return done(r);
  }

  // Attention: scores, mask, softmax, the product with the values.
  if (isa<onnx::MatMulOp>(op) && kindOf(b) == Raised::View) {
    if (kindOf(a) == Raised::Probs) {
      const Raised &probs = *known(a);
      FailureOr<Raised> values = viewOf(b, op);
      if (failed(values))
        return failure();
      return emitPlainAttention(op, *probs.view, *probs.keys, *values,
                                probs.scale);
    }
    if (isFlow(a)) {
      FailureOr<Raised> q = viewOf(a, op);
      if (failed(q))
        return failure();
      const Raised &k = *known(b);
      FailureOr<Heads> qh = headsOf(op, *q, /*keysT=*/false);
      FailureOr<Heads> kh = headsOf(op, k, /*keysT=*/true);
      if (failed(qh) || failed(kh))
        return failure();
      // Equal head counts, or one key head broadcast to all.
      if (q->repeat != 1 || (qh->heads != kh->heads && kh->heads != 1) ||
          qh->headDim != kh->headDim)
        return fail(op, "the query's and the keys' heads do not match");
      Raised r = Raised::of(Raised::Scores);
      r.view = share(*q);
      r.keys = share(k);
      r.scale = q->scale * k.scale;
      r.view->scale = 1;
      r.keys->scale = 1;
      return done(r);
    }
  }
  if (isa<onnx::WhereOp>(op)) {
    Value c = op->getOperand(2);
    if (kindOf(b) == Raised::Scores && !known(b)->masked && hasValues(a) &&
        scalar(c) && *scalar(c) <= kMasked) {
      if (failed(checkCausal(op, a, shapeIn(b), /*boolean=*/true)))
        return failure();
      Raised r = *known(b);
      r.masked = true;
      return done(r);
    }
    if (kindOf(a) == Raised::NaNOf && known(a)->table == c &&
        kindOf(c) == Raised::Probs && scalar(b) == 0.0)
      return done(*known(c)); // a causal row always has a key: no NaN
  }
  // Opset 23's Attention on 4-D views [batch, heads, tokens, head size]
  // (torch.onnx's scaled_dot_product_attention): no past keys/values, a
  // causal mask or is_causal.
  if (isa<onnx::AttentionOp>(op) && !op->hasAttr("q_num_heads")) {
    FailureOr<Raised> q = viewOf(a, op);
    FailureOr<Raised> k =
        failed(q) ? FailureOr<Raised>(failure()) : viewOf(b, op);
    FailureOr<Raised> v = failed(k) ? FailureOr<Raised>(failure())
                                    : viewOf(op->getOperand(2), op);
    if (failed(v))
      return failure();
    for (unsigned i = 4; i < op->getNumOperands(); ++i)
      if (!isNone(op->getOperand(i)))
        return fail(op, "4-D Attention is raised without past keys/values "
                        "(the graph's cache) or padding lengths");
    for (unsigned i = 1; i < op->getNumResults(); ++i)
      if (!op->getResult(i).use_empty())
        return fail(op, "Attention's present keys/values or scores are used");
    if (floatAttr(op, "softcap", 0) != 0)
      return fail(op, "Attention with softcap is not supported");
    Value mask = op->getOperand(3);
    bool causal = intAttr(op, "is_causal", 0) != 0;
    if (!isNone(mask)) {
      auto scores = [&](const onnx::GraphEvaluator &eval)
          -> std::optional<SmallVector<int64_t>> {
        const onnx::EvalTensor *qt = eval.lookup(a);
        const onnx::EvalTensor *kt = eval.lookup(b);
        if (!qt || !kt || qt->shape.size() < 2 || kt->shape.size() < 2)
          return std::nullopt;
        SmallVector<int64_t> shape(qt->shape.begin(), qt->shape.end() - 1);
        shape.push_back(kt->shape[kt->shape.size() - 2]);
        return shape;
      };
      Type element = cast<ShapedType>(mask.getType()).getElementType();
      if (failed(checkCausal(op, mask, scores,
                             /*boolean=*/element.isInteger(1))))
        return failure();
    } else if (!causal) {
      return fail(op, "Attention without is_causal or a causal mask: "
                      "llamac's attention is causal over the cache");
    }
    FailureOr<Heads> kh = headsOf(op, *k, /*keysT=*/false);
    if (failed(kh))
      return failure();
    double scale = floatAttr(op, "scale", 0);
    if (scale == 0)
      scale = 1.0 / std::sqrt(static_cast<double>(kh->headDim));
    return emitPlainAttention(op, *q, *k, *v, scale * q->scale * k->scale);
  }
  if (isa<onnx::SoftmaxOp>(op) && kindOf(a) == Raised::Scores) {
    const Raised &scores = *known(a);
    int64_t rank = static_cast<int64_t>(scores.view->axes.size());
    int64_t axis = intAttr(op, "axis", -1);
    if (axis < 0)
      axis += rank;
    if (axis != rank - 1)
      return fail(op, "Softmax of attention scores is raised over the keys "
                      "(the last axis)");
    if (!scores.masked)
      return fail(op, "attention scores without a causal mask: llamac's "
                      "attention is causal over the cache");
    Raised r = scores;
    r.kind = Raised::Probs;
    return done(r);
  }
  if (isa<onnx::IsNaNOp>(op) && kindOf(a) == Raised::Probs) {
    Raised r = Raised::of(Raised::NaNOf);
    r.table = a;
    return done(r);
  }
  return false;
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

  // Attention in plain operators: shape, position and mask arithmetic is
  // computed while compiling; the attention written around it is raised by
  // raisePlain.
  if (!evals_.empty()) {
    if (llvm::all_of(op->getResults(), [&](Value r) {
          return evals_.front()->valuesOf(r) != nullptr;
        })) {
      for (Value r : op->getResults())
        raised_[r] = Raised::of(Raised::Known);
      return success();
    }
    FailureOr<bool> plain = raisePlain(op);
    if (failed(plain))
      return failure();
    if (*plain)
      return success();
  }

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
  if (plainExpected_)
    evaluate();

  // The element type of the caches: the attention inputs' (f32 here). With
  // attention in plain operators, the head counts and size are known once
  // it is raised: the cache type is completed then.
  cacheElement_ = b_.getF32Type();
  int64_t layers = static_cast<int64_t>(attentions_.size()) + plainExpected_;
  int64_t context = maxContext_ > 0 ? maxContext_ : 4096;
  auto cacheType =
      RankedTensorType::get({layers, std::max<int64_t>(kvHeads_, 1), context,
                             std::max<int64_t>(headDim_, 1)},
                            cacheElement_);

  // Every graph input the outputs read must be the token ids or a cache.
  // (Attention in plain operators reads the mask, positions and past
  // inputs through ops raised one by one, each checking what it reads.)
  for (Operation &op : body) {
    if (!live_.contains(&op) || plainExpected_)
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
    // Present keys/values: the cache, which llama.attention keeps.
    bool heads =
        r.kind == Raised::View && r.repeat == 1 &&
        cacheActivations_.contains(r.value) &&
        llvm::count_if(r.axes,
                       [](const auto &axis) { return !axis.empty(); }) >= 2 &&
        lastHeadDim(r) > 0;
    if (r.kind == Raised::KeyCache || r.kind == Raised::ValueCache ||
        presents_.contains(out) || heads)
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
  if (plainLayers_ != plainExpected_)
    return graph_.emitError()
           << "raised " << plainLayers_ << " attention layers from "
           << plainExpected_ << " Softmax nodes";
  if (plainExpected_) {
    cacheType = RankedTensorType::get({layers, kvHeads_, context, headDim_},
                                      cacheElement_);
    for (Value cache : {entry->getArgument(2), entry->getArgument(3)})
      cache.setType(cacheType);
    forward.walk([&](AttentionOp attention) {
      attention.getKCacheOut().setType(cacheType);
      attention.getVCacheOut().setType(cacheType);
    });
  }
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
