//===- LowerONNX.cpp - Any onnx graph as a tensor function ----------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements onnx-lower-graph: the generic path for ONNX graphs
// that are not Llama decoders. `@main_graph` becomes `@llamac_graph`, a
// function of static-shaped buffers in destination-passing style (the graph
// inputs, then one buffer per output), whose body is linalg, tensor, arith
// and math:
//
//   elementwise operators       -> one linalg.generic each, numpy
//                                  broadcasting in the indexing maps
//   MatMul, Gemm                -> linalg.generic with a reduction
//   ReduceSum/Mean/Max/Min,     -> linalg.generic reductions (keepdims via
//   Softmax, RMSNormalization      the maps), Softmax as max, exp, sum, div
//   Attention (opset 23)        -> scores, bias (mask, causal frontier at
//                                  the last key), softmax, weighted values
//   Transpose, Expand           -> linalg.generic with permuted/broadcast maps
//   Gather, GatherND, Slice,    -> linalg.generic computing source indices
//   Trilu, CumSum                  (tensor.extract in the body)
//   Reshape, Flatten, Squeeze,  -> tensor.reshape
//   Unsqueeze
//   Concat, Split               -> tensor.insert_slice / extract_slice
//
// Each operator is one branch of GraphLowering::lower, which maps every onnx
// value to its lowered tensor (and, for small integer tensors known while
// compiling, their values).
//
// Shapes must be static. Values that decide shapes (Reshape's shape, Slice's
// starts, the axes of Squeeze/Unsqueeze/Reduce*, Range, ConstantOfShape) must
// be known when compiling: they are folded from Constant, Shape and small
// integer arithmetic on them, or bound by the driver (`--input-value`). An
// operator or form this pass does not handle is an error naming the node.
//
//===----------------------------------------------------------------------===//

#include "dialects/ONNX/ONNXDialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"

#include <cmath>
#include <limits>
#include <numeric>
#include <optional>

namespace llamac {
#define GEN_PASS_DEF_ONNXLOWERGRAPH
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;

namespace {

/// A small integer tensor known while compiling (shapes, axes, indices).
struct IntConstant {
  SmallVector<int64_t> shape;
  SmallVector<int64_t> values;
};

using ScalarFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// arith works on signless integers: ONNX's unsigned types are computed as
/// signless ones of the same width, with unsigned operations where the
/// interpretation matters (division, comparison, min/max, conversions).
Type signless(Type t) {
  if (auto i = dyn_cast<IntegerType>(t); i && !i.isSignless())
    return IntegerType::get(t.getContext(), i.getWidth());
  return t;
}
bool isUnsignedType(Type t) {
  auto i = dyn_cast<IntegerType>(t);
  return i && i.isUnsigned();
}

class GraphLowering {
public:
  GraphLowering(func::FuncOp graph) : graph_(graph), b_(graph) {}

  LogicalResult run();

private:
  // --- helpers -------------------------------------------------------------
  /// "node 'NAME' (OpType): " - the importer names each op's location
  /// after its node.
  InFlightDiagnostic error(Operation *op) {
    InFlightDiagnostic diag = op->emitError();
    if (auto nameLoc = dyn_cast<NameLoc>(op->getLoc()))
      diag << "node '" << nameLoc.getName().str() << "' ";
    diag << "(" << op->getName().getStringRef().drop_front(5) << "): ";
    return diag;
  }
  static bool isNone(Value v) { return isa<NoneType>(v.getType()); }
  Value lowered(Value v) { return lowered_.lookup(v); }
  RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  int64_t intAttr(Operation *op, StringRef name, int64_t otherwise) {
    if (auto attr = op->getAttrOfType<IntegerAttr>(name))
      return attr.getInt();
    return otherwise;
  }
  double floatAttr(Operation *op, StringRef name, double otherwise) {
    if (auto attr = op->getAttrOfType<FloatAttr>(name))
      return attr.getValueAsDouble();
    return otherwise;
  }
  std::optional<SmallVector<int64_t>> intsAttr(Operation *op, StringRef name) {
    auto attr = op->getAttrOfType<ArrayAttr>(name);
    if (!attr)
      return std::nullopt;
    SmallVector<int64_t> values;
    for (Attribute a : attr)
      values.push_back(cast<IntegerAttr>(a).getInt());
    return values;
  }
  /// An operand's value when it is known while compiling.
  std::optional<IntConstant> constantOf(Value onnxValue);
  /// The error for operands whose values must be known when compiling:
  /// names the graph inputs among them, so the user can bind them.
  InFlightDiagnostic mustBeKnown(Operation *op, StringRef what,
                                 ArrayRef<unsigned> operands) {
    InFlightDiagnostic diag = error(op)
                              << what << " must be known when compiling";
    for (unsigned i : operands) {
      if (i >= op->getNumOperands())
        continue;
      auto arg = dyn_cast<BlockArgument>(op->getOperand(i));
      if (!arg)
        continue;
      if (auto name = graph_.getArgAttrOfType<StringAttr>(arg.getArgNumber(),
                                                          "onnx.name"))
        diag << " (--input-value " << name.getValue() << "=FILE)";
    }
    return diag;
  }
  /// Records a folded integer result (and lowers it as a constant).
  void setConstant(Value result, IntConstant c);
  Value emptyTensor(Location loc, ArrayRef<int64_t> shape, Type element) {
    return tensor::EmptyOp::create(b_, loc, shape, element);
  }
  Value zeroOf(Location loc, Type element) {
    return arith::ConstantOp::create(b_, loc, element, b_.getZeroAttr(element));
  }
  /// out = fn(inputs...) elementwise with numpy broadcasting.
  Value elementwise(Location loc, ValueRange inputs, Type resultElement,
                    ScalarFn fn);
  /// The reduction of `input` over `axes` (sorted, non-negative) with
  /// `combine`, starting from `init`; keepdims keeps them as size 1.
  Value reduce(Location loc, Value input, ArrayRef<int64_t> axes, bool keepdims,
               Value init, ScalarFn combine);
  /// A generic op over `shape` whose body computes each element from its
  /// indices (linalg.index), reading other tensors with tensor.extract.
  Value fromIndices(Location loc, ArrayRef<int64_t> shape, Type element,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> fn);
  Value reshape(Location loc, Value input, ArrayRef<int64_t> shape);
  /// The input with its dimensions permuted: result dim d is input dim
  /// perm[d].
  Value transpose(Location loc, Value input, ArrayRef<int64_t> perm);
  /// Attention (opset 23) over static shapes, composed of generic ops.
  LogicalResult lowerAttention(Operation *op);
  Value castScalar(OpBuilder &b, Location loc, Value v, Type to,
                   bool fromUnsigned = false, bool toUnsigned = false);
  LogicalResult normalizeAxes(Operation *op, SmallVector<int64_t> &axes,
                              int64_t rank);

  LogicalResult lower(Operation *op);
  LogicalResult lowerElementwise(Operation *op, StringRef name);

  func::FuncOp graph_;
  OpBuilder b_;
  DenseMap<Value, Value> lowered_;
  DenseMap<Value, IntConstant> constants_;
  /// Lowered values holding ONNX unsigned integers (as signless ones).
  DenseSet<Value> unsigned_;
};

std::optional<IntConstant> GraphLowering::constantOf(Value v) {
  if (auto it = constants_.find(v); it != constants_.end())
    return it->second;
  return std::nullopt;
}

void GraphLowering::setConstant(Value result, IntConstant c) {
  Location loc = result.getLoc();
  auto type = RankedTensorType::get(c.shape, b_.getI64Type());
  lowered_[result] = arith::ConstantOp::create(
      b_, loc, type, DenseElementsAttr::get(type, ArrayRef<int64_t>(c.values)));
  constants_[result] = std::move(c);
}

/// Numpy broadcasting of two shapes; false when they do not broadcast.
static bool broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b,
                            SmallVector<int64_t> &out) {
  size_t rank = std::max(a.size(), b.size());
  out.assign(rank, 1);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return false;
    out[i] = da == 1 ? db : da;
  }
  return true;
}

/// The map reading an input of `shape` inside a loop nest over `out`.
static AffineMap broadcastMap(MLIRContext *context, ArrayRef<int64_t> shape,
                              ArrayRef<int64_t> out) {
  SmallVector<AffineExpr> exprs;
  size_t offset = out.size() - shape.size();
  for (size_t i = 0; i < shape.size(); ++i)
    exprs.push_back(shape[i] == 1 && out[offset + i] != 1
                        ? getAffineConstantExpr(0, context)
                        : getAffineDimExpr(offset + i, context));
  return AffineMap::get(out.size(), 0, exprs, context);
}

Value GraphLowering::elementwise(Location loc, ValueRange inputs,
                                 Type resultElement, ScalarFn fn) {
  SmallVector<int64_t> shape;
  for (Value input : inputs) {
    SmallVector<int64_t> next;
    if (!broadcastShapes(shape, typeOf(input).getShape(), next))
      return {};
    shape = next;
  }
  MLIRContext *context = b_.getContext();
  SmallVector<AffineMap> maps;
  for (Value input : inputs)
    maps.push_back(broadcastMap(context, typeOf(input).getShape(), shape));
  maps.push_back(AffineMap::getMultiDimIdentityMap(shape.size(), context));
  SmallVector<utils::IteratorType> iterators(shape.size(),
                                             utils::IteratorType::parallel);
  Value init = emptyTensor(loc, shape, resultElement);
  auto generic = linalg::GenericOp::create(
      b_, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &b, Location loc, ValueRange args) {
        linalg::YieldOp::create(b, loc, fn(b, loc, args.drop_back()));
      });
  return generic.getResult(0);
}

Value GraphLowering::reduce(Location loc, Value input, ArrayRef<int64_t> axes,
                            bool keepdims, Value init, ScalarFn combine) {
  RankedTensorType type = typeOf(input);
  int64_t rank = type.getRank();
  MLIRContext *context = b_.getContext();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t d = 0; d < rank; ++d) {
    bool reduced = llvm::is_contained(axes, d);
    iterators.push_back(reduced ? utils::IteratorType::reduction
                                : utils::IteratorType::parallel);
    if (!reduced) {
      shape.push_back(type.getDimSize(d));
      outExprs.push_back(getAffineDimExpr(d, context));
    }
  }
  Value empty = emptyTensor(loc, shape, type.getElementType());
  Value filled =
      linalg::FillOp::create(b_, loc, ValueRange{init}, ValueRange{empty})
          .getResult(0);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, context),
      AffineMap::get(rank, 0, outExprs, context)};
  Value result = linalg::GenericOp::create(
                     b_, loc, TypeRange{filled.getType()}, ValueRange{input},
                     ValueRange{filled}, maps, iterators,
                     [&](OpBuilder &b, Location loc, ValueRange args) {
                       linalg::YieldOp::create(b, loc, combine(b, loc, args));
                     })
                     .getResult(0);
  if (!keepdims)
    return result;
  SmallVector<int64_t> kept(type.getShape());
  for (int64_t axis : axes)
    kept[axis] = 1;
  return reshape(loc, result, kept);
}

