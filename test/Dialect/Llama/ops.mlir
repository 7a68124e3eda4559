// RUN: llamac-opt %s | llamac-opt | FileCheck %s
// RUN: llamac-opt %s --mlir-print-op-generic | llamac-opt | FileCheck %s

// Every op, attribute and type of the llama dialect parses, prints in its
// custom form, and parses again to the same IR (also from the generic form).

// CHECK-LABEL: func.func @params
func.func @params() -> (tensor<576x1536xf32>, !llama.qtensor<1536x576, q8_0>,
                        !llama.qtensor<1536x576, q4_0>,
                        !llama.qtensor<1536x576, q4_1>,
                        !llama.qtensor<4096x4096, int4<block = 128>>,
                        !llama.qtensor<4096x4096, int4<block = 32, zero_points>>,
                        tensor<576xbf16>) {
  // CHECK: llama.param "model.layers.0.mlp.down_proj.weight" : tensor<576x1536xf32>
  %0 = llama.param "model.layers.0.mlp.down_proj.weight" : tensor<576x1536xf32>
  // CHECK: llama.param "blk.0.ffn_up.weight" : !llama.qtensor<1536x576, q8_0>
  %1 = llama.param "blk.0.ffn_up.weight" : !llama.qtensor<1536x576, q8_0>
  // CHECK: !llama.qtensor<1536x576, q4_0>
  %2 = llama.param "w2" : !llama.qtensor<1536x576, q4_0>
  // CHECK: !llama.qtensor<1536x576, q4_1>
  %3 = llama.param "w3" : !llama.qtensor<1536x576, q4_1>
  // CHECK: !llama.qtensor<4096x4096, int4<block = 128>>
  %4 = llama.param "w4" : !llama.qtensor<4096x4096, int4<block = 128>>
  // CHECK: !llama.qtensor<4096x4096, int4<block = 32, zero_points>>
  %5 = llama.param "w5" : !llama.qtensor<4096x4096, int4<block = 32, zero_points>>
  // CHECK: !llama.qtensor<1536x576, q4_0, packed = r16>
  %7 = llama.param "packed" : !llama.qtensor<1536x576, q4_0, packed = r16>
  // CHECK: llama.param "norm" : tensor<576xbf16>
  %6 = llama.param "norm" : tensor<576xbf16>
  return %0, %1, %2, %3, %4, %5, %6 : tensor<576x1536xf32>, !llama.qtensor<1536x576, q8_0>,
      !llama.qtensor<1536x576, q4_0>, !llama.qtensor<1536x576, q4_1>,
      !llama.qtensor<4096x4096, int4<block = 128>>,
      !llama.qtensor<4096x4096, int4<block = 32, zero_points>>, tensor<576xbf16>
}

// CHECK-LABEL: func.func @embedding
// CHECK-SAME: (%[[TABLE:.+]]: tensor<49152x576xf16>, %[[QTABLE:.+]]: !llama.qtensor<49152x576, q8_0>, %[[TOKENS:.+]]: tensor<?xi32>)
func.func @embedding(%table: tensor<49152x576xf16>,
                     %qtable: !llama.qtensor<49152x576, q8_0>,
                     %tokens: tensor<?xi32>) -> (tensor<?x576xf32>, tensor<?x576xf32>) {
  // CHECK: llama.embedding %[[TABLE]][%[[TOKENS]]] : tensor<49152x576xf16>, tensor<?xi32> -> tensor<?x576xf32>
  %0 = llama.embedding %table[%tokens] : tensor<49152x576xf16>, tensor<?xi32> -> tensor<?x576xf32>
  // CHECK: llama.embedding %[[QTABLE]][%[[TOKENS]]] : !llama.qtensor<49152x576, q8_0>, tensor<?xi32> -> tensor<?x576xf32>
  %1 = llama.embedding %qtable[%tokens] : !llama.qtensor<49152x576, q8_0>, tensor<?xi32> -> tensor<?x576xf32>
  return %0, %1 : tensor<?x576xf32>, tensor<?x576xf32>
}

// CHECK-LABEL: func.func @rms_norm
// CHECK-SAME: (%[[X:.+]]: tensor<?x576xf32>, %[[W:.+]]: tensor<576xf32>)
func.func @rms_norm(%x: tensor<?x576xf32>, %w: tensor<576xf32>) -> tensor<?x576xf32> {
  // CHECK: llama.rms_norm %[[X]], %[[W]] eps = 1.000000e-05 : tensor<?x576xf32>, tensor<576xf32>
  %0 = llama.rms_norm %x, %w eps = 1.0e-05 : tensor<?x576xf32>, tensor<576xf32>
  return %0 : tensor<?x576xf32>
}

