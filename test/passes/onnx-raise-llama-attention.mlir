// RUN: llamac-opt %s -split-input-file --onnx-raise-llama -verify-diagnostics | FileCheck %s

// Opset 23's Attention in a decoder: 3-D Q/K/V from the projections, the
// past keys and values as graph inputs, is_causal. It becomes llama.attention
// on the runtime's cache (2 query heads on 1 key/value head of 8), its
// present outputs the cache.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[POS:[^:]+]]: index
// CHECK: %[[Q:.+]] = llama.linear %{{.+}}, %{{.+}} : (tensor<?x16xf32>, tensor<16x16xf32>) -> tensor<?x16xf32>
// CHECK: %[[K:.+]] = llama.linear %{{.+}}, %{{.+}} : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
// CHECK: %[[V:.+]] = llama.linear %{{.+}}, %{{.+}} : (tensor<?x16xf32>, tensor<8x16xf32>) -> tensor<?x8xf32>
// CHECK: llama.attention %[[Q]], %[[K]], %[[V]], %{{.+}}, %{{.+}} at %[[POS]] layer = 0 heads = 2 kv_heads = 1 scale = 2.500000e-01
func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x8xf32>, %pv: tensor<?x1x?x8xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x16xf32>
  %wq = onnx.initializer "wq" : tensor<16x16xf32>
  %wk = onnx.initializer "wk" : tensor<16x8xf32>
  %wv = onnx.initializer "wv" : tensor<16x8xf32>
  %head = onnx.initializer "head" : tensor<16x10xf32>
  %e = onnx.Gather %table, %ids : (tensor<10x16xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %q = onnx.MatMul %e, %wq : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %k = onnx.MatMul %e, %wk : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %v = onnx.MatMul %e, %wv : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %o, %ko, %vo, %qk = onnx.Attention %q, %k, %v, %none, %pk, %pv
      {q_num_heads = 2 : i64, kv_num_heads = 1 : i64, is_causal = 1 : i64, scale = 0.25 : f32}
      : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  %logits = onnx.MatMul %o, %head : (tensor<*xf32>, tensor<16x10xf32>) -> tensor<*xf32>
  return %logits, %ko, %vo : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

// A mask (padding, or any other) has no counterpart in a causal cache.
func.func @main_graph(%ids: tensor<?x?xi64>, %mask: tensor<?x?xi1>, %pk: tensor<?x1x?x8xf32>, %pv: tensor<?x1x?x8xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %table = onnx.initializer "embed" : tensor<10x16xf32>
  %wq = onnx.initializer "wq" : tensor<16x16xf32>
  %wk = onnx.initializer "wk" : tensor<16x8xf32>
  %head = onnx.initializer "head" : tensor<16x10xf32>
  %e = onnx.Gather %table, %ids : (tensor<10x16xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %q = onnx.MatMul %e, %wq : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %k = onnx.MatMul %e, %wk : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  // expected-error @+1 {{Attention with an attn_mask is not raised}}
  %o, %ko, %vo, %qk = onnx.Attention %q, %k, %k, %mask, %pk, %pv
      {q_num_heads = 2 : i64, kv_num_heads = 1 : i64, is_causal = 1 : i64}
      : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, tensor<?x?xi1>, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  %logits = onnx.MatMul %o, %head : (tensor<*xf32>, tensor<16x10xf32>) -> tensor<*xf32>
  return %logits, %ko, %vo : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x8xf32>, %pv: tensor<?x1x?x8xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x16xf32>
  %wq = onnx.initializer "wq" : tensor<16x16xf32>
  %wk = onnx.initializer "wk" : tensor<16x8xf32>
  %head = onnx.initializer "head" : tensor<16x10xf32>
  %e = onnx.Gather %table, %ids : (tensor<10x16xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %q = onnx.MatMul %e, %wq : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %k = onnx.MatMul %e, %wk : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  // expected-error @+1 {{Attention without is_causal is not a decoder's}}
  %o, %ko, %vo, %qk = onnx.Attention %q, %k, %k, %none, %pk, %pv
      {q_num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none, tensor<?x1x?x8xf32>, tensor<?x1x?x8xf32>)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  %logits = onnx.MatMul %o, %head : (tensor<*xf32>, tensor<16x10xf32>) -> tensor<*xf32>
  return %logits, %ko, %vo : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
