//===- Kernels.cpp - CPU kernels for the llama ops ------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file generates the CPU task functions behind each llama op. They read
// like the reference loops they implement, written with vector registers:
//
// - matrix products (`linear`) keep a tokenTile x rowTile tile of
//   accumulators in registers while walking the reduction dimension, with
//   weight-row tiles as the outer loop so a tile of weights is read from
//   memory once per call whatever the number of tokens;
// - attention processes one (token, head) pair per task and only keeps that
//   query's row of scores, never a tokens x tokens matrix;
// - elementwise and row-wise ops stream their rows with full vectors and one
//   masked tail.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Kernels.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace llamac::cpu;

namespace {

using LoopBody = function_ref<void(ImplicitLocOpBuilder &, Value)>;
using AccumulateBody =
    function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value, ValueRange)>;

Value index(ImplicitLocOpBuilder &b, int64_t value) {
  return arith::ConstantIndexOp::create(b, value);
}

Value f32Constant(ImplicitLocOpBuilder &b, double value) {
  return arith::ConstantFloatOp::create(b, b.getF32Type(),
                                        APFloat(static_cast<float>(value)));
}

/// The lanes of a vector: `n`, or n x vscale for a scalable vector (SVE,
/// RVV), whose count is only known when the code runs. Fixed counts convert
/// implicitly, so helpers take either.
struct Lanes {
  Lanes(int64_t n) : n(n) {}
  Lanes(int64_t n, bool scalable) : n(n), scalable(scalable) {}
  VectorType of(Type element) const {
    return VectorType::get({n}, element, {scalable});
  }
  int64_t n;
  bool scalable = false;
};

/// The number of lanes as an index: n, or n x vscale.
Value laneCount(ImplicitLocOpBuilder &b, Lanes lanes) {
  Value n = index(b, lanes.n);
  if (!lanes.scalable)
    return n;
  return arith::MulIOp::create(b, n, vector::VectorScaleOp::create(b));
}

Value splat(ImplicitLocOpBuilder &b, Value scalar, Lanes lanes) {
  return vector::BroadcastOp::create(b, lanes.of(scalar.getType()), scalar);
}

Value zeroVector(ImplicitLocOpBuilder &b, Lanes lanes) {
  auto type = lanes.of(b.getF32Type());
  return arith::ConstantOp::create(b, type, b.getZeroAttr(type));
}

/// for (iv = lb; iv < ub; iv += step) body(iv);
void forEach(ImplicitLocOpBuilder &b, Value lb, Value ub, Value step,
             LoopBody body) {
  scf::ForOp::create(
      b, lb, ub, step, ValueRange{},
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange) {
        ImplicitLocOpBuilder ib(loc, nested);
        body(ib, iv);
        scf::YieldOp::create(ib);
      });
}

/// A loop that carries values (accumulators) from iteration to iteration.
SmallVector<Value> forAccumulate(ImplicitLocOpBuilder &b, Value lb, Value ub,
                                 Value step, ValueRange init,
                                 AccumulateBody body) {
  auto loop = scf::ForOp::create(
      b, lb, ub, step, init,
      [&](OpBuilder &nested, Location loc, Value iv, ValueRange carried) {
        ImplicitLocOpBuilder ib(loc, nested);
        scf::YieldOp::create(ib, body(ib, iv, carried));
      });
  return SmallVector<Value>(loop.getResults());
}

Value mask(ImplicitLocOpBuilder &b, Lanes lanes, Value count) {
  return vector::CreateMaskOp::create(b, lanes.of(b.getI1Type()),
                                      ValueRange{count});
}

/// Loads `lanes` consecutive elements (along the last index) as f32. Lanes
/// outside `laneMask`, when given, read zero and touch no memory.
Value loadF32(ImplicitLocOpBuilder &b, Value memref, ValueRange indices,
              Lanes lanes, Value laneMask = {}) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  auto type = lanes.of(element);
  Value value;
  if (laneMask) {
    Value zero = arith::ConstantOp::create(b, type, b.getZeroAttr(type));
    value =
        vector::MaskedLoadOp::create(b, type, memref, indices, laneMask, zero);
  } else {
    value = vector::LoadOp::create(b, type, memref, indices);
  }
  if (!element.isF32())
    value = arith::ExtFOp::create(b, lanes.of(b.getF32Type()), value);
  return value;
}

/// The bits of an f32 vector rounded to bf16 (as i16), to nearest even, in
/// integer operations (x86 before AVX512-BF16 has no conversion, and LLVM
/// would call a library function per lane): the high half of bits + 0x7fff
/// + bit 16. NaN stays a quiet NaN. Kept as i16: LLVM scalarizes vectors
/// of bf16 where the target has no bf16 arithmetic. With `native` (the
/// target has AVX512-BF16), LLVM's conversion instead: vcvtne2ps2bf16 rounds
/// 32 values in one instruction.
Value roundToBF16(ImplicitLocOpBuilder &b, Value value, bool native) {
  auto type = cast<VectorType>(value.getType());
  auto i32 = type.clone(b.getI32Type()), i16 = type.clone(b.getI16Type());
  if (native)
    return vector::BitCastOp::create(
        b, i16, arith::TruncFOp::create(b, type.clone(b.getBF16Type()), value));
  auto constant = [&](int64_t v) -> Value {
    return arith::ConstantOp::create(
        b, i32, DenseElementsAttr::get(i32, b.getI32IntegerAttr(v)));
  };
  Value bits = arith::BitcastOp::create(b, i32, value);
  Value odd = arith::AndIOp::create(
      b, arith::ShRUIOp::create(b, bits, constant(16)), constant(1));
  Value rounded = arith::ShRUIOp::create(
      b,
      arith::AddIOp::create(b, bits,
                            arith::AddIOp::create(b, odd, constant(0x7fff))),
      constant(16));
  Value nan = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, value, value);
  rounded = arith::SelectOp::create(b, nan, constant(0x7fc0), rounded);
  return arith::TruncIOp::create(b, i16, rounded);
}

/// Stores an f32 vector, rounded to the memref's element type.
void storeF32(ImplicitLocOpBuilder &b, Value value, Value memref,
              ValueRange indices, Value laneMask = {}) {
  Type element = cast<MemRefType>(memref.getType()).getElementType();
  if (!element.isF32())
    value = arith::TruncFOp::create(
        b, cast<VectorType>(value.getType()).clone(element), value);
  if (laneMask)
    vector::MaskedStoreOp::create(b, memref, indices, laneMask, value);
  else
    vector::StoreOp::create(b, value, memref, indices);
}

/// Accumulates over [0, n) in vectors of `lanes`: full vectors first, then
/// one masked vector for the remainder. body(b, offset, carried,
/// mask-or-null). With scalable vectors the split is computed at run time
/// and the remainder may be empty (an all-false mask touches no memory).
SmallVector<Value>
vectorAccumulate(ImplicitLocOpBuilder &b, int64_t n, Lanes lanes,
                 ValueRange init,
                 function_ref<SmallVector<Value>(ImplicitLocOpBuilder &, Value,
                                                 ValueRange, Value)>
                     body) {
  SmallVector<Value> acc(init.begin(), init.end());
  auto loop = [&](Value full, Value step) {
    acc = forAccumulate(
        b, index(b, 0), full, step, acc,
        [&](ImplicitLocOpBuilder &b, Value k, ValueRange carried) {
          return body(b, k, carried, Value());
        });
  };
  if (lanes.scalable) {
    Value step = laneCount(b, lanes);
    Value total = index(b, n);
    Value full =
        arith::SubIOp::create(b, total, arith::RemUIOp::create(b, total, step));
    loop(full, step);
    return body(b, full, acc,
                mask(b, lanes, arith::SubIOp::create(b, total, full)));
  }
  int64_t full = n / lanes.n * lanes.n;
  if (full > 0)
    loop(index(b, full), index(b, lanes.n));
  if (n % lanes.n)
    acc = body(b, index(b, full), acc, mask(b, lanes, index(b, n % lanes.n)));
  return acc;
}

/// Visits [0, n) in vectors of `lanes` as vectorAccumulate does, carrying
/// nothing. body(b, offset, mask-or-null).
void vectorLoop(ImplicitLocOpBuilder &b, int64_t n, Lanes lanes,
                function_ref<void(ImplicitLocOpBuilder &, Value, Value)> body) {
  vectorAccumulate(
      b, n, lanes, {},
      [&](ImplicitLocOpBuilder &b, Value offset, ValueRange, Value laneMask) {
        body(b, offset, laneMask);
        return SmallVector<Value>();
      });
}

/// scf.if `condition` then `then` else `otherwise` (none when null).
void branch(ImplicitLocOpBuilder &b, Value condition,
            function_ref<void(ImplicitLocOpBuilder &)> then,
            function_ref<void(ImplicitLocOpBuilder &)> otherwise) {
  auto build = [](function_ref<void(ImplicitLocOpBuilder &)> body) {
    return [body](OpBuilder &nested, Location loc) {
      ImplicitLocOpBuilder inner(loc, nested);
      if (body)
        body(inner);
      scf::YieldOp::create(inner);
    };
  };
  if (otherwise)
    scf::IfOp::create(b, condition, build(then), build(otherwise));
  else
    scf::IfOp::create(b, condition, build(then));
}

/// For each row group in [begin, end) of `groups`, `tile(b, list, t0, mt)`
/// over the tokens: full tiles of `tileTokens` tokens, then tiles of
/// `halfTokens` (when non-zero), then single tokens. With `pairs`
/// the full tiles take two groups at once, `{g, g + 1}` on even g (`{g}`
/// when g is the last), nothing on odd g; the rest stays on g alone. A
/// thread's range may start at an odd group: the even group before it, in
/// another range, computes that pair's tiles. Decode (fewer tokens than a
/// tile) so keeps one group per task, as without pairs. `wholeTiles(b,
/// list, fullTokens)`, when given, computes all the full tiles of the
/// groups in `list` instead (tokens [0, fullTokens)).
template <typename Tile>
void forEachRowTile(ImplicitLocOpBuilder &b, Value begin, Value end,
                    Value tokens, int64_t groups, bool pairs,
                    int64_t tileTokens, int64_t halfTokens, Tile &&tile,
                    function_ref<void(ImplicitLocOpBuilder &,
                                      ArrayRef<Value> groups, Value fullTokens)>
                        wholeTiles = nullptr) {
  pairs = pairs && groups > 1;
  forEach(
      b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value group) {
        auto tilesOf = [&](ImplicitLocOpBuilder &b, Value from, int64_t size) {
          // The end of the whole tiles of `size` tokens in [from, tokens).
          return arith::AddIOp::create(
              b, from,
              arith::MulIOp::create(
                  b,
                  arith::DivUIOp::create(b,
                                         arith::SubIOp::create(b, tokens, from),
                                         index(b, size)),
                  index(b, size)));
        };
        Value fullTokens = tilesOf(b, index(b, 0), tileTokens);
        auto fullTiles = [&](ImplicitLocOpBuilder &b, ArrayRef<Value> list) {
          if (wholeTiles)
            return wholeTiles(b, list, fullTokens);
          forEach(b, index(b, 0), fullTokens, index(b, tileTokens),
                  [&](ImplicitLocOpBuilder &b, Value t0) {
                    tile(b, list, t0, tileTokens);
                  });
        };
        if (!pairs) {
          fullTiles(b, {group});
        } else {
          Value even = arith::CmpIOp::create(
              b, arith::CmpIPredicate::eq,
              arith::RemUIOp::create(b, group, index(b, 2)), index(b, 0));
          branch(
              b, even,
              [&](ImplicitLocOpBuilder &b) {
                Value next = arith::AddIOp::create(b, group, index(b, 1));
                if (groups % 2 == 0) {
                  fullTiles(b, {group, next});
                  return;
                }
                branch(
                    b,
                    arith::CmpIOp::create(b, arith::CmpIPredicate::ult, next,
                                          index(b, groups)),
                    [&](ImplicitLocOpBuilder &b) {
                      fullTiles(b, {group, next});
                    },
                    [&](ImplicitLocOpBuilder &b) { fullTiles(b, {group}); });
              },
              nullptr);
        }
        Value rest = fullTokens;
        if (halfTokens > 0 && halfTokens < tileTokens) {
          rest = tilesOf(b, fullTokens, halfTokens);
          forEach(b, fullTokens, rest, index(b, halfTokens),
                  [&](ImplicitLocOpBuilder &b, Value t0) {
                    tile(b, {group}, t0, halfTokens);
                  });
        }
        forEach(
            b, rest, tokens, index(b, 1),
            [&](ImplicitLocOpBuilder &b, Value t) { tile(b, {group}, t, 1); });
      });
}