Value GraphLowering::fromIndices(
    Location loc, ArrayRef<int64_t> shape, Type element,
    function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  MLIRContext *context = b_.getContext();
  Value init = emptyTensor(loc, shape, element);
  SmallVector<utils::IteratorType> iterators(shape.size(),
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             b_, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
             {AffineMap::getMultiDimIdentityMap(shape.size(), context)},
             iterators,
             [&](OpBuilder &b, Location loc, ValueRange) {
               SmallVector<Value> indices;
               for (size_t d = 0; d < shape.size(); ++d)
                 indices.push_back(linalg::IndexOp::create(b, loc, d));
               linalg::YieldOp::create(b, loc, fn(b, loc, indices));
             })
      .getResult(0);
}

Value GraphLowering::reshape(Location loc, Value input,
                             ArrayRef<int64_t> shape) {
  RankedTensorType type = typeOf(input);
  if (type.getShape() == shape)
    return input;
  auto shapeType = RankedTensorType::get({static_cast<int64_t>(shape.size())},
                                         b_.getIndexType());
  Value shapeValue = arith::ConstantOp::create(
      b_, loc, shapeType,
      DenseElementsAttr::get(
          shapeType, llvm::map_to_vector(shape, [&](int64_t d) -> Attribute {
            return b_.getIndexAttr(d);
          })));
  return tensor::ReshapeOp::create(
      b_, loc, RankedTensorType::get(shape, type.getElementType()), input,
      shapeValue);
}

static bool isFloat(Type t) { return isa<FloatType>(t); }

Value GraphLowering::transpose(Location loc, Value input,
                               ArrayRef<int64_t> perm) {
  RankedTensorType t = typeOf(input);
  int64_t rank = t.getRank();
  MLIRContext *context = b_.getContext();
  SmallVector<int64_t> shape;
  SmallVector<AffineExpr> exprs(rank);
  for (int64_t d = 0; d < rank; ++d) {
    shape.push_back(t.getDimSize(perm[d]));
    exprs[perm[d]] = getAffineDimExpr(d, context);
  }
  Value init = emptyTensor(loc, shape, t.getElementType());
  return linalg::GenericOp::create(
             b_, loc, TypeRange{init.getType()}, ValueRange{input},
             ValueRange{init},
             {AffineMap::get(rank, 0, exprs, context),
              AffineMap::getMultiDimIdentityMap(rank, context)},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [](OpBuilder &b, Location loc, ValueRange args) {
               linalg::YieldOp::create(b, loc, args[0]);
             })
      .getResult(0);
}

LogicalResult GraphLowering::lowerAttention(Operation *op) {
  Location loc = op->getLoc();
  auto in = [&](unsigned i) { return lowered(op->getOperand(i)); };
  auto has = [&](unsigned i) {
    return i < op->getNumOperands() && !isNone(op->getOperand(i));
  };
  for (StringRef unsupported : {"left_window_size", "right_window_size"})
    if (op->hasAttr(unsupported))
      return error(op) << "attribute '" << unsupported
                       << "' (opset 25) is not supported";
  Value q = in(0), k = in(1), v = in(2);
  RankedTensorType qt = typeOf(q);
  Type element = qt.getElementType();
  if (!isFloat(element))
    return error(op) << "takes floats";
  int64_t rank = qt.getRank();
  if (rank != 3 && rank != 4)
    return error(op) << "Q must have rank 3 or 4";
  if (typeOf(k).getRank() != rank || typeOf(v).getRank() != rank)
    return error(op) << "Q, K and V must have the same rank";
  // To [batch, heads, sequence, head size].
  int64_t batch = qt.getDimSize(0);
  if (rank == 3) {
    int64_t qHeads = intAttr(op, "q_num_heads", 0);
    int64_t kvHeads = intAttr(op, "kv_num_heads", 0);
    if (qHeads <= 0 || kvHeads <= 0)
      return error(op) << "3-D inputs need q_num_heads and kv_num_heads";
    auto split = [&](Value x, int64_t heads) -> Value {
      RankedTensorType t = typeOf(x);
      if (t.getDimSize(2) % heads)
        return {};
      Value r = reshape(
          loc, x,
          {t.getDimSize(0), t.getDimSize(1), heads, t.getDimSize(2) / heads});
      return transpose(loc, r, {0, 2, 1, 3});
    };
    q = split(q, qHeads);
    k = split(k, kvHeads);
    v = split(v, kvHeads);
    if (!q || !k || !v)
      return error(op) << "hidden sizes are not multiples of the head counts";
  }
  RankedTensorType q4 = typeOf(q);
  int64_t qHeads = q4.getDimSize(1), sq = q4.getDimSize(2);
  int64_t dk = q4.getDimSize(3);
  double scale = floatAttr(op, "scale", 1.0 / std::sqrt(double(dk)));
  // The scale is applied as its square root to Q and to K (the reference's
  // order of operations, for the same rounding).
  double rootScale = std::sqrt(scale);

  // The caches: past then new, along the sequence.
  Value presentK = k, presentV = v;
  int64_t past = 0;
  if (has(4) != has(5))
    return error(op) << "past_key and past_value go together";
  if (has(4)) {
    past = typeOf(in(4)).getDimSize(2);
    presentK = tensor::ConcatOp::create(b_, loc, 2, ValueRange{in(4), k});
    presentV = tensor::ConcatOp::create(b_, loc, 2, ValueRange{in(5), v});
  }
  RankedTensorType kt = typeOf(presentK), vt = typeOf(presentV);
  int64_t kvHeads = kt.getDimSize(1), skv = kt.getDimSize(2);
  int64_t dv = vt.getDimSize(3);
  if (kt.getDimSize(3) != dk || qHeads % kvHeads ||
      vt.getDimSize(1) != kvHeads || vt.getDimSize(2) != skv ||
      kt.getDimSize(0) != batch)
    return error(op) << "Q, K and V shapes do not agree";
  int64_t group = qHeads / kvHeads;

  auto cst = [&](OpBuilder &b, Location l, Type t, double v) -> Value {
    return arith::ConstantOp::create(b, l, t, b.getFloatAttr(t, v));
  };
  Type f32 = b_.getF32Type();
  Type softmaxType = element;
  if (int64_t precision = intAttr(op, "softmax_precision", 0)) {
    if (precision == 1)
      softmaxType = f32;
    else if (precision == 11)
      softmaxType = b_.getF64Type();
    else if (precision != 10 && precision != 16)
      return error(op) << "softmax_precision " << precision
                       << " is not supported";
  }

  // scores[b, h, i, j] = sum_d (q[b,h,i,d] s) (k[b,h/group,j,d] s): the key
  // head of a query head is h / group (grouped-query attention).
  auto kvHead = [&](OpBuilder &b, Location l, Value h) -> Value {
    return arith::DivUIOp::create(b, l, h,
                                  arith::ConstantIndexOp::create(b, l, group));
  };
  // Products of 16-bit floats accumulate in f32 and round once (as numpy's
  // matmul does); the scaled operands round to the input type first.
  Type accType = element.getIntOrFloatBitWidth() < 32 ? f32 : element;
  Value scores = fromIndices(
      loc, {batch, qHeads, sq, skv}, element,
      [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
        Value g = kvHead(b, l, idx[1]);
        Value acc = cst(b, l, accType, 0.0);
        Value s = cst(b, l, element, rootScale);
        auto loop = scf::ForOp::create(
            b, l, arith::ConstantIndexOp::create(b, l, 0),
            arith::ConstantIndexOp::create(b, l, dk),
            arith::ConstantIndexOp::create(b, l, 1), ValueRange{acc},
            [&](OpBuilder &b, Location l, Value d, ValueRange carried) {
              Value qv = tensor::ExtractOp::create(
                  b, l, q, ValueRange{idx[0], idx[1], idx[2], d});
              Value kv = tensor::ExtractOp::create(
                  b, l, presentK, ValueRange{idx[0], g, idx[3], d});
              Value p = arith::MulFOp::create(
                  b, l,
                  castScalar(b, l, arith::MulFOp::create(b, l, qv, s), accType),
                  castScalar(b, l, arith::MulFOp::create(b, l, kv, s),
                             accType));
              scf::YieldOp::create(
                  b, l, ValueRange{arith::AddFOp::create(b, l, carried[0], p)});
            });
        return castScalar(b, l, loop.getResult(0), element);
      });
  double softcap = floatAttr(op, "softcap", 0.0);
  if (softcap > 0)
    scores = elementwise(
        loc, {scores}, element,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value c = cst(b, l, element, softcap);
          return arith::MulFOp::create(
              b, l,
              math::TanhOp::create(b, l, arith::DivFOp::create(b, l, a[0], c)),
              c);
        });

  // The additive bias [.., sq, skv]: the mask (bool: 0 or -inf; shorter
  // than the keys: padded with -inf), then the causal frontier j <= i +
  // past (bottom-right aligned).
  double negInf = -std::numeric_limits<double>::infinity();
  Value bias;
  if (has(3)) {
    Value mask = in(3);
    RankedTensorType mt = typeOf(mask);
    bool boolean = mt.getElementType().isInteger(1);
    if (!boolean && mt.getElementType() != element)
      return error(op) << "a float mask must have Q's type";
    int64_t width = mt.getShape().back();
    if (width > skv)
      return error(op) << "the mask is wider than the keys";
    SmallVector<int64_t> shape(mt.getShape());
    shape.back() = skv;
    int64_t mr = mt.getRank();
    bias = fromIndices(
        loc, shape, element,
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          Value j = idx[mr - 1];
          Value inside = arith::CmpIOp::create(
              b, l, arith::CmpIPredicate::ult, j,
              arith::ConstantIndexOp::create(b, l, width));
          // Read a valid index; the padding is decided by `inside`.
          SmallVector<Value> at(idx);
          at.back() = arith::SelectOp::create(
              b, l, inside, j, arith::ConstantIndexOp::create(b, l, 0));
          Value m = tensor::ExtractOp::create(b, l, mask, at);
          Value value =
              boolean
                  ? arith::SelectOp::create(b, l, m, cst(b, l, element, 0.0),
                                            cst(b, l, element, negInf))
                        .getResult()
                  : m;
          return arith::SelectOp::create(b, l, inside, value,
                                         cst(b, l, element, negInf));
        });
  }
  if (intAttr(op, "is_causal", 0)) {
    Value causal = fromIndices(
        loc, {sq, skv}, element,
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          Value limit = arith::AddIOp::create(
              b, l, idx[0], arith::ConstantIndexOp::create(b, l, past));
          Value allowed = arith::CmpIOp::create(b, l, arith::CmpIPredicate::ule,
                                                idx[1], limit);
          return arith::SelectOp::create(b, l, allowed, cst(b, l, element, 0.0),
                                         cst(b, l, element, negInf));
        });
    bias =
        bias ? elementwise(loc, {bias, causal}, element,
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::AddFOp::create(b, l, a[0], a[1]);
                           })
             : causal;
    if (!bias)
      return error(op) << "the mask does not broadcast to the scores";
  }
  Value withBias = scores;
  if (bias) {
    withBias = elementwise(loc, {scores, bias}, element,
                           [](OpBuilder &b, Location l, ValueRange a) -> Value {
                             return arith::AddFOp::create(b, l, a[0], a[1]);
                           });
    if (!withBias || typeOf(withBias).getShape() != typeOf(scores).getShape())
      return error(op) << "the mask does not broadcast to the scores";
  }

  // Softmax over the keys, in softmax_precision; a row whose bias is all
  // -inf (no key allowed) gives zeros.
  Value x = softmaxType == element
                ? withBias
                : elementwise(loc, {withBias}, softmaxType,
                              [&](OpBuilder &b, Location l, ValueRange a) {
                                return castScalar(b, l, a[0], softmaxType);
                              });
  SmallVector<int64_t> last = {3};
  Value max = reduce(loc, x, last, true, cst(b_, loc, softmaxType, negInf),
                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                       return arith::MaximumFOp::create(b, l, a[1], a[0]);
                     });
  Value e = elementwise(
      loc, {x, max}, softmaxType,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        // A row of -inf has max -inf: subtract 0 there (exp(-inf) = 0).
        Value finite =
            arith::CmpFOp::create(b, l, arith::CmpFPredicate::ONE, a[1],
                                  cst(b, l, softmaxType, negInf));
        Value m = arith::SelectOp::create(b, l, finite, a[1],
                                          cst(b, l, softmaxType, 0.0));
        return math::ExpOp::create(b, l, arith::SubFOp::create(b, l, a[0], m));
      });
  // The sum of f16 values accumulates in f32 and rounds once (numpy's
  // pairwise sum of float16 does); bf16 sums round at every step, as the
  // reference's (ml_dtypes) does.
  Type sumType = softmaxType.isF16() ? f32 : softmaxType;
  Value wide = sumType == softmaxType
                   ? e
                   : elementwise(loc, {e}, sumType,
                                 [&](OpBuilder &b, Location l, ValueRange a) {
                                   return castScalar(b, l, a[0], sumType);
                                 });
  Value sum = reduce(loc, wide, last, true, cst(b_, loc, sumType, 0.0),
                     [](OpBuilder &b, Location l, ValueRange a) -> Value {
                       return arith::AddFOp::create(b, l, a[1], a[0]);
                     });
  if (sumType != softmaxType)
    sum = elementwise(loc, {sum}, softmaxType,
                      [&](OpBuilder &b, Location l, ValueRange a) {
                        return castScalar(b, l, a[0], softmaxType);
                      });
  SmallVector<Value> probabilityInputs = {e, sum};
  Value rowMasked;
  if (bias) {
    rowMasked = reduce(loc, bias, {typeOf(bias).getRank() - 1}, true,
                       cst(b_, loc, element, negInf),
                       [](OpBuilder &b, Location l, ValueRange a) -> Value {
                         return arith::MaximumFOp::create(b, l, a[1], a[0]);
                       });
    probabilityInputs.push_back(rowMasked);
  }
  Value probabilities = elementwise(
      loc, probabilityInputs, element,
      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
        Value zero = cst(b, l, softmaxType, 0.0);
        Value one = cst(b, l, softmaxType, 1.0);
        Value s = arith::SelectOp::create(
            b, l,
            arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a[1], zero),
            one, a[1]);
        Value p = arith::DivFOp::create(b, l, a[0], s);
        if (a.size() > 2) {
          Value masked =
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, a[2],
                                    cst(b, l, element, negInf));
          p = arith::SelectOp::create(b, l, masked, zero, p);
        }
        return castScalar(b, l, p, element);
      });

  // y[b, h, i, e] = sum_j p[b,h,i,j] v[b,h/group,j,e].
  Value y = fromIndices(
      loc, {batch, qHeads, sq, dv}, element,
      [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
        Value g = kvHead(b, l, idx[1]);
        auto loop = scf::ForOp::create(
            b, l, arith::ConstantIndexOp::create(b, l, 0),
            arith::ConstantIndexOp::create(b, l, skv),
            arith::ConstantIndexOp::create(b, l, 1),
            ValueRange{cst(b, l, accType, 0.0)},
            [&](OpBuilder &b, Location l, Value j, ValueRange carried) {
              Value p = tensor::ExtractOp::create(
                  b, l, probabilities, ValueRange{idx[0], idx[1], idx[2], j});
              Value vv = tensor::ExtractOp::create(
                  b, l, presentV, ValueRange{idx[0], g, j, idx[3]});
              Value term =
                  arith::MulFOp::create(b, l, castScalar(b, l, p, accType),
                                        castScalar(b, l, vv, accType));
              scf::YieldOp::create(
                  b, l,
                  ValueRange{arith::AddFOp::create(b, l, carried[0], term)});
            });
        return castScalar(b, l, loop.getResult(0), element);
      });
  if (rank == 3)
    y = reshape(loc, transpose(loc, y, {0, 2, 1, 3}), {batch, sq, qHeads * dv});
  lowered_[op->getResult(0)] = y;
  if (op->getNumResults() > 1 && !isa<NoneType>(op->getResult(1).getType()))
    lowered_[op->getResult(1)] = presentK;
  if (op->getNumResults() > 2 && !isa<NoneType>(op->getResult(2).getType()))
    lowered_[op->getResult(2)] = presentV;
  if (op->getNumResults() > 3 && !isa<NoneType>(op->getResult(3).getType())) {
    int64_t mode = intAttr(op, "qk_matmul_output_mode", 0);
    Value qk = mode == 2 ? withBias : mode == 3 ? probabilities : scores;
    lowered_[op->getResult(3)] = qk;
  }
  return success();
}

