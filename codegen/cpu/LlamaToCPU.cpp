//===- LlamaToCPU.cpp - Lower a llama forward pass to CPU kernels ---------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `convert-llama-to-cpu`. It turns the tensor-level
// `@forward` function into `@llamac_forward`, the buffer-level entry point
// the runtime calls (runtime/include/llamac/rt.h):
//
// 1. Buffers. Weights become views of the weights blob at the offsets that
//    `llama-layout-weights` assigned; caches and logits are the caller's
//    buffers, updated in place; every other activation gets a place in one
//    arena, planned statically (MemoryPlan) so that one plan serves any token
//    count.
// 2. Kernels. Each llama op becomes an `lrt.parallel_for` over a task
//    function specialised for its shapes (Kernels.h), shared by every op with
//    the same specialisation.
//
// The result holds no tensors: only memref, vector, scf, arith, math and lrt
// ops, which the upstream pipeline and convert-lrt-to-llvm lower to LLVM.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Kernels.h"
#include "codegen/cpu/MemoryPlan.h"
#include "codegen/cpu/Passes.h"
#include "dialects/Llama/LlamaOps.h"
#include "dialects/Runtime/RuntimeDialect.h"
#include "mlir/Dialect/AMX/AMXDialect.h"
#include "passes/WeightsLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <map>

namespace llamac::cpu {
#define GEN_PASS_DEF_CONVERTLLAMATOCPU
#include "codegen/cpu/Passes.h.inc"
} // namespace llamac::cpu

using namespace mlir;
using namespace llamac;
using namespace llamac::cpu;
using namespace llamac::llama;

namespace {

/// Where the buffer of a tensor value lives.
enum class Home {
  Tokens,  // the tokens argument
  KCache,  // the key cache argument
  VCache,  // the value cache argument
  Logits,  // the logits argument
  Weights, // a view of the weights blob
  Arena,   // a planned place in the arena
  Slice,   // rows of another value's buffer
};

struct Buffer {
  Home home = Home::Arena;
  int allocation = -1;      // Arena: the MemoryPlan id
  int64_t weightOffset = 0; // Weights: byte offset in the blob
  Value source = {};        // Slice: the sliced (original) value
};

/// Bytes of one row of a [rows, features] tensor of `type`.
int64_t rowBytes(RankedTensorType type) {
  return type.getDimSize(1) * type.getElementTypeBitWidth() / 8;
}

/// The memref type a tensor value is stored as.
MemRefType bufferType(Type type) {
  if (auto qtensor = dyn_cast<QTensorType>(type);
      qtensor && qtensor.getPacking() != WeightPacking::Rows) {
    // Packed layouts are addressed by byte.
    return MemRefType::get({qtensor.getStorageBytes()},
                           IntegerType::get(type.getContext(), 8));
  }
  if (auto qtensor = dyn_cast<QTensorType>(type)) {
    // Quantized weights are rows of their scheme's bytes.
    return MemRefType::get(
        {qtensor.getRows(), qtensor.getScheme().getRowBytes(qtensor.getCols())},
        IntegerType::get(type.getContext(), 8));
  }
  auto tensor = cast<RankedTensorType>(type);
  if (isa_and_nonnull<PackedAttr>(tensor.getEncoding()))
    return MemRefType::get(
        {PackedAttr::storedRows(tensor.getDimSize(0)) * tensor.getDimSize(1)},
        tensor.getElementType());
  return MemRefType::get(tensor.getShape(), tensor.getElementType());
}

/// How a weight value is laid out for the kernels.
WeightLayout layoutOf(Value weight) {
  WeightLayout layout;
  layout.memref = bufferType(weight.getType());
  if (auto qtensor = dyn_cast<QTensorType>(weight.getType())) {
    layout.rows = qtensor.getRows();
    layout.cols = qtensor.getCols();
    switch (qtensor.getScheme().getKind()) {
    case QuantKind::Q8_0:
      layout.format = WeightFormat::Q8_0;
      break;
    case QuantKind::Q4_0:
      layout.format = WeightFormat::Q4_0;
      break;
    case QuantKind::Q4_1:
      layout.format = WeightFormat::Q4_1;
      break;
    case QuantKind::Int4:
      llvm_unreachable("int4 weights are rejected before lowering");
    }
    return layout;
  }
  auto tensor = cast<RankedTensorType>(weight.getType());
  layout.rows = tensor.getDimSize(0);
  layout.cols = tensor.getDimSize(1);
  return layout;
}

/// A float weight stored r16 (#llama.packed).
bool isPackedDense(Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && isa_and_nonnull<PackedAttr>(tensor.getEncoding());
}

bool isPacked(Type type) {
  auto qtensor = dyn_cast<QTensorType>(type);
  return qtensor && qtensor.getPacking() == WeightPacking::R16;
}

class ForwardLowering {
public:
  ForwardLowering(ModuleOp module, func::FuncOp forward,
                  const KernelOptions &options)
      : module_(module), forward_(forward), kernels_(module, options),
        b_(forward.getLoc(), module.getContext()) {}