/// Sums a vector's lanes in any order (a tree of shuffles, not a chain).
Value sumLanes(ImplicitLocOpBuilder &b, Value vector) {
  return vector::ReductionOp::create(b, vector::CombiningKind::ADD, vector,
                                     arith::FastMathFlags::reassoc);
}

/// The widest power-of-two vector of at most `maxWidth` lanes that divides n.
int64_t dividingWidth(int64_t n, int64_t maxWidth) {
  int64_t width = 1;
  while (width * 2 <= maxWidth && n % (width * 2) == 0)
    width *= 2;
  return width;
}

/// The lanes of the streaming kernels' vectors when they read memory of
/// the given element types: scalable where the target allows it.
Lanes streamingLanes(const KernelOptions &options, ArrayRef<Type> memory) {
  bool scalable = options.scalable;
  if (!options.scalableHalf)
    for (Type element : memory)
      if (element.isF16() || element.isBF16())
        scalable = false;
  return Lanes(options.vectorWidth, scalable);
}

std::string typeName(Type type) {
  if (type.isF32())
    return "f32";
  if (type.isF16())
    return "f16";
  if (type.isBF16())
    return "bf16";
  std::string name;
  llvm::raw_string_ostream os(name);
  type.print(os);
  return name;
}

MemRefType rowsType(MLIRContext *context, int64_t features, Type element) {
  return MemRefType::get({ShapedType::kDynamic, features}, element);
}

const char *formatName(WeightFormat format) {
  switch (format) {
  case WeightFormat::Dense:
    return "";
  case WeightFormat::Q8_0:
    return "q8_0";
  case WeightFormat::Q4_0:
    return "q4_0";
  case WeightFormat::Q4_1:
    return "q4_1";
  }
  return "";
}

} // namespace

int64_t llamac::cpu::blockBytes(WeightFormat format) {
  switch (format) {
  case WeightFormat::Q8_0:
    return 34;
  case WeightFormat::Q4_0:
    return 18;
  case WeightFormat::Q4_1:
    return 20;
  case WeightFormat::Dense:
    break;
  }
  llvm_unreachable("not a block format");
}

namespace {

/// Prefetches every cache line of [offset, offset + bytes) of a 1-D
/// `memref` (offsets in elements of elementBytes) `distance` bytes on, the
/// address clamped to element `last`: the packed products' weight streams.
void prefetchAhead(ImplicitLocOpBuilder &b, Value memref, Value offset,
                   int64_t bytes, int64_t elementBytes, Value last,
                   int64_t distance) {
  for (int64_t line = 0; line < bytes; line += 64) {
    Value ahead = arith::MinUIOp::create(
        b,
        arith::AddIOp::create(b, offset,
                              index(b, (distance + line) / elementBytes)),
        last);
    memref::PrefetchOp::create(b, memref, ValueRange{ahead},
                               /*isWrite=*/false, /*localityHint=*/3,
                               /*isDataCache=*/true);
  }
}

/// Reads the f16 at byte `offset` of row `row` of an i8 matrix, as f32.
Value loadHalf(ImplicitLocOpBuilder &b, Value bytes, Value row, Value offset) {
  Value pair = vector::LoadOp::create(b, VectorType::get({2}, b.getI8Type()),
                                      bytes, ValueRange{row, offset});
  Value half =
      vector::BitCastOp::create(b, VectorType::get({1}, b.getF16Type()), pair);
  Value scalar = vector::ExtractOp::create(b, half, ArrayRef<int64_t>{0});
  return arith::ExtFOp::create(b, b.getF32Type(), scalar);
}

/// Decodes GGML block `block` of row `row` into its 32 values, as 32/width
/// f32 vectors of `width` lanes:
///   q8_0: d * q,  q4_0: d * (q - 8),  q4_1: d * q + m,
/// where the 4-bit formats hold values 0..15 in the low nibbles of their 16
/// bytes and values 16..31 in the high nibbles.
SmallVector<Value> decodeBlock(ImplicitLocOpBuilder &b, Value bytes, Value row,
                               Value block, WeightFormat format,
                               int64_t width) {
  Type i8 = b.getI8Type();
  Type f32 = b.getF32Type();
  auto v32f = VectorType::get({32}, f32);
  Value base = arith::MulIOp::create(b, block, index(b, blockBytes(format)));
  Value d = loadHalf(b, bytes, row, base);
  Value values;
  if (format == WeightFormat::Q8_0) {
    Value q = vector::LoadOp::create(
        b, VectorType::get({32}, i8), bytes,
        ValueRange{row, arith::AddIOp::create(b, base, index(b, 2))});
    values = arith::MulFOp::create(b, arith::SIToFPOp::create(b, v32f, q),
                                   splat(b, d, 32));
  } else {
    int64_t dataOffset = format == WeightFormat::Q4_1 ? 4 : 2;
    auto v16 = VectorType::get({16}, i8);
    Value packed = vector::LoadOp::create(
        b, v16, bytes,
        ValueRange{row, arith::AddIOp::create(b, base, index(b, dataOffset))});
    auto byteConstant = [&](int64_t v) {
      return arith::ConstantOp::create(
          b, v16, DenseElementsAttr::get(v16, b.getI8IntegerAttr(v)));
    };
    Value low = arith::AndIOp::create(b, packed, byteConstant(0x0f));
    Value high = arith::ShRUIOp::create(b, packed, byteConstant(4));
    SmallVector<int64_t> order;
    for (int64_t i = 0; i < 32; ++i)
      order.push_back(i);
    Value nibbles = vector::ShuffleOp::create(b, low, high, order);
    Value q = arith::UIToFPOp::create(b, v32f, nibbles);
    Value offset;
    if (format == WeightFormat::Q4_1) {
      offset =
          loadHalf(b, bytes, row, arith::AddIOp::create(b, base, index(b, 2)));
    } else {
      offset = arith::MulFOp::create(b, d, f32Constant(b, -8.0));
    }
    values = vector::FMAOp::create(b, q, splat(b, d, 32), splat(b, offset, 32));
  }
  SmallVector<Value> parts;
  for (int64_t c = 0; c < 32; c += width)
    parts.push_back(vector::ExtractStridedSliceOp::create(
        b, values, ArrayRef<int64_t>{c}, ArrayRef<int64_t>{width},
        ArrayRef<int64_t>{1}));
  return parts;
}

std::string weightName(const WeightLayout &weight) {
  if (weight.format != WeightFormat::Dense)
    return formatName(weight.format);
  return typeName(weight.memref.getElementType());
}
} // namespace

KernelCache::KernelCache(ModuleOp module, const KernelOptions &options)
    : module_(module), options_(options), symbols_(module) {}

func::FuncOp KernelCache::getOrCreate(StringRef name, StringRef key,
                                      TypeRange argTypes, BodyBuilder body) {
  auto it = byKey_.find(key);
  if (it != byKey_.end())
    return it->second;

  MLIRContext *context = module_.getContext();
  ImplicitLocOpBuilder b(UnknownLoc::get(context), context);
  b.setInsertionPointToEnd(module_.getBody());
  SmallVector<Type> inputs = {b.getIndexType(), b.getIndexType()};
  llvm::append_range(inputs, argTypes);
  auto func = func::FuncOp::create(b, name, b.getFunctionType(inputs, {}));
  func.setPrivate();
  symbols_.insert(func); // renames on a clash
  Block *entry = func.addEntryBlock();
  b.setInsertionPointToStart(entry);
  body(b, entry->getArgument(0), entry->getArgument(1),
       entry->getArguments().drop_front(2));
  func::ReturnOp::create(b);
  byKey_[key] = func;
  return func;
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

Kernel KernelCache::linear(const WeightLayout &layout, Type biasElement,
                           bool residual) {
  bool hasBias = static_cast<bool>(biasElement);
  MLIRContext *context = module_.getContext();
  MemRefType weight = layout.memref;
  WeightFormat format = layout.format;
  int64_t rows = layout.rows, cols = layout.cols;
  int64_t width = options_.vectorWidth, tokenTile = options_.tokenTile,
          rowTile = options_.rowTile;
  Type f32 = Float32Type::get(context);
  // Dense rows stream with the target's vectors; GGML blocks decode into
  // fixed lanes (32 values per block).
  Lanes lanes = format == WeightFormat::Dense
                    ? streamingLanes(options_, {weight.getElementType()})
                    : Lanes(width);
  std::string name =
      llvm::formatv("linear_{0}_{1}x{2}{3}{4}", weightName(layout), rows, cols,
                    hasBias ? "_bias" : "", residual ? "_residual" : "");
  std::string key =
      llvm::formatv("{0}:{1}:{2}:{3}:{4}", name, width, tokenTile, rowTile,
                    hasBias ? typeName(biasElement) : "");
  SmallVector<Type> args = {IndexType::get(context),
                            rowsType(context, cols, f32), weight,
                            rowsType(context, rows, f32)};
  if (hasBias)
    args.push_back(MemRefType::get({rows}, biasElement));
  if (residual)
    args.push_back(rowsType(context, rows, f32));

  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value tokens = a[0], x = a[1], w = a[2], y = a[3];
    Value bias = hasBias ? a[4] : Value();
    Value addend = residual ? a[hasBias ? 5 : 4] : Value();

    // One tile of `mt` tokens x `nt` weight rows, accumulated in registers
    // over the reduction dimension.
    auto tile = [&](ImplicitLocOpBuilder &b, Value t0, int64_t mt, Value n0,
                    int64_t nt) {
      SmallVector<Value> tokenIndex, rowIndex;
      for (int64_t i = 0; i < mt; ++i)
        tokenIndex.push_back(arith::AddIOp::create(b, t0, index(b, i)));
      for (int64_t j = 0; j < nt; ++j)
        rowIndex.push_back(arith::AddIOp::create(b, n0, index(b, j)));
      auto step = [&](ImplicitLocOpBuilder &b, Value k, ValueRange acc,
                      Value laneMask) {
        SmallVector<Value> xs, ws, next;
        for (int64_t i = 0; i < mt; ++i)
          xs.push_back(loadF32(b, x, {tokenIndex[i], k}, lanes, laneMask));
        for (int64_t j = 0; j < nt; ++j)
          ws.push_back(loadF32(b, w, {rowIndex[j], k}, lanes, laneMask));
        for (int64_t i = 0; i < mt; ++i)
          for (int64_t j = 0; j < nt; ++j)
            next.push_back(
                vector::FMAOp::create(b, xs[i], ws[j], acc[i * nt + j]));
        return next;
      };
      SmallVector<Value> acc(mt * nt, zeroVector(b, lanes));
      if (format != WeightFormat::Dense) {
        // One block of 32 per step: decode each weight row's block once,
        // use it for every token of the tile.
        acc = forAccumulate(
            b, index(b, 0), index(b, cols / 32), index(b, 1), acc,
            [&](ImplicitLocOpBuilder &b, Value block, ValueRange carried) {
              SmallVector<SmallVector<Value>> ws;
              for (int64_t j = 0; j < nt; ++j)
                ws.push_back(
                    decodeBlock(b, w, rowIndex[j], block, format, width));
              Value k0 = arith::MulIOp::create(b, block, index(b, 32));
              SmallVector<Value> next(carried.begin(), carried.end());
              for (int64_t c = 0; c * width < 32; ++c) {
                Value k = arith::AddIOp::create(b, k0, index(b, c * width));
                for (int64_t i = 0; i < mt; ++i) {
                  Value xv = loadF32(b, x, {tokenIndex[i], k}, width);
                  for (int64_t j = 0; j < nt; ++j)
                    next[i * nt + j] = vector::FMAOp::create(b, xv, ws[j][c],
                                                             next[i * nt + j]);
                }
              }
              return next;
            });
      } else {
        acc = vectorAccumulate(b, cols, lanes, acc, step);
      }
      for (int64_t i = 0; i < mt; ++i)
        for (int64_t j = 0; j < nt; ++j) {
          Value sum = sumLanes(b, acc[i * nt + j]);
          if (bias) {
            Value term = memref::LoadOp::create(b, bias, rowIndex[j]);
            if (!term.getType().isF32())
              term = arith::ExtFOp::create(b, b.getF32Type(), term);
            sum = arith::AddFOp::create(b, sum, term);
          }
          if (addend)
            sum = arith::AddFOp::create(
                b, sum,
                memref::LoadOp::create(b, addend,
                                       {tokenIndex[i], rowIndex[j]}));
          memref::StoreOp::create(b, sum, y, {tokenIndex[i], rowIndex[j]});
        }
    };

    // All tokens against weight rows [n0, n0 + nt): the rows stay in cache
    // while the tokens stream past them.
    auto allTokens = [&](ImplicitLocOpBuilder &b, Value n0, int64_t nt) {
      Value fullTokens = arith::MulIOp::create(
          b, arith::DivUIOp::create(b, tokens, index(b, tokenTile)),
          index(b, tokenTile));
      forEach(b, index(b, 0), fullTokens, index(b, tokenTile),
              [&](ImplicitLocOpBuilder &b, Value t0) {
                tile(b, t0, tokenTile, n0, nt);
              });
      forEach(b, fullTokens, tokens, index(b, 1),
              [&](ImplicitLocOpBuilder &b, Value t) { tile(b, t, 1, n0, nt); });
    };

    // Task i owns weight rows [i * rowTile, (i + 1) * rowTile); only the last
    // task can be short.
    Value rowBegin = arith::MulIOp::create(b, begin, index(b, rowTile));
    Value rowEnd = arith::MinUIOp::create(
        b, arith::MulIOp::create(b, end, index(b, rowTile)), index(b, rows));
    Value fullRows = arith::AddIOp::create(
        b, rowBegin,
        arith::MulIOp::create(b,
                              arith::DivUIOp::create(
                                  b, arith::SubIOp::create(b, rowEnd, rowBegin),
                                  index(b, rowTile)),
                              index(b, rowTile)));
    forEach(
        b, rowBegin, fullRows, index(b, rowTile),
        [&](ImplicitLocOpBuilder &b, Value n0) { allTokens(b, n0, rowTile); });
    forEach(b, fullRows, rowEnd, index(b, 1),
            [&](ImplicitLocOpBuilder &b, Value n) { allTokens(b, n, 1); });
  };
  func::FuncOp task = getOrCreate(name, key, args, body);
  return {task, 0, (rows + rowTile - 1) / rowTile};
}