Value GraphLowering::castScalar(OpBuilder &b, Location loc, Value v, Type to,
                                bool fromUnsigned, bool toUnsigned) {
  Type from = v.getType();
  if (from == to)
    return v;
  if (isFloat(from) && isFloat(to))
    return from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()
               ? arith::ExtFOp::create(b, loc, to, v).getResult()
               : arith::TruncFOp::create(b, loc, to, v).getResult();
  if (isFloat(from)) {
    if (to.isInteger(1))
      return arith::CmpFOp::create(
          b, loc, arith::CmpFPredicate::UNE, v,
          arith::ConstantOp::create(b, loc, from, b.getZeroAttr(from)));
    if (toUnsigned)
      return arith::FPToUIOp::create(b, loc, to, v);
    return arith::FPToSIOp::create(b, loc, to, v);
  }
  if (from.isInteger(1)) {
    if (isFloat(to))
      return arith::UIToFPOp::create(b, loc, to, v);
    return arith::ExtUIOp::create(b, loc, to, v);
  }
  if (isFloat(to))
    return fromUnsigned ? arith::UIToFPOp::create(b, loc, to, v).getResult()
                        : arith::SIToFPOp::create(b, loc, to, v).getResult();
  if (to.isInteger(1))
    return arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ne, v,
        arith::ConstantOp::create(b, loc, from, b.getZeroAttr(from)));
  if (from.getIntOrFloatBitWidth() == to.getIntOrFloatBitWidth())
    return v;
  if (from.getIntOrFloatBitWidth() > to.getIntOrFloatBitWidth())
    return arith::TruncIOp::create(b, loc, to, v);
  return fromUnsigned ? arith::ExtUIOp::create(b, loc, to, v).getResult()
                      : arith::ExtSIOp::create(b, loc, to, v).getResult();
}

LogicalResult GraphLowering::normalizeAxes(Operation *op,
                                           SmallVector<int64_t> &axes,
                                           int64_t rank) {
  for (int64_t &axis : axes) {
    if (axis < -rank || axis >= rank)
      return error(op) << "axis " << axis << " is out of range for rank "
                       << rank;
    if (axis < 0)
      axis += rank;
  }
  llvm::sort(axes);
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  return success();
}

/// The body applying a one-operand math op.
template <typename OpT>
static std::function<Value(OpBuilder &, Location, ValueRange)> unaryMath() {
  return [](OpBuilder &b, Location l, ValueRange a) -> Value {
    return OpT::create(b, l, a[0]);
  };
}

/// The body applying a two-operand arith op.
template <typename OpT>
static std::function<Value(OpBuilder &, Location, ValueRange)> binary() {
  return [](OpBuilder &b, Location l, ValueRange a) -> Value {
    return OpT::create(b, l, a[0], a[1]);
  };
}

/// Elementwise scalar bodies by operator name; null when not elementwise.
static std::function<Value(OpBuilder &, Location, ValueRange)>
scalarBody(StringRef name, Type element, bool isUnsigned = false) {
  using Fn = std::function<Value(OpBuilder &, Location, ValueRange)>;
  bool fp = isa<FloatType>(element);
  auto cst = [](OpBuilder &b, Location loc, Type t, double v) -> Value {
    if (isa<FloatType>(t))
      return arith::ConstantOp::create(b, loc, t, b.getFloatAttr(t, v));
    return arith::ConstantOp::create(b, loc, t,
                                     b.getIntegerAttr(t, int64_t(v)));
  };
  if (name == "Add")
    return fp ? binary<arith::AddFOp>() : binary<arith::AddIOp>();
  if (name == "Sub")
    return fp ? binary<arith::SubFOp>() : binary<arith::SubIOp>();
  if (name == "Mul")
    return fp ? binary<arith::MulFOp>() : binary<arith::MulIOp>();
  if (name == "Div")
    return fp           ? binary<arith::DivFOp>()
           : isUnsigned ? binary<arith::DivUIOp>()
                        : binary<arith::DivSIOp>();
  if (name == "Max" || name == "Min") {
    bool max = name == "Max";
    return fp ? Fn([max](OpBuilder &b, Location l, ValueRange a) -> Value {
      Value r = a[0];
      for (Value v : a.drop_front())
        r = max ? arith::MaximumFOp::create(b, l, r, v).getResult()
                : arith::MinimumFOp::create(b, l, r, v).getResult();
      return r;
    })
              : Fn([max, isUnsigned](OpBuilder &b, Location l,
                                     ValueRange a) -> Value {
                  Value r = a[0];
                  for (Value v : a.drop_front()) {
                    if (isUnsigned)
                      r = max ? arith::MaxUIOp::create(b, l, r, v).getResult()
                              : arith::MinUIOp::create(b, l, r, v).getResult();
                    else
                      r = max ? arith::MaxSIOp::create(b, l, r, v).getResult()
                              : arith::MinSIOp::create(b, l, r, v).getResult();
                  }
                  return r;
                });
  }
  if (!fp &&
      (name == "And" || name == "Or" || name == "Xor" || name == "Not")) {
    if (name == "And")
      return [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::AndIOp::create(b, l, a[0], a[1]);
      };
    if (name == "Or")
      return [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::OrIOp::create(b, l, a[0], a[1]);
      };
    if (name == "Xor")
      return [](OpBuilder &b, Location l, ValueRange a) -> Value {
        return arith::XOrIOp::create(b, l, a[0], a[1]);
      };
    return [](OpBuilder &b, Location l, ValueRange a) -> Value {
      Value one =
          arith::ConstantOp::create(b, l, b.getI1Type(), b.getBoolAttr(true));
      return arith::XOrIOp::create(b, l, a[0], one);
    };
  }
  if (name == "Neg")
    return fp ? Fn([](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::NegFOp::create(b, l, a[0]);
    })
              : Fn([cst](OpBuilder &b, Location l, ValueRange a) -> Value {
                  return arith::SubIOp::create(
                      b, l, cst(b, l, a[0].getType(), 0), a[0]);
                });
  if (isUnsigned && (name == "Abs" || name == "Relu"))
    return [](OpBuilder &, Location, ValueRange a) -> Value { return a[0]; };
  if (isUnsigned && (name == "Sign" || name == "Neg"))
    return nullptr;
  if (name == "Abs")
    return fp ? Fn([](OpBuilder &b, Location l, ValueRange a) -> Value {
      return math::AbsFOp::create(b, l, a[0]);
    })
              : Fn([](OpBuilder &b, Location l, ValueRange a) -> Value {
                  return math::AbsIOp::create(b, l, a[0]);
                });
  if (name == "Relu")
    return fp ? Fn([cst](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::MaximumFOp::create(b, l, a[0],
                                       cst(b, l, a[0].getType(), 0));
    })
              : Fn([cst](OpBuilder &b, Location l, ValueRange a) -> Value {
                  return arith::MaxSIOp::create(b, l, a[0],
                                                cst(b, l, a[0].getType(), 0));
                });
  if (name == "Sign")
    return fp ? Fn([cst](OpBuilder &b, Location l, ValueRange a) -> Value {
      Type t = a[0].getType();
      Value zero = cst(b, l, t, 0);
      Value pos =
          arith::CmpFOp::create(b, l, arith::CmpFPredicate::OGT, a[0], zero);
      Value neg =
          arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, a[0], zero);
      return arith::SelectOp::create(
          b, l, pos, cst(b, l, t, 1),
          arith::SelectOp::create(b, l, neg, cst(b, l, t, -1), zero));
    })
              : Fn([cst](OpBuilder &b, Location l, ValueRange a) -> Value {
                  Type t = a[0].getType();
                  Value zero = cst(b, l, t, 0);
                  Value pos = arith::CmpIOp::create(
                      b, l, arith::CmpIPredicate::sgt, a[0], zero);
                  Value neg = arith::CmpIOp::create(
                      b, l, arith::CmpIPredicate::slt, a[0], zero);
                  return arith::SelectOp::create(
                      b, l, pos, cst(b, l, t, 1),
                      arith::SelectOp::create(b, l, neg, cst(b, l, t, -1),
                                              zero));
                });
  if (!fp)
    return nullptr;
  // Float-only operators.
  if (name == "Reciprocal")
    return [cst](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::DivFOp::create(b, l, cst(b, l, a[0].getType(), 1), a[0]);
    };
  if (name == "Sigmoid")
    return [cst](OpBuilder &b, Location l, ValueRange a) -> Value {
      Type t = a[0].getType();
      Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, a[0]));
      return arith::DivFOp::create(
          b, l, cst(b, l, t, 1),
          arith::AddFOp::create(b, l, cst(b, l, t, 1), e));
    };
  if (name == "Pow")
    return binary<math::PowFOp>();
  return llvm::StringSwitch<Fn>(name)
      .Case("Sqrt", unaryMath<math::SqrtOp>())
      .Case("Cos", unaryMath<math::CosOp>())
      .Case("Sin", unaryMath<math::SinOp>())
      .Case("Exp", unaryMath<math::ExpOp>())
      .Case("Log", unaryMath<math::LogOp>())
      .Case("Tanh", unaryMath<math::TanhOp>())
      .Case("Erf", unaryMath<math::ErfOp>())
      .Case("Floor", unaryMath<math::FloorOp>())
      .Case("Ceil", unaryMath<math::CeilOp>())
      .Default(nullptr);
}