  LogicalResult run() {
    if (failed(checkSignature()) || failed(plan()))
      return failure();
    emit();
    forward_.erase();
    return success();
  }

private:
  LogicalResult checkSignature();
  LogicalResult plan();
  void emit();

  /// The cos/sin table `op` (a rope, or an attention with a fused key
  /// rope) reads, computed by the first of its users.
  Value ropeTable(Operation *op, const std::vector<double> &frequencies,
                  Value position);
  /// Records a use at `step` of `value`'s buffer (and of what it views).
  void use(Value value, int64_t step);
  /// The memref holding `value`, creating its view on first request.
  Value bufferOf(Value value);
  /// `value` as the memref type a kernel argument expects.
  Value castTo(Value memref, Type type);
  /// Emits lrt.parallel_for over `kernel` for `rows` tokens.
  void call(const Kernel &kernel, Value rows, ValueRange args);
  Value rowsOf(Value memref);
  void emitOp(Operation *op);

  ModuleOp module_;
  func::FuncOp forward_;
  KernelCache kernels_;
  ImplicitLocOpBuilder b_;
  MemoryPlan plan_;

  llvm::DenseMap<Value, Buffer> buffers_;
  llvm::DenseMap<Value, Value> views_; // original value -> memref
  IRMapping scalars_;                  // original scalar -> new scalar
  Value returnedLogits_;

  // Rotary tables: one per distinct frequency list, computed before its
  // first rope and kept until its last.
  std::map<std::vector<double>, int> ropeTables_;
  llvm::DenseMap<Operation *, int> ropeTableOf_;
  llvm::DenseMap<int, Value> ropeTableViews_;

  // The input of a product as its kernels read it. Keyed by the input and
  // the prologue's operand (norm weight or swiglu up; null without), so
  // products of the same input with the same prologue share one:
  // - activations quantized to int8 for the 8-bit dot-product kernels,
  //   computed (prologue included) before the first packed product and
  //   kept until the last;
  // - for float kernels, a prologue's result, materialized likewise.
  using InputKey = std::pair<Value, Value>;
  struct QuantizedInput {
    int values, scales, sums; // MemoryPlan ids
    Value valuesView, scalesView, sumsView;
  };
  llvm::DenseMap<InputKey, QuantizedInput> quantized_;
  struct MaterializedInput {
    int id; // MemoryPlan id
    Value view;
  };
  llvm::DenseMap<InputKey, MaterializedInput> materialized_;
  // - for the bf16 tiles of float products, the input rounded to bf16.
  llvm::DenseMap<InputKey, MaterializedInput> rounded_;

  /// Whether the product of float weight `weight` takes bf16 tiles (and so
  /// its input rounded to bf16).
  bool bf16Tiles(Value weight) {
    if (!isPackedDense(weight.getType()))
      return false;
    return kernels_.bf16Tiles(layoutOf(weight));
  }

  /// The products' ops: llama.linear and llama.multi_linear.
  struct Product {
    Value input, norm, up, bias, residual;
    std::optional<double> eps;
    SmallVector<Value> weights, results;
  };
  static std::optional<Product> productOf(Operation *op);
  LogicalResult planProduct(const Product &product, int64_t step);
  void emitProduct(const Product &product);
  /// The key cache argument seen as [layers, groups, slots / B, dim, B]:
  /// tiles of B consecutive keys stored dimension-major (B the widest
  /// vector, up to the target's, that divides the context).
  Value transposedKeyCache(Value cache) {
    if (Value view = transposedKeys_.lookup(cache))
      return view;
    auto type = cast<MemRefType>(cache.getType());
    ArrayRef<int64_t> s = type.getShape();
    int64_t block = 1;
    while (block * 2 <= kernels_.options().vectorWidth &&
           s[2] % (block * 2) == 0)
      block *= 2;
    Value flat = memref::CollapseShapeOp::create(
        b_, cache, SmallVector<ReassociationIndices>{{0, 1, 2, 3}});
    auto transposed = MemRefType::get({s[0], s[1], s[2] / block, s[3], block},
                                      type.getElementType());
    Value view = memref::ExpandShapeOp::create(
        b_, transposed, flat,
        SmallVector<ReassociationIndices>{{0, 1, 2, 3, 4}});
    transposedKeys_[cache] = view;
    return view;
  }
  llvm::DenseMap<Value, Value> transposedKeys_;

