//===- Kernels.h - CPU kernels for the llama ops ----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the CPU kernel generators. Each llama op becomes a call
// of a task function specialised for the op's static shapes, element types
// and attributes; the function processes a range [begin, end) of independent
// tasks (output row tiles, tokens, or token x head pairs) and is run on the
// runtime's threads through `lrt.parallel_for`. Bodies are built from scf,
// vector, memref, arith and math ops, so every kernel is ordinary MLIR that
// the upstream pipeline lowers to LLVM.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_CPU_KERNELS_H
#define LLAMAC_CODEGEN_CPU_KERNELS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

#include <cstdint>

namespace llamac::cpu {

/// Shape of the register tiles. The defaults fit 32 vector registers
/// (AVX-512); targets with 16 halve the token tile.
struct KernelOptions {
  /// f32 lanes per vector register.
  int64_t vectorWidth = 16;
  /// Tokens per register tile of a matrix product.
  int64_t tokenTile = 4;
  /// Weight rows per register tile (and per task) of a matrix product.
  int64_t rowTile = 4;
  /// Bytes ahead of the weights being read at which the packed products
  /// (dense r16 and VNNI) prefetch every cache line of their weights.
  int64_t prefetchDistance = 4096;
  /// Scalable vectors (SVE, RVV): the streaming kernels (dense products,
  /// norms, elementwise ops, embedding rows, value-cache writes) use
  /// `vector<[vectorWidth]xf32>` and loops stepping by vectorWidth x vscale,
  /// so one executable runs on every vector length. Kernels whose shape is
  /// tied to a fixed lane count (GGML block decoding, the rotary pairs,
  /// attention's key tiles) stay at vectorWidth fixed lanes, which every
  /// vector length holds.
  bool scalable = false;
  /// Scalable vectors of f16/bf16 are legal. RVV without Zvfhmin/Zvfbfmin
  /// has no scalable vector of them at all (LLVM cannot even load one), so
  /// there kernels that read f16/bf16 memory keep fixed lanes.
  bool scalableHalf = true;
  /// AMX int8 tiles (x86 `amx-tile` + `amx-int8`): linearInt8 multiplies
  /// 16 tokens at a time with tile products (`tdpbssd`, `tdpbsud` for
  /// q4_1), one per GGML block; fewer tokens (decode) keep the VNNI
  /// register tiles.
  bool amx = false;
  /// AMX bf16 tiles (x86 `amx-tile` + `amx-bf16`): linearPacked multiplies
  /// 16 tokens at a time with tile products (`tdpbf16ps`) of the
  /// activations and weights rounded to bf16, summed in f32, for the row
  /// groups of 16 whole rows when K is a multiple of 32; fewer tokens, the
  /// last partial group and other K keep the f32 register tiles.
  bool amxBF16 = false;
  /// The same products without AMX, on AVX512-BF16 (`vdpbf16ps`, a pair
  /// of columns per instruction): register tiles of 8 tokens x 2 groups of
  /// 16 rows (16 accumulators). amxBF16 takes precedence.
  bool bf16Dot = false;
};

/// How a weight matrix is stored: plain floats (the memref's element type),
/// or rows of GGML blocks of 32 values (the memref is rows x bytes of i8).
enum class WeightFormat { Dense, Q8_0, Q4_0, Q4_1 };

/// Bytes of one GGML block of 32 values (Q8_0: 34, Q4_0: 18, Q4_1: 20).
int64_t blockBytes(WeightFormat format);

/// A weight matrix as a kernel reads it.
struct WeightLayout {
  mlir::MemRefType memref;
  WeightFormat format = WeightFormat::Dense;
  int64_t rows = 0, cols = 0; // logical shape
};

/// A task function and how many tasks one call of it has: `perRow * rows +
/// fixed`, where `rows` is the token count of the call.
/// What a kernel computes from its input rows before using them.
struct Prologue {
  enum Kind { None, RMSNorm, SwiGLU } kind = None;
  mlir::Type normElement; // RMSNorm: the weight's element type
  double epsilon = 0;     // RMSNorm
};

struct Kernel {
  mlir::func::FuncOp task;
  int64_t perRow = 0;
  int64_t fixed = 0;
};

/// Creates task functions in a module, one per distinct specialisation, and
/// hands out the existing one when asked again (30 layers share a kernel).
class KernelCache {
public:
  KernelCache(mlir::ModuleOp module, const KernelOptions &options);

