// RUN: llamac-opt %s -split-input-file --onnx-raise-llama -verify-diagnostics | FileCheck %s

// MatMulNBits weights become q4_0 params (q4_1 with zero points) that name
// their scales and zero points; a packed Q/K/V weight is read as three row
// windows.

// CHECK-LABEL: func.func @forward
// CHECK-DAG: llama.param "qkv.B" {llamac.matmul_nbits = {block_size = 32 : i64, scales = "qkv.scales"}, llamac.rows_from = 0 : i64} : !llama.qtensor<32x32, q4_0>
// CHECK-DAG: llama.param "qkv.B" {llamac.matmul_nbits = {block_size = 32 : i64, scales = "qkv.scales"}, llamac.rows_from = 32 : i64} : !llama.qtensor<16x32, q4_0>
// CHECK-DAG: llama.param "qkv.B" {llamac.matmul_nbits = {block_size = 32 : i64, scales = "qkv.scales"}, llamac.rows_from = 48 : i64} : !llama.qtensor<16x32, q4_0>
// CHECK-DAG: llama.param "head.B" {llamac.matmul_nbits = {block_size = 32 : i64, scales = "head.scales", zero_points = "head.zp"}} : !llama.qtensor<10x32, q4_1>
// CHECK-DAG: llama.attention
func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x16xf32>, %pv: tensor<?x1x?x16xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x32xf32>
  %b = onnx.initializer "qkv.B" : tensor<64x1x16xui8>
  %s = onnx.initializer "qkv.scales" : tensor<64xf32>
  %hb = onnx.initializer "head.B" : tensor<10x1x16xui8>
  %hs = onnx.initializer "head.scales" : tensor<10xf16>
  %hz = onnx.initializer "head.zp" : tensor<10xui8>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x32xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %qkv = onnx.ms.MatMulNBits %e, %b, %s, %none, %none, %none {K = 32 : i64, N = 64 : i64, bits = 4 : i64, block_size = 32 : i64}
      : (tensor<*xf32>, tensor<64x1x16xui8>, tensor<64xf32>, none, none, none) -> tensor<*xf32>
  %o, %k, %v, %qk = onnx.ms.GroupQueryAttention %qkv, %none, %none, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, none, none, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  %logits = onnx.ms.MatMulNBits %o, %hb, %hs, %hz, %none, %none {K = 32 : i64, N = 10 : i64, bits = 4 : i64, block_size = 32 : i64}
      : (tensor<*xf32>, tensor<10x1x16xui8>, tensor<10xf16>, tensor<10xui8>, none, none) -> tensor<*xf32>
  return %logits, %k, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