  /// A view of arena item `id` as rows of `perRow` elements.
  Value arenaView(int id, Value tokens, int64_t staticRows, int64_t perRow,
                  Type element);

  // Arguments of @llamac_forward.
  Value runtime_, tokens_, pos_, kCache_, vCache_, logits_, weights_, arena_;
  Value tokenCount_;
};

LogicalResult ForwardLowering::checkSignature() {
  FunctionType type = forward_.getFunctionType();
  auto fail = [&](const Twine &what) {
    return forward_.emitError()
           << "@forward must be (tokens: tensor<?xi32>, pos: index, "
              "k_cache, v_cache) -> (logits: tensor<1xVxf32>, k_cache, "
              "v_cache): "
           << what;
  };
  if (type.getNumInputs() != 4 || type.getNumResults() != 3)
    return fail("wrong number of arguments or results");
  auto tokens = dyn_cast<RankedTensorType>(type.getInput(0));
  if (!tokens || tokens.getRank() != 1 ||
      !tokens.getElementType().isInteger(32))
    return fail("tokens is not tensor<?xi32>");
  if (!type.getInput(1).isIndex())
    return fail("pos is not an index");
  for (int i = 2; i < 4; ++i) {
    auto cache = dyn_cast<RankedTensorType>(type.getInput(i));
    if (!cache || cache.getRank() != 4 || !cache.hasStaticShape() ||
        type.getResult(i - 1) != cache)
      return fail("caches must be static 4-D tensors returned as they came");
  }
  auto logits = dyn_cast<RankedTensorType>(type.getResult(0));
  if (!logits || logits.getRank() != 2 || logits.getDimSize(0) != 1 ||
      !logits.hasStaticShape() || !logits.getElementType().isF32())
    return fail("logits is not tensor<1xVxf32>");
  if (!forward_.getBody().hasOneBlock())
    return fail("the body must be a single block");
  return success();
}

void ForwardLowering::use(Value value, int64_t step) {
  auto it = buffers_.find(value);
  if (it == buffers_.end())
    return;
  if (it->second.home == Home::Arena)
    plan_.use(it->second.allocation, step);
  else if (it->second.home == Home::Slice)
    use(it->second.source, step);
}

LogicalResult ForwardLowering::plan() {
  Block &body = forward_.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  returnedLogits_ = returnOp.getOperand(0);

  buffers_[body.getArgument(0)] = {Home::Tokens};
  buffers_[body.getArgument(2)] = {Home::KCache};
  buffers_[body.getArgument(3)] = {Home::VCache};

  auto arenaValue = [&](Value value, int64_t step) {
    auto type = cast<RankedTensorType>(value.getType());
    bool perToken = type.isDynamicDim(0);
    int64_t bytes =
        perToken ? rowBytes(type) : type.getDimSize(0) * rowBytes(type);
    buffers_[value] = {Home::Arena, plan_.add(perToken, bytes, step)};
  };

  int64_t step = 0;
  for (Operation &op : body) {
    for (Value operand : op.getOperands())
      use(operand, step);

    if (auto param = dyn_cast<ParamOp>(op)) {
      if (auto qtensor = dyn_cast<QTensorType>(param.getType()))
        if (qtensor.getScheme().getKind() == QuantKind::Int4)
          return param.emitError("the CPU target does not support int4 "
                                 "(MatMulNBits) weights yet");
      auto offset = param->getAttrOfType<IntegerAttr>(kOffsetAttr);
      if (!offset)
        return param.emitError("parameter has no weights offset; run "
                               "llama-layout-weights first");
      buffers_[param.getResult()] = {Home::Weights, -1, offset.getInt()};
    } else if (auto attention = dyn_cast<AttentionOp>(op)) {
      for (auto [in, out] :
           {std::pair{attention.getKCache(), attention.getKCacheOut()},
            {attention.getVCache(), attention.getVCacheOut()}}) {
        // The cache is updated in place: nothing may read the old value.
        if (!in.hasOneUse())
          return attention.emitError(
              "a cache is used again after this attention updates it; "
              "caches are updated in place and must flow linearly");
        // Copy before inserting: operator[] may rehash the map.
        Buffer cache = buffers_.lookup(in);
        buffers_[out] = cache;
      }
      if (std::optional<ArrayRef<double>> rope = attention.getKeyRope()) {
        // A fused rope of the keys: they are rotated with this table as
        // they are written to the cache.
        std::vector<double> frequencies(rope->begin(), rope->end());
        auto [it, inserted] = ropeTables_.try_emplace(frequencies, -1);
        if (inserted)
          it->second =
              plan_.add(/*perToken=*/true,
                        static_cast<int64_t>(frequencies.size()) * 8, step);
        plan_.use(it->second, step);
        ropeTableOf_[attention] = it->second;
      }
      arenaValue(attention.getOutput(), step);
    } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      auto sourceType = dyn_cast<RankedTensorType>(slice.getSourceType());
      RankedTensorType resultType = slice.getResultType();
      if (!sourceType || sourceType.getRank() != 2 || !slice.hasUnitStride() ||
          !resultType.hasStaticShape() ||
          resultType.getDimSize(1) != sourceType.getDimSize(1) ||
          !isConstantIntValue(slice.getMixedOffsets()[1], 0))
        return slice.emitError("the CPU target only supports slices of whole "
                               "rows of a 2-D activation");
      auto source = buffers_.find(slice.getSource());
      if (source == buffers_.end() || source->second.home != Home::Arena)
        return slice.emitError("the CPU target only slices activations "
                               "computed in @forward");
      buffers_[slice.getResult()] = {Home::Slice, -1, 0, slice.getSource()};
    } else if (auto rope = dyn_cast<RopeOp>(op)) {
      auto [it, inserted] =
          ropeTables_.try_emplace(rope.getAllFrequencies(), -1);
      if (inserted)
        it->second = plan_.add(/*perToken=*/true,
                               rope.getRotaryDimOrHeadDim() * 4, step);
      plan_.use(it->second, step);
      ropeTableOf_[rope] = it->second;
      arenaValue(rope.getResult(), step);
    } else if (std::optional<Product> product = productOf(&op)) {
      if (failed(planProduct(*product, step)))
        return failure();
      for (Value result : product->results) {
        if (result == returnedLogits_)
          buffers_[result] = {Home::Logits};
        else
          arenaValue(result, step);
      }
    } else if (isa<EmbeddingOp, RMSNormOp, SwiGLUOp, AddOp, ArgmaxOp>(op)) {
      Value result = op.getResult(0);
      if (result == returnedLogits_)
        buffers_[result] = {Home::Logits};
      else
        arenaValue(result, step);
    } else if (isa<func::ReturnOp>(op)) {
      if (buffers_.lookup(returnOp.getOperand(1)).home != Home::KCache ||
          buffers_.lookup(returnOp.getOperand(2)).home != Home::VCache)
        return returnOp.emitError("@forward must return the updated caches");
    } else if (llvm::any_of(op.getResultTypes(), llvm::IsaPred<TensorType>) ||
               op.getNumRegions() != 0) {
      return op.emitError("the CPU target cannot lower '")
             << op.getName() << "' in @forward";
    }
    ++step;
  }
  plan_.solve();
  return success();
}

