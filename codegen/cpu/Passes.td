//===- Passes.td - Passes of the CPU target ----------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the passes of the CPU code generator.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_CPU_PASSES_TD
#define LLAMAC_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLlamaToCPU : Pass<"convert-llama-to-cpu", "mlir::ModuleOp"> {
  let summary = "Lower the llama forward pass to CPU kernels on buffers";
  let description = [{
    Replaces `func.func @forward` (tensors, llama ops) with
    `func.func @llamac_forward`, the entry point of the runtime's ABI
    (`runtime/include/llamac/rt.h`): every weight becomes a `memref.view` of
    the weights blob at its `llamac.offset` (set by `llama-layout-weights`),
    the caches and logits are the caller's buffers (updated in place), and
    every other activation is placed in one arena by a static plan that
    serves any token count. Each llama op becomes an `lrt.parallel_for` over
    a task function generated for its exact shapes from scf/vector/memref/
    arith/math ops; ops with equal shapes share the task function.

    Before:
    ```mlir
    func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                       %kc: tensor<1x1x16x8xf32>, %vc: tensor<1x1x16x8xf32>)
        -> (tensor<1x32xf32>, tensor<1x1x16x8xf32>, tensor<1x1x16x8xf32>) {
      %w = llama.param "w" {llamac.offset = 0 : i64} : tensor<32x8xf32>
      ...
      %y = llama.linear %x, %w : (tensor<?x8xf32>, tensor<32x8xf32>)
          -> tensor<?x32xf32>
    ```
    After:
    ```mlir
    func.func @llamac_forward(%rt: !llvm.ptr, %tokens: memref<?xi32>,
        %pos: index, %kc: memref<1x1x16x8xf32>, %vc: memref<1x1x16x8xf32>,
        %logits: memref<1x32xf32>, %weights: memref<?xi8>,
        %arena: memref<?xi8>) attributes {llvm.emit_c_interface} {
      %w = memref.view %weights[%c0][] : memref<?xi8> to memref<32x8xf32>
      ...
      lrt.parallel_for %rt, %c8 tasks @linear_f32_32x8(%T, %x, %w, %y) : ...
    }
    func.func private @linear_f32_32x8(%begin: index, %end: index, ...)
    ```
    The arena's size is recorded on the module as `llamac.arena_fixed_bytes`
    + T x `llamac.arena_per_token_bytes`.
  }];
  let options = [
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"16",
           "f32 lanes per vector register">,
    Option<"tokenTile", "token-tile", "int64_t", /*default=*/"4",
           "Tokens per register tile of a matrix product">,
    Option<"rowTile", "row-tile", "int64_t", /*default=*/"4",
           "Weight rows per register tile and per task of a matrix product">,
    Option<"scalable", "scalable", "bool", /*default=*/"false",
           "Streaming kernels use scalable vectors (vector<[W]xf32>, "
           "loops stepping by W x vscale)">,
    Option<"scalableHalf", "scalable-half", "bool", /*default=*/"true",
           "Scalable vectors of f16/bf16 are legal (false: kernels reading "
           "them keep fixed lanes)">,
    Option<"amx", "amx", "bool", /*default=*/"false",
           "Quantized products of 16 tokens or more use AMX int8 tiles "
           "(amx.tile_muli); fewer tokens keep the VNNI register tiles">,
    Option<"amxBF16", "amx-bf16", "bool", /*default=*/"false",
           "Float (packed r16) products of 16 tokens or more use AMX bf16 "
           "tiles (amx.tile_mulf): activations and weights rounded to bf16, "
           "sums in f32; fewer tokens keep the f32 register tiles">,
    Option<"bf16Dot", "bf16-dot", "bool", /*default=*/"false",
           "The same bf16 products without AMX, in AVX512-BF16 register "
           "tiles (vdpbf16ps); amx-bf16 takes precedence">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
    "::mlir::LLVM::LLVMDialect", "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect", "::mlir::scf::SCFDialect",
    "::mlir::vector::VectorDialect", "::llamac::lrt::RuntimeDialect",
    "::mlir::amx::AMXDialect"
  ];
}

def LlamacApproximateMath : Pass<"llamac-approximate-math"> {
  let summary = "Replace f32 exp, tanh and erf by polynomial approximations";
  let description = [{
    Expands `math.exp` (and tanh, erf, log) on f32 scalars and vectors into
    the polynomial approximations of MLIR's math dialect, so that they stay
    vectorized instead of becoming one libm call per lane. f64 ops (the
    rotary angles) are left for libm.
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // LLAMAC_CODEGEN_CPU_PASSES_TD