// CHECK-LABEL: func.func @linear
// CHECK-SAME: (%[[X:.+]]: tensor<?x576xf32>, %[[W:.+]]: tensor<1536x576xbf16>, %[[Q:.+]]: !llama.qtensor<1536x576, q4_0>, %[[B:.+]]: tensor<1536xf32>)
func.func @linear(%x: tensor<?x576xf32>, %w: tensor<1536x576xbf16>,
                  %q: !llama.qtensor<1536x576, q4_0>, %b: tensor<1536xf32>)
    -> (tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<?x1536xf32>) {
  // CHECK: llama.linear %[[X]], %[[W]] : (tensor<?x576xf32>, tensor<1536x576xbf16>) -> tensor<?x1536xf32>
  %0 = llama.linear %x, %w : (tensor<?x576xf32>, tensor<1536x576xbf16>) -> tensor<?x1536xf32>
  // CHECK: llama.linear %[[X]], %[[Q]] : (tensor<?x576xf32>, !llama.qtensor<1536x576, q4_0>) -> tensor<?x1536xf32>
  %1 = llama.linear %x, %q : (tensor<?x576xf32>, !llama.qtensor<1536x576, q4_0>) -> tensor<?x1536xf32>
  // CHECK: llama.linear %[[X]], %[[W]] bias %[[B]] : (tensor<?x576xf32>, tensor<1536x576xbf16>, tensor<1536xf32>) -> tensor<?x1536xf32>
  %2 = llama.linear %x, %w bias %b : (tensor<?x576xf32>, tensor<1536x576xbf16>, tensor<1536xf32>) -> tensor<?x1536xf32>
  return %0, %1, %2 : tensor<?x1536xf32>, tensor<?x1536xf32>, tensor<?x1536xf32>
}

// CHECK-LABEL: func.func @rope
// CHECK-SAME: (%[[Q:.+]]: tensor<?x576xf32>, %[[K:.+]]: tensor<?x1024xf32>, %[[POS:.+]]: index)
func.func @rope(%q: tensor<?x576xf32>, %k: tensor<?x1024xf32>, %pos: index)
    -> (tensor<?x576xf32>, tensor<?x1024xf32>, tensor<?x576xf32>, tensor<?x1024xf32>) {
  // CHECK: llama.rope %[[Q]] at %[[POS]] head_dim = 64 theta = 1.000000e+04 : tensor<?x576xf32>
  %0 = llama.rope %q at %pos head_dim = 64 theta = 10000.0 : tensor<?x576xf32>
  // CHECK: llama.rope %[[K]] at %[[POS]] head_dim = 128 theta = 5.000000e+05
  // CHECK-SAME: scaling = <llama3, factor = 8.000000e+00, low_freq_factor = 2.000000e+00, high_freq_factor = 3.000000e+00, original_max_position = 4096> : tensor<?x1024xf32>
  %1 = llama.rope %k at %pos head_dim = 128 theta = 500000.0
      scaling = <llama3, factor = 8.0, low_freq_factor = 2.0, high_freq_factor = 3.0,
                 original_max_position = 4096> : tensor<?x1024xf32>
  // CHECK: llama.rope %[[Q]] at %[[POS]] head_dim = 64 rotary_dim = 32 theta = 1.000000e+04 interleaved : tensor<?x576xf32>
  %2 = llama.rope %q at %pos head_dim = 64 rotary_dim = 32 theta = 10000.0 interleaved : tensor<?x576xf32>
  // Parameters equal to their defaults are not printed.
  // CHECK: scaling = <linear, factor = 2.000000e+00> : tensor<?x1024xf32>
  %3 = llama.rope %k at %pos head_dim = 128 theta = 10000.0
      scaling = <linear, factor = 2.0> : tensor<?x1024xf32>
  return %0, %1, %2, %3 : tensor<?x576xf32>, tensor<?x1024xf32>, tensor<?x576xf32>, tensor<?x1024xf32>
}

// CHECK-LABEL: func.func @attention
// CHECK-SAME: (%[[Q:.+]]: tensor<?x576xf32>, %[[K:.+]]: tensor<?x192xf32>, %[[V:.+]]: tensor<?x192xf32>, %[[KC:.+]]: tensor<30x3x2048x64xf32>, %[[VC:.+]]: tensor<30x3x2048x64xf16>, %[[POS:.+]]: index)
func.func @attention(%q: tensor<?x576xf32>, %k: tensor<?x192xf32>, %v: tensor<?x192xf32>,
                     %kc: tensor<30x3x2048x64xf32>, %vc: tensor<30x3x2048x64xf16>,
                     %pos: index)
    -> (tensor<?x576xf32>, tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf16>) {
  // CHECK: %{{.+}}, %{{.+}}, %{{.+}} = llama.attention %[[Q]], %[[K]], %[[V]], %[[KC]], %[[VC]] at %[[POS]] layer = 29 heads = 9 kv_heads = 3
  // CHECK-SAME: : tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>, tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf16> -> tensor<?x576xf32>
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos layer = 29 heads = 9 kv_heads = 3
      : tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>,
        tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf16> -> tensor<?x576xf32>
  // CHECK: llama.attention {{.+}} layer = 0 heads = 9 kv_heads = 3 scale = 1.250000e-01
  %o2, %kc2, %vc2 = llama.attention %q, %k, %v, %kc1, %vc1 at %pos layer = 0 heads = 9 kv_heads = 3 scale = 0.125
      : tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>,
        tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf16> -> tensor<?x576xf32>
  return %o2, %kc2, %vc2 : tensor<?x576xf32>, tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf16>
}