Value ForwardLowering::rowsOf(Value memref) {
  return memref::DimOp::create(b_, memref, 0);
}

Value ForwardLowering::castTo(Value memref, Type type) {
  if (memref.getType() == type)
    return memref;
  return memref::CastOp::create(b_, type, memref);
}

Value ForwardLowering::bufferOf(Value value) {
  if (Value view = views_.lookup(value))
    return view;
  const Buffer &buffer = buffers_.at(value);
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b_, v);
  };
  Value view;
  switch (buffer.home) {
  case Home::Tokens:
    view = tokens_;
    break;
  case Home::KCache:
    view = kCache_;
    break;
  case Home::VCache:
    view = vCache_;
    break;
  case Home::Logits:
    view = logits_;
    break;
  case Home::Weights:
    view = memref::ViewOp::create(b_, bufferType(value.getType()), weights_,
                                  index(buffer.weightOffset), ValueRange{});
    break;
  case Home::Arena: {
    auto type = cast<RankedTensorType>(value.getType());
    int id = buffer.allocation;
    Value offset;
    SmallVector<Value> sizes;
    if (plan_.isPerToken(id)) {
      offset = arith::AddIOp::create(
          b_, index(plan_.fixedBytes()),
          arith::MulIOp::create(b_, tokenCount_, index(plan_.offset(id))));
      sizes.push_back(tokenCount_);
    } else {
      offset = index(plan_.offset(id));
    }
    view = memref::ViewOp::create(b_, bufferType(type), arena_, offset, sizes);
    break;
  }
  case Home::Slice: {
    // Rows [first, first + n) of the source: a view at the source's offset
    // plus first * row bytes, reached through the source's own view.
    auto slice = value.getDefiningOp<tensor::ExtractSliceOp>();
    Value source = bufferOf(buffer.source);
    auto sourceView = source.getDefiningOp<memref::ViewOp>();
    Value first = getValueOrCreateConstantIndexOp(b_, b_.getLoc(),
                                                  slice.getMixedOffsets()[0]);
    if (auto mapped = scalars_.lookupOrNull(first))
      first = mapped;
    auto type = cast<RankedTensorType>(value.getType());
    Value offset = arith::AddIOp::create(
        b_, sourceView.getByteShift(),
        arith::MulIOp::create(b_, first, index(rowBytes(type))));
    view = memref::ViewOp::create(b_, bufferType(type), sourceView.getSource(),
                                  offset, ValueRange{});
    break;
  }
  }
  views_[value] = view;
  return view;
}

