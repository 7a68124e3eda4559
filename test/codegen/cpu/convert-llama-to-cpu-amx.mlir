// RUN: llamac-opt %s --llama-pack-weights=packing=r16 --llama-layout-weights --convert-llama-to-cpu="vector-width=16 amx=true" --canonicalize --cse | FileCheck %s
// RUN: llamac-opt %s --llama-pack-weights=packing=r16 --llama-layout-weights --convert-llama-to-cpu="vector-width=16 amx=true" --canonicalize --cse --convert-vector-to-llvm=enable-amx | FileCheck %s --check-prefix=LLVM

// With AMX, a quantized product takes its tokens 16 at a time in tile
// products: per block of 32, A = 16 tokens x 32 int8 activations (a tile of
// the quantized rows, K bytes apart), B = the block's packed weights (8
// rows of 64 bytes: 16 weight rows x 4 consecutive values) made signed in a
// scratch tile, C = 16 x 16 int32. The rest of the tokens take the VNNI
// register tiles.

// CHECK: tasks @linear_amx_q8_0_64x64(
// CHECK: tasks @linear_amx_q4_0_32x64(
// CHECK: tasks @linear_amx_q4_1_32x64(

// q8_0: the stored values lose their offset of 128 (x ^ 128) on the way
// to the scratch tile, so the product is signed x signed and the int32
// tile, stored, is scaled token by token with no offset correction.
// CHECK-LABEL: func.func private @linear_amx_q8_0_64x64(
// CHECK-DAG: memref.alloca() {alignment = 64 : i64} : memref<16x16xi32>
// CHECK-DAG: memref.alloca() {alignment = 64 : i64} : memref<512xi8>
// CHECK: scf.for
// CHECK: scf.for
// CHECK: amx.tile_load %{{.+}}[%{{.+}}, %{{.+}}] : memref<?x64xi8> into !amx.tile<16x32xi8>
// CHECK-COUNT-8: arith.xori
// CHECK: amx.tile_load %{{.+}}[%{{.+}}], %c64 : memref<512xi8> into !amx.tile<8x64xi8>
// CHECK: amx.tile_zero : !amx.tile<16x16xi32>
// CHECK: amx.tile_muli %{{[^ ]+}}, %{{[^ ]+}}, %{{.+}} : !amx.tile<16x32xi8>, !amx.tile<8x64xi8>, !amx.tile<16x16xi32>
// CHECK: amx.tile_store
// CHECK-NOT: arith.constant 128 : i32
// CHECK-COUNT-16: vector.fma
// The remaining tokens: VNNI tiles of 4, then single tokens, with the
// correction for the offset.
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"

// q4_0: the nibbles are split (low nibbles: values 0..15, rows 0..3; high
// nibbles: values 16..31, rows 4..7) and lose their offset of 8.
// CHECK-LABEL: func.func private @linear_amx_q4_0_32x64(
// CHECK: arith.andi
// CHECK: arith.shrui
// CHECK: arith.subi
// CHECK: vector.store
// CHECK: amx.tile_load %{{.+}}[%{{.+}}], %c64 : memref<512xi8> into !amx.tile<8x64xi8>
// CHECK: amx.tile_muli %{{[^ ]+}}, %{{[^ ]+}}, %{{.+}} :

// q4_1 keeps unsigned values (it has a minimum, no offset): signed
// activations x unsigned weights.
// CHECK-LABEL: func.func private @linear_amx_q4_1_32x64(
// CHECK: amx.tile_muli %{{[^ ]+}}, %{{[^ ]+}} zext, %{{.+}} :

// The tile ops become the x86 tile intrinsics (the backend configures the
// tiles).
// LLVM-LABEL: func.func private @linear_amx_q8_0_64x64(
// LLVM: llvm.call_intrinsic "llvm.x86.tileloadd64.internal"
// LLVM: llvm.call_intrinsic "llvm.x86.tdpbssd.internal"
// LLVM: llvm.call_intrinsic "llvm.x86.tilestored64.internal"
// LLVM-LABEL: func.func private @linear_amx_q4_1_32x64(
// LLVM: llvm.call_intrinsic "llvm.x86.tdpbsud.internal"

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x32xf32>, %vc: tensor<1x1x16x32xf32>)
    -> (tensor<1x64xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>) {
  %emb = llama.param "embed" : tensor<40x64xf32>
  %wq = llama.param "wq" : !llama.qtensor<64x64, q8_0>
  %wk = llama.param "wk" : !llama.qtensor<32x64, q4_0>
  %wv = llama.param "wv" : !llama.qtensor<32x64, q4_1>
  %h = llama.embedding %emb[%tokens] : tensor<40x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %q = llama.linear %h, %wq : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>) -> tensor<?x64xf32>
  %k = llama.linear %h, %wk : (tensor<?x64xf32>, !llama.qtensor<32x64, q4_0>) -> tensor<?x32xf32>
  %v = llama.linear %h, %wv : (tensor<?x64xf32>, !llama.qtensor<32x64, q4_1>) -> tensor<?x32xf32>
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 1
      : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32> -> tensor<?x64xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %o, %c0 : tensor<?x64xf32>
  %last = arith.subi %n, %c1 : index
  %ol = tensor.extract_slice %o[%last, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<1x64xf32>
  return %ol, %kc1, %vc1 : tensor<1x64xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>
}
