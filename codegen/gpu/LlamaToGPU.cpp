//===- LlamaToGPU.cpp - Lower a llama forward pass to GPU kernels ---------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `convert-llama-to-gpu`. It turns the tensor-level
// `@forward` function into
//
// 1. `gpu.module @llamac_kernels`: one `gpu.func` kernel per distinct
//    (op, shapes) of the forward pass, written with the gpu dialect's thread
//    and block ids, workgroup memory and barriers over scf/arith/math/memref,
//    so that one body serves every GPU target (NVVM for CUDA, SPIR-V for
//    OpenCL); and
// 2. the launch program, `llamac.gpu_program` on the module: the kernels to
//    launch in order, with their grid sizes and arguments written as affine
//    functions of the call's token count T and position. The runtime replays
//    it for every call (a fixed launch sequence: nothing on the host but
//    argument arithmetic).
//
// Buffers are the runtime's: the tokens, the caches, the logits, the weights
// and one arena planned statically as on the CPU (MemoryPlan). Every kernel
// takes whole buffers as `memref<?xE>` and explicit element offsets, so no
// target needs sub-buffers. Rotary cos/sin tables are computed by the host
// in f64 (`llamac.gpu_rope_tables`), as the CPU kernels compute them.
//
// Activations are f32 and caches f32; weights are f32, f16, bf16 or GGML
// q8_0/q4_0/q4_1 in their canonical row layout, decoded in registers.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/MemoryPlan.h"
#include "codegen/gpu/Passes.h"
#include "dialects/Llama/LlamaOps.h"
#include "passes/WeightsLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"

#include <map>

namespace llamac::gpu {
#define GEN_PASS_DEF_CONVERTLLAMATOGPU
#include "codegen/gpu/Passes.h.inc"
} // namespace llamac::gpu

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

namespace {

/// The runtime's buffers, in the program's numbering (rt.h, LLAMAC_GPU_BUF_*).
enum class Buf { Tokens = 0, KCache, VCache, Logits, Weights, Arena, Sampled };
const char *bufferName(Buf buffer) {
  static const char *names[] = {"tokens",  "k_cache", "v_cache", "logits",
                                "weights", "arena",   "sampled"};
  return names[static_cast<int>(buffer)];
}

/// c0 + cT * T + cP * pos: a size or offset of a call with T tokens at
/// position pos.
struct Affine {
  int64_t c0 = 0, cT = 0, cP = 0;
  Affine operator+(const Affine &o) const {
    return {c0 + o.c0, cT + o.cT, cP + o.cP};
  }
  Affine scaled(int64_t s) const { return {c0 * s, cT * s, cP * s}; }
};
const Affine kT = {0, 1, 0};

/// Where a tensor value lives: a buffer and a byte offset in it.
struct Place {
  Buf buffer = Buf::Arena;
  Affine bytes;
};

/// One kernel argument of a launch.
struct LaunchArg {
  bool isBuffer = false;
  Buf buffer = Buf::Arena;
  Affine value;
};

/// ceil((c0 + cT * T) / div) workgroups along one grid dimension.
struct GridDim {
  int64_t c0 = 1, cT = 0, div = 1;
};

struct Launch {
  std::string kernel;
  GridDim x, y;
  int64_t block = 1;
  SmallVector<LaunchArg> args;
};

/// How a weight's elements are stored.
enum class WeightKind { F32, F16, BF16, Q8_0, Q4_0, Q4_1 };

const char *kindName(WeightKind kind) {
  static const char *names[] = {"f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"};
  return names[static_cast<int>(kind)];
}
bool isQuantized(WeightKind kind) { return kind >= WeightKind::Q8_0; }
int64_t blockBytes(WeightKind kind) {
  return kind == WeightKind::Q8_0 ? 34 : kind == WeightKind::Q4_0 ? 18 : 20;
}
/// Bytes of one element of the buffer view a kernel reads the weight through.
int64_t viewBytes(WeightKind kind) {
  switch (kind) {
  case WeightKind::F32:
    return 4;
  case WeightKind::F16:
  case WeightKind::BF16:
    return 2;
  default:
    return 1;
  }
}

FailureOr<WeightKind> weightKind(Operation *op, Type type) {
  if (auto qtensor = dyn_cast<QTensorType>(type)) {
    if (qtensor.getPacking() != WeightPacking::Rows)
      return op->emitError("GPU targets read quantized weights in rows; this "
                           "one is packed for the CPU");
    switch (qtensor.getScheme().getKind()) {
    case QuantKind::Q8_0:
      return WeightKind::Q8_0;
    case QuantKind::Q4_0:
      return WeightKind::Q4_0;
    case QuantKind::Q4_1:
      return WeightKind::Q4_1;
    case QuantKind::Int4:
      return op->emitError("GPU targets do not support int4 (MatMulNBits) "
                           "weights in this form");
    }
  }
  auto tensor = cast<ShapedType>(type);
  if (auto ranked = dyn_cast<RankedTensorType>(type);
      ranked && ranked.getEncoding())
    return op->emitError("GPU targets read float weights row-major; this one "
                         "is packed for the CPU");
  Type element = tensor.getElementType();
  if (element.isF32())
    return WeightKind::F32;
  if (element.isF16())
    return WeightKind::F16;
  if (element.isBF16())
    return WeightKind::BF16;
  return op->emitError("unsupported weight element type ") << element;
}

//===----------------------------------------------------------------------===//
// Kernel bodies
//===----------------------------------------------------------------------===//

/// Builds one gpu.func kernel. Parameters are `memref<?xE>` buffers and
/// `index` integers; the helpers below write the loops and reductions the
/// kernels share.
class KernelBuilder {
public:
  KernelBuilder(OpBuilder &moduleBuilder, Location loc, StringRef name,
                ArrayRef<Type> params, int64_t block)
      : b(loc, moduleBuilder), block(block) {
    func = mlir::gpu::GPUFuncOp::create(b, name, b.getFunctionType(params, {}));
    func->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                  b.getUnitAttr());
    func.setKnownBlockSizeAttr(
        b.getDenseI32ArrayAttr({static_cast<int32_t>(block), 1, 1}));
    b.setInsertionPointToStart(&func.getBody().front());
    tid = mlir::gpu::ThreadIdOp::create(b, mlir::gpu::Dimension::x);
    bidX = mlir::gpu::BlockIdOp::create(b, mlir::gpu::Dimension::x);
    bidY = mlir::gpu::BlockIdOp::create(b, mlir::gpu::Dimension::y);
  }
  void finish() { mlir::gpu::ReturnOp::create(b); }