/// The comparison bodies (result i1).
static std::function<Value(OpBuilder &, Location, ValueRange)>
compareBody(StringRef name, Type element, bool isUnsigned = false) {
  bool fp = isa<FloatType>(element);
  arith::CmpFPredicate fpred;
  arith::CmpIPredicate ipred;
  if (name == "Equal") {
    fpred = arith::CmpFPredicate::OEQ;
    ipred = arith::CmpIPredicate::eq;
  } else if (name == "Less") {
    fpred = arith::CmpFPredicate::OLT;
    ipred = arith::CmpIPredicate::slt;
  } else if (name == "LessOrEqual") {
    fpred = arith::CmpFPredicate::OLE;
    ipred = arith::CmpIPredicate::sle;
  } else if (name == "Greater") {
    fpred = arith::CmpFPredicate::OGT;
    ipred = arith::CmpIPredicate::sgt;
  } else if (name == "GreaterOrEqual") {
    fpred = arith::CmpFPredicate::OGE;
    ipred = arith::CmpIPredicate::sge;
  } else {
    return nullptr;
  }
  if (fp)
    return [fpred](OpBuilder &b, Location l, ValueRange a) -> Value {
      return arith::CmpFOp::create(b, l, fpred, a[0], a[1]);
    };
  if (isUnsigned) {
    switch (ipred) {
    case arith::CmpIPredicate::slt:
      ipred = arith::CmpIPredicate::ult;
      break;
    case arith::CmpIPredicate::sle:
      ipred = arith::CmpIPredicate::ule;
      break;
    case arith::CmpIPredicate::sgt:
      ipred = arith::CmpIPredicate::ugt;
      break;
    case arith::CmpIPredicate::sge:
      ipred = arith::CmpIPredicate::uge;
      break;
    default:
      break;
    }
  }
  return [ipred](OpBuilder &b, Location l, ValueRange a) -> Value {
    return arith::CmpIOp::create(b, l, ipred, a[0], a[1]);
  };
}

/// Folds an elementwise integer operator on constants (shape arithmetic).
static std::optional<int64_t> foldInt(StringRef name, int64_t a, int64_t b) {
  if (name == "Add")
    return a + b;
  if (name == "Sub")
    return a - b;
  if (name == "Mul")
    return a * b;
  if (name == "Div")
    return b == 0 ? std::nullopt : std::optional<int64_t>(a / b);
  if (name == "Equal")
    return a == b;
  if (name == "Less")
    return a < b;
  if (name == "Greater")
    return a > b;
  if (name == "Max")
    return std::max(a, b);
  if (name == "Min")
    return std::min(a, b);
  return std::nullopt;
}

LogicalResult GraphLowering::lowerElementwise(Operation *op, StringRef name) {
  Location loc = op->getLoc();
  SmallVector<Value> inputs;
  for (Value operand : op->getOperands()) {
    if (isNone(operand))
      return error(op) << "an empty input is not supported here";
    inputs.push_back(lowered(operand));
  }
  Type element = typeOf(inputs[0]).getElementType();
  if (name == "Pow" && inputs.size() == 2 && !isFloat(element)) {
    // An integer base: computed in f64 (exact for the integers ONNX's
    // reference produces), converted back to the base's type.
    Type exponent = typeOf(inputs[1]).getElementType();
    Type f64 = b_.getF64Type();
    bool isUnsigned = unsigned_.contains(inputs[0]);
    Value r = elementwise(
        loc, inputs, element, [&](OpBuilder &b, Location l, ValueRange a) {
          Value base = castScalar(b, l, a[0], f64, isUnsigned);
          Value power =
              isFloat(exponent)
                  ? castScalar(b, l, a[1], f64)
                  : castScalar(b, l, a[1], f64, unsigned_.contains(inputs[1]));
          return castScalar(b, l, math::PowFOp::create(b, l, base, power),
                            element, false, isUnsigned);
        });
    if (!r)
      return error(op) << "input shapes do not broadcast";
    lowered_[op->getResult(0)] = r;
    return success();
  }
  if (name == "Pow" && inputs.size() == 2 &&
      typeOf(inputs[1]).getElementType() != element && isFloat(element)) {
    // Pow's exponent may have another type: converted to the base's.
    inputs[1] = elementwise(loc, {inputs[1]}, element,
                            [&](OpBuilder &b, Location l, ValueRange a) {
                              return castScalar(b, l, a[0], element);
                            });
  }
  for (Value input : inputs)
    if (typeOf(input).getElementType() != element)
      return error(op) << "inputs of different element types";

  // Integer shape arithmetic on known values folds.
  if (inputs.size() == 2 && element.isInteger(64)) {
    std::optional<IntConstant> a = constantOf(op->getOperand(0));
    std::optional<IntConstant> c = constantOf(op->getOperand(1));
    if (a && c && foldInt(name, 0, 1)) {
      SmallVector<int64_t> shape;
      if (broadcastShapes(a->shape, c->shape, shape) &&
          (a->values.size() == 1 || c->values.size() == 1 ||
           a->shape == c->shape)) {
        IntConstant r;
        r.shape = shape;
        size_t n = std::max(a->values.size(), c->values.size());
        bool ok = true;
        for (size_t i = 0; i < n && ok; ++i) {
          auto v = foldInt(name, a->values[a->values.size() == 1 ? 0 : i],
                           c->values[c->values.size() == 1 ? 0 : i]);
          ok = v.has_value();
          if (ok)
            r.values.push_back(*v);
        }
        if (ok && (name == "Add" || name == "Sub" || name == "Mul" ||
                   name == "Div" || name == "Max" || name == "Min")) {
          setConstant(op->getResult(0), r);
          return success();
        }
      }
    }
  }

  std::function<Value(OpBuilder &, Location, ValueRange)> fn;
  Type resultElement = element;
  bool isUnsigned = unsigned_.contains(inputs[0]);
  if ((fn = compareBody(name, element, isUnsigned)))
    resultElement = b_.getI1Type();
  else
    fn = scalarBody(name, element, isUnsigned);
  if (!fn)
    return error(op) << "not lowered for element type " << element;
  if ((name == "Pow" || name == "Add" || name == "Sub" || name == "Mul" ||
       name == "Div") &&
      inputs.size() != 2)
    return error(op) << "takes two inputs";
  Value result = elementwise(loc, inputs, resultElement, fn);
  if (!result)
    return error(op) << "input shapes do not broadcast";
  lowered_[op->getResult(0)] = result;
  if (isUnsigned && !resultElement.isInteger(1))
    unsigned_.insert(result);
  return success();
}

