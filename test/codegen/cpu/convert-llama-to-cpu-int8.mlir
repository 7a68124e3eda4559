// RUN: llamac-opt %s --llama-pack-weights=packing=r16 --llama-layout-weights --convert-llama-to-cpu=vector-width=16 --canonicalize --cse | FileCheck %s

// Packed (r16) quantized weights meet activations quantized to 8 bits per
// block of 32: one quantize_q8 per distinct input, shared by every product
// that reads it, then a VNNI kernel per weight, one task per 16 rows.
// Hidden 64, 2 heads of 32 (1 key/value head), vocabulary 40: the output
// layer's 40 rows pad to 3 groups of 16 (48 rows of storage).

// CHECK-LABEL: func.func @llamac_forward(
// The packed weights are byte views of the blob: q8_0 64x64 is 4 groups x
// 2 blocks x (16 scales x 2 + 16 x 32 values) = 4352 bytes; q4_1 40x64
// (3 groups, each block with 16 scales and 16 minimums) is 3 x 2 x 320;
// q4_0 32x64 is 2 x 2 x (32 + 16 x 16).
// CHECK: tasks @rms_norm_64(
// CHECK: memref.view %{{.+}}[%{{.+}}][] : memref<?xi8> to memref<4352xi8>
// CHECK: lrt.parallel_for %{{.+}}, %[[T:.+]] tasks @quantize_q8_64(%[[T]], %[[X:.+]], %[[XQ:.+]], %[[XS:.+]], %[[XSUM:.+]]) :
// CHECK-NOT: quantize_q8
// CHECK: tasks @linear_vnni_q8_0_64x64(%[[T]], %[[XQ]], %[[XS]], %[[XSUM]],
// CHECK-NOT: quantize_q8
// CHECK: memref.view %{{.+}}[%{{.+}}][] : memref<?xi8> to memref<1152xi8>
// CHECK: tasks @linear_vnni_q4_0_32x64(%[[T]], %[[XQ]], %[[XS]], %[[XSUM]],
// CHECK: tasks @linear_vnni_q4_0_32x64(%[[T]], %[[XQ]], %[[XS]], %[[XSUM]],
// The attention output is a new input: quantized again.
// CHECK: tasks @attention
// CHECK: tasks @quantize_q8_64(
// CHECK: tasks @linear_vnni_q8_0_64x64(
// The f32 weight keeps the float kernel.
// CHECK: tasks @linear_f32_64x64(
// CHECK: memref.view %{{.+}}[%{{.+}}][] : memref<?xi8> to memref<1920xi8>
// CHECK: tasks @quantize_q8_64(
// CHECK: tasks @linear_vnni_q4_1_40x64(

// The quantizer: per block of 32, max |x| / 127 as the scale, values
// rounded half to even, and the block's sum of values.
// CHECK-LABEL: func.func private @quantize_q8_64(
// CHECK: vector.reduction <maxnumf>
// CHECK: math.roundeven
// CHECK: arith.fptosi
// CHECK: vector.reduction <add>
// CHECK: arith.trunci {{.+}} : vector<32xi32> to vector<32xi8>

// The product: unsigned weight bytes times signed activations, four per
// 32-bit lane, in two chains; q8_0 weights were biased by 128, so 128 times
// the activations' sum comes off before scaling.
// CHECK-LABEL: func.func private @linear_vnni_q8_0_64x64(
// CHECK: arith.constant 128 : i32
// CHECK-COUNT-8: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK: arith.sitofp
// CHECK: vector.fma

// q4_1 adds minimum x scale x sum of values; 40 rows: the last group's
// stores are masked.
// CHECK-LABEL: func.func private @linear_vnni_q4_1_40x64(
// CHECK-COUNT-8: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"
// CHECK: vector.fma
// CHECK: vector.fma
// CHECK: vector.maskedstore

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x32xf32>, %vc: tensor<1x1x16x32xf32>)
    -> (tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>) {
  %emb = llama.param "embed" : tensor<40x64xf16>
  %n1 = llama.param "n1" : tensor<64xf32>
  %wq = llama.param "wq" : !llama.qtensor<64x64, q8_0>
  %wk = llama.param "wk" : !llama.qtensor<32x64, q4_0>
  %wv = llama.param "wv" : !llama.qtensor<32x64, q4_0>
  %wo = llama.param "wo" : !llama.qtensor<64x64, q8_0>
  %wf = llama.param "wf" : tensor<64x64xf32>
  %nf = llama.param "nf" : tensor<64xf32>
  %head = llama.param "head" : !llama.qtensor<40x64, q4_1>
  %h = llama.embedding %emb[%tokens] : tensor<40x64xf16>, tensor<?xi32> -> tensor<?x64xf32>
  %x = llama.rms_norm %h, %n1 eps = 1.0e-5 : tensor<?x64xf32>, tensor<64xf32>
  %q = llama.linear %x, %wq : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>) -> tensor<?x64xf32>
  %k = llama.linear %x, %wk : (tensor<?x64xf32>, !llama.qtensor<32x64, q4_0>) -> tensor<?x32xf32>
  %v = llama.linear %x, %wv : (tensor<?x64xf32>, !llama.qtensor<32x64, q4_0>) -> tensor<?x32xf32>
  %qr = llama.rope %q at %pos head_dim = 32 theta = 10000.0 : tensor<?x64xf32>
  %kr = llama.rope %k at %pos head_dim = 32 theta = 10000.0 : tensor<?x32xf32>
  %o, %kc1, %vc1 = llama.attention %qr, %kr, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 1
      : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32> -> tensor<?x64xf32>
  %a = llama.linear %o, %wo : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>) -> tensor<?x64xf32>
  %f = llama.linear %a, %wf : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %h1 = llama.add %h, %f : tensor<?x64xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %h1, %c0 : tensor<?x64xf32>
  %last = arith.subi %n, %c1 : index
  %hl = tensor.extract_slice %h1[%last, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<1x64xf32>
  %y = llama.rms_norm %hl, %nf eps = 1.0e-5 : tensor<1x64xf32>, tensor<64xf32>
  %logits = llama.linear %y, %head : (tensor<1x64xf32>, !llama.qtensor<40x64, q4_1>) -> tensor<1x40xf32>
  return %logits, %kc1, %vc1 : tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>
}