// CHECK-LABEL: func.func @elementwise
// CHECK-SAME: (%[[A:.+]]: tensor<?x1536xf32>, %[[B:.+]]: tensor<?x1536xf32>)
func.func @elementwise(%a: tensor<?x1536xf32>, %b: tensor<?x1536xf32>) -> (tensor<?x1536xf32>, tensor<?x1536xf32>) {
  // CHECK: llama.swiglu %[[A]], %[[B]] : tensor<?x1536xf32>
  %0 = llama.swiglu %a, %b : tensor<?x1536xf32>
  // CHECK: llama.add %[[A]], %[[B]] : tensor<?x1536xf32>
  %1 = llama.add %a, %b : tensor<?x1536xf32>
  return %0, %1 : tensor<?x1536xf32>, tensor<?x1536xf32>
}

// CHECK-LABEL: func.func @argmax
// CHECK-SAME: (%[[L:.+]]: tensor<1x49152xf32>)
func.func @argmax(%logits: tensor<1x49152xf32>) -> tensor<1xi32> {
  // CHECK: llama.argmax %[[L]] : tensor<1x49152xf32> -> tensor<1xi32>
  %0 = llama.argmax %logits : tensor<1x49152xf32> -> tensor<1xi32>
  return %0 : tensor<1xi32>
}

// CHECK-LABEL: func.func @attributes
// CHECK: llama.quant = #llama.quant<q4_1>
// CHECK-SAME: llama.quant_int4 = #llama.quant<int4<block = 64, zero_points>>
// CHECK-SAME: llama.scaling = #llama.rope_scaling<llama3, factor = 3.200000e+01>
func.func @attributes() attributes {
    llama.quant = #llama.quant<q4_1>,
    llama.quant_int4 = #llama.quant<int4<block = 64, zero_points>>,
    llama.scaling = #llama.rope_scaling<llama3, factor = 32.0>} {
  return
}

// Prologues and the residual epilogue of llama.linear, and multi_linear.
// CHECK-LABEL: func.func @fused_products
// CHECK-SAME: (%[[X:.+]]: tensor<?x64xf32>, %[[U:.+]]: tensor<?x64xf32>, %[[G:.+]]: tensor<64xf32>, %[[W:.+]]: tensor<32x64xf32>, %[[Q:.+]]: !llama.qtensor<64x64, q8_0>, %[[R:.+]]: tensor<?x32xf32>)
func.func @fused_products(%x: tensor<?x64xf32>, %up: tensor<?x64xf32>, %g: tensor<64xf32>,
                          %w: tensor<32x64xf32>, %q: !llama.qtensor<64x64, q8_0>,
                          %r: tensor<?x32xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x64xf32>) {
  // CHECK: llama.linear %[[X]], %[[W]] residual %[[R]] norm %[[G]] eps = 1.000000e-05 : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<?x32xf32>, tensor<64xf32>) -> tensor<?x32xf32>
  %0 = llama.linear %x, %w residual %r norm %g eps = 1.0e-5
      : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<?x32xf32>, tensor<64xf32>) -> tensor<?x32xf32>
  // CHECK: llama.linear %[[X]], %[[W]] swiglu %[[U]] : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<?x64xf32>) -> tensor<?x32xf32>
  %1 = llama.linear %x, %w swiglu %up : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<?x64xf32>) -> tensor<?x32xf32>
  // CHECK: llama.multi_linear %[[X]], [%[[W]], %[[Q]]] norm %[[G]] eps = 1.000000e-05 : (tensor<?x64xf32>, tensor<32x64xf32>, !llama.qtensor<64x64, q8_0>, tensor<64xf32>) -> (tensor<?x32xf32>, tensor<?x64xf32>)
  %2:2 = llama.multi_linear %x, [%w, %q] norm %g eps = 1.0e-5
      : (tensor<?x64xf32>, tensor<32x64xf32>, !llama.qtensor<64x64, q8_0>, tensor<64xf32>)
      -> (tensor<?x32xf32>, tensor<?x64xf32>)
  return %0, %1, %2#1 : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x64xf32>
}