Kernel KernelCache::linearPacked(const WeightLayout &layout, Type biasElement,
                                 bool residual) {
  MLIRContext *context = module_.getContext();
  bool hasBias = static_cast<bool>(biasElement);
  int64_t rows = layout.rows, cols = layout.cols;
  int64_t groups = (rows + 15) / 16;
  int64_t width = std::min<int64_t>(16, options_.vectorWidth);
  int64_t parts = 16 / width;
  // Prompt tiles of two groups of 16 rows where one vector holds a group
  // (and there are 32 registers), so that each x[t, k] broadcast feeds two
  // FMAs, and twice the tokens: 8 tokens x 2 groups load 10 vectors per 16
  // FMAs where 4 x 1 loaded 5 per 4 (prefill was bound on loads).
  int64_t pairGroups = parts == 1 && groups > 1 ? 2 : 1;
  int64_t tokenTile = options_.tokenTile * pairGroups;
  bool tiles = bf16Tiles(layout);
  Type f32 = Float32Type::get(context), bf16 = BFloat16Type::get(context);
  std::string name = llvm::formatv(
      "linear_{0}_{1}_{2}x{3}{4}{5}", typeName(layout.memref.getElementType()),
      !tiles             ? "r16"
      : options_.amxBF16 ? "amx"
                         : "bf16dot",
      rows, cols, hasBias ? "_bias" : "", residual ? "_residual" : "");
  std::string key = llvm::formatv("{0}:{1}:{2}:{3}", name, width, tokenTile,
                                  hasBias ? typeName(biasElement) : "");
  SmallVector<Type> args = {IndexType::get(context),
                            rowsType(context, cols, f32)};
  if (tiles)
    args.push_back(rowsType(context, cols + kRoundedRowPad, bf16));
  llvm::append_range(
      args, ArrayRef<Type>{layout.memref, rowsType(context, rows, f32)});
  if (hasBias)
    args.push_back(MemRefType::get({rows}, biasElement));
  if (residual)
    args.push_back(rowsType(context, rows, f32));

  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    int64_t first = tiles ? 1 : 0; // after xb
    Value tokens = a[0], x = a[1], xb = tiles ? a[2] : Value();
    Value w = a[first + 2], y = a[first + 3];
    Value bias = hasBias ? a[first + 4] : Value();
    Value addend = residual ? a[first + (hasBias ? 5 : 4)] : Value();

    // Rows of the groups `groupIndex` (16 each) for tokens [t0, t0 + mt):
    // a group's values of column k are one load (16 rows in lanes), times
    // x[t, k] broadcast once for all the groups. `unroll` accumulator sets
    // over k keep several FMA chains in flight.
    auto tile = [&](ImplicitLocOpBuilder &b, ArrayRef<Value> groupIndex,
                    Value t0, int64_t mt) {
      int64_t ng = groupIndex.size();
      int64_t unroll = mt * ng >= 8 ? 1 : mt == 1 ? 4 : 2;
      SmallVector<Value> tokenIndex;
      for (int64_t i = 0; i < mt; ++i)
        tokenIndex.push_back(arith::AddIOp::create(b, t0, index(b, i)));
      SmallVector<Value> bases;
      for (Value group : groupIndex)
        bases.push_back(arith::MulIOp::create(b, group, index(b, 16 * cols)));
      auto at = [&](int64_t u, int64_t i, int64_t g, int64_t p) {
        return ((u * mt + i) * ng + g) * parts + p;
      };
      auto step = [&](ImplicitLocOpBuilder &b, Value k, int64_t u,
                      SmallVector<Value> &acc) {
        Value column = arith::MulIOp::create(b, k, index(b, 16));
        SmallVector<Value> ws;
        for (Value base : bases) {
          Value offset = arith::AddIOp::create(b, base, column);
          for (int64_t p = 0; p < parts; ++p)
            ws.push_back(loadF32(
                b, w, {arith::AddIOp::create(b, offset, index(b, p * width))},
                width));
        }
        for (int64_t i = 0; i < mt; ++i) {
          Value xv = splat(
              b, memref::LoadOp::create(b, x, ValueRange{tokenIndex[i], k}),
              width);
          for (int64_t g = 0; g < ng; ++g)
            for (int64_t p = 0; p < parts; ++p)
              acc[at(u, i, g, p)] = vector::FMAOp::create(
                  b, xv, ws[g * parts + p], acc[at(u, i, g, p)]);
        }
      };
      SmallVector<Value> acc(unroll * mt * ng * parts, zeroVector(b, width));
      int64_t full = cols / unroll * unroll;
      int64_t elementBytes =
          layout.memref.getElementType().getIntOrFloatBitWidth() / 8;
      Value lastElement = index(b, groups * 16 * cols - 1);
      // Every cache line of these columns, prefetchDistance bytes on.
      if (full > 0)
        acc = forAccumulate(
            b, index(b, 0), index(b, full), index(b, unroll), acc,
            [&](ImplicitLocOpBuilder &b, Value k0, ValueRange carried) {
              for (Value base : bases)
                prefetchAhead(
                    b, w,
                    arith::AddIOp::create(
                        b, base, arith::MulIOp::create(b, k0, index(b, 16))),
                    unroll * 16 * elementBytes, elementBytes, lastElement,
                    options_.prefetchDistance);
              SmallVector<Value> next(carried.begin(), carried.end());
              for (int64_t u = 0; u < unroll; ++u)
                step(b, arith::AddIOp::create(b, k0, index(b, u)), u, next);
              return next;
            });
      for (int64_t k = full; k < cols; ++k)
        step(b, index(b, k), 0, acc);

      for (int64_t g = 0; g < ng; ++g) {
        Value row0 = arith::MulIOp::create(b, groupIndex[g], index(b, 16));
        for (int64_t p = 0; p < parts; ++p) {
          Value first = arith::AddIOp::create(b, row0, index(b, p * width));
          Value laneMask;
          if (rows % 16) {
            // Lanes of rows that exist: clamp(rows - first, 0, width).
            Value left = arith::SubIOp::create(
                b, index(b, rows),
                arith::MinUIOp::create(b, first, index(b, rows)));
            laneMask = mask(b, width,
                            arith::MinUIOp::create(b, left, index(b, width)));
          }
          for (int64_t i = 0; i < mt; ++i) {
            Value out = acc[at(0, i, g, p)];
            for (int64_t u = 1; u < unroll; ++u)
              out = arith::AddFOp::create(b, out, acc[at(u, i, g, p)]);
            if (bias)
              out = arith::AddFOp::create(
                  b, out, loadF32(b, bias, {first}, width, laneMask));
            if (addend)
              out = arith::AddFOp::create(
                  b, out,
                  loadF32(b, addend, {tokenIndex[i], first}, width, laneMask));
            storeF32(b, out, y, {tokenIndex[i], first}, laneMask);
          }
        }
      }
    };

    if (!tiles) {
      // Full tiles two groups at a time, then a tile of options.tokenTile,
      // then single tokens.
      forEachRowTile(b, begin, end, tokens, groups, pairGroups == 2, tokenTile,
                     options_.tokenTile, tile);
      return;
    }

    // bf16 tiles (AMX, or AVX512-BF16 registers): the full tiles of 16
    // tokens of the groups of 16 whole rows are products of 32 columns at a
    // time, accumulated in y (which starts as bias + residual). A group's
    // weights are rounded to bf16 into scratch a chunk of 256 columns at a
    // time, once for all of the prompt's tiles, in the pair layout the
    // products read: scratch row r holds the 16 rows' values of columns 2r
    // and 2r + 1, interleaved (a block's rows are AMX's B tile).
    constexpr int64_t chunkBlocks = 8, scratchBytes = chunkBlocks * 16 * 64;
    // AVX512-BF16 takes two groups at a time (as the f32 prompt tiles do),
    // so that each broadcast input feeds two vdpbf16ps.
    bool pairs = options_.bf16Dot && groups > 1;
    int64_t scratches = pairs ? 2 : 1;
    // Scratch as bf16 for the products and as i16 bits for the stores (see
    // roundToBF16), one per group of a pair.
    Value scratchSpace = memref::AllocaOp::create(
        b, MemRefType::get({scratches * scratchBytes}, b.getI8Type()),
        ValueRange{}, b.getI64IntegerAttr(64));
    auto scratchAs = [&](int64_t g, Type element) -> Value {
      return memref::ViewOp::create(
          b, MemRefType::get({chunkBlocks * 16, 32}, element), scratchSpace,
          index(b, g * scratchBytes), ValueRange{});
    };
    SmallVector<Value> scratch, scratchBits;
    for (int64_t g = 0; g < scratches; ++g) {
      scratch.push_back(scratchAs(g, bf16));
      scratchBits.push_back(scratchAs(g, b.getI16Type()));
    }
    // AMX: tokens [t0, t0 + 16) x the 16 rows from row0 += columns [c0, c0 +
    // 32 blocks): C from y, A = 16 tokens x 32 bf16 of xb, B = scratch,
    // one tile product per block.
    // A (16 tokens x 32 columns) and B (16 rows of pairs x 16 weight rows)
    // are both 16 x 32 bf16.
    auto tileAB = amx::TileType::get({16, 32}, bf16);
    auto tileC = amx::TileType::get({16, 16}, f32);
    auto amxTile = [&](ImplicitLocOpBuilder &b, Value t0, Value row0, Value c0,
                       int64_t blocks) {
      Value sums = amx::TileLoadOp::create(b, tileC, y, ValueRange{t0, row0});
      for (int64_t j = 0; j < blocks; ++j) {
        Value a = amx::TileLoadOp::create(
            b, tileAB, xb,
            ValueRange{t0, arith::AddIOp::create(b, c0, index(b, 32 * j))});
        Value weights = amx::TileLoadOp::create(
            b, tileAB, scratch[0], ValueRange{index(b, 16 * j), index(b, 0)});
        sums = amx::TileMulFOp::create(b, tileC, a, weights, sums);
      }
      amx::TileStoreOp::create(b, y, ValueRange{t0, row0}, sums);
    };
    // AVX512-BF16: tokens [t0, t0 + mt) x the groups' rows, a token's 16
    // sums of a group in a register; per scratch row, the token's pair of
    // inputs broadcast to every 32-bit lane, one vdpbf16ps per group.
    StringAttr dpbf16ps = b.getStringAttr("llvm.x86.avx512bf16.dpbf16ps.512");
    auto v16f = VectorType::get({16}, f32), v32b = VectorType::get({32}, bf16);
    auto dotTile = [&](ImplicitLocOpBuilder &b, Value t0, int64_t mt,
                       ArrayRef<Value> row0, Value c0, int64_t blocks) {
      int64_t ng = row0.size();
      SmallVector<Value> tokenIndex, acc;
      for (int64_t i = 0; i < mt; ++i) {
        tokenIndex.push_back(arith::AddIOp::create(b, t0, index(b, i)));
        for (int64_t g = 0; g < ng; ++g)
          acc.push_back(loadF32(b, y, {tokenIndex[i], row0[g]}, 16));
      }
      acc = forAccumulate(
          b, index(b, 0), index(b, 16 * blocks), index(b, 1), acc,
          [&](ImplicitLocOpBuilder &b, Value r, ValueRange carried) {
            SmallVector<Value> weights;
            for (int64_t g = 0; g < ng; ++g)
              weights.push_back(vector::LoadOp::create(
                  b, v32b, scratch[g], ValueRange{r, index(b, 0)}));
            Value k = arith::AddIOp::create(
                b, c0, arith::MulIOp::create(b, r, index(b, 2)));
            SmallVector<Value> next;
            for (int64_t i = 0; i < mt; ++i) {
              Value pair =
                  vector::LoadOp::create(b, VectorType::get({2}, bf16), xb,
                                         ValueRange{tokenIndex[i], k});
              Value word = vector::ExtractOp::create(
                  b,
                  vector::BitCastOp::create(
                      b, VectorType::get({1}, b.getI32Type()), pair),
                  ArrayRef<int64_t>{0});
              Value inputs = vector::BitCastOp::create(
                  b, v32b,
                  vector::BroadcastOp::create(
                      b, VectorType::get({16}, b.getI32Type()), word));
              for (int64_t g = 0; g < ng; ++g)
                next.push_back(
                    LLVM::CallIntrinsicOp::create(
                        b, v16f, dpbf16ps,
                        ValueRange{carried[i * ng + g], inputs, weights[g]})
                        .getResult(0));
            }
            return next;
          });
      for (int64_t i = 0; i < mt; ++i)
        for (int64_t g = 0; g < ng; ++g)
          storeF32(b, acc[i * ng + g], y, {tokenIndex[i], row0[g]});
    };
    // The full tiles of `list`, groups of whole rows.
    auto bf16Groups = [&](ImplicitLocOpBuilder &b, ArrayRef<Value> list,
                          Value fullTokens) {
      int64_t ng = list.size();
      SmallVector<Value> row0, base;
      for (Value group : list) {
        row0.push_back(arith::MulIOp::create(b, group, index(b, 16)));
        base.push_back(arith::MulIOp::create(b, group, index(b, 16 * cols)));
      }
      forEach(b, index(b, 0), fullTokens, index(b, 1),
              [&](ImplicitLocOpBuilder &b, Value t) {
                for (Value first : row0) {
                  Value start =
                      bias ? loadF32(b, bias, {first}, 16) : zeroVector(b, 16);
                  if (addend)
                    start = arith::AddFOp::create(
                        b, start, loadF32(b, addend, {t, first}, 16));
                  storeF32(b, start, y, {t, first});
                }
              });
      // Columns [c0, c0 + 32 blocks).
      auto chunk = [&](ImplicitLocOpBuilder &b, Value c0, int64_t blocks) {
        for (int64_t g = 0; g < ng; ++g)
          forEach(b, index(b, 0), index(b, 16 * blocks), index(b, 1),
                  [&](ImplicitLocOpBuilder &b, Value r) {
                    Value k = arith::AddIOp::create(
                        b, c0, arith::MulIOp::create(b, r, index(b, 2)));
                    Value offset = arith::AddIOp::create(
                        b, base[g], arith::MulIOp::create(b, k, index(b, 16)));
                    Value next = arith::AddIOp::create(b, offset, index(b, 16));
                    Value pairs;
                    if (layout.memref.getElementType().isBF16()) {
                      // Already bf16: their bits interleaved as they are.
                      auto load = [&](Value at) -> Value {
                        return vector::BitCastOp::create(
                            b, VectorType::get({16}, b.getI16Type()),
                            vector::LoadOp::create(
                                b, VectorType::get({16}, bf16), w, at));
                      };
                      pairs = vector::InterleaveOp::create(b, load(offset),
                                                           load(next));
                    } else {
                      pairs = roundToBF16(b,
                                          vector::InterleaveOp::create(
                                              b, loadF32(b, w, {offset}, 16),
                                              loadF32(b, w, {next}, 16)),
                                          options_.bf16Dot);
                    }
                    vector::StoreOp::create(b, pairs, scratchBits[g],
                                            ValueRange{r, index(b, 0)});
                  });
        forEach(b, index(b, 0), fullTokens, index(b, 16),
                [&](ImplicitLocOpBuilder &b, Value t0) {
                  if (options_.amxBF16)
                    return amxTile(b, t0, row0[0], c0, blocks);
                  // 16 accumulators: 16 tokens x 1 group or 8 x 2.
                  for (int64_t sub = 0; sub < ng; ++sub)
                    dotTile(
                        b,
                        arith::AddIOp::create(b, t0, index(b, sub * 16 / ng)),
                        16 / ng, row0, c0, blocks);
                });
      };
      int64_t chunkCols = 32 * chunkBlocks;
      int64_t wholeChunks = cols / chunkCols * chunkCols;
      if (wholeChunks > 0)
        forEach(b, index(b, 0), index(b, wholeChunks), index(b, chunkCols),
                [&](ImplicitLocOpBuilder &b, Value c0) {
                  chunk(b, c0, chunkBlocks);
                });
      if (cols % chunkCols)
        chunk(b, index(b, wholeChunks), cols % chunkCols / 32);
    };
    // The groups of whole rows on bf16 tiles; the last, partial one (rows
    // not a multiple of 16) in f32 register tiles of 16 tokens.
    auto wholeTiles = [&](ImplicitLocOpBuilder &b, ArrayRef<Value> list,
                          Value fullTokens) {
      auto f32Tiles = [&](ImplicitLocOpBuilder &b, Value group) {
        forEach(b, index(b, 0), fullTokens, index(b, 16),
                [&](ImplicitLocOpBuilder &b, Value t0) {
                  tile(b, {group}, t0, 16);
                });
      };
      // Not for decode: no tile, no rounding of the weights.
      Value any = arith::CmpIOp::create(b, arith::CmpIPredicate::ne, fullTokens,
                                        index(b, 0));
      branch(
          b, any,
          [&](ImplicitLocOpBuilder &b) {
            if (rows % 16 == 0)
              return bf16Groups(b, list, fullTokens);
            // Only the last group of the list can be the partial one.
            Value whole = arith::CmpIOp::create(
                b, arith::CmpIPredicate::ult, list.back(), index(b, rows / 16));
            branch(
                b, whole,
                [&](ImplicitLocOpBuilder &b) {
                  bf16Groups(b, list, fullTokens);
                },
                [&](ImplicitLocOpBuilder &b) {
                  if (list.size() == 2)
                    bf16Groups(b, list.front(), fullTokens);
                  f32Tiles(b, list.back());
                });
          },
          nullptr);
    };
    forEachRowTile(b, begin, end, tokens, groups, pairs, 16, options_.tokenTile,
                   tile, wholeTiles);
  };
  return {getOrCreate(name, key, args, body), 0, groups};
}