  Value arg(unsigned i) { return func.getArgument(i); }
  Value idx(int64_t v) { return arith::ConstantIndexOp::create(b, v); }
  Value f32(double v) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(v));
  }
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, b.getI32IntegerAttr(v));
  }
  Value add(Value x, Value y) {
    return isa<FloatType>(x.getType()) ? Value(arith::AddFOp::create(b, x, y))
                                       : arith::AddIOp::create(b, x, y);
  }
  Value sub(Value x, Value y) {
    return isa<FloatType>(x.getType()) ? Value(arith::SubFOp::create(b, x, y))
                                       : arith::SubIOp::create(b, x, y);
  }
  Value mul(Value x, Value y) {
    return isa<FloatType>(x.getType()) ? Value(arith::MulFOp::create(b, x, y))
                                       : arith::MulIOp::create(b, x, y);
  }
  Value div(Value x, Value y) {
    return isa<FloatType>(x.getType()) ? Value(arith::DivFOp::create(b, x, y))
                                       : arith::DivUIOp::create(b, x, y);
  }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, x, y); }
  Value lt(Value x, Value y) {
    return arith::CmpIOp::create(b, arith::CmpIPredicate::ult, x, y);
  }
  Value minIdx(Value x, Value y) { return arith::MinUIOp::create(b, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value load(Value memref, Value index) {
    return memref::LoadOp::create(b, memref, ValueRange{index});
  }
  void store(Value value, Value memref, Value index) {
    memref::StoreOp::create(b, value, memref, ValueRange{index});
  }
  void barrier() { mlir::gpu::BarrierOp::create(b); }

  /// Workgroup memory of `n` f32 (a workgroup attribution; the SPIR-V
  /// serializer turns it into the form SPIR-V wants).
  Value shared(int64_t n, Type element = {}) {
    auto space = mlir::gpu::AddressSpaceAttr::get(
        b.getContext(), mlir::gpu::AddressSpace::Workgroup);
    return func.addWorkgroupAttribution(
        MemRefType::get({n}, element ? element : b.getF32Type(),
                        MemRefLayoutAttrInterface{}, space),
        b.getLoc());
  }

  /// for (i = lb; i < ub; i += step) with loop-carried values; `body`
  /// returns the next values.
  SmallVector<Value>
  loop(Value lb, Value ub, Value step, ValueRange init,
       llvm::function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    auto forOp = scf::ForOp::create(b, lb, ub, step, init);
    OpBuilder::InsertionGuard guard(b);
    Block *bodyBlock = forOp.getBody();
    if (init.empty())
      b.setInsertionPoint(bodyBlock->getTerminator());
    else
      b.setInsertionPointToStart(bodyBlock);
    SmallVector<Value> next =
        body(forOp.getInductionVar(), forOp.getRegionIterArgs());
    if (!init.empty())
      scf::YieldOp::create(b, next);
    return SmallVector<Value>(forOp.getResults());
  }
  /// Thread i folds `body` over indices i, i + block, ... below the
  /// constant `n`, from `init`. Every thread runs the same ceil(n / block)
  /// iterations (past n, the body runs on index n - 1 and its values are
  /// dropped): a loop with loop-carried values that runs zero times reads
  /// uninitialized memory once MLIR's SCF-to-SPIR-V conversion has turned
  /// its values into variables.
  SmallVector<Value>
  stridedFold(int64_t n, ValueRange init,
              llvm::function_ref<SmallVector<Value>(Value, ValueRange)> body) {
    int64_t trips = (n + block - 1) / block;
    return loop(idx(0), idx(trips), idx(1), init,
                [&](Value trip, ValueRange acc) -> SmallVector<Value> {
                  Value i = add(tid, mul(trip, idx(block)));
                  if (n % block == 0)
                    return body(i, acc);
                  Value valid = lt(i, idx(n));
                  SmallVector<Value> next = body(minIdx(i, idx(n - 1)), acc);
                  for (auto [value, old] : llvm::zip_equal(next, acc))
                    value = select(valid, value, old);
                  return next;
                });
  }

  /// A loop of the workgroup's threads over [0, n): thread i takes
  /// i, i + block, ...
  void strided(Value n, llvm::function_ref<void(Value)> body) {
    loop(tid, n, idx(block), {}, [&](Value i, ValueRange) {
      body(i);
      return SmallVector<Value>{};
    });
  }
  void ifThen(Value condition, llvm::function_ref<void()> then) {
    auto ifOp = scf::IfOp::create(b, condition, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPoint(ifOp.thenBlock()->getTerminator());
    then();
  }

  /// Combines `parts.size()` values across the workgroup through `scratch`
  /// (parts.size() * block floats) with `combine` (a tree of log2(block)
  /// steps); every thread gets the results. Ends with a barrier, so
  /// `scratch` may be reused at once.
  SmallVector<Value>
  blockReduce(ValueRange parts, Value scratch,
              llvm::function_ref<Value(Value, Value)> combine) {
    int64_t n = static_cast<int64_t>(parts.size());
    for (int64_t i = 0; i < n; ++i)
      store(parts[i], scratch, add(tid, idx(i * block)));
    barrier();
    for (int64_t stride = block / 2; stride >= 1; stride /= 2) {
      ifThen(lt(tid, idx(stride)), [&] {
        for (int64_t i = 0; i < n; ++i) {
          Value at = add(tid, idx(i * block));
          store(combine(load(scratch, at), load(scratch, add(at, idx(stride)))),
                scratch, at);
        }
      });
      barrier();
    }
    SmallVector<Value> results;
    for (int64_t i = 0; i < n; ++i)
      results.push_back(load(scratch, idx(i * block)));
    barrier();
    return results;
  }
  SmallVector<Value> blockSum(ValueRange parts, Value scratch) {
    return blockReduce(parts, scratch,
                       [&](Value x, Value y) { return add(x, y); });
  }
  Value blockMax(Value part, Value scratch) {
    return blockReduce({part}, scratch, [&](Value x, Value y) -> Value {
      return arith::MaximumFOp::create(b, x, y);
    })[0];
  }

  /// An IEEE half in the low 16 bits of an i32, as f32 (integer arithmetic
  /// only: no target needs f16 support).
  Value halfToFloat(Value bits) {
    Value sign = arith::ShLIOp::create(
        b, arith::AndIOp::create(b, bits, i32(0x8000)), i32(16));
    Value exponent = arith::AndIOp::create(
        b, arith::ShRUIOp::create(b, bits, i32(10)), i32(0x1f));
    Value mantissa = arith::AndIOp::create(b, bits, i32(0x3ff));
    Value shiftedMantissa = arith::ShLIOp::create(b, mantissa, i32(13));
    Value normal = arith::OrIOp::create(
        b, sign,
        arith::OrIOp::create(
            b, arith::ShLIOp::create(b, add(exponent, i32(112)), i32(23)),
            shiftedMantissa));
    Value special = arith::OrIOp::create(
        b, sign, arith::OrIOp::create(b, i32(0x7f800000), shiftedMantissa));
    Value isSpecial =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, exponent, i32(31));
    Value wide = arith::BitcastOp::create(b, b.getF32Type(),
                                          select(isSpecial, special, normal));
    // Zero and subnormals: mantissa x 2^-24.
    Value small = mul(arith::SIToFPOp::create(b, b.getF32Type(), mantissa),
                      f32(5.9604644775390625e-8));
    Value negative =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ne, sign, i32(0));
    small = select(negative, arith::NegFOp::create(b, small), small);
    Value isSmall =
        arith::CmpIOp::create(b, arith::CmpIPredicate::eq, exponent, i32(0));
    return select(isSmall, small, wide);
  }
  /// An unsigned byte of an i8 buffer, as i32.
  Value byteAt(Value bytes, Value index) {
    return arith::ExtUIOp::create(b, b.getI32Type(), load(bytes, index));
  }
  /// A little-endian f16 at a byte index of an i8 buffer.
  Value halfAt(Value bytes, Value index) {
    Value lo = byteAt(bytes, index), hi = byteAt(bytes, add(index, idx(1)));
    return halfToFloat(
        arith::OrIOp::create(b, lo, arith::ShLIOp::create(b, hi, i32(8))));
  }

  /// Element `index` of a float weight view (f32, or f16/bf16 as i16).
  Value floatElement(WeightKind kind, Value view, Value index) {
    Value raw = load(view, index);
    if (kind == WeightKind::F32)
      return raw;
    Value bits = arith::ExtUIOp::create(b, b.getI32Type(), raw);
    if (kind == WeightKind::F16)
      return halfToFloat(bits);
    return arith::BitcastOp::create(b, b.getF32Type(),
                                    arith::ShLIOp::create(b, bits, i32(16)));
  }

  /// Element (row, col) of a weight of `cols` columns whose view starts at
  /// element `offset` of `view`, decoded to f32.
  Value weightElement(WeightKind kind, Value view, Value offset, Value row,
                      Value col, int64_t cols) {
    if (!isQuantized(kind))
      return floatElement(kind, view,
                          add(offset, add(mul(row, idx(cols)), col)));
    int64_t rowBytes = cols / 32 * blockBytes(kind);
    Value block = add(add(offset, mul(row, idx(rowBytes))),
                      mul(div(col, idx(32)), idx(blockBytes(kind))));
    return blockElement(kind, view, block, rem(col, idx(32)));
  }

  /// Value `j` (index in [0, 32)) of the GGML block at byte `block`.
  Value blockElement(WeightKind kind, Value bytes, Value block, Value j) {
    Value d = halfAt(bytes, block);
    if (kind == WeightKind::Q8_0) {
      Value q = arith::ExtSIOp::create(b, b.getI32Type(),
                                       load(bytes, add(block, add(idx(2), j))));
      return mul(d, arith::SIToFPOp::create(b, b.getF32Type(), q));
    }
    Value dataStart = idx(kind == WeightKind::Q4_0 ? 2 : 4);
    Value low = lt(j, idx(16));
    Value byte = byteAt(bytes, add(block, add(dataStart, rem(j, idx(16)))));
    Value nibble = select(low, arith::AndIOp::create(b, byte, i32(15)),
                          arith::ShRUIOp::create(b, byte, i32(4)));
    Value q = arith::SIToFPOp::create(b, b.getF32Type(), nibble);
    if (kind == WeightKind::Q4_0)
      return mul(d, sub(q, f32(8.0)));
    Value m = halfAt(bytes, add(block, idx(2)));
    return add(mul(d, q), m);
  }

  ImplicitLocOpBuilder b;
  int64_t block;
  mlir::gpu::GPUFuncOp func;
  Value tid, bidX, bidY;
};

