// RUN: llamac-opt %s -split-input-file --onnx-raise-llama -verify-diagnostics | FileCheck %s

// A rotary applied by its own operator before GroupQueryAttention
// (do_rotary = 0): com.microsoft.RotaryEmbedding on the queries, opset 23's
// RotaryEmbedding (interleaved) on the keys. Both become llama.rope at the
// call's position, with the frequencies the cos/sin tables hold (head size
// 8 from num_heads; theta 10000: 1, 0.1, 0.01, 0.001).

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[POS:[^:]+]]: index
// CHECK: %[[Q:.+]] = llama.linear %{{.+}}, %{{.+}} : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
// CHECK: %[[QR:.+]] = llama.rope %[[Q]] at %[[POS]] head_dim = 8 theta = 1.000000e+04 {frequencies = array<f64: 1.000000e+00, 0.0999999{{[0-9]+}}, 0.0099999{{[0-9]+}}, 9.99999{{[0-9]+}}E-4>} : tensor<?x16xf32>
// CHECK: %[[K:.+]] = llama.linear %{{.+}}, %{{.+}} : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
// CHECK: %[[KR:.+]] = llama.rope %[[K]] at %[[POS]] head_dim = 8 theta = 1.000000e+04 interleaved {{.+}} : tensor<?x8xf32>
// CHECK: llama.attention %[[QR]], %[[KR]], %{{.+}}, %{{.+}}, %{{.+}} at %[[POS]] layer = 0 heads = 2 kv_heads = 1
func.func @main_graph(%ids: tensor<?x?xi64>, %positions: tensor<?x?xi64>, %pk: tensor<?x1x?x8xf32>, %pv: tensor<?x1x?x8xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x16xf32>
  %wq = onnx.initializer "wq" : tensor<16x16xf32>
  %wk = onnx.initializer "wk" : tensor<16x8xf32>
  %wv = onnx.initializer "wv" : tensor<16x8xf32>
  %head = onnx.initializer "head" : tensor<16x10xf32>
  %cos = onnx.Constant {value = dense<[[1.000000000e+00, 1.000000000e+00, 1.000000000e+00, 1.000000000e+00], [5.403023059e-01, 9.950041653e-01, 9.999500004e-01, 9.999995000e-01], [-4.161468365e-01, 9.800665778e-01, 9.998000067e-01, 9.999980000e-01], [-9.899924966e-01, 9.553364891e-01, 9.995500337e-01, 9.999955000e-01]]> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
  %sin = onnx.Constant {value = dense<[[0.000000000e+00, 0.000000000e+00, 0.000000000e+00, 0.000000000e+00], [8.414709848e-01, 9.983341665e-02, 9.999833334e-03, 9.999998333e-04], [9.092974268e-01, 1.986693308e-01, 1.999866669e-02, 1.999998667e-03], [1.411200081e-01, 2.955202067e-01, 2.999550020e-02, 2.999995500e-03]]> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x16xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %q = onnx.MatMul %e, %wq : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %k = onnx.MatMul %e, %wk : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %v = onnx.MatMul %e, %wv : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %qr = onnx.ms.RotaryEmbedding %q, %positions, %cos, %sin {num_heads = 2 : i64}
      : (tensor<*xf32>, tensor<?x?xi64>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<*xf32>
  %kr = onnx.RotaryEmbedding %k, %cos, %sin, %positions {num_heads = 1 : i64, interleaved = 1 : i64}
      : (tensor<*xf32>, tensor<4x4xf32>, tensor<4x4xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %o, %ko, %vo, %qk = onnx.ms.GroupQueryAttention %qr, %kr, %v, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  %logits = onnx.MatMul %o, %head : (tensor<*xf32>, tensor<16x10xf32>) -> tensor<*xf32>
  return %logits, %ko, %vo : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// Positions computed inside the graph are not the call's positions.
func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x8xf32>, %pv: tensor<?x1x?x8xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x16xf32>
  %wq = onnx.initializer "wq" : tensor<16x16xf32>
  %wk = onnx.initializer "wk" : tensor<16x8xf32>
  %wv = onnx.initializer "wv" : tensor<16x8xf32>
  %cos = onnx.Constant {value = dense<[[1.000000000e+00, 1.000000000e+00, 1.000000000e+00, 1.000000000e+00], [5.403023059e-01, 9.950041653e-01, 9.999500004e-01, 9.999995000e-01], [-4.161468365e-01, 9.800665778e-01, 9.998000067e-01, 9.999980000e-01], [-9.899924966e-01, 9.553364891e-01, 9.995500337e-01, 9.999955000e-01]]> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
  %sin = onnx.Constant {value = dense<[[0.000000000e+00, 0.000000000e+00, 0.000000000e+00, 0.000000000e+00], [8.414709848e-01, 9.983341665e-02, 9.999833334e-03, 9.999998333e-04], [9.092974268e-01, 1.986693308e-01, 1.999866669e-02, 1.999998667e-03], [1.411200081e-01, 2.955202067e-01, 2.999550020e-02, 2.999995500e-03]]> : tensor<4x4xf32>} : () -> tensor<4x4xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %p = onnx.Constant {value = dense<0> : tensor<1x1xi64>} : () -> tensor<1x1xi64>
  %e = onnx.Gather %table, %ids : (tensor<10x16xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %q = onnx.MatMul %e, %wq : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %k = onnx.MatMul %e, %wk : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %v = onnx.MatMul %e, %wv : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  // expected-error @+1 {{RotaryEmbedding's position ids must be a graph input}}
  %qr = onnx.ms.RotaryEmbedding %q, %p, %cos, %sin {num_heads = 2 : i64}
      : (tensor<*xf32>, tensor<1x1xi64>, tensor<4x4xf32>, tensor<4x4xf32>) -> tensor<*xf32>
  %o, %ko, %vo, %qk = onnx.ms.GroupQueryAttention %qr, %k, %v, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  return %o, %ko, %vo : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
