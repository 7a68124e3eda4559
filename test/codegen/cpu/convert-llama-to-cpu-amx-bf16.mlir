// RUN: llamac-opt %s --llama-pack-weights="packing=r16 dense=true" --llama-layout-weights --convert-llama-to-cpu="vector-width=16 amx=true amx-bf16=true" --canonicalize --cse | FileCheck %s
// RUN: llamac-opt %s --llama-pack-weights="packing=r16 dense=true" --llama-layout-weights --convert-llama-to-cpu="vector-width=16 amx=true amx-bf16=true" --canonicalize --cse --convert-vector-to-llvm=enable-amx | FileCheck %s --check-prefix=LLVM
// RUN: llamac-opt %s --llama-pack-weights="packing=r16 dense=true" --llama-layout-weights --convert-llama-to-cpu="vector-width=16 amx=true" --canonicalize --cse | FileCheck %s --check-prefix=OFF
// RUN: llamac-opt %s --llama-pack-weights="packing=r16 dense=true" --llama-layout-weights --convert-llama-to-cpu="vector-width=16 bf16-dot=true" --canonicalize --cse | FileCheck %s --check-prefix=DOT

// With amx-bf16, a float product (weights packed r16) takes its tokens 16
// at a time in AMX bf16 tile products: the input rounded to bf16 once (only
// for 16 tokens or more), then per chunk of up to 8 blocks of 32 columns
// the group's weights rounded to bf16 and interleaved in pairs of columns
// into scratch, and for each tile of 16 tokens, C = y's 16 x 16 f32
// (started as bias + residual), A = 16 tokens x 32 bf16 of the input, B =
// 16 rows of pairs from scratch.

// The rounded input: computed when the call has 16 tokens or more, shared
// by the products of the same input.
// CHECK-LABEL: func.func @llamac_forward(
// CHECK: %[[XB:.+]] = memref.view %[[ARENA:.+]][%[[AT:.+]]][%[[ROWS:.+]]] : memref<?xi8> to memref<?x96xbf16>
// CHECK-NEXT: %[[MANY:.+]] = arith.cmpi uge, %[[ROWS]], %c16 : index
// CHECK-NEXT: scf.if %[[MANY]] {
// The same bytes as i16 bits for the rounding kernel's stores.
// CHECK-NEXT: %[[BITS:.+]] = memref.view %[[ARENA]][%[[AT]]][%[[ROWS]]] : memref<?xi8> to memref<?x96xi16>
// CHECK-NEXT: lrt.parallel_for %{{.+}}, %[[ROWS]] tasks @round_bf16_64(%[[ROWS]], %[[X:[^,]+]], %[[BITS]]) : !llvm.ptr, index, memref<?x64xf32>, memref<?x96xi16>
// CHECK-NEXT: }
// CHECK-NEXT: lrt.parallel_for %{{.+}}, %c4 tasks @linear_f16_amx_64x64(%[[ROWS]], %[[X]], %[[XB]], %{{.+}}, %{{.+}}) : {{.+}}, memref<?x64xf32>, memref<?x96xbf16>, memref<4096xf16>, memref<?x64xf32>
// CHECK-NOT: round_bf16_64
// CHECK: tasks @linear_bf16_amx_32x64(%[[ROWS]], %[[X]], %[[XB]],
// CHECK-NOT: round_bf16_64
// CHECK: tasks @linear_f32_amx_32x64(%[[ROWS]], %[[X]], %[[XB]],
// The attention output: a second rounding, for the 40-row product.
// CHECK: tasks @round_bf16_64(
// CHECK: tasks @linear_bf16_amx_40x64(