/// The element type of a weight kind's buffer view.
Type viewElement(MLIRContext *context, WeightKind kind) {
  switch (kind) {
  case WeightKind::F32:
    return Float32Type::get(context);
  case WeightKind::F16:
  case WeightKind::BF16:
    return IntegerType::get(context, 16);
  default:
    return IntegerType::get(context, 8);
  }
}

//===----------------------------------------------------------------------===//
// The lowering
//===----------------------------------------------------------------------===//

class GPULowering {
public:
  GPULowering(ModuleOp module, func::FuncOp forward, int64_t tokenTile)
      : module_(module), forward_(forward), tokenTile_(tokenTile),
        context_(module.getContext()) {}

  LogicalResult run();

private:
  LogicalResult plan();
  LogicalResult emitOp(Operation *op);
  FailureOr<Affine> affineOf(Value scalar);

  /// A buffer parameter type and its program argument.
  Type bufferType(Type element) {
    return MemRefType::get({ShapedType::kDynamic}, element);
  }
  Type f32Buffer() { return bufferType(Float32Type::get(context_)); }
  Type indexType() { return IndexType::get(context_); }

  /// The element offset of a value's place, for a view of `elementBytes`.
  FailureOr<Affine> elementOffset(Operation *op, Value value,
                                  int64_t elementBytes);
  LaunchArg bufferArg(Buf buffer) { return {true, buffer, {}}; }
  /// The row count of an activation: T, or its static size (the last
  /// token's row sliced for the output layer).
  Affine rows(Value value) {
    auto type = cast<ShapedType>(value.getType());
    return type.isDynamicDim(0) ? kT : Affine{type.getDimSize(0), 0, 0};
  }
  /// One workgroup per `div` rows of `value`.
  GridDim rowGrid(Value value, int64_t div = 1) {
    Affine r = rows(value);
    return {r.c0, r.cT, div};
  }
  LaunchArg scalarArg(Affine value) { return {false, Buf::Arena, value}; }

  /// Returns the kernel `name`, building it with `build` the first time.
  StringRef kernel(StringRef name, ArrayRef<Type> params, int64_t block,
                   llvm::function_ref<void(KernelBuilder &)> build);

  void addLaunch(StringRef kernel, GridDim x, GridDim y, int64_t block,
                 ArrayRef<LaunchArg> args) {
    launches_.push_back({kernel.str(), x, y, block,
                         SmallVector<LaunchArg>(args.begin(), args.end())});
  }

  /// Appends (buffer, element offset) arguments for `value`.
  LogicalResult pushValue(Operation *op, SmallVectorImpl<LaunchArg> &args,
                          Value value, int64_t elementBytes = 4) {
    FailureOr<Affine> offset = elementOffset(op, value, elementBytes);
    if (failed(offset))
      return failure();
    args.push_back(bufferArg(places_.lookup(value).buffer));
    args.push_back(scalarArg(*offset));
    return success();
  }

  LogicalResult emitEmbedding(EmbeddingOp op);
  LogicalResult emitRMSNorm(RMSNormOp op);
  LogicalResult emitLinear(LinearOp op);
  LogicalResult emitRope(RopeOp op);
  LogicalResult emitAttention(AttentionOp op);
  LogicalResult emitElementwise(Operation *op, bool swiglu);
  LogicalResult emitCopy(Operation *op, Value from, int64_t count);
  /// The greedy token on the device: an extra launch after the program,
  /// run only when the caller asks for it.
  void emitArgmax(int64_t vocab);

  void writeProgram();

  ModuleOp module_;
  func::FuncOp forward_;
  int64_t tokenTile_;
  MLIRContext *context_;
  mlir::gpu::GPUModuleOp kernels_;
  llvm::StringMap<bool> built_;

  cpu::MemoryPlan plan_;
  llvm::DenseMap<Value, int> allocation_; // arena values: plan id
  llvm::DenseMap<Value, Place> places_;   // after plan(): every tensor
  llvm::DenseMap<Value, Value> sliceOf_;  // slice result -> source
  llvm::DenseMap<Operation *, int> ropeTableOf_;
  std::map<std::vector<double>, int> ropeTables_; // frequencies -> plan id
  Value returnedLogits_;

  std::vector<Launch> launches_;
  int64_t argmaxLaunch_ = -1;
};

LogicalResult GPULowering::run() {
  if (failed(plan()))
    return failure();
  OpBuilder builder(context_);
  builder.setInsertionPointToEnd(module_.getBody());
  kernels_ = mlir::gpu::GPUModuleOp::create(builder, forward_.getLoc(),
                                            "llamac_kernels");
  module_->setAttr(mlir::gpu::GPUDialect::getContainerModuleAttrName(),
                   builder.getUnitAttr());
  for (Operation &op : forward_.getBody().front())
    if (failed(emitOp(&op)))
      return failure();
  emitArgmax(
      cast<RankedTensorType>(returnedLogits_.getType()).getNumElements());
  writeProgram();
  forward_.erase();
  return success();
}