LogicalResult GraphLowering::lower(Operation *op) {
  Location loc = op->getLoc();
  StringRef name = op->getName().getStringRef();
  if (!name.consume_front("onnx."))
    return op->emitError("onnx-lower-graph: unexpected op ") << op->getName();
  if (isa<llamac::onnx::NoneOp>(op))
    return success();
  if (name.starts_with("ms."))
    return error(op) << "com.microsoft operators are lowered only as parts "
                        "of a Llama decoder (onnx-raise-llama)";
  // Every operand must have been lowered, to a static shape.
  for (Value operand : op->getOperands())
    if (!isNone(operand) && !lowered(operand))
      return error(op) << "an input was not lowered";
  for (Value operand : op->getOperands()) {
    if (isNone(operand))
      continue;
    RankedTensorType t = typeOf(lowered(operand));
    if (!t.hasStaticShape())
      return error(op) << "dynamic shapes are not supported";
    // Empty lists of axes or indices are fine; empty data is not lowered.
    bool list = t.getRank() == 1 && t.getElementType().isInteger(64);
    if (llvm::is_contained(t.getShape(), 0) && !list && !constantOf(operand))
      return error(op) << "tensors with a zero-size dimension are not "
                          "supported";
  }

  auto in = [&](unsigned i) { return lowered(op->getOperand(i)); };
  auto inType = [&](unsigned i) { return typeOf(in(i)); };
  auto has = [&](unsigned i) {
    return i < op->getNumOperands() && !isNone(op->getOperand(i));
  };
  Value result0 = op->getNumResults() ? op->getResult(0) : Value();

  if (name == "Constant") {
    Attribute value = op->getAttr("value");
    if (auto f = op->getAttrOfType<FloatAttr>("value_float"))
      value = DenseElementsAttr::get(
          RankedTensorType::get({}, b_.getF32Type()),
          ArrayRef<float>{static_cast<float>(f.getValueAsDouble())});
    else if (auto i = op->getAttrOfType<IntegerAttr>("value_int"))
      value = DenseElementsAttr::get(RankedTensorType::get({}, b_.getI64Type()),
                                     ArrayRef<int64_t>{i.getInt()});
    else if (auto ints = intsAttr(op, "value_ints"))
      value = DenseElementsAttr::get(
          RankedTensorType::get({static_cast<int64_t>(ints->size())},
                                b_.getI64Type()),
          ArrayRef<int64_t>(*ints));
    auto elements = dyn_cast_or_null<DenseElementsAttr>(value);
    if (!elements)
      return error(op) << "only dense tensor values are supported";
    if (elements.getElementType().isInteger(64)) {
      IntConstant c;
      c.shape.assign(elements.getType().getShape().begin(),
                     elements.getType().getShape().end());
      for (APInt v : elements.getValues<APInt>())
        c.values.push_back(v.getSExtValue());
      setConstant(result0, c);
      return success();
    }
    if (elements.getElementType().isSignlessInteger(32)) {
      // Known for shape arithmetic (axes may be int32), computed as int32.
      IntConstant c;
      c.shape.assign(elements.getType().getShape().begin(),
                     elements.getType().getShape().end());
      for (APInt v : elements.getValues<APInt>())
        c.values.push_back(v.getSExtValue());
      constants_[result0] = c;
      lowered_[result0] =
          arith::ConstantOp::create(b_, loc, elements.getType(), elements);
      return success();
    }
    bool isUnsigned = isUnsignedType(elements.getElementType());
    if (isUnsigned)
      elements = elements.bitcast(signless(elements.getElementType()));
    lowered_[result0] =
        arith::ConstantOp::create(b_, loc, elements.getType(), elements);
    if (isUnsigned)
      unsigned_.insert(lowered_[result0]);
    return success();
  }

  if (compareBody(name, b_.getF32Type()) || scalarBody(name, b_.getI64Type()) ||
      scalarBody(name, b_.getF32Type()))
    return lowerElementwise(op, name);

  if (name == "Identity") {
    lowered_[result0] = in(0);
    if (auto c = constantOf(op->getOperand(0)))
      constants_[result0] = *c;
    return success();
  }

  if (name == "Cast") {
    Type declared = cast<TensorType>(result0.getType()).getElementType();
    bool toUnsigned = isUnsignedType(declared);
    bool fromUnsigned = unsigned_.contains(in(0));
    Type to = signless(declared);
    if (auto c = constantOf(op->getOperand(0));
        c && to.isInteger(64) && !toUnsigned) {
      setConstant(result0, *c);
      return success();
    }
    Type from = inType(0).getElementType();
    if (!from.isIntOrFloat() || !to.isIntOrFloat())
      return error(op) << "unsupported cast from " << from << " to " << to;
    lowered_[result0] = elementwise(
        loc, {in(0)}, to, [&](OpBuilder &b, Location l, ValueRange a) {
          return castScalar(b, l, a[0], to, fromUnsigned, toUnsigned);
        });
    if (toUnsigned)
      unsigned_.insert(lowered_[result0]);
    return success();
  }

  if (name == "Where") {
    if (!inType(0).getElementType().isInteger(1))
      return error(op) << "the condition must be bool";
    Value r =
        elementwise(loc, {in(0), in(1), in(2)}, inType(1).getElementType(),
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      return arith::SelectOp::create(b, l, a[0], a[1], a[2]);
                    });
    if (!r)
      return error(op) << "input shapes do not broadcast";
    lowered_[result0] = r;
    return success();
  }

  if (name == "Shape") {
    ArrayRef<int64_t> shape = inType(0).getShape();
    int64_t rank = shape.size();
    int64_t start = intAttr(op, "start", 0), end = intAttr(op, "end", rank);
    if (start < 0)
      start += rank;
    if (end < 0)
      end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    IntConstant c;
    c.shape = {end - start};
    c.values.assign(shape.begin() + start, shape.begin() + end);
    setConstant(result0, c);
    return success();
  }

  if (name == "ConstantOfShape") {
    auto shape = constantOf(op->getOperand(0));
    if (!shape)
      return mustBeKnown(op, "the shape", {0});
    DenseElementsAttr value = op->getAttrOfType<DenseElementsAttr>("value");
    Type element = value ? value.getElementType() : b_.getF32Type();
    auto type = RankedTensorType::get(shape->values, element);
    if (element.isInteger(64)) {
      IntConstant c;
      c.shape = shape->values;
      int64_t v = value ? value.getSplatValue<APInt>().getSExtValue() : 0;
      int64_t n = 1;
      for (int64_t d : shape->values)
        n *= d;
      c.values.assign(n, v);
      setConstant(result0, c);
      return success();
    }
    Attribute splat =
        value ? value.getSplatValue<Attribute>() : b_.getZeroAttr(element);
    lowered_[result0] = arith::ConstantOp::create(
        b_, loc, type, DenseElementsAttr::get(type, splat));
    return success();
  }

  if (name == "Range") {
    RankedTensorType t = inType(0);
    auto s = constantOf(op->getOperand(0)), l = constantOf(op->getOperand(1)),
         d = constantOf(op->getOperand(2));
    if (t.getElementType().isInteger(64) && s && l && d) {
      IntConstant c;
      int64_t start = s->values[0], limit = l->values[0], delta = d->values[0];
      if (delta == 0)
        return error(op) << "delta is zero";
      int64_t n = std::max<int64_t>(
          0, (limit - start + delta + (delta > 0 ? -1 : 1)) / delta);
      for (int64_t i = 0; i < n; ++i)
        c.values.push_back(start + i * delta);
      c.shape = {n};
      setConstant(result0, c);
      return success();
    }
    // Float ranges: the element count comes from the known limits.
    auto known = [&](unsigned i) -> std::optional<double> {
      Operation *def = op->getOperand(i).getDefiningOp();
      if (!def || def->getName().getStringRef() != "onnx.Constant")
        return std::nullopt;
      auto v = def->getAttrOfType<DenseElementsAttr>("value");
      if (!v || !isFloat(v.getElementType()))
        return std::nullopt;
      return (*v.getValues<APFloat>().begin()).convertToDouble();
    };
    auto fs = known(0), fl = known(1), fd = known(2);
    if (!fs || !fl || !fd)
      return mustBeKnown(op, "start, limit and delta", {0, 1, 2});
    if (*fd == 0)
      return error(op) << "delta is zero";
    int64_t n = std::max<int64_t>(0, std::ceil((*fl - *fs) / *fd));
    Type element = t.getElementType();
    Value start = in(0), delta = in(2);
    lowered_[result0] = fromIndices(
        loc, {n}, element,
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          Value i = arith::IndexCastOp::create(b, l, b.getI64Type(), idx[0]);
          Value fi = arith::SIToFPOp::create(b, l, element, i);
          Value s = tensor::ExtractOp::create(b, l, start, ValueRange{});
          Value d = tensor::ExtractOp::create(b, l, delta, ValueRange{});
          return arith::AddFOp::create(b, l, s,
                                       arith::MulFOp::create(b, l, fi, d));
        });
    return success();
  }

  // Shape changes.
  if (name == "Reshape" || name == "Flatten" || name == "Squeeze" ||
      name == "Unsqueeze") {
    RankedTensorType t = inType(0);
    ArrayRef<int64_t> shape = t.getShape();
    int64_t rank = t.getRank();
    SmallVector<int64_t> out;
    if (name == "Reshape") {
      auto target = constantOf(op->getOperand(1));
      if (!target)
        return mustBeKnown(op, "the shape", {1});
      bool allowZero = intAttr(op, "allowzero", 0) != 0;
      int64_t known = 1, inferred = -1;
      for (auto [i, d] : llvm::enumerate(target->values)) {
        int64_t dim = d;
        if (d == 0 && !allowZero) {
          if (static_cast<int64_t>(i) >= rank)
            return error(op) << "a 0 in the shape past the input's rank";
          dim = shape[i];
        }
        if (d == -1) {
          if (inferred >= 0)
            return error(op) << "more than one -1 in the shape";
          inferred = i;
          out.push_back(1);
          continue;
        }
        out.push_back(dim);
        known *= dim;
      }
      if (inferred >= 0)
        out[inferred] = known ? t.getNumElements() / known : 0;
    } else if (name == "Flatten") {
      int64_t axis = intAttr(op, "axis", 1);
      if (axis < 0)
        axis += rank;
      int64_t outer = 1, inner = 1;
      for (int64_t d = 0; d < rank; ++d)
        (d < axis ? outer : inner) *= shape[d];
      out = {outer, inner};
    } else {
      std::optional<SmallVector<int64_t>> axes = intsAttr(op, "axes");
      if (has(1)) {
        auto c = constantOf(op->getOperand(1));
        if (!c)
          return mustBeKnown(op, "the axes", {1});
        axes = c->values;
      }
      if (name == "Squeeze") {
        SmallVector<int64_t> a = axes ? *axes : SmallVector<int64_t>();
        if (failed(normalizeAxes(op, a, rank)))
          return failure();
        for (int64_t d = 0; d < rank; ++d) {
          bool drop = axes ? llvm::is_contained(a, d) : shape[d] == 1;
          if (drop && shape[d] != 1)
            return error(op) << "axis " << d << " has size " << shape[d];
          if (!drop)
            out.push_back(shape[d]);
        }
      } else {
        if (!axes)
          return error(op) << "no axes";
        int64_t outRank = rank + axes->size();
        SmallVector<int64_t> a = *axes;
        if (failed(normalizeAxes(op, a, outRank)))
          return failure();
        size_t next = 0;
        for (int64_t d = 0; d < outRank; ++d)
          out.push_back(llvm::is_contained(a, d) ? 1 : shape[next++]);
      }
    }
    int64_t count = 1;
    for (int64_t d : out)
      count *= d;
    if (count != t.getNumElements())
      return error(op) << "cannot reshape " << t.getNumElements()
                       << " elements into " << count;
    if (auto c = constantOf(op->getOperand(0));
        c && t.getElementType().isInteger(64)) {
      c->shape = out;
      setConstant(result0, *c);
      return success();
    }
    lowered_[result0] = reshape(loc, in(0), out);
    return success();
  }

  if (name == "Transpose") {
    RankedTensorType t = inType(0);
    int64_t rank = t.getRank();
    SmallVector<int64_t> perm;
    if (auto p = intsAttr(op, "perm"))
      perm = *p;
    else
      for (int64_t d = rank - 1; d >= 0; --d)
        perm.push_back(d);
    if (static_cast<int64_t>(perm.size()) != rank)
      return error(op) << "perm has " << perm.size() << " entries for rank "
                       << rank;
    SmallVector<int64_t> shape;
    SmallVector<AffineExpr> exprs(rank);
    for (int64_t d = 0; d < rank; ++d) {
      shape.push_back(t.getDimSize(perm[d]));
      exprs[perm[d]] = b_.getAffineDimExpr(d);
    }
    MLIRContext *context = b_.getContext();
    Value init = emptyTensor(loc, shape, t.getElementType());
    lowered_[result0] = linalg::GenericOp::create(
                            b_, loc, TypeRange{init.getType()},
                            ValueRange{in(0)}, ValueRange{init},
                            {AffineMap::get(rank, 0, exprs, context),
                             AffineMap::getMultiDimIdentityMap(rank, context)},
                            SmallVector<utils::IteratorType>(
                                rank, utils::IteratorType::parallel),
                            [](OpBuilder &b, Location loc, ValueRange args) {
                              linalg::YieldOp::create(b, loc, args[0]);
                            })
                            .getResult(0);
    return success();
  }

  if (name == "Expand") {
    auto target = constantOf(op->getOperand(1));
    if (!target)
      return mustBeKnown(op, "the shape", {1});
    SmallVector<int64_t> shape;
    if (!broadcastShapes(inType(0).getShape(), target->values, shape))
      return error(op) << "the shapes do not broadcast";
    // Broadcast against a zero-size tensor of the target shape.
    Type element = inType(0).getElementType();
    Value init = emptyTensor(loc, shape, element);
    MLIRContext *context = b_.getContext();
    lowered_[result0] =
        linalg::GenericOp::create(
            b_, loc, TypeRange{init.getType()}, ValueRange{in(0)},
            ValueRange{init},
            {broadcastMap(context, inType(0).getShape(), shape),
             AffineMap::getMultiDimIdentityMap(shape.size(), context)},
            SmallVector<utils::IteratorType>(shape.size(),
                                             utils::IteratorType::parallel),
            [](OpBuilder &b, Location loc, ValueRange args) {
              linalg::YieldOp::create(b, loc, args[0]);
            })
            .getResult(0);
    return success();
  }

  if (name == "MatMul" || name == "Gemm") {
    Value a = in(0), bm = in(1);
    RankedTensorType at = typeOf(a), bt = typeOf(bm);
    Type element = at.getElementType();
    bool transA = false, transB = false;
    double alpha = 1, beta = 1;
    if (name == "Gemm") {
      if (at.getRank() != 2 || bt.getRank() != 2)
        return error(op) << "Gemm takes matrices";
      if (!isFloat(element))
        return error(op) << "Gemm is lowered for floats only";
      transA = intAttr(op, "transA", 0);
      transB = intAttr(op, "transB", 0);
      alpha = floatAttr(op, "alpha", 1.0);
      beta = floatAttr(op, "beta", 1.0);
    }
    if (!isFloat(element) && !element.isInteger(32) && !element.isInteger(64))
      return error(op) << "not lowered for element type " << element;
    // 1-D operands are promoted to matrices and the extra dims dropped.
    bool vecA = at.getRank() == 1, vecB = bt.getRank() == 1;
    if (vecA)
      a = reshape(loc, a, {1, at.getDimSize(0)});
    if (vecB)
      bm = reshape(loc, bm, {bt.getDimSize(0), 1});
    at = typeOf(a);
    bt = typeOf(bm);
    int64_t ra = at.getRank(), rb = bt.getRank();
    int64_t m = at.getDimSize(transA ? ra - 1 : ra - 2);
    int64_t k = at.getDimSize(transA ? ra - 2 : ra - 1);
    int64_t kb = bt.getDimSize(transB ? rb - 1 : rb - 2);
    int64_t n = bt.getDimSize(transB ? rb - 2 : rb - 1);
    if (k != kb)
      return error(op) << "inner dimensions differ: " << k << " and " << kb;
    SmallVector<int64_t> batch;
    if (!broadcastShapes(at.getShape().drop_back(2), bt.getShape().drop_back(2),
                         batch))
      return error(op) << "batch dimensions do not broadcast";
    int64_t nb = batch.size();
    SmallVector<int64_t> outShape(batch);
    outShape.push_back(m);
    outShape.push_back(n);
    MLIRContext *context = b_.getContext();
    // Loops: batch..., m, n, k.
    int64_t loops = nb + 3;
    auto dim = [&](int64_t d) { return getAffineDimExpr(d, context); };
    auto operandMap = [&](RankedTensorType t, bool trans, bool isA) {
      SmallVector<AffineExpr> exprs;
      int64_t r = t.getRank();
      int64_t offset = nb - (r - 2);
      for (int64_t d = 0; d < r - 2; ++d)
        exprs.push_back(t.getDimSize(d) == 1 && batch[offset + d] != 1
                            ? getAffineConstantExpr(0, context)
                            : dim(offset + d));
      AffineExpr rowE = isA ? dim(nb) : dim(nb + 2);
      AffineExpr colE = isA ? dim(nb + 2) : dim(nb + 1);
      if (trans)
        std::swap(rowE, colE);
      exprs.push_back(rowE);
      exprs.push_back(colE);
      return AffineMap::get(loops, 0, exprs, context);
    };
    SmallVector<AffineExpr> outExprs;
    for (int64_t d = 0; d < nb + 2; ++d)
      outExprs.push_back(dim(d));
    SmallVector<utils::IteratorType> iterators(loops,
                                               utils::IteratorType::parallel);
    iterators.back() = utils::IteratorType::reduction;
    Value empty = emptyTensor(loc, outShape, element);
    Value zero = zeroOf(loc, element);
    Value filled =
        linalg::FillOp::create(b_, loc, ValueRange{zero}, ValueRange{empty})
            .getResult(0);
    bool fp = isFloat(element);
    Value product =
        linalg::GenericOp::create(
            b_, loc, TypeRange{filled.getType()}, ValueRange{a, bm},
            ValueRange{filled},
            {operandMap(at, transA, true), operandMap(bt, transB, false),
             AffineMap::get(loops, 0, outExprs, context)},
            iterators,
            [&](OpBuilder &b, Location l, ValueRange args) {
              Value r = fp ? arith::AddFOp::create(
                                 b, l, args[2],
                                 arith::MulFOp::create(b, l, args[0], args[1]))
                                 .getResult()
                           : arith::AddIOp::create(
                                 b, l, args[2],
                                 arith::MulIOp::create(b, l, args[0], args[1]))
                                 .getResult();
              linalg::YieldOp::create(b, l, r);
            })
            .getResult(0);
    if (name == "Gemm") {
      SmallVector<Value> parts = {product};
      if (has(2))
        parts.push_back(in(2));
      Value result = elementwise(
          loc, parts, element, [&](OpBuilder &b, Location l, ValueRange v) {
            Value r = arith::MulFOp::create(
                b, l, v[0],
                arith::ConstantOp::create(b, l, element,
                                          b.getFloatAttr(element, alpha)));
            if (v.size() > 1)
              r = arith::AddFOp::create(
                  b, l, r,
                  arith::MulFOp::create(
                      b, l, v[1],
                      arith::ConstantOp::create(
                          b, l, element, b.getFloatAttr(element, beta))));
            return r;
          });
      if (!result)
        return error(op) << "C does not broadcast to the product";
      lowered_[result0] = result;
      return success();
    }
    SmallVector<int64_t> finalShape(batch);
    if (!vecA)
      finalShape.push_back(m);
    if (!vecB)
      finalShape.push_back(n);
    lowered_[result0] = reshape(loc, product, finalShape);
    return success();
  }

  if (name == "ReduceSum" || name == "ReduceMean" || name == "ReduceMax" ||
      name == "ReduceMin") {
    RankedTensorType t = inType(0);
    Type element = t.getElementType();
    int64_t rank = t.getRank();
    std::optional<SmallVector<int64_t>> axes = intsAttr(op, "axes");
    if (has(1)) {
      auto c = constantOf(op->getOperand(1));
      if (!c)
        return mustBeKnown(op, "the axes", {1});
      axes = c->values;
    }
    bool keepdims = intAttr(op, "keepdims", 1) != 0;
    if (!axes || axes->empty()) {
      if (intAttr(op, "noop_with_empty_axes", 0)) {
        lowered_[result0] = in(0);
        return success();
      }
      axes = SmallVector<int64_t>();
      for (int64_t d = 0; d < rank; ++d)
        axes->push_back(d);
    }
    if (failed(normalizeAxes(op, *axes, rank)))
      return failure();
    bool fp = isFloat(element);
    if (!fp && name == "ReduceMean")
      return error(op) << "ReduceMean is lowered for floats only";
    Value init;
    ScalarFn combine;
    std::function<Value(OpBuilder &, Location, ValueRange)> fn;
    if (name == "ReduceSum" || name == "ReduceMean") {
      init = zeroOf(loc, element);
      fn = [fp](OpBuilder &b, Location l, ValueRange a) -> Value {
        return fp ? arith::AddFOp::create(b, l, a[1], a[0]).getResult()
                  : arith::AddIOp::create(b, l, a[1], a[0]).getResult();
      };
    } else if (element.isInteger(1)) {
      // Booleans: max is or, min is and.
      bool max = name == "ReduceMax";
      init = arith::ConstantOp::create(b_, loc, element, b_.getBoolAttr(!max));
      fn = [max](OpBuilder &b, Location l, ValueRange a) -> Value {
        return max ? arith::OrIOp::create(b, l, a[1], a[0]).getResult()
                   : arith::AndIOp::create(b, l, a[1], a[0]).getResult();
      };
    } else {
      bool max = name == "ReduceMax";
      bool isUnsigned = unsigned_.contains(in(0));
      unsigned width = element.getIntOrFloatBitWidth();
      if (fp)
        init = arith::ConstantOp::create(
            b_, loc, element,
            b_.getFloatAttr(element,
                            max ? -std::numeric_limits<double>::infinity()
                                : std::numeric_limits<double>::infinity()));
      else if (isUnsigned)
        init = arith::ConstantOp::create(
            b_, loc, element,
            b_.getIntegerAttr(element, max ? APInt::getMinValue(width)
                                           : APInt::getMaxValue(width)));
      else
        init = arith::ConstantOp::create(
            b_, loc, element,
            b_.getIntegerAttr(element, max ? APInt::getSignedMinValue(width)
                                           : APInt::getSignedMaxValue(width)));
      fn = [fp, max, isUnsigned](OpBuilder &b, Location l,
                                 ValueRange a) -> Value {
        if (fp)
          return max ? arith::MaximumFOp::create(b, l, a[1], a[0]).getResult()
                     : arith::MinimumFOp::create(b, l, a[1], a[0]).getResult();
        if (isUnsigned)
          return max ? arith::MaxUIOp::create(b, l, a[1], a[0]).getResult()
                     : arith::MinUIOp::create(b, l, a[1], a[0]).getResult();
        return max ? arith::MaxSIOp::create(b, l, a[1], a[0]).getResult()
                   : arith::MinSIOp::create(b, l, a[1], a[0]).getResult();
      };
    }
    Value r = reduce(loc, in(0), *axes, keepdims, init, fn);
    if (name == "ReduceMean") {
      int64_t count = 1;
      for (int64_t axis : *axes)
        count *= t.getDimSize(axis);
      r = elementwise(
          loc, {r}, element,
          [&](OpBuilder &b, Location l, ValueRange v) -> Value {
            return arith::DivFOp::create(
                b, l, v[0],
                arith::ConstantOp::create(
                    b, l, element, b.getFloatAttr(element, double(count))));
          });
    }
    lowered_[result0] = r;
    return success();
  }

  if (name == "Attention")
    return lowerAttention(op);

  if (name == "IsNaN") {
    if (!isFloat(inType(0).getElementType()))
      return error(op) << "takes floats";
    lowered_[result0] =
        elementwise(loc, {in(0)}, b_.getI1Type(),
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      return arith::CmpFOp::create(
                          b, l, arith::CmpFPredicate::UNO, a[0], a[0]);
                    });
    return success();
  }

  if (name == "CumSum") {
    RankedTensorType t = inType(0);
    Type element = t.getElementType();
    auto axisC = constantOf(op->getOperand(1));
    if (!axisC || axisC->values.size() != 1)
      return mustBeKnown(op, "the axis", {1});
    SmallVector<int64_t> axes = {axisC->values[0]};
    if (failed(normalizeAxes(op, axes, t.getRank())))
      return failure();
    int64_t axis = axes[0], n = t.getDimSize(axis);
    bool exclusive = intAttr(op, "exclusive", 0) != 0;
    bool reverse = intAttr(op, "reverse", 0) != 0;
    bool fp = isFloat(element);
    Value x = in(0);
    // out[.., i, ..] = sum of x[.., j, ..] over j <= i (reverse: j >= i;
    // exclusive: without j = i).
    lowered_[result0] = fromIndices(
        loc, t.getShape(), element,
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          Value i = idx[axis];
          Value one = arith::ConstantIndexOp::create(b, l, 1);
          Value lo, hi;
          if (!reverse) {
            lo = arith::ConstantIndexOp::create(b, l, 0);
            hi =
                exclusive ? i : arith::AddIOp::create(b, l, i, one).getResult();
          } else {
            lo =
                exclusive ? arith::AddIOp::create(b, l, i, one).getResult() : i;
            hi = arith::ConstantIndexOp::create(b, l, n);
          }
          auto loop = scf::ForOp::create(
              b, l, lo, hi, one,
              ValueRange{arith::ConstantOp::create(b, l, element,
                                                   b.getZeroAttr(element))},
              [&](OpBuilder &b, Location l, Value j, ValueRange carried) {
                SmallVector<Value> at(idx);
                at[axis] = j;
                Value v = tensor::ExtractOp::create(b, l, x, at);
                Value sum =
                    fp ? arith::AddFOp::create(b, l, carried[0], v).getResult()
                       : arith::AddIOp::create(b, l, carried[0], v).getResult();
                scf::YieldOp::create(b, l, ValueRange{sum});
              });
          return loop.getResult(0);
        });
    return success();
  }

  if (name == "GatherND") {
    RankedTensorType data = inType(0), idxT = inType(1);
    if (intAttr(op, "batch_dims", 0) != 0)
      return error(op) << "batch_dims other than 0 is not supported";
    int64_t k = idxT.getShape().back();
    int64_t ir = idxT.getRank();
    if (k > data.getRank())
      return error(op) << "index tuples longer than the data's rank";
    SmallVector<int64_t> shape(idxT.getShape().drop_back());
    llvm::append_range(shape, data.getShape().drop_front(k));
    Value source = in(0), indices = in(1);
    lowered_[result0] = fromIndices(
        loc, shape, data.getElementType(),
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          SmallVector<Value> at;
          for (int64_t c = 0; c < k; ++c) {
            SmallVector<Value> where(idx.take_front(ir - 1));
            where.push_back(arith::ConstantIndexOp::create(b, l, c));
            Value raw = tensor::ExtractOp::create(b, l, indices, where);
            Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
            Value negative =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i,
                                      arith::ConstantIndexOp::create(b, l, 0));
            at.push_back(arith::SelectOp::create(
                b, l, negative,
                arith::AddIOp::create(
                    b, l, i,
                    arith::ConstantIndexOp::create(b, l, data.getDimSize(c))),
                i));
          }
          llvm::append_range(at, idx.drop_front(ir - 1));
          return tensor::ExtractOp::create(b, l, source, at);
        });
    return success();
  }

  if (name == "RMSNormalization" || name == "SimplifiedLayerNormalization") {
    RankedTensorType t = inType(0);
    Type element = t.getElementType();
    if (!isFloat(element))
      return error(op) << "takes floats";
    int64_t rank = t.getRank();
    int64_t axis = intAttr(op, "axis", -1);
    if (axis < -rank || axis >= rank)
      return error(op) << "axis " << axis << " is out of range";
    if (axis < 0)
      axis += rank;
    double epsilon = floatAttr(op, "epsilon", 1e-5);
    // Statistics in f32 (stash_type 1), or the input's type if wider.
    Type stash =
        element.getIntOrFloatBitWidth() > 32 ? element : b_.getF32Type();
    SmallVector<int64_t> axes;
    int64_t count = 1;
    for (int64_t d = axis; d < rank; ++d) {
      axes.push_back(d);
      count *= t.getDimSize(d);
    }
    Value x = elementwise(loc, {in(0)}, stash,
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return castScalar(b, l, a[0], stash);
                          });
    Value squares = elementwise(
        loc, {x}, stash, [](OpBuilder &b, Location l, ValueRange a) -> Value {
          return arith::MulFOp::create(b, l, a[0], a[0]);
        });
    Value sum = reduce(loc, squares, axes, true, zeroOf(loc, stash),
                       [](OpBuilder &b, Location l, ValueRange a) -> Value {
                         return arith::AddFOp::create(b, l, a[1], a[0]);
                       });
    Value scale = in(1);
    Value y = elementwise(
        loc, {x, sum, scale}, element,
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          auto c = [&](double v) {
            return arith::ConstantOp::create(b, l, stash,
                                             b.getFloatAttr(stash, v));
          };
          Value mean = arith::DivFOp::create(b, l, a[1], c(double(count)));
          Value inv = arith::DivFOp::create(
              b, l, c(1.0),
              math::SqrtOp::create(
                  b, l, arith::AddFOp::create(b, l, mean, c(epsilon))));
          Value normalized =
              castScalar(b, l, arith::MulFOp::create(b, l, a[0], inv), element);
          return arith::MulFOp::create(b, l, normalized, a[2]);
        });
    if (!y)
      return error(op) << "the scale does not broadcast to the input";
    lowered_[result0] = y;
    return success();
  }

  if (name == "Softmax") {
    RankedTensorType t = inType(0);
    Type element = t.getElementType();
    if (!isFloat(element))
      return error(op) << "Softmax takes floats";
    SmallVector<int64_t> axes = {intAttr(op, "axis", -1)};
    if (failed(normalizeAxes(op, axes, t.getRank())))
      return failure();
    Value negInf = arith::ConstantOp::create(
        b_, loc, element,
        b_.getFloatAttr(element, -std::numeric_limits<double>::infinity()));
    Value max = reduce(loc, in(0), axes, true, negInf,
                       [](OpBuilder &b, Location l, ValueRange a) -> Value {
                         return arith::MaximumFOp::create(b, l, a[1], a[0]);
                       });
    Value e = elementwise(loc, {in(0), max}, element,
                          [](OpBuilder &b, Location l, ValueRange a) -> Value {
                            return math::ExpOp::create(
                                b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                          });
    Value sum = reduce(loc, e, axes, true, zeroOf(loc, element),
                       [](OpBuilder &b, Location l, ValueRange a) -> Value {
                         return arith::AddFOp::create(b, l, a[1], a[0]);
                       });
    lowered_[result0] =
        elementwise(loc, {e, sum}, element,
                    [](OpBuilder &b, Location l, ValueRange a) -> Value {
                      return arith::DivFOp::create(b, l, a[0], a[1]);
                    });
    return success();
  }

  if (name == "Concat") {
    int64_t axis = intAttr(op, "axis", 0);
    SmallVector<Value> inputs;
    for (Value operand : op->getOperands())
      if (!isNone(operand))
        inputs.push_back(operand);
    if (inputs.empty())
      return error(op) << "no inputs";
    int64_t rank = typeOf(lowered(inputs[0])).getRank();
    if (axis < -rank || axis >= rank)
      return error(op) << "axis " << axis << " is out of range";
    if (axis < 0)
      axis += rank;
    // Known 1-D integer values (shapes being built) fold.
    bool allKnown = llvm::all_of(inputs, [&](Value v) {
      return constantOf(v).has_value() &&
             typeOf(lowered(v)).getElementType().isInteger(64);
    });
    if (allKnown && rank == 1) {
      IntConstant c;
      for (Value v : inputs)
        llvm::append_range(c.values, constantOf(v)->values);
      c.shape = {static_cast<int64_t>(c.values.size())};
      setConstant(result0, c);
      return success();
    }
    SmallVector<int64_t> shape(typeOf(lowered(inputs[0])).getShape());
    shape[axis] = 0;
    for (Value v : inputs) {
      RankedTensorType vt = typeOf(lowered(v));
      for (int64_t d = 0; d < rank; ++d)
        if (d != axis && vt.getDimSize(d) != shape[d])
          return error(op) << "inputs differ in dimension " << d;
      shape[axis] += vt.getDimSize(axis);
    }
    Value result =
        emptyTensor(loc, shape, typeOf(lowered(inputs[0])).getElementType());
    int64_t offset = 0;
    for (Value v : inputs) {
      RankedTensorType vt = typeOf(lowered(v));
      SmallVector<OpFoldResult> offsets(rank, b_.getIndexAttr(0)), sizes,
          strides(rank, b_.getIndexAttr(1));
      offsets[axis] = b_.getIndexAttr(offset);
      for (int64_t d : vt.getShape())
        sizes.push_back(b_.getIndexAttr(d));
      result = tensor::InsertSliceOp::create(b_, loc, lowered(v), result,
                                             offsets, sizes, strides);
      offset += vt.getDimSize(axis);
    }
    lowered_[result0] = result;
    return success();
  }

  if (name == "Split") {
    RankedTensorType t = inType(0);
    int64_t rank = t.getRank();
    int64_t axis = intAttr(op, "axis", 0);
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return error(op) << "axis is out of range";
    int64_t outputs = 0;
    for (Value r : op->getResults())
      if (!isa<NoneType>(r.getType()))
        ++outputs;
    SmallVector<int64_t> sizes;
    if (has(1)) {
      auto c = constantOf(op->getOperand(1));
      if (!c)
        return mustBeKnown(op, "the split sizes", {1});
      sizes = c->values;
    } else if (auto s = intsAttr(op, "split")) {
      sizes = *s;
    } else {
      int64_t parts = intAttr(op, "num_outputs", outputs);
      if (parts != outputs || parts <= 0)
        return error(op) << "num_outputs = " << parts << " for " << outputs
                         << " outputs";
      int64_t each = (t.getDimSize(axis) + parts - 1) / parts;
      for (int64_t i = 0, left = t.getDimSize(axis); i < parts; ++i) {
        sizes.push_back(std::min(each, left));
        left -= sizes.back();
      }
    }
    if (static_cast<int64_t>(sizes.size()) != outputs)
      return error(op) << sizes.size() << " split sizes for " << outputs
                       << " outputs";
    int64_t offset = 0;
    for (auto [i, size] : llvm::enumerate(sizes)) {
      SmallVector<OpFoldResult> offsets(rank, b_.getIndexAttr(0)), extents,
          strides(rank, b_.getIndexAttr(1));
      offsets[axis] = b_.getIndexAttr(offset);
      SmallVector<int64_t> shape(t.getShape());
      shape[axis] = size;
      for (int64_t d : shape)
        extents.push_back(b_.getIndexAttr(d));
      lowered_[op->getResult(i)] = tensor::ExtractSliceOp::create(
          b_, loc, RankedTensorType::get(shape, t.getElementType()), in(0),
          offsets, extents, strides);
      offset += size;
    }
    if (offset != t.getDimSize(axis))
      return error(op) << "split sizes add up to " << offset << ", not "
                       << t.getDimSize(axis);
    return success();
  }

  if (name == "Slice") {
    RankedTensorType t = inType(0);
    int64_t rank = t.getRank();
    auto starts = constantOf(op->getOperand(1)),
         ends = constantOf(op->getOperand(2));
    std::optional<IntConstant> axesC, stepsC;
    if (has(3))
      axesC = constantOf(op->getOperand(3));
    if (has(4))
      stepsC = constantOf(op->getOperand(4));
    if (!starts || !ends || (has(3) && !axesC) || (has(4) && !stepsC))
      return mustBeKnown(op, "starts, ends, axes and steps", {1, 2, 3, 4});
    SmallVector<int64_t> begin(rank, 0), step(rank, 1),
        size(t.getShape().begin(), t.getShape().end());
    for (size_t i = 0; i < starts->values.size(); ++i) {
      int64_t axis = axesC ? axesC->values[i] : static_cast<int64_t>(i);
      if (axis < 0)
        axis += rank;
      if (axis < 0 || axis >= rank)
        return error(op) << "axis out of range";
      int64_t dim = t.getDimSize(axis);
      int64_t s = starts->values[i], e = ends->values[i];
      int64_t st = stepsC ? stepsC->values[i] : 1;
      if (st == 0)
        return error(op) << "a step of 0";
      if (s < 0)
        s += dim;
      if (e < 0)
        e += dim;
      if (st > 0) {
        s = std::clamp<int64_t>(s, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        size[axis] = std::max<int64_t>(0, (e - s + st - 1) / st);
      } else {
        s = std::clamp<int64_t>(s, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        size[axis] = std::max<int64_t>(0, (s - e + (-st) - 1) / (-st));
      }
      begin[axis] = s;
      step[axis] = st;
    }
    if (auto c = constantOf(op->getOperand(0));
        c && rank == 1 && t.getElementType().isInteger(64)) {
      IntConstant r;
      for (int64_t i = 0; i < size[0]; ++i)
        r.values.push_back(c->values[begin[0] + i * step[0]]);
      r.shape = {size[0]};
      setConstant(result0, r);
      return success();
    }
    Value source = in(0);
    lowered_[result0] = fromIndices(
        loc, size, t.getElementType(),
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          SmallVector<Value> at;
          for (int64_t d = 0; d < rank; ++d) {
            Value i = arith::MulIOp::create(
                b, l, idx[d], arith::ConstantIndexOp::create(b, l, step[d]));
            at.push_back(arith::AddIOp::create(
                b, l, i, arith::ConstantIndexOp::create(b, l, begin[d])));
          }
          return tensor::ExtractOp::create(b, l, source, at);
        });
    return success();
  }

  if (name == "Gather") {
    RankedTensorType data = inType(0), idxT = inType(1);
    int64_t rank = data.getRank();
    int64_t axis = intAttr(op, "axis", 0);
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis >= rank)
      return error(op) << "axis out of range";
    auto cdata = constantOf(op->getOperand(0));
    auto cidx = constantOf(op->getOperand(1));
    if (cdata && cidx && rank == 1 && data.getElementType().isInteger(64)) {
      IntConstant r;
      r.shape = cidx->shape;
      for (int64_t i : cidx->values) {
        if (i < 0)
          i += data.getDimSize(0);
        if (i < 0 || i >= data.getDimSize(0))
          return error(op) << "index " << i << " out of range";
        r.values.push_back(cdata->values[i]);
      }
      setConstant(result0, r);
      return success();
    }
    if (!idxT.getElementType().isInteger(64) &&
        !idxT.getElementType().isInteger(32))
      return error(op) << "indices must be int32 or int64";
    SmallVector<int64_t> shape(data.getShape().take_front(axis));
    llvm::append_range(shape, idxT.getShape());
    llvm::append_range(shape, data.getShape().drop_front(axis + 1));
    int64_t ir = idxT.getRank();
    Value source = in(0), indices = in(1);
    int64_t dimSize = data.getDimSize(axis);
    lowered_[result0] = fromIndices(
        loc, shape, data.getElementType(),
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          Value raw =
              tensor::ExtractOp::create(b, l, indices, idx.slice(axis, ir));
          Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
          // Negative indices count from the end.
          Value negative =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i,
                                    arith::ConstantIndexOp::create(b, l, 0));
          i = arith::SelectOp::create(
              b, l, negative,
              arith::AddIOp::create(
                  b, l, i, arith::ConstantIndexOp::create(b, l, dimSize)),
              i);
          SmallVector<Value> at(idx.take_front(axis));
          at.push_back(i);
          llvm::append_range(at, idx.drop_front(axis + ir));
          return tensor::ExtractOp::create(b, l, source, at);
        });
    return success();
  }

  if (name == "Trilu") {
    RankedTensorType t = inType(0);
    int64_t rank = t.getRank();
    if (rank < 2)
      return error(op) << "takes a tensor of rank 2 or more";
    int64_t k = 0;
    if (has(1)) {
      auto c = constantOf(op->getOperand(1));
      if (!c)
        return mustBeKnown(op, "k", {1});
      k = c->values[0];
    }
    bool upper = intAttr(op, "upper", 1) != 0;
    Value source = in(0);
    Type element = t.getElementType();
    lowered_[result0] = fromIndices(
        loc, t.getShape(), element,
        [&](OpBuilder &b, Location l, ValueRange idx) -> Value {
          Value v = tensor::ExtractOp::create(b, l, source, idx);
          // Keep j - i >= k (upper) or j - i <= k (lower).
          Value i =
              arith::IndexCastOp::create(b, l, b.getI64Type(), idx[rank - 2]);
          Value j =
              arith::IndexCastOp::create(b, l, b.getI64Type(), idx[rank - 1]);
          Value diff = arith::SubIOp::create(b, l, j, i);
          Value kv = arith::ConstantOp::create(b, l, b.getI64Type(),
                                               b.getI64IntegerAttr(k));
          Value keep = arith::CmpIOp::create(b, l,
                                             upper ? arith::CmpIPredicate::sge
                                                   : arith::CmpIPredicate::sle,
                                             diff, kv);
          return arith::SelectOp::create(
              b, l, keep, v,
              arith::ConstantOp::create(b, l, element, b.getZeroAttr(element)));
        });
    return success();
  }

  return error(op) << "is not supported by the generic lowering";
}