  const KernelOptions &options() const { return options_; }

  /// y[t, n] = sum_k x[t, k] * w[n, k] (+ bias[n]).
  /// Task args: (rows, x: memref<?xKxf32>, w, y: memref<?xNxf32>[, bias]).
  /// Dense weights are memref<NxKx{f32,f16,bf16}>; quantized ones are
  /// decoded block by block in registers. A null `biasElement` means no
  /// bias, else the bias is memref<Nx biasElement>.
  /// With `residual`, a last argument memref<?xNxf32> is added to y.
  Kernel linear(const WeightLayout &weight, mlir::Type biasElement,
                bool residual = false);

  /// y = x w^T (+ bias) (+ residual) with a float w packed r16 (see
  /// #llama.packed): one task per group of 16 rows, whose outputs stay in
  /// vector lanes. With 16-lane vectors, tiles of 2 x tokenTile prompt
  /// tokens take two groups at once (even tasks compute their group and
  /// the next), the rest of the tokens one group per task. Task args: (rows, x,
  /// [xb: memref<?x(K+kRoundedRowPad)xbf16>,] w: memref<(16*groups*K) x
  /// T>, y [, bias][, residual]); xb, the rows of x rounded to bf16
  /// (roundRowsToBF16), where bf16Tiles(weight): full tiles of 16 tokens
  /// of the whole groups are then bf16 products (amxBF16, bf16Dot),
  /// accumulated in y.
  Kernel linearPacked(const WeightLayout &weight, mlir::Type biasElement,
                      bool residual = false);

  /// The rows of xb are this many bf16 longer than K, so that a tile's 16
  /// rows do not fall in one L1 set when K x 2 bytes is a multiple of 4 KB
  /// (as in most models: TinyLlama's 2048 columns put 16 rows in an L1
  /// set of 12 ways, and the bf16 products ran slower than f32).
  static constexpr int64_t kRoundedRowPad = 32;

  /// Whether linearPacked of `weight` takes bf16 tiles (and xb): with
  /// KernelOptions::amxBF16 or bf16Dot, K a multiple of 32 and at least 16
  /// rows.
  bool bf16Tiles(const WeightLayout &weight) const;

  /// y[t, :] = the bits of x[t, :] rounded to bf16 (to nearest even), the
  /// activations of the bf16 tile products, which read y as bf16.
  /// Task args: (rows, x: memref<?xKxf32>,
  /// y: memref<?x(K+kRoundedRowPad)xi16>); the padding is not written.
  Kernel roundRowsToBF16(int64_t features);

  /// y[t, :] = table[tokens[t], :], rows decoded as they are read.
  /// Task args: (rows, tokens: memref<?xi32>, table, y: memref<?xDxf32>).
  Kernel embedding(const WeightLayout &table);

  /// Task args: (rows, x: memref<?xDxf32>, w: memref<D x weightElement>,
  /// y).
  Kernel rmsNorm(int64_t features, mlir::Type weightElement, double epsilon);

  /// cos/sin table of the rotary embedding: table[t, i] = cos((pos + t) f_i),
  /// table[t, R/2 + i] = sin((pos + t) f_i).
  /// Task args: (rows, pos: index, table: memref<?xRxf32>).
  Kernel ropeTable(llvm::ArrayRef<double> frequencies);

  /// Task args: (rows, x: memref<?xFxf32>, table: memref<?xRxf32>, y).
  Kernel rope(int64_t features, int64_t headDim, int64_t rotaryDim,
              bool interleaved);