FailureOr<Affine> GPULowering::affineOf(Value scalar) {
  Block &body = forward_.getBody().front();
  if (scalar == body.getArgument(1))
    return Affine{0, 0, 1};
  Operation *def = scalar.getDefiningOp();
  if (!def)
    return failure();
  if (auto constant = dyn_cast<arith::ConstantIndexOp>(def))
    return Affine{constant.value(), 0, 0};
  if (auto dim = dyn_cast<tensor::DimOp>(def)) {
    auto type = dyn_cast<RankedTensorType>(dim.getSource().getType());
    std::optional<int64_t> index = dim.getConstantIndex();
    if (type && index && *index == 0 && type.isDynamicDim(0))
      return kT; // every dynamic activation has one row per token
    if (type && index && !type.isDynamicDim(*index))
      return Affine{type.getDimSize(*index), 0, 0};
    return failure();
  }
  if (isa<arith::AddIOp, arith::SubIOp, arith::MulIOp>(def)) {
    FailureOr<Affine> l = affineOf(def->getOperand(0));
    FailureOr<Affine> r = affineOf(def->getOperand(1));
    if (failed(l) || failed(r))
      return failure();
    if (isa<arith::AddIOp>(def))
      return *l + *r;
    if (isa<arith::SubIOp>(def))
      return *l + r->scaled(-1);
    if (!l->cT && !l->cP)
      return r->scaled(l->c0);
    if (!r->cT && !r->cP)
      return l->scaled(r->c0);
  }
  return failure();
}

LogicalResult GPULowering::plan() {
  Block &body = forward_.getBody().front();
  auto returnOp = cast<func::ReturnOp>(body.getTerminator());
  returnedLogits_ = returnOp.getOperand(0);

  llvm::DenseMap<Value, Place> fixed;
  fixed[body.getArgument(0)] = {Buf::Tokens, {}};
  fixed[body.getArgument(2)] = {Buf::KCache, {}};
  fixed[body.getArgument(3)] = {Buf::VCache, {}};
  for (int i : {2, 3}) {
    auto cache = cast<RankedTensorType>(body.getArgument(i).getType());
    if (!cache.getElementType().isF32())
      return forward_.emitError("GPU targets keep f32 caches");
  }

  auto use = [&](Value value, int64_t step) {
    while (sliceOf_.count(value))
      value = sliceOf_.lookup(value);
    auto it = allocation_.find(value);
    if (it != allocation_.end())
      plan_.use(it->second, step);
  };
  auto arenaValue = [&](Value value, int64_t step) -> LogicalResult {
    auto type = cast<RankedTensorType>(value.getType());
    if (!type.getElementType().isF32())
      return value.getDefiningOp()->emitError(
          "GPU targets compute with f32 activations");
    bool perToken = type.isDynamicDim(0);
    int64_t rowBytes = type.getDimSize(1) * 4;
    allocation_[value] = plan_.add(
        perToken, perToken ? rowBytes : type.getDimSize(0) * rowBytes, step);
    return success();
  };
  auto result = [&](Value value, int64_t step) -> LogicalResult {
    if (value == returnedLogits_) {
      fixed[value] = {Buf::Logits, {}};
      return success();
    }
    return arenaValue(value, step);
  };

  int64_t step = 0;
  for (Operation &op : body) {
    for (Value operand : op.getOperands())
      use(operand, step);
    if (auto param = dyn_cast<ParamOp>(op)) {
      auto offset = param->getAttrOfType<IntegerAttr>(kOffsetAttr);
      if (!offset)
        return param.emitError("parameter has no weights offset; run "
                               "llama-layout-weights first");
      fixed[param.getResult()] = {Buf::Weights, {offset.getInt(), 0, 0}};
    } else if (auto attention = dyn_cast<AttentionOp>(op)) {
      if (attention.getKeyRope())
        return attention.emitError(
            "GPU targets do not take fused ops (key_rope); compile without "
            "fusion");
      for (auto [in, out] :
           {std::pair{attention.getKCache(), attention.getKCacheOut()},
            {attention.getVCache(), attention.getVCacheOut()}}) {
        if (!in.hasOneUse())
          return attention.emitError(
              "a cache is used again after this attention updates it; "
              "caches are updated in place and must flow linearly");
        Place cache = fixed.lookup(in);
        fixed[out] = cache;
      }
      if (failed(arenaValue(attention.getOutput(), step)))
        return failure();
    } else if (auto slice = dyn_cast<tensor::ExtractSliceOp>(op)) {
      auto sourceType = dyn_cast<RankedTensorType>(slice.getSourceType());
      RankedTensorType resultType = slice.getResultType();
      if (!sourceType || sourceType.getRank() != 2 || !slice.hasUnitStride() ||
          !resultType.hasStaticShape() ||
          resultType.getDimSize(1) != sourceType.getDimSize(1) ||
          !isConstantIntValue(slice.getMixedOffsets()[1], 0))
        return slice.emitError("GPU targets only support slices of whole "
                               "rows of a 2-D activation");
      sliceOf_[slice.getResult()] = slice.getSource();
    } else if (auto rope = dyn_cast<RopeOp>(op)) {
      std::vector<double> frequencies = rope.getAllFrequencies();
      auto [it, inserted] = ropeTables_.try_emplace(frequencies, -1);
      // The host fills the table before the first launch: it is live
      // from the start.
      if (inserted)
        it->second = plan_.add(/*perToken=*/true,
                               static_cast<int64_t>(frequencies.size()) * 8, 0);
      plan_.use(it->second, step);
      ropeTableOf_[rope] = it->second;
      if (failed(arenaValue(rope.getResult(), step)))
        return failure();
    } else if (auto linear = dyn_cast<LinearOp>(op)) {
      if (linear.hasPrologue())
        return linear.emitError("GPU targets do not take fused ops (a norm "
                                "or swiglu prologue); compile without fusion");
      if (failed(result(linear.getResult(), step)))
        return failure();
    } else if (isa<MultiLinearOp>(op)) {
      return op.emitError("GPU targets do not take fused ops "
                          "(llama.multi_linear); compile without fusion");
    } else if (isa<EmbeddingOp, RMSNormOp, SwiGLUOp, AddOp>(op)) {
      if (failed(result(op.getResult(0), step)))
        return failure();
    } else if (isa<func::ReturnOp>(op)) {
      if (fixed.lookup(returnOp.getOperand(1)).buffer != Buf::KCache ||
          fixed.lookup(returnOp.getOperand(2)).buffer != Buf::VCache)
        return returnOp.emitError("@forward must return the updated caches");
    } else if (llvm::any_of(op.getResultTypes(), llvm::IsaPred<TensorType>) ||
               op.getNumRegions() != 0) {
      return op.emitError("GPU targets cannot lower '")
             << op.getName() << "' in @forward";
    }
    ++step;
  }
  plan_.solve();

  // Places: fixed buffers, then arena values, then slices of them.
  places_ = fixed;
  for (auto [value, id] : allocation_) {
    Affine bytes = plan_.isPerToken(id)
                       ? Affine{plan_.fixedBytes(), plan_.offset(id), 0}
                       : Affine{plan_.offset(id), 0, 0};
    places_[value] = {Buf::Arena, bytes};
  }
  for (Operation &op : body) {
    auto slice = dyn_cast<tensor::ExtractSliceOp>(op);
    if (!slice)
      continue;
    FailureOr<Affine> row =
        affineOf(slice.getOffsets().empty() ? Value() : slice.getOffsets()[0]);
    OpFoldResult rowOffset = slice.getMixedOffsets()[0];
    if (std::optional<int64_t> constant = getConstantIntValue(rowOffset))
      row = Affine{*constant, 0, 0};
    if (failed(row))
      return slice.emitError("GPU targets need a slice offset that is an "
                             "affine function of the token count");
    auto it = places_.find(slice.getSource());
    if (it == places_.end())
      return slice.emitError("GPU targets only slice activations computed "
                             "in @forward");
    int64_t rowBytes = slice.getSourceType().getDimSize(1) * 4;
    places_[slice.getResult()] = {it->second.buffer,
                                  it->second.bytes + row->scaled(rowBytes)};
  }
  return success();
}