bool KernelCache::bf16Tiles(const WeightLayout &layout) const {
  return (options_.amxBF16 || options_.bf16Dot) &&
         layout.format == WeightFormat::Dense && layout.cols % 32 == 0 &&
         layout.rows >= 16;
}

Kernel KernelCache::roundRowsToBF16(int64_t features) {
  MLIRContext *context = module_.getContext();
  Lanes width = streamingLanes(options_, {});
  std::string name = llvm::formatv("round_bf16_{0}", features);
  std::string key = llvm::formatv("{0}:{1}", name, width.n);
  SmallVector<Type> args = {
      IndexType::get(context),
      rowsType(context, features, Float32Type::get(context)),
      rowsType(context, features + kRoundedRowPad,
               IntegerType::get(context, 16))};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value x = a[1], y = a[2];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      vectorLoop(b, features, width,
                 [&](ImplicitLocOpBuilder &b, Value i, Value laneMask) {
                   Value bits =
                       roundToBF16(b, loadF32(b, x, {t, i}, width, laneMask),
                                   options_.bf16Dot);
                   if (laneMask)
                     vector::MaskedStoreOp::create(b, y, ValueRange{t, i},
                                                   laneMask, bits);
                   else
                     vector::StoreOp::create(b, bits, y, ValueRange{t, i});
                 });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

Kernel KernelCache::embedding(const WeightLayout &layout) {
  MLIRContext *context = module_.getContext();
  MemRefType table = layout.memref;
  WeightFormat format = layout.format;
  int64_t features = layout.cols;
  int64_t width = std::min<int64_t>(options_.vectorWidth, 32);
  Type f32 = Float32Type::get(context);
  std::string name = llvm::formatv("embedding_{0}_{1}x{2}", weightName(layout),
                                   layout.rows, features);
  std::string key = llvm::formatv("{0}:{1}", name, width);
  SmallVector<Type> args = {
      IndexType::get(context),
      MemRefType::get({ShapedType::kDynamic}, IntegerType::get(context, 32)),
      table, rowsType(context, features, f32)};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value tokens = a[1], tableRef = a[2], y = a[3];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      Value id = arith::IndexCastOp::create(
          b, b.getIndexType(), memref::LoadOp::create(b, tokens, t));
      if (format != WeightFormat::Dense) {
        forEach(b, index(b, 0), index(b, features / 32), index(b, 1),
                [&](ImplicitLocOpBuilder &b, Value block) {
                  SmallVector<Value> parts =
                      decodeBlock(b, tableRef, id, block, format, width);
                  Value k0 = arith::MulIOp::create(b, block, index(b, 32));
                  for (auto [c, part] : llvm::enumerate(parts))
                    storeF32(
                        b, part, y,
                        {t, arith::AddIOp::create(b, k0, index(b, c * width))});
                });
        return;
      }
      Lanes lanes = streamingLanes(options_, {table.getElementType()});
      vectorLoop(b, features, lanes,
                 [&](ImplicitLocOpBuilder &b, Value d, Value laneMask) {
                   storeF32(b, loadF32(b, tableRef, {id, d}, lanes, laneMask),
                            y, {t, d}, laneMask);
                 });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

/// y[tOut, :] = rms_norm(x[tIn, :]) * weight. Shared by the norm kernel and
/// the quantizer's norm prologue, so fused and unfused give the same bits.
static void rmsNormRow(ImplicitLocOpBuilder &b, Value x, Value tIn,
                       Value weight, Value y, Value tOut, int64_t features,
                       Lanes width, double epsilon) {
  // sum_i x[t, i]^2
  SmallVector<Value> acc = vectorAccumulate(
      b, features, width, {zeroVector(b, width)},
      [&](ImplicitLocOpBuilder &b, Value i, ValueRange carried,
          Value laneMask) {
        Value v = loadF32(b, x, {tIn, i}, width, laneMask);
        return SmallVector<Value>{vector::FMAOp::create(b, v, v, carried[0])};
      });
  // 1 / sqrt(mean + eps)
  Value mean = arith::MulFOp::create(b, sumLanes(b, acc[0]),
                                     f32Constant(b, 1.0 / features));
  Value inverse = arith::DivFOp::create(
      b, f32Constant(b, 1.0),
      math::SqrtOp::create(
          b, arith::AddFOp::create(b, mean, f32Constant(b, epsilon))));
  Value scale = splat(b, inverse, width);
  vectorLoop(b, features, width,
             [&](ImplicitLocOpBuilder &b, Value i, Value laneMask) {
               Value v = loadF32(b, x, {tIn, i}, width, laneMask);
               Value g = loadF32(b, weight, {i}, width, laneMask);
               Value r = arith::MulFOp::create(
                   b, arith::MulFOp::create(b, v, scale), g);
               storeF32(b, r, y, {tOut, i}, laneMask);
             });
}

Kernel KernelCache::rmsNorm(int64_t features, Type weightElement,
                            double epsilon) {
  MLIRContext *context = module_.getContext();
  Lanes width = streamingLanes(options_, {weightElement});
  Type f32 = Float32Type::get(context);
  std::string name = llvm::formatv("rms_norm_{0}", features);
  std::string key =
      llvm::formatv("{0}:{1}:{2}:{3}", name, width.n, typeName(weightElement),
                    llvm::utohexstr(llvm::bit_cast<uint64_t>(epsilon)));
  MemRefType rowsF32 = rowsType(context, features, f32);
  SmallVector<Type> args = {IndexType::get(context), rowsF32,
                            MemRefType::get({features}, weightElement),
                            rowsF32};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value x = a[1], weight = a[2], y = a[3];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      rmsNormRow(b, x, t, weight, y, t, features, width, epsilon);
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

Kernel KernelCache::ropeTable(ArrayRef<double> frequencies) {
  MLIRContext *context = module_.getContext();
  int64_t pairs = static_cast<int64_t>(frequencies.size());
  Type f32 = Float32Type::get(context), f64 = Float64Type::get(context);

  std::string key = "rope_table";
  for (double f : frequencies)
    key += ":" + llvm::utohexstr(llvm::bit_cast<uint64_t>(f));
  if (auto it = byKey_.find(key); it != byKey_.end())
    return {it->second, 1, 0};

  // The inverse frequencies, computed in double precision at compile time.
  ImplicitLocOpBuilder gb(UnknownLoc::get(context), context);
  gb.setInsertionPointToStart(module_.getBody());
  auto freqType = MemRefType::get({pairs}, f64);
  auto global = memref::GlobalOp::create(
      gb, "rope_frequencies", gb.getStringAttr("private"), freqType,
      DenseElementsAttr::get(RankedTensorType::get({pairs}, f64), frequencies),
      /*constant=*/true, /*alignment=*/IntegerAttr());
  symbols_.insert(global);

  std::string name = llvm::formatv("rope_table_{0}", 2 * pairs);
  SmallVector<Type> args = {IndexType::get(context), IndexType::get(context),
                            rowsType(context, 2 * pairs, f32)};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value pos = a[1], table = a[2];
    Value freqs = memref::GetGlobalOp::create(b, freqType, global.getSymName());
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      // Angles in double precision: position * f_i loses no digits there.
      Value p = arith::SIToFPOp::create(
          b, f64,
          arith::IndexCastOp::create(b, b.getI64Type(),
                                     arith::AddIOp::create(b, pos, t)));
      forEach(
          b, index(b, 0), index(b, pairs), index(b, 1),
          [&](ImplicitLocOpBuilder &b, Value i) {
            Value angle = arith::MulFOp::create(
                b, p, memref::LoadOp::create(b, freqs, i));
            Value c =
                arith::TruncFOp::create(b, f32, math::CosOp::create(b, angle));
            Value s =
                arith::TruncFOp::create(b, f32, math::SinOp::create(b, angle));
            memref::StoreOp::create(b, c, table, {t, i});
            memref::StoreOp::create(
                b, s, table, {t, arith::AddIOp::create(b, i, index(b, pairs))});
          });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

Kernel KernelCache::rope(int64_t features, int64_t headDim, int64_t rotaryDim,
                         bool interleaved) {
  MLIRContext *context = module_.getContext();
  int64_t half = rotaryDim / 2;
  int64_t width = dividingWidth(half, options_.vectorWidth);
  Type f32 = Float32Type::get(context);
  std::string name =
      llvm::formatv("rope_{0}_{1}_h{2}_r{3}", interleaved ? "gptj" : "neox",
                    features, headDim, rotaryDim);
  std::string key = llvm::formatv("{0}:{1}", name, width);
  MemRefType rowsF32 = rowsType(context, features, f32);
  SmallVector<Type> args = {IndexType::get(context), rowsF32,
                            rowsType(context, rotaryDim, f32), rowsF32};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value x = a[1], table = a[2], y = a[3];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      forEach(
          b, index(b, 0), index(b, features), index(b, headDim),
          [&](ImplicitLocOpBuilder &b, Value head) {
            // Rotated pairs.
            forEach(
                b, index(b, 0), index(b, half), index(b, width),
                [&](ImplicitLocOpBuilder &b, Value i) {
                  Value c = loadF32(b, table, {t, i}, width);
                  Value s = loadF32(
                      b, table,
                      {t, arith::AddIOp::create(b, i, index(b, half))}, width);
                  Value x0, x1, at0, at1;
                  if (interleaved) {
                    // Features (2i, 2i + 1) of the head.
                    at0 = arith::AddIOp::create(
                        b, head, arith::MulIOp::create(b, i, index(b, 2)));
                    Value both = loadF32(b, x, {t, at0}, 2 * width);
                    auto parts = vector::DeinterleaveOp::create(b, both);
                    x0 = parts.getRes1();
                    x1 = parts.getRes2();
                  } else {
                    // Features (i, i + R/2) of the head.
                    at0 = arith::AddIOp::create(b, head, i);
                    at1 = arith::AddIOp::create(b, at0, index(b, half));
                    x0 = loadF32(b, x, {t, at0}, width);
                    x1 = loadF32(b, x, {t, at1}, width);
                  }
                  Value y0 =
                      arith::SubFOp::create(b, arith::MulFOp::create(b, x0, c),
                                            arith::MulFOp::create(b, x1, s));
                  Value y1 =
                      arith::AddFOp::create(b, arith::MulFOp::create(b, x0, s),
                                            arith::MulFOp::create(b, x1, c));
                  if (interleaved) {
                    storeF32(b, vector::InterleaveOp::create(b, y0, y1), y,
                             {t, at0});
                  } else {
                    storeF32(b, y0, y, {t, at0});
                    storeF32(b, y1, y, {t, at1});
                  }
                });
            // Features past the rotary dimension pass through.
            for (int64_t d = rotaryDim; d < headDim; ++d) {
              Value at = arith::AddIOp::create(b, head, index(b, d));
              memref::StoreOp::create(b, memref::LoadOp::create(b, x, {t, at}),
                                      y, {t, at});
            }
          });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

Kernel KernelCache::cacheWrite(MemRefType cache) {
  MLIRContext *context = module_.getContext();
  int64_t kvHeads = cache.getDimSize(1), headDim = cache.getDimSize(3);
  Lanes width = streamingLanes(options_, {cache.getElementType()});
  Type f32 = Float32Type::get(context);
  std::string name =
      llvm::formatv("cache_write_{0}x{1}x{2}x{3}", cache.getDimSize(0), kvHeads,
                    cache.getDimSize(2), headDim);
  std::string key = llvm::formatv("{0}:{1}:{2}", name, width.n,
                                  typeName(cache.getElementType()));
  SmallVector<Type> args = {IndexType::get(context), IndexType::get(context),
                            IndexType::get(context),
                            rowsType(context, kvHeads * headDim, f32), cache};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value pos = a[1], layer = a[2], x = a[3], cacheRef = a[4];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      Value slot = arith::AddIOp::create(b, pos, t);
      for (int64_t g = 0; g < kvHeads; ++g)
        vectorLoop(
            b, headDim, width,
            [&](ImplicitLocOpBuilder &b, Value d, Value laneMask) {
              Value v = loadF32(
                  b, x, {t, arith::AddIOp::create(b, d, index(b, g * headDim))},
                  width, laneMask);
              storeF32(b, v, cacheRef, {layer, index(b, g), slot, d}, laneMask);
            });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

Kernel KernelCache::keyCacheWrite(MemRefType cache, int64_t rotaryDim,
                                  bool interleaved) {
  MLIRContext *context = module_.getContext();
  int64_t kvHeads = cache.getDimSize(1), headDim = cache.getDimSize(3);
  int64_t block = cache.getDimSize(4), half = rotaryDim / 2;
  Type f32 = Float32Type::get(context);
  std::string name =
      llvm::formatv("key_cache_write_{0}x{1}x{2}x{3}x{4}", cache.getDimSize(0),
                    kvHeads, cache.getDimSize(2), headDim, block);
  if (rotaryDim)
    name += llvm::formatv("_rope_{0}_r{1}", interleaved ? "gptj" : "neox",
                          rotaryDim);
  std::string key =
      llvm::formatv("{0}:{1}", name, typeName(cache.getElementType()));
  SmallVector<Type> args = {IndexType::get(context), IndexType::get(context),
                            IndexType::get(context),
                            rowsType(context, kvHeads * headDim, f32), cache};
  if (rotaryDim)
    args.push_back(rowsType(context, rotaryDim, f32));
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value pos = a[1], layer = a[2], x = a[3], cacheRef = a[4];
    Type element = cache.getElementType();
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      Value slot = arith::AddIOp::create(b, pos, t);
      Value tile = arith::DivUIOp::create(b, slot, index(b, block));
      Value lane = arith::RemUIOp::create(b, slot, index(b, block));
      auto store = [&](ImplicitLocOpBuilder &b, Value v, Value g, Value d) {
        if (!element.isF32())
          v = arith::TruncFOp::create(b, element, v);
        memref::StoreOp::create(b, v, cacheRef,
                                ValueRange{layer, g, tile, d, lane});
      };
      if (!rotaryDim) {
        forEach(b, index(b, 0), index(b, kvHeads * headDim), index(b, 1),
                [&](ImplicitLocOpBuilder &b, Value i) {
                  Value g = arith::DivUIOp::create(b, i, index(b, headDim));
                  Value d = arith::RemUIOp::create(b, i, index(b, headDim));
                  store(b, memref::LoadOp::create(b, x, ValueRange{t, i}), g,
                        d);
                });
        return;
      }
      // Rotated as llama.rope does it (KernelCache::rope): the same
      // products and differences in the same order, so the same bits.
      Value table = a[5];
      forEach(
          b, index(b, 0), index(b, kvHeads), index(b, 1),
          [&](ImplicitLocOpBuilder &b, Value g) {
            Value head = arith::MulIOp::create(b, g, index(b, headDim));
            forEach(
                b, index(b, 0), index(b, half), index(b, 1),
                [&](ImplicitLocOpBuilder &b, Value i) {
                  Value c = memref::LoadOp::create(b, table, ValueRange{t, i});
                  Value s = memref::LoadOp::create(
                      b, table,
                      ValueRange{t,
                                 arith::AddIOp::create(b, i, index(b, half))});
                  Value d0 = interleaved
                                 ? arith::MulIOp::create(b, i, index(b, 2))
                                 : i;
                  Value d1 = arith::AddIOp::create(
                      b, d0, index(b, interleaved ? 1 : half));
                  Value x0 = memref::LoadOp::create(
                      b, x, ValueRange{t, arith::AddIOp::create(b, head, d0)});
                  Value x1 = memref::LoadOp::create(
                      b, x, ValueRange{t, arith::AddIOp::create(b, head, d1)});
                  Value y0 =
                      arith::SubFOp::create(b, arith::MulFOp::create(b, x0, c),
                                            arith::MulFOp::create(b, x1, s));
                  Value y1 =
                      arith::AddFOp::create(b, arith::MulFOp::create(b, x0, s),
                                            arith::MulFOp::create(b, x1, c));
                  store(b, y0, g, d0);
                  store(b, y1, g, d1);
                });
            // Features past the rotary dimension pass through.
            forEach(b, index(b, rotaryDim), index(b, headDim), index(b, 1),
                    [&](ImplicitLocOpBuilder &b, Value d) {
                      store(
                          b,
                          memref::LoadOp::create(
                              b, x,
                              ValueRange{t, arith::AddIOp::create(b, head, d)}),
                          g, d);
                    });
          });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

Kernel KernelCache::attention(int64_t heads, MemRefType kCache,
                              MemRefType vCache, double scale) {
  MLIRContext *context = module_.getContext();
  // kCache is [layers, groups, slots / B, dim, B] (tiles of B keys, each
  // dimension-major), vCache [layers, groups, slots, dim].
  int64_t kvHeads = kCache.getDimSize(1), keyBlock = kCache.getDimSize(4);
  int64_t contextLength = kCache.getDimSize(2) * keyBlock;
  int64_t keyDim = kCache.getDimSize(3), valueDim = vCache.getDimSize(3);
  int64_t group = heads / kvHeads;
  Lanes width = streamingLanes(options_, {});
  int64_t valueWidth = dividingWidth(valueDim, options_.vectorWidth);
  Type f32 = Float32Type::get(context);
  std::string name = llvm::formatv("attention_h{0}_g{1}_d{2}_c{3}", heads,
                                   kvHeads, keyDim, contextLength);
  std::string key =
      llvm::formatv("{0}:{1}:{2}:{3}", name, valueDim, width.n,
                    llvm::utohexstr(llvm::bit_cast<uint64_t>(scale)));
  SmallVector<Type> args = {IndexType::get(context),
                            IndexType::get(context),
                            IndexType::get(context),
                            rowsType(context, heads * keyDim, f32),
                            kCache,
                            vCache,
                            rowsType(context, heads * valueDim, f32)};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value rows = a[0], pos = a[1], layer = a[2], q = a[3], kc = a[4], vc = a[5],
          out = a[6];
    // One row of scores, reused by every task this call runs.
    Value scores =
        memref::AllocaOp::create(b, MemRefType::get({contextLength}, f32),
                                 ValueRange{}, b.getI64IntegerAttr(64));
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value id) {
      // Task rows alternate between the first and the last tokens (0, T-1,
      // 1, T-2, ...): a token's cost grows with its position, and the
      // threads take contiguous ranges of tasks, which in token order gave
      // the second half of a prompt three times the first's work.
      Value r = arith::DivUIOp::create(b, id, index(b, heads));
      Value half = arith::DivUIOp::create(b, r, index(b, 2));
      Value odd = arith::CmpIOp::create(
          b, arith::CmpIPredicate::ne,
          arith::RemUIOp::create(b, r, index(b, 2)), index(b, 0));
      Value t = arith::SelectOp::create(
          b, odd,
          arith::SubIOp::create(b, arith::SubIOp::create(b, rows, index(b, 1)),
                                half),
          half);
      Value h = arith::RemUIOp::create(b, id, index(b, heads));
      Value g = arith::DivUIOp::create(b, h, index(b, group));
      Value keys = arith::AddIOp::create(b, arith::AddIOp::create(b, pos, t),
                                         index(b, 1));
      Value qBase = arith::MulIOp::create(b, h, index(b, keyDim));
      // The softmax streams the row of scores with the target's vectors.
      Value step = laneCount(b, width);
      Value fullKeys =
          arith::SubIOp::create(b, keys, arith::RemUIOp::create(b, keys, step));

      // s_j = scale * q . k_j, one tile of B keys at a time: the key
      // cache stores each tile dimension-major, so one vector load holds
      // one dimension of B consecutive keys (the tile is contiguous, 4 KB
      // for B = 16 and 64 dimensions) and the dot products need no
      // horizontal sums. Four accumulators over the dimensions break the
      // FMA chain.
      Value scaleVector = splat(b, f32Constant(b, scale), keyBlock);
      Value negInf = splat(
          b, f32Constant(b, -std::numeric_limits<float>::infinity()), keyBlock);
      auto scoreStep = [&](ImplicitLocOpBuilder &b, Value j0, Value maxSoFar,
                           Value laneMask) {
        Value tile = arith::DivUIOp::create(b, j0, index(b, keyBlock));
        SmallVector<Value> acc(std::min<int64_t>(4, keyDim),
                               zeroVector(b, keyBlock));
        for (int64_t c = 0; c < keyDim; ++c) {
          Value qc = memref::LoadOp::create(
              b, q,
              ValueRange{t, arith::AddIOp::create(b, qBase, index(b, c))});
          Value k = loadF32(b, kc, {layer, g, tile, index(b, c), index(b, 0)},
                            keyBlock, laneMask);
          acc[c % acc.size()] = vector::FMAOp::create(b, splat(b, qc, keyBlock),
                                                      k, acc[c % acc.size()]);
        }
        while (acc.size() > 1) {
          SmallVector<Value> half;
          for (size_t i = 0; i + 1 < acc.size(); i += 2)
            half.push_back(arith::AddFOp::create(b, acc[i], acc[i + 1]));
          if (acc.size() % 2)
            half.push_back(acc.back());
          acc = half;
        }
        Value s = arith::MulFOp::create(b, acc[0], scaleVector);
        if (laneMask)
          s = arith::SelectOp::create(b, laneMask, s, negInf);
        storeF32(b, s, scores, {j0}, laneMask);
        return arith::MaximumFOp::create(b, maxSoFar, s).getResult();
      };
      Value fullTiles = arith::MulIOp::create(
          b, arith::DivUIOp::create(b, keys, index(b, keyBlock)),
          index(b, keyBlock));
      Value maxVec = forAccumulate(
          b, index(b, 0), fullTiles, index(b, keyBlock), {negInf},
          [&](ImplicitLocOpBuilder &b, Value j0, ValueRange carried) {
            return SmallVector<Value>{scoreStep(b, j0, carried[0], Value())};
          })[0];
      // The last, partial tile (no lanes when keys is a multiple of B).
      maxVec = scoreStep(
          b, fullTiles, maxVec,
          mask(b, keyBlock, arith::SubIOp::create(b, keys, fullTiles)));
      Value maxScore = vector::ReductionOp::create(
          b, vector::CombiningKind::MAXIMUMF, maxVec);

      // p_j = exp(s_j - max), stored back; their sum.
      Value maxVector = splat(b, maxScore, width);
      auto expStep = [&](ImplicitLocOpBuilder &b, Value j, Value acc,
                         Value laneMask) {
        Value s = loadF32(b, scores, {j}, width, laneMask);
        Value p =
            math::ExpOp::create(b, arith::SubFOp::create(b, s, maxVector));
        if (laneMask)
          p = arith::SelectOp::create(b, laneMask, p, zeroVector(b, width));
        storeF32(b, p, scores, {j}, laneMask);
        return arith::AddFOp::create(b, acc, p);
      };
      Value sum = forAccumulate(
          b, index(b, 0), fullKeys, step, {zeroVector(b, width)},
          [&](ImplicitLocOpBuilder &b, Value j, ValueRange carried) {
            return SmallVector<Value>{expStep(b, j, carried[0], Value())};
          })[0];
      sum = expStep(b, fullKeys, sum,
                    mask(b, width, arith::SubIOp::create(b, keys, fullKeys)));
      Value total = sumLanes(b, sum);

      // out = sum_j p_j v_j / sum_j p_j, two keys per step into two sets of
      // accumulators (their chains overlap).
      int64_t parts = valueDim / valueWidth;
      auto valueStep = [&](ImplicitLocOpBuilder &b, Value j,
                           ArrayRef<Value> carried) {
        Value p = splat(b, memref::LoadOp::create(b, scores, j), valueWidth);
        SmallVector<Value> next;
        for (int64_t c = 0; c < valueDim; c += valueWidth)
          next.push_back(vector::FMAOp::create(
              b, p, loadF32(b, vc, {layer, g, j, index(b, c)}, valueWidth),
              carried[c / valueWidth]));
        return next;
      };
      Value pairs = arith::MulIOp::create(
          b, arith::DivUIOp::create(b, keys, index(b, 2)), index(b, 2));
      SmallVector<Value> acc(2 * parts, zeroVector(b, valueWidth));
      acc = forAccumulate(
          b, index(b, 0), pairs, index(b, 2), acc,
          [&](ImplicitLocOpBuilder &b, Value j, ValueRange carried) {
            SmallVector<Value> first =
                valueStep(b, j, SmallVector<Value>(carried.take_front(parts)));
            SmallVector<Value> second =
                valueStep(b, arith::AddIOp::create(b, j, index(b, 1)),
                          SmallVector<Value>(carried.drop_front(parts)));
            llvm::append_range(first, second);
            return first;
          });
      for (int64_t i = 0; i < parts; ++i)
        acc[i] = arith::AddFOp::create(b, acc[i], acc[parts + i]);
      acc.resize(parts);
      // An odd last key.
      acc = forAccumulate(
          b, pairs, keys, index(b, 1), acc,
          [&](ImplicitLocOpBuilder &b, Value j, ValueRange carried) {
            return valueStep(b, j, SmallVector<Value>(carried));
          });
      Value inverse = splat(
          b, arith::DivFOp::create(b, f32Constant(b, 1.0), total), valueWidth);
      Value outBase = arith::MulIOp::create(b, h, index(b, valueDim));
      for (int64_t c = 0; c < valueDim; c += valueWidth)
        storeF32(b, arith::MulFOp::create(b, acc[c / valueWidth], inverse), out,
                 {t, arith::AddIOp::create(b, outBase, index(b, c))});
    });
  };
  return {getOrCreate(name, key, args, body), heads, 0};
}

//===----------------------------------------------------------------------===//
// Elementwise ops and argmax
//===----------------------------------------------------------------------===//

namespace {
/// y = f(lhs, rhs) elementwise over [rows, features].
using Elementwise =
    function_ref<Value(ImplicitLocOpBuilder &, Value lhs, Value rhs)>;
} // namespace

static void elementwiseBody(ImplicitLocOpBuilder &b, Value begin, Value end,
                            ValueRange a, int64_t features, Lanes width,
                            Elementwise fn) {
  Value lhs = a[1], rhs = a[2], y = a[3];
  forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
    vectorLoop(b, features, width,
               [&](ImplicitLocOpBuilder &b, Value i, Value laneMask) {
                 Value l = loadF32(b, lhs, {t, i}, width, laneMask);
                 Value r = loadF32(b, rhs, {t, i}, width, laneMask);
                 storeF32(b, fn(b, l, r), y, {t, i}, laneMask);
               });
  });
}

/// silu(g) * u = g / (1 + exp(-g)) * u, one vector.
static Value swigluVector(ImplicitLocOpBuilder &b, Value gate, Value up,
                          Lanes width) {
  Value one = splat(b, f32Constant(b, 1.0), width);
  Value e = math::ExpOp::create(b, arith::NegFOp::create(b, gate));
  Value silu = arith::DivFOp::create(b, gate, arith::AddFOp::create(b, one, e));
  return arith::MulFOp::create(b, silu, up);
}

/// y[tOut, :] = silu(gate[tIn, :]) * up[tIn, :]; shared like rmsNormRow.
static void swigluRow(ImplicitLocOpBuilder &b, Value gate, Value up, Value tIn,
                      Value y, Value tOut, int64_t features, Lanes width) {
  vectorLoop(b, features, width,
             [&](ImplicitLocOpBuilder &b, Value i, Value laneMask) {
               Value g = loadF32(b, gate, {tIn, i}, width, laneMask);
               Value u = loadF32(b, up, {tIn, i}, width, laneMask);
               storeF32(b, swigluVector(b, g, u, width), y, {tOut, i},
                        laneMask);
             });
}

Kernel KernelCache::swiglu(int64_t features) {
  MLIRContext *context = module_.getContext();
  Lanes width = streamingLanes(options_, {});
  MemRefType rowsF32 = rowsType(context, features, Float32Type::get(context));
  std::string name = llvm::formatv("swiglu_{0}", features);
  std::string key = llvm::formatv("{0}:{1}", name, width.n);
  SmallVector<Type> args = {IndexType::get(context), rowsF32, rowsF32, rowsF32};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value gate = a[1], up = a[2], y = a[3];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      swigluRow(b, gate, up, t, y, t, features, width);
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

Kernel KernelCache::add(int64_t features) {
  MLIRContext *context = module_.getContext();
  Lanes width = streamingLanes(options_, {});
  MemRefType rowsF32 = rowsType(context, features, Float32Type::get(context));
  std::string name = llvm::formatv("add_{0}", features);
  std::string key = llvm::formatv("{0}:{1}", name, width.n);
  SmallVector<Type> args = {IndexType::get(context), rowsF32, rowsF32, rowsF32};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    elementwiseBody(b, begin, end, a, features, width,
                    [](ImplicitLocOpBuilder &b, Value l, Value r) {
                      return arith::AddFOp::create(b, l, r);
                    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

Kernel KernelCache::argmax(int64_t vocab) {
  MLIRContext *context = module_.getContext();
  std::string name = llvm::formatv("argmax_{0}", vocab);
  SmallVector<Type> args = {
      IndexType::get(context),
      rowsType(context, vocab, Float32Type::get(context)),
      MemRefType::get({ShapedType::kDynamic}, IntegerType::get(context, 32))};
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value x = a[1], y = a[2];
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      Value first = memref::LoadOp::create(b, x, {t, index(b, 0)});
      SmallVector<Value> best = forAccumulate(
          b, index(b, 1), index(b, vocab), index(b, 1), {first, index(b, 0)},
          [&](ImplicitLocOpBuilder &b, Value i, ValueRange carried) {
            Value v = memref::LoadOp::create(b, x, {t, i});
            // Strictly greater: the lowest index wins a tie.
            Value better = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT,
                                                 v, carried[0]);
            return SmallVector<Value>{
                arith::SelectOp::create(b, better, v, carried[0]),
                arith::SelectOp::create(b, better, i, carried[1])};
          });
      memref::StoreOp::create(
          b, arith::IndexCastOp::create(b, b.getI32Type(), best[1]), y, t);
    });
  };
  return {getOrCreate(name, name, args, body), 1, 0};
}

//===----------------------------------------------------------------------===//
// composite
//===----------------------------------------------------------------------===//

Kernel KernelCache::composite(ArrayRef<Kernel> parts) {
  std::string name = "multi", key = "multi";
  SmallVector<Type> args;
  SmallVector<int64_t> firstArg, firstTask;
  int64_t tasks = 0;
  for (const Kernel &part : parts) {
    assert(part.perRow == 0 && "composite of fixed task counts only");
    func::FuncOp task = part.task;
    name += "_" + task.getSymName().str();
    key += ":" + task.getSymName().str();
    firstArg.push_back(static_cast<int64_t>(args.size()));
    firstTask.push_back(tasks);
    llvm::append_range(args, task.getFunctionType().getInputs().drop_front(2));
    tasks += part.fixed;
  }
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    for (auto [i, part] : llvm::enumerate(parts)) {
      // This part's tasks [first, first + n) clipped to [begin, end).
      Value first = index(b, firstTask[i]);
      Value last = index(b, firstTask[i] + part.fixed);
      Value lo = arith::MaxUIOp::create(b, begin, first);
      Value hi = arith::MinUIOp::create(b, end, last);
      Value any = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, lo, hi);
      auto ifOp = scf::IfOp::create(b, any, /*withElseRegion=*/false);
      OpBuilder::InsertionGuard guard(b);
      b.setInsertionPointToStart(ifOp.thenBlock());
      SmallVector<Value> operands = {arith::SubIOp::create(b, lo, first),
                                     arith::SubIOp::create(b, hi, first)};
      func::FuncOp task = part.task;
      int64_t count =
          static_cast<int64_t>(task.getFunctionType().getNumInputs()) - 2;
      llvm::append_range(operands, a.slice(firstArg[i], count));
      func::CallOp::create(b, task, operands);
    }
  };
  return {getOrCreate(name, key, args, body), 0, tasks};
}