void ForwardLowering::call(const Kernel &kernel, Value rows, ValueRange args) {
  func::FuncOp task = kernel.task;
  ArrayRef<Type> expected = task.getFunctionType().getInputs().drop_front(2);
  SmallVector<Value> operands;
  for (auto [arg, type] : llvm::zip_equal(args, expected))
    operands.push_back(castTo(arg, type));
  Value tasks = arith::ConstantIndexOp::create(b_, kernel.fixed);
  if (kernel.perRow)
    tasks = arith::AddIOp::create(
        b_, tasks,
        arith::MulIOp::create(
            b_, rows, arith::ConstantIndexOp::create(b_, kernel.perRow)));
  lrt::ParallelForOp::create(b_, runtime_, tasks,
                             SymbolRefAttr::get(kernel.task), operands);
}

std::optional<ForwardLowering::Product>
ForwardLowering::productOf(Operation *op) {
  Product product;
  std::optional<APFloat> eps;
  if (auto linear = dyn_cast<LinearOp>(op)) {
    product.input = linear.getInput();
    product.norm = linear.getNorm();
    eps = linear.getNormEps();
    product.up = linear.getUp();
    product.bias = linear.getBias();
    product.residual = linear.getResidual();
    product.weights.push_back(linear.getWeight());
    product.results.push_back(linear.getResult());
  } else if (auto multi = dyn_cast<MultiLinearOp>(op)) {
    product.input = multi.getInput();
    product.norm = multi.getNorm();
    eps = multi.getNormEps();
    llvm::append_range(product.weights, multi.getWeights());
    llvm::append_range(product.results, multi.getResults());
  } else {
    return std::nullopt;
  }
  if (eps)
    product.eps = eps->convertToDouble();
  return product;
}

LogicalResult ForwardLowering::planProduct(const Product &product,
                                           int64_t step) {
  auto inputType = cast<RankedTensorType>(product.input.getType());
  int64_t features = inputType.getDimSize(1);
  bool perToken = inputType.isDynamicDim(0);
  int64_t rows = perToken ? 1 : inputType.getDimSize(0);
  InputKey key{product.input, product.norm ? product.norm : product.up};
  bool anyPacked = false, anyFloat = false;
  for (Value weight : product.weights)
    (isPacked(weight.getType()) ? anyPacked : anyFloat) = true;
  if (anyPacked) {
    auto [it, inserted] = quantized_.try_emplace(key, QuantizedInput{});
    if (inserted) {
      it->second.values = plan_.add(perToken, rows * features, step);
      it->second.scales = plan_.add(perToken, rows * features / 32 * 4, step);
      it->second.sums = plan_.add(perToken, rows * features / 32 * 4, step);
    }
    for (int id : {it->second.values, it->second.scales, it->second.sums})
      plan_.use(id, step);
  }
  if (anyFloat && key.second) {
    auto [it, inserted] = materialized_.try_emplace(key, MaterializedInput{});
    if (inserted)
      it->second.id = plan_.add(perToken, rows * features * 4, step);
    plan_.use(it->second.id, step);
  }
  if (llvm::any_of(product.weights,
                   [&](Value weight) { return bf16Tiles(weight); })) {
    auto [it, inserted] = rounded_.try_emplace(key, MaterializedInput{});
    if (inserted)
      it->second.id = plan_.add(
          perToken, rows * (features + KernelCache::kRoundedRowPad) * 2, step);
    plan_.use(it->second.id, step);
  }
  return success();
}

Value ForwardLowering::arenaView(int id, Value tokens, int64_t staticRows,
                                 int64_t perRow, Type element) {
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b_, v);
  };
  if (plan_.isPerToken(id)) {
    Value offset = arith::AddIOp::create(
        b_, index(plan_.fixedBytes()),
        arith::MulIOp::create(b_, tokens, index(plan_.offset(id))));
    return memref::ViewOp::create(
        b_, MemRefType::get({ShapedType::kDynamic, perRow}, element), arena_,
        offset, ValueRange{tokens});
  }
  return memref::ViewOp::create(b_,
                                MemRefType::get({staticRows, perRow}, element),
                                arena_, index(plan_.offset(id)), ValueRange{});
}