FailureOr<Affine> GPULowering::elementOffset(Operation *op, Value value,
                                             int64_t elementBytes) {
  auto it = places_.find(value);
  if (it == places_.end()) {
    op->emitError("GPU lowering: a value has no buffer");
    return failure();
  }
  Affine bytes = it->second.bytes;
  if (bytes.c0 % elementBytes || bytes.cT % elementBytes ||
      bytes.cP % elementBytes) {
    op->emitError("GPU lowering: a buffer offset is not aligned to its "
                  "element size");
    return failure();
  }
  return Affine{bytes.c0 / elementBytes, bytes.cT / elementBytes,
                bytes.cP / elementBytes};
}

StringRef GPULowering::kernel(StringRef name, ArrayRef<Type> params,
                              int64_t block,
                              llvm::function_ref<void(KernelBuilder &)> build) {
  auto [it, inserted] = built_.try_emplace(name, true);
  if (inserted) {
    OpBuilder builder(context_);
    builder.setInsertionPointToEnd(kernels_.getBody());
    KernelBuilder k(builder, forward_.getLoc(), name, params, block);
    build(k);
    k.finish();
  }
  return it->first();
}

/// Threads per workgroup of row-wise kernels.
constexpr int64_t kRowBlock = 256;
/// Threads per workgroup of a matrix product row.
constexpr int64_t kProductBlock = 128;

LogicalResult GPULowering::emitEmbedding(EmbeddingOp op) {
  FailureOr<WeightKind> kind = weightKind(op, op.getTable().getType());
  if (failed(kind))
    return failure();
  int64_t hidden = op.getType().getDimSize(1);
  std::string name =
      llvm::formatv("embedding_{0}_{1}", kindName(*kind), hidden);
  Type i32 = IntegerType::get(context_, 32);
  StringRef k = kernel(
      name,
      {indexType(), bufferType(i32), indexType(),
       bufferType(viewElement(context_, *kind)), indexType(), f32Buffer(),
       indexType()},
      kRowBlock, [&](KernelBuilder &k) {
        Value t = k.bidX;
        Value token = arith::IndexCastOp::create(
            k.b, k.b.getIndexType(), k.load(k.arg(1), k.add(k.arg(2), t)));
        k.strided(k.idx(hidden), [&](Value c) {
          Value v =
              k.weightElement(*kind, k.arg(3), k.arg(4), token, c, hidden);
          k.store(v, k.arg(5),
                  k.add(k.arg(6), k.add(k.mul(t, k.idx(hidden)), c)));
        });
      });
  SmallVector<LaunchArg> args = {scalarArg(rows(op.getResult()))};
  if (failed(pushValue(op, args, op.getTokens())) ||
      failed(pushValue(op, args, op.getTable(), viewBytes(*kind))) ||
      failed(pushValue(op, args, op.getResult())))
    return failure();
  addLaunch(k, rowGrid(op.getResult()), {}, kRowBlock, args);
  return success();
}

LogicalResult GPULowering::emitRMSNorm(RMSNormOp op) {
  FailureOr<WeightKind> kind = weightKind(op, op.getWeight().getType());
  if (failed(kind))
    return failure();
  int64_t dim = op.getType().getDimSize(1);
  double eps = op.getEpsilon().convertToDouble();
  std::string name =
      llvm::formatv("rms_norm_{0}_{1}_{2}", kindName(*kind), dim,
                    llvm::format_hex(llvm::bit_cast<uint64_t>(eps), 18));
  StringRef k = kernel(
      name,
      {indexType(), f32Buffer(), indexType(),
       bufferType(viewElement(context_, *kind)), indexType(), f32Buffer(),
       indexType()},
      kRowBlock, [&](KernelBuilder &k) {
        Value scratch = k.shared(kRowBlock);
        Value row = k.add(k.arg(2), k.mul(k.bidX, k.idx(dim)));
        SmallVector<Value> partial =
            k.stridedFold(dim, {k.f32(0.0)},
                          [&](Value c, ValueRange acc) -> SmallVector<Value> {
                            Value x = k.load(k.arg(1), k.add(row, c));
                            return {k.add(acc[0], k.mul(x, x))};
                          });
        Value sum = k.blockSum(partial, scratch)[0];
        Value mean = k.div(sum, k.f32(static_cast<double>(dim)));
        Value scale = k.div(k.f32(1.0),
                            math::SqrtOp::create(k.b, k.add(mean, k.f32(eps))));
        Value out = k.add(k.arg(6), k.mul(k.bidX, k.idx(dim)));
        k.strided(k.idx(dim), [&](Value c) {
          Value x = k.load(k.arg(1), k.add(row, c));
          Value w = k.floatElement(*kind, k.arg(3), k.add(k.arg(4), c));
          k.store(k.mul(k.mul(x, scale), w), k.arg(5), k.add(out, c));
        });
      });
  SmallVector<LaunchArg> args = {scalarArg(rows(op.getInput()))};
  if (failed(pushValue(op, args, op.getInput())) ||
      failed(pushValue(op, args, op.getWeight(), viewBytes(*kind))) ||
      failed(pushValue(op, args, op.getResult())))
    return failure();
  addLaunch(k, rowGrid(op.getInput()), {}, kRowBlock, args);
  return success();
}