LogicalResult GraphLowering::run() {
  MLIRContext *context = graph_.getContext();
  Block &entry = graph_.getBody().front();
  auto ret = cast<func::ReturnOp>(entry.getTerminator());

  // The new function: inputs then outputs, as buffers.
  SmallVector<Type> argTypes;
  for (BlockArgument arg : entry.getArguments()) {
    auto t = dyn_cast<RankedTensorType>(arg.getType());
    if (!t || !t.hasStaticShape())
      return graph_.emitError("graph input ")
             << arg.getArgNumber()
             << " has no static shape: the generic lowering needs one "
                "(give its value with --input-value)";
    argTypes.push_back(
        MemRefType::get(t.getShape(), signless(t.getElementType())));
  }
  auto function =
      func::FuncOp::create(b_, graph_.getLoc(), "llamac_graph",
                           FunctionType::get(context, argTypes, {}));
  Block *body = function.addEntryBlock();
  b_.setInsertionPointToStart(body);
  for (BlockArgument arg : entry.getArguments()) {
    Value memref = body->getArgument(arg.getArgNumber());
    auto t = cast<RankedTensorType>(arg.getType());
    lowered_[arg] = bufferization::ToTensorOp::create(
        b_, arg.getLoc(), t.clone(signless(t.getElementType())), memref,
        /*restrict=*/true, /*writable=*/false);
    if (isUnsignedType(t.getElementType()))
      unsigned_.insert(lowered_[arg]);
  }

  for (Operation &op : entry.without_terminator()) {
    if (failed(lower(&op)))
      return failure();
    for (Value result : op.getResults())
      if (auto t = dyn_cast<TensorType>(result.getType()))
        if (Value value = lowered(result);
            value && isUnsignedType(t.getElementType()))
          unsigned_.insert(value);
  }

  // Results into the output buffers.
  SmallVector<Type> outputTypes;
  for (Value result : ret.getOperands()) {
    Value value = lowered(result);
    if (!value)
      return ret.emitError("a graph output was not computed");
    auto t = typeOf(value);
    outputTypes.push_back(MemRefType::get(t.getShape(), t.getElementType()));
  }
  for (auto [i, type] : llvm::enumerate(outputTypes)) {
    Value out = body->addArgument(type, ret.getLoc());
    auto materialize = bufferization::MaterializeInDestinationOp::create(
        b_, ret.getLoc(), TypeRange{}, lowered(ret.getOperand(i)), out);
    materialize.setWritable(true);
  }
  func::ReturnOp::create(b_, ret.getLoc());
  SmallVector<Type> allTypes(argTypes);
  llvm::append_range(allTypes, outputTypes);
  for (Type type : allTypes)
    if (llvm::is_contained(cast<MemRefType>(type).getShape(), 0))
      return graph_.emitError("graph inputs and outputs with a zero-size "
                              "dimension are not supported");
  function.setFunctionType(FunctionType::get(context, allTypes, {}));
  // Names of the inputs and outputs, for the interface.
  for (unsigned i = 0; i < entry.getNumArguments(); ++i) {
    if (Attribute nameAttr = graph_.getArgAttr(i, "onnx.name"))
      function.setArgAttr(i, "onnx.name", nameAttr);
    if (unsigned_.contains(lowered(entry.getArgument(i))))
      function.setArgAttr(i, "onnx.unsigned", b_.getUnitAttr());
  }
  for (unsigned i = 0; i < outputTypes.size(); ++i) {
    unsigned arg = entry.getNumArguments() + i;
    if (Attribute nameAttr = graph_.getResultAttr(i, "onnx.name"))
      function.setArgAttr(arg, "onnx.name", nameAttr);
    if (unsigned_.contains(lowered(ret.getOperand(i))))
      function.setArgAttr(arg, "onnx.unsigned", b_.getUnitAttr());
  }
  function->setAttr("onnx.outputs", b_.getI64IntegerAttr(outputTypes.size()));
  graph_.erase();
  return success();
}

struct ONNXLowerGraphPass
    : public llamac::impl::ONNXLowerGraphBase<ONNXLowerGraphPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto graph = module.lookupSymbol<func::FuncOp>("main_graph");
    if (!graph) {
      module.emitError("onnx-lower-graph: no func.func @main_graph");
      return signalPassFailure();
    }
    OpBuilder b(graph);
    GraphLowering lowering(graph);
    if (failed(lowering.run()))
      signalPassFailure();
  }
};

} // namespace
