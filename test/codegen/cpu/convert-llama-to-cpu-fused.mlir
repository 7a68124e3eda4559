// RUN: llamac-opt %s --llama-pack-weights=packing=r16 --llama-layout-weights --convert-llama-to-cpu=vector-width=16 --canonicalize --cse | FileCheck %s

// How the fused forms lower: a norm or SwiGLU prologue runs inside the
// quantizer for packed weights and as its own kernel into a scratch buffer
// for float ones (once per input and prologue); a multi_linear is one
// parallel region over its products' tasks; a residual is added by the
// product as it stores.

// CHECK-LABEL: func.func @llamac_forward(
// CHECK: tasks @rms_norm_quantize_q8_64(%[[T:.+]], %[[H:.+]], %[[G:.+]], %[[XQ:.+]], %[[XS:.+]], %[[XSUM:.+]]) :
// CHECK: tasks @rms_norm_64(%[[T]], %[[H]], %[[G]], %[[N:.+]]) :
// 4 + 2 groups of 16 rows, 8 tiles of 4 rows: 14 tasks.
// CHECK: lrt.parallel_for %{{.+}}, %c14 tasks @multi_linear_vnni_q8_0_64x64_linear_vnni_q4_0_32x64_linear_f32_32x64(%[[T]], %[[XQ]], %[[XS]], %[[XSUM]], %{{.+}}, %{{.+}}, %[[T]], %[[XQ]], %[[XS]], %[[XSUM]], %{{.+}}, %{{.+}}, %[[T]], %[[N]], %{{.+}}, %{{.+}})
// CHECK: tasks @attention
// CHECK: tasks @quantize_q8_64(
// CHECK: tasks @linear_vnni_q8_0_64x64_residual(%[[T]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[H1:.+]], %[[H]])
// CHECK: tasks @rms_norm_quantize_q8_64(%[[T]], %[[H1]],
// CHECK: tasks @multi_linear_vnni_q4_1_96x64_linear_vnni_q4_1_96x64(
// CHECK: tasks @swiglu_quantize_q8_96(
// CHECK: tasks @linear_vnni_q8_0_64x96_residual(%[[T]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %[[H1]])
// CHECK-NOT: tasks @add_64
// CHECK: tasks @rms_norm_64(%c1,
// CHECK: tasks @linear_f32_40x64(%c1,

// The fused quantizer: the norm's row into a stack row, then quantized.
// CHECK-LABEL: func.func private @rms_norm_quantize_q8_64(
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<1x64xf32>
// CHECK: math.sqrt
// CHECK: math.roundeven

// The composite clips its task range to each part and calls it.
// CHECK-LABEL: func.func private @multi_linear_vnni_q8_0_64x64_linear_vnni_q4_0_32x64_linear_f32_32x64(
// CHECK-SAME: %[[B:[a-z0-9]+]]: index, %[[E:[a-z0-9]+]]: index,
// CHECK: %[[E0:.+]] = arith.minui %[[E]], %c4
// CHECK: scf.if
// CHECK: func.call @linear_vnni_q8_0_64x64(%[[B]], %[[E0]],
// CHECK: %[[B1:.+]] = arith.maxui %[[B]], %c4
// CHECK: %[[E1:.+]] = arith.minui %[[E]], %c6
// CHECK: scf.if
// CHECK: arith.subi %[[B1]], %c4
// CHECK: func.call @linear_vnni_q4_0_32x64(
// CHECK: scf.if
// CHECK: func.call @linear_f32_32x64(

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x32xf32>, %vc: tensor<1x1x16x32xf32>)
    -> (tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>) {
  %emb = llama.param "embed" : tensor<40x64xf16>
  %n1 = llama.param "n1" : tensor<64xf32>
  %wq = llama.param "wq" : !llama.qtensor<64x64, q8_0>
  %wk = llama.param "wk" : !llama.qtensor<32x64, q4_0>
  %wv = llama.param "wv" : tensor<32x64xf32>
  %wo = llama.param "wo" : !llama.qtensor<64x64, q8_0>
  %n2 = llama.param "n2" : tensor<64xf32>
  %wg = llama.param "wg" : !llama.qtensor<96x64, q4_1>
  %wu = llama.param "wu" : !llama.qtensor<96x64, q4_1>
  %wd = llama.param "wd" : !llama.qtensor<64x96, q8_0>
  %nf = llama.param "nf" : tensor<64xf32>
  %head = llama.param "head" : tensor<40x64xf32>
  %h = llama.embedding %emb[%tokens] : tensor<40x64xf16>, tensor<?xi32> -> tensor<?x64xf32>
  %qkv:3 = llama.multi_linear %h, [%wq, %wk, %wv] norm %n1 eps = 1.0e-5
      : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>, !llama.qtensor<32x64, q4_0>, tensor<32x64xf32>, tensor<64xf32>)
      -> (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>)
  %qr = llama.rope %qkv#0 at %pos head_dim = 32 theta = 10000.0 : tensor<?x64xf32>
  %kr = llama.rope %qkv#1 at %pos head_dim = 32 theta = 10000.0 : tensor<?x32xf32>
  %o, %kc1, %vc1 = llama.attention %qr, %kr, %qkv#2, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 1
      : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32> -> tensor<?x64xf32>
  %h1 = llama.linear %o, %wo residual %h : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %gu:2 = llama.multi_linear %h1, [%wg, %wu] norm %n2 eps = 1.0e-5
      : (tensor<?x64xf32>, !llama.qtensor<96x64, q4_1>, !llama.qtensor<96x64, q4_1>, tensor<64xf32>)
      -> (tensor<?x96xf32>, tensor<?x96xf32>)
  %h2 = llama.linear %gu#0, %wd residual %h1 swiglu %gu#1
      : (tensor<?x96xf32>, !llama.qtensor<64x96, q8_0>, tensor<?x64xf32>, tensor<?x96xf32>) -> tensor<?x64xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %h2, %c0 : tensor<?x64xf32>
  %last = arith.subi %n, %c1 : index
  %hl = tensor.extract_slice %h2[%last, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<1x64xf32>
  %logits = llama.linear %hl, %head norm %nf eps = 1.0e-5 : (tensor<1x64xf32>, tensor<40x64xf32>, tensor<64xf32>) -> tensor<1x40xf32>
  return %logits, %kc1, %vc1 : tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>
}