LogicalResult GPULowering::emitLinear(LinearOp op) {
  FailureOr<WeightKind> kind = weightKind(op, op.getWeight().getType());
  if (failed(kind))
    return failure();
  ArrayRef<int64_t> weightShape;
  if (auto q = dyn_cast<QTensorType>(op.getWeight().getType()))
    weightShape = q.getShape();
  else
    weightShape = cast<ShapedType>(op.getWeight().getType()).getShape();
  int64_t rows = weightShape[0], cols = weightShape[1];
  if (isQuantized(*kind) && cols % 32)
    return op.emitError("quantized weights need a multiple of 32 columns");
  std::optional<WeightKind> biasKind;
  if (Value bias = op.getBias()) {
    FailureOr<WeightKind> k = weightKind(op, bias.getType());
    if (failed(k))
      return failure();
    biasKind = *k;
  }
  bool residual = static_cast<bool>(op.getResidual());
  int64_t tile = tokenTile_;
  std::string name = llvm::formatv(
      "linear_{0}_{1}x{2}_t{3}{4}{5}", kindName(*kind), rows, cols, tile,
      biasKind ? std::string("_bias_") + kindName(*biasKind) : "",
      residual ? "_residual" : "");

  // (T, x, xoff, w, woff, [bias, boff], [residual, roff], y, yoff)
  SmallVector<Type> params = {indexType(), f32Buffer(), indexType(),
                              bufferType(viewElement(context_, *kind)),
                              indexType()};
  if (biasKind) {
    params.push_back(bufferType(viewElement(context_, *biasKind)));
    params.push_back(indexType());
  }
  if (residual) {
    params.push_back(f32Buffer());
    params.push_back(indexType());
  }
  params.push_back(f32Buffer());
  params.push_back(indexType());

  StringRef k = kernel(name, params, kProductBlock, [&](KernelBuilder &k) {
    Value scratch = k.shared(tile * kProductBlock);
    Value tokens = k.arg(0);
    Value n = k.bidX;
    Value t0 = k.mul(k.bidY, k.idx(tile));
    // Rows of x for the tile's tokens; tokens past T read the last row
    // (their sums are never stored).
    SmallVector<Value> xRows;
    for (int64_t i = 0; i < tile; ++i) {
      Value t = k.minIdx(k.add(t0, k.idx(i)), k.sub(tokens, k.idx(1)));
      xRows.push_back(k.add(k.arg(2), k.mul(t, k.idx(cols))));
    }
    SmallVector<Value> zeros(tile, k.f32(0.0));
    auto accumulate = [&](ValueRange acc, Value w, Value col) {
      SmallVector<Value> next;
      for (int64_t i = 0; i < tile; ++i)
        next.push_back(
            k.add(acc[i], k.mul(w, k.load(k.arg(1), k.add(xRows[i], col)))));
      return next;
    };
    SmallVector<Value> partial;
    if (isQuantized(*kind)) {
      int64_t blocks = cols / 32;
      Value rowStart =
          k.add(k.arg(4), k.mul(n, k.idx(blocks * blockBytes(*kind))));
      partial =
          k.stridedFold(blocks, zeros, [&](Value blockIndex, ValueRange acc) {
            Value block =
                k.add(rowStart, k.mul(blockIndex, k.idx(blockBytes(*kind))));
            Value colStart = k.mul(blockIndex, k.idx(32));
            return k.loop(k.idx(0), k.idx(32), k.idx(1), acc,
                          [&](Value j, ValueRange inner) {
                            Value w = k.blockElement(*kind, k.arg(3), block, j);
                            return accumulate(inner, w, k.add(colStart, j));
                          });
          });
    } else {
      Value rowStart = k.add(k.arg(4), k.mul(n, k.idx(cols)));
      partial = k.stridedFold(cols, zeros, [&](Value col, ValueRange acc) {
        Value w = k.floatElement(*kind, k.arg(3), k.add(rowStart, col));
        return accumulate(acc, w, col);
      });
    }
    SmallVector<Value> sums = k.blockSum(partial, scratch);
    unsigned next = 5;
    Value bias;
    if (biasKind) {
      bias = k.floatElement(*biasKind, k.arg(next), k.add(k.arg(next + 1), n));
      next += 2;
    }
    unsigned residualArg = next;
    if (residual)
      next += 2;
    unsigned outArg = next;
    k.ifThen(k.lt(k.tid, k.idx(tile)), [&] {
      Value t = k.add(t0, k.tid);
      k.ifThen(k.lt(t, tokens), [&] {
        // Thread i stores token t0 + i: pick sums[i].
        Value sum = sums[0];
        for (int64_t i = 1; i < tile; ++i)
          sum = k.select(arith::CmpIOp::create(k.b, arith::CmpIPredicate::eq,
                                               k.tid, k.idx(i)),
                         sums[i], sum);
        if (bias)
          sum = k.add(sum, bias);
        Value at = k.add(k.mul(t, k.idx(rows)), n);
        if (residual)
          sum = k.add(sum, k.load(k.arg(residualArg),
                                  k.add(k.arg(residualArg + 1), at)));
        k.store(sum, k.arg(outArg), k.add(k.arg(outArg + 1), at));
      });
    });
  });

  SmallVector<LaunchArg> args = {scalarArg(this->rows(op.getInput()))};
  if (failed(pushValue(op, args, op.getInput())) ||
      failed(pushValue(op, args, op.getWeight(), viewBytes(*kind))))
    return failure();
  if (biasKind &&
      failed(pushValue(op, args, op.getBias(), viewBytes(*biasKind))))
    return failure();
  if (residual && failed(pushValue(op, args, op.getResidual())))
    return failure();
  if (failed(pushValue(op, args, op.getResult())))
    return failure();
  addLaunch(k, {rows, 0, 1}, rowGrid(op.getInput(), tile), kProductBlock, args);
  return success();
}

LogicalResult GPULowering::emitRope(RopeOp op) {
  int64_t features = op.getType().getDimSize(1);
  int64_t headDim = op.getHeadDim();
  int64_t rotary = op.getRotaryDimOrHeadDim();
  int64_t half = rotary / 2;
  int64_t heads = features / headDim;
  bool interleaved = op.getInterleaved();
  std::string name = llvm::formatv("rope_{0}_{1}_{2}{3}", features, headDim,
                                   rotary, interleaved ? "_interleaved" : "");
  StringRef k = kernel(
      name,
      {indexType(), f32Buffer(), indexType(), f32Buffer(), indexType(),
       f32Buffer(), indexType()},
      kRowBlock, [&](KernelBuilder &k) {
        Value t = k.bidX;
        Value in = k.add(k.arg(2), k.mul(t, k.idx(features)));
        Value out = k.add(k.arg(6), k.mul(t, k.idx(features)));
        Value table = k.add(k.arg(4), k.mul(t, k.idx(rotary)));
        k.strided(k.idx(heads * half), [&](Value p) {
          Value head = k.div(p, k.idx(half)), i = k.rem(p, k.idx(half));
          Value base = k.mul(head, k.idx(headDim));
          Value i0 =
              interleaved ? k.add(base, k.mul(i, k.idx(2))) : k.add(base, i);
          Value i1 = interleaved ? k.add(i0, k.idx(1)) : k.add(i0, k.idx(half));
          Value cos = k.load(k.arg(3), k.add(table, i));
          Value sin = k.load(k.arg(3), k.add(table, k.add(i, k.idx(half))));
          Value x0 = k.load(k.arg(1), k.add(in, i0));
          Value x1 = k.load(k.arg(1), k.add(in, i1));
          k.store(k.sub(k.mul(x0, cos), k.mul(x1, sin)), k.arg(5),
                  k.add(out, i0));
          k.store(k.add(k.mul(x0, sin), k.mul(x1, cos)), k.arg(5),
                  k.add(out, i1));
        });
        if (rotary < headDim) {
          int64_t rest = headDim - rotary;
          k.strided(k.idx(heads * rest), [&](Value p) {
            Value at = k.add(k.mul(k.div(p, k.idx(rest)), k.idx(headDim)),
                             k.add(k.idx(rotary), k.rem(p, k.idx(rest))));
            k.store(k.load(k.arg(1), k.add(in, at)), k.arg(5), k.add(out, at));
          });
        }
      });
  int table = ropeTableOf_.at(op);
  SmallVector<LaunchArg> args = {scalarArg(rows(op.getInput()))};
  if (failed(pushValue(op, args, op.getInput())))
    return failure();
  args.push_back(bufferArg(Buf::Arena));
  args.push_back(
      scalarArg(Affine{plan_.fixedBytes() / 4, plan_.offset(table) / 4, 0}));
  if (failed(pushValue(op, args, op.getResult())))
    return failure();
  addLaunch(k, rowGrid(op.getInput()), {}, kRowBlock, args);
  return success();
}