// f16 weights are rounded to bf16 on the way to scratch, as the input is
// (round_bf16_64, below).
// CHECK-LABEL: func.func private @linear_f16_amx_64x64(
// The scratch, as bf16 for the tile loads and as i16 for the stores (LLVM
// scalarizes vectors of bf16 on x86 without AVX512-BF16).
// CHECK: %[[SCRATCH:.+]] = memref.alloca() {alignment = 64 : i64} : memref<8192xi8>
// CHECK-DAG: memref.view %[[SCRATCH]][%c0][] : memref<8192xi8> to memref<128x32xbf16>
// CHECK-DAG: memref.view %[[SCRATCH]][%c0][] : memref<8192xi8> to memref<128x32xi16>
// CHECK: scf.for
// CHECK: scf.if
// Every token of the tiles starts from bias + residual (none here: zero).
// CHECK: vector.store %{{.+}}, %{{.+}}[%{{.+}}, %{{.+}}] : memref<?x64xf32>, vector<16xf32>
// CHECK: scf.for %[[R:.+]] = %c0 to %c32 step %c1 {
// CHECK: arith.extf %{{.+}} : vector<16xf16> to vector<16xf32>
// CHECK: arith.extf %{{.+}} : vector<16xf16> to vector<16xf32>
// CHECK: vector.interleave %{{.+}}, %{{.+}} : vector<16xf32> -> vector<32xf32>
// CHECK: arith.shrui
// CHECK: arith.trunci %{{.+}} : vector<32xi32> to vector<32xi16>
// CHECK: vector.store %{{.+}}, %{{.+}}[%[[R]], %c0] : memref<128x32xi16>, vector<32xi16>
// CHECK: scf.for %[[T0:.+]] = %c0 to %{{.+}} step %c16 {
// CHECK-NEXT: %[[C:.+]] = amx.tile_load %{{.+}}[%[[T0]], %[[G:.+]]] : memref<?x64xf32> into !amx.tile<16x16xf32>
// CHECK-NEXT: %[[A0:.+]] = amx.tile_load %{{.+}}[%[[T0]], %c0] : memref<?x96xbf16> into !amx.tile<16x32xbf16>
// CHECK-NEXT: %[[B0:.+]] = amx.tile_load %{{.+}}[%c0, %c0] : memref<128x32xbf16> into !amx.tile<16x32xbf16>
// CHECK-NEXT: %[[C0:.+]] = amx.tile_mulf %[[A0]], %[[B0]], %[[C]] : !amx.tile<16x32xbf16>, !amx.tile<16x32xbf16>, !amx.tile<16x16xf32>
// CHECK-NEXT: %[[A1:.+]] = amx.tile_load %{{.+}}[%[[T0]], %c32] : memref<?x96xbf16> into !amx.tile<16x32xbf16>
// CHECK-NEXT: %[[B1:.+]] = amx.tile_load %{{.+}}[%c16, %c0] : memref<128x32xbf16> into !amx.tile<16x32xbf16>
// CHECK-NEXT: %[[C1:.+]] = amx.tile_mulf %[[A1]], %[[B1]], %[[C0]] :
// CHECK-NEXT: amx.tile_store %{{.+}}[%[[T0]], %[[G]]], %[[C1]] : memref<?x64xf32>, !amx.tile<16x16xf32>
// The rest of the tokens: f32 register tiles of 4, then single tokens.
// CHECK: vector.fma

// The input, rounded to bf16 (to nearest even, in integer operations: the
// high half of bits + 0x7fff + bit 16).
// CHECK-LABEL: func.func private @round_bf16_64(
// CHECK: vector.load %{{.+}} : memref<?x64xf32>, vector<16xf32>
// CHECK: arith.trunci %{{.+}} : vector<16xi32> to vector<16xi16>
// CHECK: vector.store %{{.+}} : memref<?x96xi16>, vector<16xi16>

// bf16 weights need no rounding: interleaved as they are.
// CHECK-LABEL: func.func private @linear_bf16_amx_32x64(
// CHECK-NOT: arith.trunci
// CHECK: vector.bitcast %{{.+}} : vector<16xbf16> to vector<16xi16>
// CHECK: vector.interleave %{{.+}}, %{{.+}} : vector<16xi16> -> vector<32xi16>
// CHECK: amx.tile_mulf