void ForwardLowering::emitProduct(const Product &product) {
  auto inputType = cast<RankedTensorType>(product.input.getType());
  int64_t features = inputType.getDimSize(1);
  int64_t staticRows = inputType.isDynamicDim(0) ? 0 : inputType.getDimSize(0);
  Value x = bufferOf(product.input);
  Value rows = rowsOf(x);
  InputKey key{product.input, product.norm ? product.norm : product.up};

  Prologue prologue;
  SmallVector<Value> prologueArgs; // after x: the norm weight or up
  if (product.norm) {
    prologue.kind = Prologue::RMSNorm;
    prologue.normElement =
        cast<RankedTensorType>(product.norm.getType()).getElementType();
    prologue.epsilon = *product.eps;
    prologueArgs.push_back(bufferOf(product.norm));
  } else if (product.up) {
    prologue.kind = Prologue::SwiGLU;
    prologueArgs.push_back(bufferOf(product.up));
  }

  // The inputs the kernels read, each computed on first request.
  auto quantized = [&]() -> QuantizedInput & {
    QuantizedInput &q = quantized_[key];
    if (!q.valuesView) {
      q.valuesView = arenaView(q.values, tokenCount_, staticRows, features,
                               b_.getI8Type());
      q.scalesView = arenaView(q.scales, tokenCount_, staticRows, features / 32,
                               b_.getF32Type());
      q.sumsView = arenaView(q.sums, tokenCount_, staticRows, features / 32,
                             b_.getI32Type());
      SmallVector<Value> args = {rows, x};
      llvm::append_range(args, prologueArgs);
      llvm::append_range(args,
                         ValueRange{q.valuesView, q.scalesView, q.sumsView});
      call(kernels_.quantizeActivations(features, prologue), rows, args);
    }
    return q;
  };
  auto floatInput = [&]() -> Value {
    if (prologue.kind == Prologue::None)
      return x;
    MaterializedInput &m = materialized_[key];
    if (!m.view) {
      m.view =
          arenaView(m.id, tokenCount_, staticRows, features, b_.getF32Type());
      if (prologue.kind == Prologue::RMSNorm)
        call(kernels_.rmsNorm(features, prologue.normElement, prologue.epsilon),
             rows, {rows, x, prologueArgs[0], m.view});
      else
        call(kernels_.swiglu(features), rows,
             {rows, x, prologueArgs[0], m.view});
    }
    return m.view;
  };
  auto roundedInput = [&]() -> Value {
    MaterializedInput &r = rounded_[key];
    if (!r.view) {
      Value source = floatInput();
      r.view =
          arenaView(r.id, tokenCount_, staticRows,
                    features + KernelCache::kRoundedRowPad, b_.getBF16Type());
      // Only the tiles of 16 tokens read it.
      auto prompt = scf::IfOp::create(
          b_,
          arith::CmpIOp::create(b_, arith::CmpIPredicate::uge, rows,
                                arith::ConstantIndexOp::create(b_, 16)),
          /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPoint(prompt.thenBlock()->getTerminator());
      // Written as i16 bits (see roundRowsToBF16), read as bf16.
      Value bits =
          arenaView(r.id, tokenCount_, staticRows,
                    features + KernelCache::kRoundedRowPad, b_.getI16Type());
      call(kernels_.roundRowsToBF16(features), rows, {rows, source, bits});
    }
    return r.view;
  };

  SmallVector<Kernel> kernels;
  SmallVector<Value> args;
  Type biasElement;
  if (product.bias)
    biasElement =
        cast<RankedTensorType>(product.bias.getType()).getElementType();
  for (auto [weight, result] : llvm::zip(product.weights, product.results)) {
    Value w = bufferOf(weight), out = bufferOf(result);
    bool residual = static_cast<bool>(product.residual);
    if (isPacked(weight.getType())) {
      QuantizedInput &q = quantized();
      kernels.push_back(
          kernels_.linearInt8(layoutOf(weight), biasElement, residual));
      llvm::append_range(args, ValueRange{rows, q.valuesView, q.scalesView,
                                          q.sumsView, w, out});
    } else if (isPackedDense(weight.getType())) {
      kernels.push_back(
          kernels_.linearPacked(layoutOf(weight), biasElement, residual));
      llvm::append_range(args, ValueRange{rows, floatInput()});
      if (bf16Tiles(weight))
        args.push_back(roundedInput());
      llvm::append_range(args, ValueRange{w, out});
    } else {
      kernels.push_back(
          kernels_.linear(layoutOf(weight), biasElement, residual));
      llvm::append_range(args, ValueRange{rows, floatInput(), w, out});
    }
    if (product.bias)
      args.push_back(bufferOf(product.bias));
    if (product.residual)
      args.push_back(bufferOf(product.residual));
  }
  if (kernels.size() == 1)
    return call(kernels.front(), rows, args);
  // Casts to the parts' argument types happen in `call`.
  call(kernels_.composite(kernels), rows, args);
}

void ForwardLowering::emitOp(Operation *op) {
  b_.setLoc(op->getLoc());
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b_, v);
  };

  if (auto embedding = dyn_cast<EmbeddingOp>(op)) {
    Value out = bufferOf(embedding.getResult());
    Value table = bufferOf(embedding.getTable());
    call(kernels_.embedding(layoutOf(embedding.getTable())), rowsOf(out),
         {rowsOf(out), bufferOf(embedding.getTokens()), table, out});
  } else if (auto norm = dyn_cast<RMSNormOp>(op)) {
    Value x = bufferOf(norm.getInput()), w = bufferOf(norm.getWeight());
    Value out = bufferOf(norm.getResult());
    call(kernels_.rmsNorm(norm.getInput().getType().getDimSize(1),
                          norm.getWeight().getType().getElementType(),
                          norm.getEpsilon().convertToDouble()),
         rowsOf(x), {rowsOf(x), x, w, out});
  } else if (std::optional<Product> product = productOf(op)) {
    emitProduct(*product);
  } else if (auto rope = dyn_cast<RopeOp>(op)) {
    Value x = bufferOf(rope.getInput());
    Value out = bufferOf(rope.getResult());
    int64_t rotaryDim = rope.getRotaryDimOrHeadDim();
    Value tableView =
        ropeTable(rope, rope.getAllFrequencies(), rope.getPosition());
    call(kernels_.rope(rope.getInput().getType().getDimSize(1),
                       rope.getHeadDim(), rotaryDim, rope.getInterleaved()),
         rowsOf(x), {rowsOf(x), x, tableView, out});
  } else if (auto attention = dyn_cast<AttentionOp>(op)) {
    Value q = bufferOf(attention.getQuery()), k = bufferOf(attention.getKey()),
          v = bufferOf(attention.getValue());
    Value kc = bufferOf(attention.getKCache()),
          vc = bufferOf(attention.getVCache());
    Value out = bufferOf(attention.getOutput());
    Value pos = scalars_.lookup(attention.getPosition());
    Value layer = index(attention.getLayer());
    Value rows = rowsOf(q);
    // The key cache's bytes hold [layers, groups, dim, slots]: the same
    // buffer (the runtime only sizes it), reshaped through one dimension.
    Value keys = transposedKeyCache(kc);
    if (std::optional<ArrayRef<double>> rope = attention.getKeyRope()) {
      std::vector<double> frequencies(rope->begin(), rope->end());
      Value table = ropeTable(attention, frequencies, attention.getPosition());
      call(kernels_.keyCacheWrite(cast<MemRefType>(keys.getType()),
                                  2 * static_cast<int64_t>(frequencies.size()),
                                  attention.getKeyRopeInterleaved()),
           rows, {rows, pos, layer, k, keys, table});
    } else {
      call(kernels_.keyCacheWrite(cast<MemRefType>(keys.getType())), rows,
           {rows, pos, layer, k, keys});
    }
    call(kernels_.cacheWrite(cast<MemRefType>(vc.getType())), rows,
         {rows, pos, layer, v, vc});
    call(kernels_.attention(
             attention.getNumHeads(), cast<MemRefType>(keys.getType()),
             cast<MemRefType>(vc.getType()), attention.getScaleOrDefault()),
         rows, {rows, pos, layer, q, keys, vc, out});
    views_[attention.getKCacheOut()] = kc;
    views_[attention.getVCacheOut()] = vc;
  } else if (auto swiglu = dyn_cast<SwiGLUOp>(op)) {
    Value g = bufferOf(swiglu.getGate()), u = bufferOf(swiglu.getUp());
    call(kernels_.swiglu(swiglu.getType().getDimSize(1)), rowsOf(g),
         {rowsOf(g), g, u, bufferOf(swiglu.getResult())});
  } else if (auto add = dyn_cast<AddOp>(op)) {
    Value l = bufferOf(add.getLhs()), r = bufferOf(add.getRhs());
    call(kernels_.add(add.getType().getDimSize(1)), rowsOf(l),
         {rowsOf(l), l, r, bufferOf(add.getResult())});
  } else if (auto argmax = dyn_cast<ArgmaxOp>(op)) {
    Value x = bufferOf(argmax.getInput());
    call(kernels_.argmax(argmax.getInput().getType().getDimSize(1)), rowsOf(x),
         {rowsOf(x), x, bufferOf(argmax.getResult())});
  } else if (auto dim = dyn_cast<tensor::DimOp>(op)) {
    scalars_.map(dim.getResult(),
                 memref::DimOp::create(b_, bufferOf(dim.getSource()),
                                       scalars_.lookup(dim.getIndex())));
  } else if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    Value logits = bufferOf(ret.getOperand(0));
    if (logits != logits_)
      memref::CopyOp::create(b_, logits, logits_);
    func::ReturnOp::create(b_);
  } else if (isa<ParamOp, tensor::ExtractSliceOp>(op)) {
    // Views, materialised where they are first used.
  } else {
    // Scalar arithmetic (indices, constants): cloned as is.
    b_.clone(*op, scalars_);
  }
}