LogicalResult GPULowering::emitAttention(AttentionOp op) {
  int64_t heads = op.getNumHeads(), groups = op.getNumKvHeads();
  int64_t dk = op.getKeyHeadDim(), dv = op.getValueHeadDim();
  int64_t context = op.getContextLength();
  int64_t layer = op.getLayer();
  double scale = op.getScaleOrDefault();
  FailureOr<Affine> position = affineOf(op.getPosition());
  if (failed(position))
    return op.emitError("GPU targets need the attention's position to be an "
                        "affine function of the call's position");

  // Cache writes: [T, G*D] rows into layer `layer` at positions pos + t.
  for (auto entry : {std::tuple{op.getKey(), op.getKCache(), dk},
                     {op.getValue(), op.getVCache(), dv}}) {
    Value value = std::get<0>(entry), cache = std::get<1>(entry);
    int64_t dim = std::get<2>(entry);
    std::string name =
        llvm::formatv("cache_write_{0}x{1}_c{2}", groups, dim, context);
    StringRef k = kernel(
        name,
        {indexType(), indexType(), f32Buffer(), indexType(), f32Buffer(),
         indexType()},
        kRowBlock, [&](KernelBuilder &k) {
          Value t = k.bidX;
          Value slot = k.add(k.arg(1), t);
          Value in = k.add(k.arg(3), k.mul(t, k.idx(groups * dim)));
          k.strided(k.idx(groups * dim), [&](Value c) {
            Value g = k.div(c, k.idx(dim)), d = k.rem(c, k.idx(dim));
            Value at = k.add(
                k.arg(5),
                k.add(k.mul(k.add(k.mul(g, k.idx(context)), slot), k.idx(dim)),
                      d));
            k.store(k.load(k.arg(2), k.add(in, c)), k.arg(4), at);
          });
        });
    SmallVector<LaunchArg> args = {scalarArg(rows(value)),
                                   scalarArg(*position)};
    if (failed(pushValue(op, args, value)))
      return failure();
    args.push_back(bufferArg(places_.lookup(cache).buffer));
    args.push_back(scalarArg(Affine{layer * groups * context * dim, 0, 0}));
    addLaunch(k, rowGrid(value), {}, kRowBlock, args);
  }

  // One workgroup per (head, token). Positions 0 .. pos + t are taken in
  // chunks of `block`, one position per thread: each thread computes its
  // score, the workgroup its chunk's maximum and sum (online softmax: the
  // running sum and output are rescaled when the maximum grows), then the
  // threads switch to one feature each and accumulate the chunk's
  // probability-weighted values, reading each value row coalesced. One pass
  // over the keys and one over the values, O(1) barriers per chunk.
  if (std::max(dk, dv) > 1024)
    return op.emitError("GPU targets support head sizes up to 1024 (one "
                        "workgroup thread per feature)");
  int64_t block = 128;
  while (block < std::max(dk, dv))
    block *= 2;
  std::string name = llvm::formatv(
      "attention_h{0}_g{1}_k{2}_v{3}_c{4}_{5}", heads, groups, dk, dv, context,
      llvm::format_hex(llvm::bit_cast<uint64_t>(scale), 18));
  StringRef k = kernel(
      name,
      {indexType(), indexType(), f32Buffer(), indexType(), f32Buffer(),
       indexType(), f32Buffer(), indexType(), f32Buffer(), indexType()},
      block, [&](KernelBuilder &k) {
        Value scratch = k.shared(block);
        Value query = k.shared(dk);
        Value probs = k.shared(block);
        Value h = k.bidX, t = k.bidY;
        Value g = k.div(h, k.idx(heads / groups));
        Value qRow = k.add(
            k.arg(3), k.add(k.mul(t, k.idx(heads * dk)), k.mul(h, k.idx(dk))));
        k.strided(k.idx(dk), [&](Value i) {
          k.store(k.load(k.arg(2), k.add(qRow, i)), query, i);
        });
        k.barrier();
        Value keys = k.add(k.arg(5), k.mul(g, k.idx(context * dk)));
        Value values = k.add(k.arg(7), k.mul(g, k.idx(context * dv)));
        Value count = k.add(k.add(k.arg(1), t), k.idx(1));
        Value chunks = k.div(k.add(count, k.idx(block - 1)), k.idx(block));
        Value lowest = k.f32(-3.4028234663852886e38);
        Value feature = k.minIdx(k.tid, k.idx(dv - 1));
        SmallVector<Value> state = k.loop(
            k.idx(0), chunks, k.idx(1), {lowest, k.f32(0.0), k.f32(0.0)},
            [&](Value chunk, ValueRange s) -> SmallVector<Value> {
              Value first = k.mul(chunk, k.idx(block));
              Value j = k.add(first, k.tid);
              Value valid = k.lt(j, count);
              Value key = k.add(
                  keys, k.mul(k.minIdx(j, k.sub(count, k.idx(1))), k.idx(dk)));
              Value dot = k.loop(k.idx(0), k.idx(dk), k.idx(1), {k.f32(0.0)},
                                 [&](Value i, ValueRange acc) {
                                   Value x =
                                       k.mul(k.load(query, i),
                                             k.load(k.arg(4), k.add(key, i)));
                                   return SmallVector<Value>{k.add(acc[0], x)};
                                 })[0];
              Value score = k.select(valid, k.mul(dot, k.f32(scale)), lowest);
              Value m = arith::MaximumFOp::create(k.b, s[0],
                                                  k.blockMax(score, scratch));
              Value correction = math::ExpOp::create(k.b, k.sub(s[0], m));
              Value p = k.select(
                  valid, math::ExpOp::create(k.b, k.sub(score, m)), k.f32(0.0));
              Value sum = k.blockSum({p}, scratch)[0];
              k.store(p, probs, k.tid);
              k.barrier();
              // Positions of this chunk: at least 1, at most `block`.
              Value n = k.minIdx(k.idx(block), k.sub(count, first));
              Value acc =
                  k.loop(k.idx(0), n, k.idx(1), {k.mul(s[2], correction)},
                         [&](Value i, ValueRange a) {
                           Value row =
                               k.add(values, k.mul(k.add(first, i), k.idx(dv)));
                           Value v = k.load(k.arg(6), k.add(row, feature));
                           return SmallVector<Value>{
                               k.add(a[0], k.mul(k.load(probs, i), v))};
                         })[0];
              k.barrier();
              return {m, k.add(k.mul(s[1], correction), sum), acc};
            });
        k.ifThen(k.lt(k.tid, k.idx(dv)), [&] {
          Value at = k.add(k.arg(9), k.add(k.mul(t, k.idx(heads * dv)),
                                           k.add(k.mul(h, k.idx(dv)), k.tid)));
          k.store(k.div(state[2], state[1]), k.arg(8), at);
        });
      });
  SmallVector<LaunchArg> args = {scalarArg(rows(op.getQuery())),
                                 scalarArg(*position)};
  if (failed(pushValue(op, args, op.getQuery())))
    return failure();
  args.push_back(bufferArg(Buf::KCache));
  args.push_back(scalarArg(Affine{layer * groups * context * dk, 0, 0}));
  args.push_back(bufferArg(Buf::VCache));
  args.push_back(scalarArg(Affine{layer * groups * context * dv, 0, 0}));
  if (failed(pushValue(op, args, op.getOutput())))
    return failure();
  addLaunch(k, {heads, 0, 1}, rowGrid(op.getQuery()), block, args);
  return success();
}

LogicalResult GPULowering::emitElementwise(Operation *op, bool swiglu) {
  int64_t features =
      cast<RankedTensorType>(op->getResult(0).getType()).getDimSize(1);
  std::string name =
      llvm::formatv("{0}_{1}", swiglu ? "swiglu" : "add", features);
  StringRef k = kernel(name,
                       {indexType(), f32Buffer(), indexType(), f32Buffer(),
                        indexType(), f32Buffer(), indexType()},
                       kRowBlock, [&](KernelBuilder &k) {
                         Value row = k.mul(k.bidX, k.idx(features));
                         k.strided(k.idx(features), [&](Value c) {
                           Value at = k.add(row, c);
                           Value a = k.load(k.arg(1), k.add(k.arg(2), at));
                           Value b = k.load(k.arg(3), k.add(k.arg(4), at));
                           Value r;
                           if (swiglu) {
                             // silu(a) * b = a / (1 + exp(-a)) * b
                             Value e = math::ExpOp::create(
                                 k.b, arith::NegFOp::create(k.b, a));
                             r = k.mul(k.div(a, k.add(k.f32(1.0), e)), b);
                           } else {
                             r = k.add(a, b);
                           }
                           k.store(r, k.arg(5), k.add(k.arg(6), at));
                         });
                       });
  SmallVector<LaunchArg> args = {scalarArg(rows(op->getResult(0)))};
  if (failed(pushValue(op, args, op->getOperand(0))) ||
      failed(pushValue(op, args, op->getOperand(1))) ||
      failed(pushValue(op, args, op->getResult(0))))
    return failure();
  addLaunch(k, rowGrid(op->getResult(0)), {}, kRowBlock, args);
  return success();
}