  /// cache[layer, g, pos + t, :] = x[t, g*D : (g+1)*D].
  /// Task args: (rows, pos, layer, x: memref<?x(G*D)xf32>, cache).
  Kernel cacheWrite(mlir::MemRefType cache);

  /// The key cache is stored transposed, [layers, groups, dim, slots], so
  /// that attention loads one dimension of consecutive keys per vector:
  /// cache[layer, g, d, pos + t] = x[t, g*D + d].
  /// Task args: (rows, pos, layer, x: memref<?x(G*D)xf32>, cache).
  /// With `rotaryDim` > 0 the keys are rotated as they are stored (a fused
  /// llama.rope: args gain the cos/sin table after the keys).
  Kernel keyCacheWrite(mlir::MemRefType cache, int64_t rotaryDim = 0,
                       bool interleaved = false);

  /// Causal attention of each (token, head) over its cache rows; kCache is
  /// transposed (see keyCacheWrite). Tasks take the tokens in the order 0,
  /// T-1, 1, T-2, ... so that contiguous ranges of tasks cost alike.
  /// Task args: (rows, pos, layer, q: memref<?x(H*Dk)xf32>, k_cache,
  /// v_cache, out: memref<?x(H*Dv)xf32>).
  Kernel attention(int64_t heads, mlir::MemRefType kCache,
                   mlir::MemRefType vCache, double scale);

  /// Task args: (rows, gate, up, y), all memref<?xFxf32>.
  Kernel swiglu(int64_t features);

  /// Task args: (rows, lhs, rhs, y), all memref<?xFxf32>.
  Kernel add(int64_t features);

  /// Task args: (rows, x: memref<?xVxf32>, y: memref<?xi32>).
  Kernel argmax(int64_t vocab);

  /// Quantizes activations to int8 per block of 32, for the 8-bit dot
  /// product kernels: xq = round(x / s), s = max|x| / 127, and the sum of
  /// each block's xq (to correct for the weights' offset).
  /// Task args: (rows, x: memref<?xKxf32>, xq: memref<?xKxi8>,
  /// xs: memref<?x(K/32)xf32>, xsum: memref<?x(K/32)xi32>).
  /// A prologue first transforms each row as the rmsNorm / swiglu kernels
  /// do (the same code, so the same values): task args then take the norm
  /// weight memref<K x normElement> / the up rows memref<?xKxf32> after x.
  Kernel quantizeActivations(int64_t features,
                             const Prologue &prologue = Prologue());

  /// y = x w^T with w packed r16 (see !llama.qtensor) and x quantized by
  /// quantizeActivations: AVX-512 VNNI dot products of 16 weight rows at a
  /// time, scaled per block in f32. One task per group of 16 rows; prompt
  /// tiles of tokenTile tokens take two groups at once (even tasks compute
  /// their group and the next). With KernelOptions::amx, full tiles of 16
  /// tokens are AMX tile products instead.
  /// Task args: (rows, xq, xs, xsum, w: memref<?xi8>, y: memref<?xNxf32>
  /// [, bias]).
  Kernel linearInt8(const WeightLayout &weight, mlir::Type biasElement,
                    bool residual = false);

  /// One parallel region for several kernels with fixed task counts (the
  /// products of a llama.multi_linear): tasks are numbered part after part;
  /// task args are the parts' args concatenated.
  Kernel composite(llvm::ArrayRef<Kernel> parts);

private:
  using BodyBuilder =
      llvm::function_ref<void(mlir::ImplicitLocOpBuilder &, mlir::Value begin,
                              mlir::Value end, mlir::ValueRange args)>;
  /// Returns the task function for `key`, building it the first time.
  mlir::func::FuncOp getOrCreate(llvm::StringRef name, llvm::StringRef key,
                                 mlir::TypeRange argTypes, BodyBuilder body);

  mlir::ModuleOp module_;
  KernelOptions options_;
  mlir::SymbolTable symbols_;
  llvm::StringMap<mlir::func::FuncOp> byKey_;
};

} // namespace llamac::cpu

#endif // LLAMAC_CODEGEN_CPU_KERNELS_H