Value ForwardLowering::ropeTable(Operation *op,
                                 const std::vector<double> &frequencies,
                                 Value position) {
  int table = ropeTableOf_.at(op);
  if (Value view = ropeTableViews_.lookup(table))
    return view;
  auto index = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b_, v);
  };
  int64_t rotaryDim = 2 * static_cast<int64_t>(frequencies.size());
  Value view = memref::ViewOp::create(
      b_, MemRefType::get({ShapedType::kDynamic, rotaryDim}, b_.getF32Type()),
      arena_,
      arith::AddIOp::create(
          b_, index(plan_.fixedBytes()),
          arith::MulIOp::create(b_, tokenCount_, index(plan_.offset(table)))),
      ValueRange{tokenCount_});
  ropeTableViews_[table] = view;
  call(kernels_.ropeTable(frequencies), tokenCount_,
       {tokenCount_, scalars_.lookup(position), view});
  return view;
}

void ForwardLowering::emit() {
  MLIRContext *context = module_.getContext();
  Block &body = forward_.getBody().front();
  auto memrefOf = [](Type type) {
    auto tensor = cast<RankedTensorType>(type);
    return MemRefType::get(tensor.getShape(), tensor.getElementType());
  };
  FunctionType oldType = forward_.getFunctionType();
  auto bytes =
      MemRefType::get({ShapedType::kDynamic}, IntegerType::get(context, 8));
  SmallVector<Type> inputs = {LLVM::LLVMPointerType::get(context),
                              memrefOf(oldType.getInput(0)),
                              b_.getIndexType(),
                              memrefOf(oldType.getInput(2)),
                              memrefOf(oldType.getInput(3)),
                              memrefOf(oldType.getResult(0)),
                              bytes,
                              bytes};

  b_.setInsertionPoint(forward_);
  auto entry = func::FuncOp::create(b_, "llamac_forward",
                                    b_.getFunctionType(inputs, {}));
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(context));
  SmallVector<StringRef> names = {"runtime", "tokens", "pos",     "k_cache",
                                  "v_cache", "logits", "weights", "arena"};
  Block *block = entry.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(names))
    entry.setArgAttr(i, "llamac.name", b_.getStringAttr(name));
  runtime_ = block->getArgument(0);
  tokens_ = block->getArgument(1);
  pos_ = block->getArgument(2);
  kCache_ = block->getArgument(3);
  vCache_ = block->getArgument(4);
  logits_ = block->getArgument(5);
  weights_ = block->getArgument(6);
  arena_ = block->getArgument(7);
  scalars_.map(body.getArgument(1), pos_);

  b_.setInsertionPointToStart(block);
  tokenCount_ = memref::DimOp::create(b_, tokens_, 0);
  for (Operation &op : body)
    emitOp(&op);

  module_->setAttr("llamac.arena_fixed_bytes",
                   b_.getI64IntegerAttr(plan_.fixedBytes()));
  module_->setAttr("llamac.arena_per_token_bytes",
                   b_.getI64IntegerAttr(plan_.perTokenBytes()));
}

struct ConvertLlamaToCPUPass
    : public llamac::cpu::impl::ConvertLlamaToCPUBase<ConvertLlamaToCPUPass> {
  using ConvertLlamaToCPUBase::ConvertLlamaToCPUBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError("convert-llama-to-cpu: no func.func @forward");
      return signalPassFailure();
    }
    KernelOptions options;
    options.vectorWidth = vectorWidth;
    options.tokenTile = tokenTile;
    options.rowTile = rowTile;
    options.scalable = scalable;
    options.scalableHalf = scalableHalf;
    options.amx = amx;
    options.amxBF16 = amxBF16;
    options.bf16Dot = bf16Dot;
    if (options.vectorWidth < 1 || options.tokenTile < 1 ||
        options.rowTile < 1) {
      module.emitError("convert-llama-to-cpu: tile sizes must be positive");
      return signalPassFailure();
    }
    ForwardLowering lowering(module, forward, options);
    if (failed(lowering.run()))
      signalPassFailure();
  }
};

} // namespace