LogicalResult GPULowering::emitCopy(Operation *op, Value from, int64_t count) {
  std::string name = llvm::formatv("copy_{0}", count);
  StringRef k =
      kernel(name, {f32Buffer(), indexType(), f32Buffer(), indexType()},
             kRowBlock, [&](KernelBuilder &k) {
               k.strided(k.idx(count), [&](Value i) {
                 k.store(k.load(k.arg(0), k.add(k.arg(1), i)), k.arg(2),
                         k.add(k.arg(3), i));
               });
             });
  SmallVector<LaunchArg> args;
  if (failed(pushValue(op, args, from)))
    return failure();
  args.push_back(bufferArg(Buf::Logits));
  args.push_back(scalarArg({}));
  addLaunch(k, {1, 0, 1}, {}, kRowBlock, args);
  return success();
}

void GPULowering::emitArgmax(int64_t vocab) {
  std::string name = llvm::formatv("argmax_{0}", vocab);
  Type i32 = IntegerType::get(context_, 32);
  StringRef k = kernel(
      name, {f32Buffer(), bufferType(i32)}, kRowBlock, [&](KernelBuilder &k) {
        Value values = k.shared(kRowBlock);
        Value indices = k.shared(kRowBlock, i32);
        auto asI32 = [&](Value index) -> Value {
          return arith::IndexCastOp::create(k.b, i32, index);
        };
        // Each thread's best over its strided ids (earlier ids win ties).
        SmallVector<Value> best =
            k.stridedFold(vocab, {k.f32(-3.4028234663852886e38), k.i32(0)},
                          [&](Value i, ValueRange acc) -> SmallVector<Value> {
                            Value v = k.load(k.arg(0), i);
                            Value better = arith::CmpFOp::create(
                                k.b, arith::CmpFPredicate::OGT, v, acc[0]);
                            return {k.select(better, v, acc[0]),
                                    k.select(better, asI32(i), acc[1])};
                          });
        k.store(best[0], values, k.tid);
        k.store(best[1], indices, k.tid);
        k.barrier();
        for (int64_t stride = kRowBlock / 2; stride >= 1; stride /= 2) {
          k.ifThen(k.lt(k.tid, k.idx(stride)), [&] {
            Value other = k.add(k.tid, k.idx(stride));
            Value v1 = k.load(values, k.tid), v2 = k.load(values, other);
            Value i1 = k.load(indices, k.tid), i2 = k.load(indices, other);
            // The larger value; on a tie the lower id, as the host's
            // sampler does.
            Value take = arith::OrIOp::create(
                k.b,
                arith::CmpFOp::create(k.b, arith::CmpFPredicate::OGT, v2, v1),
                arith::AndIOp::create(
                    k.b,
                    arith::CmpFOp::create(k.b, arith::CmpFPredicate::OEQ, v2,
                                          v1),
                    arith::CmpIOp::create(k.b, arith::CmpIPredicate::slt, i2,
                                          i1)));
            k.store(k.select(take, v2, v1), values, k.tid);
            k.store(k.select(take, i2, i1), indices, k.tid);
          });
          k.barrier();
        }
        k.ifThen(k.lt(k.tid, k.idx(1)), [&] {
          k.store(k.load(indices, k.idx(0)), k.arg(1), k.idx(0));
        });
      });
  argmaxLaunch_ = static_cast<int64_t>(launches_.size());
  addLaunch(k, {1, 0, 1}, {}, kRowBlock,
            {bufferArg(Buf::Logits), bufferArg(Buf::Sampled)});
}

LogicalResult GPULowering::emitOp(Operation *op) {
  if (auto embedding = dyn_cast<EmbeddingOp>(op))
    return emitEmbedding(embedding);
  if (auto norm = dyn_cast<RMSNormOp>(op))
    return emitRMSNorm(norm);
  if (auto linear = dyn_cast<LinearOp>(op))
    return emitLinear(linear);
  if (auto rope = dyn_cast<RopeOp>(op))
    return emitRope(rope);
  if (auto attention = dyn_cast<AttentionOp>(op))
    return emitAttention(attention);
  if (isa<SwiGLUOp>(op))
    return emitElementwise(op, /*swiglu=*/true);
  if (isa<AddOp>(op))
    return emitElementwise(op, /*swiglu=*/false);
  if (auto ret = dyn_cast<func::ReturnOp>(op)) {
    Value logits = ret.getOperand(0);
    if (places_.lookup(logits).buffer == Buf::Logits)
      return success();
    // The logits were computed elsewhere (a slice, an add): copy them.
    auto type = cast<RankedTensorType>(logits.getType());
    return emitCopy(op, logits, type.getNumElements());
  }
  return success(); // params, slices, scalars: no code
}

void GPULowering::writeProgram() {
  Builder b(context_);
  auto affine = [&](const Affine &a) {
    return b.getDenseI64ArrayAttr({a.c0, a.cT, a.cP});
  };
  SmallVector<Attribute> launches;
  for (const Launch &launch : launches_) {
    SmallVector<Attribute> args;
    for (const LaunchArg &arg : launch.args)
      args.push_back(arg.isBuffer
                         ? Attribute(b.getStringAttr(bufferName(arg.buffer)))
                         : Attribute(affine(arg.value)));
    launches.push_back(b.getDictionaryAttr({
        b.getNamedAttr("kernel", b.getStringAttr(launch.kernel)),
        b.getNamedAttr("grid", b.getDenseI64ArrayAttr(
                                   {launch.x.c0, launch.x.cT, launch.x.div,
                                    launch.y.c0, launch.y.cT, launch.y.div})),
        b.getNamedAttr("block", b.getI64IntegerAttr(launch.block)),
        b.getNamedAttr("args", b.getArrayAttr(args)),
    }));
  }
  module_->setAttr("llamac.gpu_program", b.getArrayAttr(launches));
  module_->setAttr("llamac.gpu_argmax_launch",
                   b.getI64IntegerAttr(argmaxLaunch_));

  SmallVector<Attribute> tables;
  for (const auto &[frequencies, id] : ropeTables_)
    tables.push_back(b.getDictionaryAttr({
        b.getNamedAttr("offset", affine(Affine{plan_.fixedBytes() / 4,
                                               plan_.offset(id) / 4, 0})),
        b.getNamedAttr("frequencies", b.getDenseF64ArrayAttr(frequencies)),
    }));
  module_->setAttr("llamac.gpu_rope_tables", b.getArrayAttr(tables));
  module_->setAttr("llamac.arena_fixed_bytes",
                   b.getI64IntegerAttr(plan_.fixedBytes()));
  module_->setAttr("llamac.arena_per_token_bytes",
                   b.getI64IntegerAttr(plan_.perTokenBytes()));
}

struct ConvertLlamaToGPUPass
    : public llamac::gpu::impl::ConvertLlamaToGPUBase<ConvertLlamaToGPUPass> {
  using ConvertLlamaToGPUBase::ConvertLlamaToGPUBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto forward = module.lookupSymbol<func::FuncOp>("forward");
    if (!forward) {
      module.emitError("convert-llama-to-gpu: no func.func @forward");
      return signalPassFailure();
    }
    if (tokenTile < 1 || tokenTile > 16) {
      module.emitError("convert-llama-to-gpu: token-tile must be in [1, 16]");
      return signalPassFailure();
    }
    GPULowering lowering(module, forward, tokenTile);
    if (failed(lowering.run()))
      signalPassFailure();
  }
};

} // namespace