// 40 rows: groups 0 and 1 on tiles, group 2 (rows 32..39) in f32 register
// tiles of 16 tokens; a call without a full tile (decode) runs no tile and
// rounds no weight.
// CHECK-LABEL: func.func private @linear_bf16_amx_40x64(
// CHECK: %[[FULL:.+]] = arith.cmpi ne, %{{.+}}, %c0 : index
// CHECK-NEXT: scf.if %[[FULL]] {
// CHECK-NEXT: %[[WHOLE:.+]] = arith.cmpi ult, %{{.+}}, %c2 : index
// CHECK-NEXT: scf.if %[[WHOLE]] {
// CHECK: amx.tile_mulf
// CHECK: } else {
// CHECK: scf.for %{{.+}} = %c0 to %{{.+}} step %c16 {
// CHECK-COUNT-16: vector.fma

// LLVM-LABEL: func.func private @linear_f16_amx_64x64(
// LLVM: llvm.call_intrinsic "llvm.x86.tileloadd64.internal"
// LLVM: llvm.call_intrinsic "llvm.x86.tdpbf16ps.internal"
// LLVM: llvm.call_intrinsic "llvm.x86.tilestored64.internal"

// With bf16-dot (AVX512-BF16, no AMX) the same scratch and rounded input
// feed register tiles of vdpbf16ps: two groups at a time (the 64-row
// product: even tasks take groups g and g + 1), 8 tokens x 2 groups of
// accumulators, each broadcast pair of inputs feeding both groups' scratch
// rows; f32 and f16 weights are rounded by LLVM's conversion (truncf, which
// AVX512-BF16 has), the input rows are 32 bf16 longer than K.
// DOT: tasks @round_bf16_64(%{{.+}}) : !llvm.ptr, index, memref<?x64xf32>, memref<?x96xi16>
// DOT: tasks @linear_f16_bf16dot_64x64(
// DOT-LABEL: func.func private @linear_f16_bf16dot_64x64(
// DOT: memref.alloca() {alignment = 64 : i64} : memref<16384xi8>
// DOT: arith.remui %{{.+}}, %c2 : index
// DOT: arith.truncf %{{.+}} : vector<32xf32> to vector<32xbf16>
// DOT: scf.for %{{.+}} = %c0 to %c32 step %c1 iter_args(
// DOT-COUNT-2: vector.load %{{.+}} : memref<128x32xbf16>, vector<32xbf16>
// DOT: vector.load %{{.+}} : memref<?x96xbf16>, vector<2xbf16>
// DOT: vector.broadcast %{{.+}} : i32 to vector<16xi32>
// DOT-COUNT-2: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// DOT-NOT: amx.
// DOT-LABEL: func.func private @round_bf16_64(
// DOT: arith.truncf %{{.+}} : vector<16xf32> to vector<16xbf16>

// Without amx-bf16 the float products keep their f32 kernels and nothing
// is rounded.
// OFF-NOT: round_bf16
// OFF-NOT: amx.tile_mulf
// OFF: tasks @linear_f16_r16_64x64(
// OFF-NOT: round_bf16
// OFF-NOT: amx.tile_mulf

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x32xf32>, %vc: tensor<1x1x16x32xf32>)
    -> (tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>) {
  %emb = llama.param "embed" : tensor<40x64xf16>
  %wq = llama.param "wq" : tensor<64x64xf16>
  %wk = llama.param "wk" : tensor<32x64xbf16>
  %wv = llama.param "wv" : tensor<32x64xf32>
  %wo = llama.param "wo" : tensor<40x64xbf16>
  %h = llama.embedding %emb[%tokens] : tensor<40x64xf16>, tensor<?xi32> -> tensor<?x64xf32>
  %q = llama.linear %h, %wq : (tensor<?x64xf32>, tensor<64x64xf16>) -> tensor<?x64xf32>
  %k = llama.linear %h, %wk : (tensor<?x64xf32>, tensor<32x64xbf16>) -> tensor<?x32xf32>
  %v = llama.linear %h, %wv : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 1
      : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32> -> tensor<?x64xf32>
  %y = llama.linear %o, %wo : (tensor<?x64xf32>, tensor<40x64xbf16>) -> tensor<?x40xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %y, %c0 : tensor<?x40xf32>
  %last = arith.subi %n, %c1 : index
  %yl = tensor.extract_slice %y[%last, 0] [1, 40] [1, 1] : tensor<?x40xf32> to tensor<1x40xf32>
  return %yl, %kc1, %vc1 : tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>
}