//===----------------------------------------------------------------------===//
// 8-bit dot products (AVX-512 VNNI)
//===----------------------------------------------------------------------===//

Kernel KernelCache::quantizeActivations(int64_t features,
                                        const Prologue &prologue) {
  MLIRContext *context = module_.getContext();
  Type f32 = Float32Type::get(context), i8 = IntegerType::get(context, 8),
       i32 = IntegerType::get(context, 32);
  int64_t blocks = features / 32;
  int64_t width = options_.vectorWidth;
  MemRefType rowsF32 = rowsType(context, features, f32);
  std::string name, key;
  SmallVector<Type> args = {IndexType::get(context), rowsF32};
  switch (prologue.kind) {
  case Prologue::None:
    name = key = llvm::formatv("quantize_q8_{0}", features);
    break;
  case Prologue::RMSNorm:
    name = llvm::formatv("rms_norm_quantize_q8_{0}", features);
    key = llvm::formatv(
        "{0}:{1}:{2}:{3}", name, width, typeName(prologue.normElement),
        llvm::utohexstr(llvm::bit_cast<uint64_t>(prologue.epsilon)));
    args.push_back(MemRefType::get({features}, prologue.normElement));
    break;
  case Prologue::SwiGLU:
    name = llvm::formatv("swiglu_quantize_q8_{0}", features);
    key = llvm::formatv("{0}:{1}", name, width);
    args.push_back(rowsF32);
    break;
  }
  llvm::append_range(args, SmallVector<Type>{rowsType(context, features, i8),
                                             rowsType(context, blocks, f32),
                                             rowsType(context, blocks, i32)});
  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    bool two = prologue.kind != Prologue::None;
    Value x = a[1], xq = a[two ? 3 : 2], xs = a[two ? 4 : 3],
          xsum = a[two ? 5 : 4];
    auto v32f = VectorType::get({32}, b.getF32Type());
    auto v32i = VectorType::get({32}, b.getI32Type());
    // A prologue writes the token's transformed row here first, with the
    // same code as its own kernel.
    Value scratch;
    if (two)
      scratch = memref::AllocaOp::create(b, MemRefType::get({1, features}, f32),
                                         ValueRange{}, b.getI64IntegerAttr(64));
    forEach(b, begin, end, index(b, 1), [&](ImplicitLocOpBuilder &b, Value t) {
      Value source = x, row = t;
      if (prologue.kind == Prologue::RMSNorm)
        rmsNormRow(b, x, t, a[2], scratch, index(b, 0), features, width,
                   prologue.epsilon);
      else if (prologue.kind == Prologue::SwiGLU)
        swigluRow(b, x, a[2], t, scratch, index(b, 0), features, width);
      if (two) {
        source = scratch;
        row = index(b, 0);
      }
      forEach(
          b, index(b, 0), index(b, blocks), index(b, 1),
          [&](ImplicitLocOpBuilder &b, Value block) {
            Value k = arith::MulIOp::create(b, block, index(b, 32));
            Value v =
                vector::LoadOp::create(b, v32f, source, ValueRange{row, k});
            Value amax = vector::ReductionOp::create(
                b, vector::CombiningKind::MAXNUMF, math::AbsFOp::create(b, v));
            Value scale = arith::DivFOp::create(b, amax, f32Constant(b, 127.0));
            Value zero = f32Constant(b, 0.0);
            Value isZero =
                arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, amax, zero);
            Value inverse = arith::SelectOp::create(
                b, isZero, zero,
                arith::DivFOp::create(b, f32Constant(b, 127.0), amax));
            Value scaled = arith::MulFOp::create(b, v, splat(b, inverse, 32));
            Value q = arith::FPToSIOp::create(
                b, v32i, math::RoundEvenOp::create(b, scaled));
            Value sum =
                vector::ReductionOp::create(b, vector::CombiningKind::ADD, q);
            vector::StoreOp::create(
                b,
                arith::TruncIOp::create(b, VectorType::get({32}, b.getI8Type()),
                                        q),
                xq, ValueRange{t, k});
            memref::StoreOp::create(b, scale, xs, ValueRange{t, block});
            memref::StoreOp::create(b, sum, xsum, ValueRange{t, block});
          });
    });
  };
  return {getOrCreate(name, key, args, body), 1, 0};
}

Kernel KernelCache::linearInt8(const WeightLayout &layout, Type biasElement,
                               bool residual) {
  MLIRContext *context = module_.getContext();
  WeightFormat format = layout.format;
  int64_t rows = layout.rows, cols = layout.cols, blocks = cols / 32;
  int64_t groups = (rows + 15) / 16;
  int64_t groupBlockBytes = 16 * blockBytes(format);
  int64_t headerBytes = format == WeightFormat::Q4_1 ? 64 : 32;
  int64_t tokenTile = options_.tokenTile;
  bool hasBias = static_cast<bool>(biasElement);
  Type f32 = Float32Type::get(context), i8 = IntegerType::get(context, 8),
       i32 = IntegerType::get(context, 32);
  std::string name =
      llvm::formatv("linear_{0}_{1}_{2}x{3}{4}{5}",
                    options_.amx ? "amx" : "vnni", formatName(format), rows,
                    cols, hasBias ? "_bias" : "", residual ? "_residual" : "");
  std::string key = llvm::formatv("{0}:{1}:{2}", name, tokenTile,
                                  hasBias ? typeName(biasElement) : "");
  SmallVector<Type> args = {IndexType::get(context),
                            rowsType(context, cols, i8),
                            rowsType(context, blocks, f32),
                            rowsType(context, blocks, i32),
                            layout.memref,
                            rowsType(context, rows, f32)};
  if (hasBias)
    args.push_back(MemRefType::get({rows}, biasElement));
  if (residual)
    args.push_back(rowsType(context, rows, f32));

  auto body = [&](ImplicitLocOpBuilder &b, Value begin, Value end,
                  ValueRange a) {
    Value tokens = a[0], xq = a[1], xs = a[2], xsum = a[3], w = a[4], y = a[5];
    Value bias = hasBias ? a[6] : Value();
    Value addend = residual ? a[hasBias ? 7 : 6] : Value();
    auto v16f = VectorType::get({16}, f32);
    auto v16i = VectorType::get({16}, i32);
    auto v64b = VectorType::get({64}, i8);
    Value totalBytes = index(b, groups * blocks * groupBlockBytes);
    StringAttr dot = b.getStringAttr("llvm.x86.avx512.vpdpbusd.512");
    auto vpdpbusd = [&](ImplicitLocOpBuilder &b, Value acc, Value u8,
                        Value s8) -> Value {
      return LLVM::CallIntrinsicOp::create(b, v16i, dot,
                                           ValueRange{acc, u8, s8})
          .getResult(0);
    };
    // Four int8 activations, broadcast to every 32-bit lane.
    auto broadcast4 = [&](ImplicitLocOpBuilder &b, Value t, Value k) {
      Value four = vector::LoadOp::create(b, VectorType::get({4}, i8), xq,
                                          ValueRange{t, k});
      Value word = vector::ExtractOp::create(
          b, vector::BitCastOp::create(b, VectorType::get({1}, i32), four),
          ArrayRef<int64_t>{0});
      return vector::BitCastOp::create(
          b, v64b, vector::BroadcastOp::create(b, v16i, word));
    };
    auto halfVector = [&](ImplicitLocOpBuilder &b, Value offset) {
      Value raw = vector::LoadOp::create(b, VectorType::get({32}, i8), w,
                                         ValueRange{offset});
      Value halves = vector::BitCastOp::create(
          b, VectorType::get({16}, b.getF16Type()), raw);
      return arith::ExtFOp::create(b, v16f, halves).getResult();
    };

    // acc + (w . xq - offset * sum(xq)) * d_w * d_x (+ m_w * d_x sum(xq))
    // for the 16 rows of one block and one token: the int32 dot products
    // of a block become f32 with both scales. `biased`: the dot products
    // are of the stored (offset) weight values, whose offset comes off here.
    auto scaleBlock = [&](ImplicitLocOpBuilder &b, Value dotsum, Value token,
                          Value block, Value scales, Value minimums, Value acc,
                          bool biased) -> Value {
      Value s = memref::LoadOp::create(b, xs, ValueRange{token, block});
      Value sum = memref::LoadOp::create(b, xsum, ValueRange{token, block});
      // Undo the weights' offset: q8_0 values were biased by 128,
      // q4_0 values by 8 (sum over the block of offset * x).
      if (biased && format != WeightFormat::Q4_1) {
        int64_t offset = format == WeightFormat::Q8_0 ? 128 : 8;
        Value correction = arith::MulIOp::create(
            b, sum, arith::ConstantIntOp::create(b, i32, offset));
        dotsum = arith::SubIOp::create(
            b, dotsum, vector::BroadcastOp::create(b, v16i, correction));
      }
      Value product = arith::SIToFPOp::create(b, v16f, dotsum);
      Value factor = arith::MulFOp::create(b, scales, splat(b, s, 16));
      Value updated = vector::FMAOp::create(b, product, factor, acc);
      if (minimums) {
        // q4_1: + m * sum(x) = m * s * sum(xq)
        Value xTotal =
            arith::MulFOp::create(b, s, arith::SIToFPOp::create(b, f32, sum));
        updated =
            vector::FMAOp::create(b, minimums, splat(b, xTotal, 16), updated);
      }
      return updated;
    };
    // y[t0 + i, 16 g : 16 g + 16] = acc[i] (+ bias) (+ residual).
    auto storeRows = [&](ImplicitLocOpBuilder &b, Value group,
                         ArrayRef<Value> tokenIndex, ArrayRef<Value> acc) {
      Value row0 = arith::MulIOp::create(b, group, index(b, 16));
      Value valid = arith::MinUIOp::create(
          b, index(b, 16), arith::SubIOp::create(b, index(b, rows), row0));
      Value laneMask = rows % 16 ? mask(b, 16, valid) : Value();
      for (auto [token, value] : llvm::zip(tokenIndex, acc)) {
        Value out = value;
        if (bias)
          out = arith::AddFOp::create(b, out,
                                      loadF32(b, bias, {row0}, 16, laneMask));
        if (addend)
          out = arith::AddFOp::create(
              b, out, loadF32(b, addend, {token, row0}, 16, laneMask));
        storeF32(b, out, y, {token, row0}, laneMask);
      }
    };

    // 64 bytes of the packed weights at byte `offset` + 64 j, and a vector
    // of 64 equal bytes.
    auto load64 = [&](ImplicitLocOpBuilder &b, Value offset,
                      int64_t j) -> Value {
      return vector::LoadOp::create(
          b, v64b, w,
          ValueRange{arith::AddIOp::create(b, offset, index(b, 64 * j))});
    };
    auto byteSplat = [&](ImplicitLocOpBuilder &b, int64_t value) -> Value {
      return arith::ConstantOp::create(
          b, v64b, DenseElementsAttr::get(v64b, b.getI8IntegerAttr(value)));
    };
    // Block `block` of the group at byte `groupBase`: its values' offset,
    // its 16 scales (and q4_1's 16 minimums) as f32, every cache line of
    // it prefetched prefetchDistance bytes on.
    struct Block {
      Value values, scales, minimums;
    };
    auto readBlock = [&](ImplicitLocOpBuilder &b, Value groupBase,
                         Value block) -> Block {
      Value base = arith::AddIOp::create(
          b, groupBase,
          arith::MulIOp::create(b, block, index(b, groupBlockBytes)));
      prefetchAhead(b, w, base, groupBlockBytes, /*elementBytes=*/1,
                    arith::SubIOp::create(b, totalBytes, index(b, 1)),
                    options_.prefetchDistance);
      Block result;
      result.scales = halfVector(b, base);
      if (format == WeightFormat::Q4_1)
        result.minimums =
            halfVector(b, arith::AddIOp::create(b, base, index(b, 32)));
      result.values = arith::AddIOp::create(b, base, index(b, headerBytes));
      return result;
    };
    // Rows of the groups `groupIndex` (16 each) against tokens [t0, t0 +
    // mt): each token's four activations are broadcast once for all the
    // groups.
    auto groupsTile = [&](ImplicitLocOpBuilder &b, ArrayRef<Value> groupIndex,
                          Value t0, int64_t mt) {
      int64_t ng = groupIndex.size();
      SmallVector<Value> tokenIndex;
      for (int64_t i = 0; i < mt; ++i)
        tokenIndex.push_back(arith::AddIOp::create(b, t0, index(b, i)));
      SmallVector<Value> groupBases;
      for (Value group : groupIndex)
        groupBases.push_back(arith::MulIOp::create(
            b, group, index(b, blocks * groupBlockBytes)));
      // Float accumulators: token i, group g at i * ng + g.
      SmallVector<Value> acc(mt * ng, zeroVector(b, 16));
      acc = forAccumulate(
          b, index(b, 0), index(b, blocks), index(b, 1), acc,
          [&](ImplicitLocOpBuilder &b, Value block, ValueRange carried) {
            SmallVector<Value> values, scales, minimums;
            for (Value groupBase : groupBases) {
              Block header = readBlock(b, groupBase, block);
              values.push_back(header.values);
              scales.push_back(header.scales);
              minimums.push_back(header.minimums);
            }
            Value k0 = arith::MulIOp::create(b, block, index(b, 32));
            // Independent accumulators per token and group break the
            // dependency chain of the dot products (more of them for few).
            int64_t chains = mt * ng >= 8 ? 1 : mt <= 2 ? 4 : 2;
            auto at = [&](int64_t i, int64_t g, int64_t c) {
              return (i * ng + g) * chains + c;
            };
            SmallVector<Value> dots(
                chains * mt * ng,
                arith::ConstantOp::create(b, v16i, b.getZeroAttr(v16i)));
            int64_t chain = 0;
            auto accumulate = [&](ArrayRef<Value> weights, int64_t kOffset) {
              Value k = arith::AddIOp::create(b, k0, index(b, kOffset));
              for (int64_t i = 0; i < mt; ++i) {
                Value x4 = broadcast4(b, tokenIndex[i], k);
                for (int64_t g = 0; g < ng; ++g)
                  dots[at(i, g, chain)] =
                      vpdpbusd(b, dots[at(i, g, chain)], weights[g], x4);
              }
              chain = (chain + 1) % chains;
            };
            if (format == WeightFormat::Q8_0) {
              for (int64_t j = 0; j < 8; ++j) {
                SmallVector<Value> weights;
                for (Value offset : values)
                  weights.push_back(load64(b, offset, j));
                accumulate(weights, 4 * j);
              }
            } else {
              Value mask = byteSplat(b, 15), four = byteSplat(b, 4);
              for (int64_t j = 0; j < 4; ++j) {
                SmallVector<Value> low, high;
                for (Value offset : values) {
                  Value raw = load64(b, offset, j);
                  low.push_back(arith::AndIOp::create(b, raw, mask));
                  high.push_back(arith::ShRUIOp::create(b, raw, four));
                }
                accumulate(low, 4 * j);
                accumulate(high, 16 + 4 * j);
              }
            }
            SmallVector<Value> next;
            for (int64_t i = 0; i < mt; ++i)
              for (int64_t g = 0; g < ng; ++g) {
                Value dotsum = dots[at(i, g, 0)];
                for (int64_t c = 1; c < chains; ++c)
                  dotsum = arith::AddIOp::create(b, dotsum, dots[at(i, g, c)]);
                next.push_back(scaleBlock(b, dotsum, tokenIndex[i], block,
                                          scales[g], minimums[g],
                                          carried[i * ng + g],
                                          /*biased=*/true));
              }
            return next;
          });
      for (int64_t g = 0; g < ng; ++g) {
        SmallVector<Value> rowsAcc;
        for (int64_t i = 0; i < mt; ++i)
          rowsAcc.push_back(acc[i * ng + g]);
        storeRows(b, groupIndex[g], tokenIndex, rowsAcc);
      }
    };
    if (!options_.amx) {
      // Prompt tiles of tokenTile tokens x 2 groups (each token's
      // activations broadcast once for 32 rows); the rest one by one.
      forEachRowTile(b, begin, end, tokens, groups, /*pairs=*/true, tokenTile,
                     /*halfTokens=*/0, groupsTile);
      return;
    }

    // AMX: tokens [t0, t0 + 16) x rows [16 g, 16 g + 16), one tile product
    // per block. A = 16 tokens x 32 int8 activations (rows of xq, stride
    // K), B = the block's packed weights in the layout the tile product
    // reads, which the r16 packing already is (8 rows of 16 weight rows x
    // 4 consecutive values), made signed (or split into nibbles) in a
    // scratch tile, C = 16 x 16 int32, stored and scaled per token as the
    // VNNI tiles are.
    auto tileA = amx::TileType::get({16, 32}, i8);
    auto tileB = amx::TileType::get({8, 64}, i8);
    auto tileC = amx::TileType::get({16, 16}, i32);
    Value scratchC =
        memref::AllocaOp::create(b, MemRefType::get({16, 16}, i32),
                                 ValueRange{}, b.getI64IntegerAttr(64));
    Value scratchB =
        memref::AllocaOp::create(b, MemRefType::get({8 * 64}, i8), ValueRange{},
                                 b.getI64IntegerAttr(64));
    auto amxTile = [&](ImplicitLocOpBuilder &b, Value group, Value t0) {
      SmallVector<Value> tokenIndex;
      for (int64_t i = 0; i < 16; ++i)
        tokenIndex.push_back(arith::AddIOp::create(b, t0, index(b, i)));
      Value groupBase =
          arith::MulIOp::create(b, group, index(b, blocks * groupBlockBytes));
      SmallVector<Value> acc(16, zeroVector(b, 16));
      acc = forAccumulate(
          b, index(b, 0), index(b, blocks), index(b, 1), acc,
          [&](ImplicitLocOpBuilder &b, Value block, ValueRange carried) {
            Block header = readBlock(b, groupBase, block);
            Value values = header.values, scales = header.scales,
                  minimums = header.minimums;
            Value k0 = arith::MulIOp::create(b, block, index(b, 32));
            Value a = amx::TileLoadOp::create(b, tileA, xq, ValueRange{t0, k0});
            // The B tile, written to scratch: row r holds values 4r..4r+3
            // of the 16 rows (as packed vector r for q8_0; for the 4-bit
            // formats the low nibbles of packed vector r, r < 4, and the
            // high nibbles of vector r - 4, values 16..31). q8_0 and q4_0
            // lose their storage offset on the way (x ^ 128, x - 8: the
            // signed values), so that no per-token correction is needed;
            // q4_1's unsigned values have none.
            auto toScratch = [&](Value row, int64_t r) {
              vector::StoreOp::create(b, row, scratchB,
                                      ValueRange{index(b, 64 * r)});
            };
            bool signedWeights = format != WeightFormat::Q4_1;
            if (format == WeightFormat::Q8_0) {
              for (int64_t j = 0; j < 8; ++j)
                toScratch(arith::XOrIOp::create(b, load64(b, values, j),
                                                byteSplat(b, -128)),
                          j);
            } else {
              Value mask = byteSplat(b, 15), four = byteSplat(b, 4);
              for (int64_t j = 0; j < 4; ++j) {
                Value raw = load64(b, values, j);
                Value low = arith::AndIOp::create(b, raw, mask);
                Value high = arith::ShRUIOp::create(b, raw, four);
                if (signedWeights) {
                  low = arith::SubIOp::create(b, low, byteSplat(b, 8));
                  high = arith::SubIOp::create(b, high, byteSplat(b, 8));
                }
                toScratch(low, j);
                toScratch(high, 4 + j);
              }
            }
            Value weights = amx::TileLoadOp::create(
                b, tileB, scratchB, ValueRange{index(b, 0)}, index(b, 64));
            // Signed activations x signed weights (tdpbssd), or unsigned
            // q4_1 weights (tdpbsud).
            Value product = amx::TileMulIOp::create(
                b, tileC, a, weights, amx::TileZeroOp::create(b, tileC),
                /*isZextLhs=*/false, /*isZextRhs=*/!signedWeights);
            amx::TileStoreOp::create(
                b, scratchC, ValueRange{index(b, 0), index(b, 0)}, product);
            SmallVector<Value> next;
            for (int64_t i = 0; i < 16; ++i) {
              Value dotsum = vector::LoadOp::create(
                  b, v16i, scratchC, ValueRange{index(b, i), index(b, 0)});
              next.push_back(scaleBlock(b, dotsum, tokenIndex[i], block, scales,
                                        minimums, carried[i],
                                        /*biased=*/false));
            }
            return next;
          });
      storeRows(b, group, tokenIndex, acc);
    };
    // Tiles of 16 tokens on AMX, the rest in VNNI register tiles, then
    // one token at a time.
    forEachRowTile(b, begin, end, tokens, groups, /*pairs=*/false, 16,
                   tokenTile,
                   [&](ImplicitLocOpBuilder &b, ArrayRef<Value> list, Value t0,
                       int64_t mt) {
                     if (mt == 16)
                       amxTile(b, list[0], t0);
                     else
                       groupsTile(b, list, t0, mt);
                   });
  };
  return {getOrCreate(name, key, args, body), 0, groups};
}
