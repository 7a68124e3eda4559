// RUN: llamac-opt %s -split-input-file --onnx-raise-llama -verify-diagnostics

// What onnx-raise-llama reports instead of raising.

// expected-error @+1 {{no attention (a GroupQueryAttention or Attention node, or a Softmax of scores) feeds the outputs}}
func.func @main_graph(%ids: tensor<?x?xi64>) -> tensor<*xf32> {
  %table = onnx.initializer "embed" : tensor<10x8xf32>
  %e = onnx.Gather %table, %ids : (tensor<10x8xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  return %e : tensor<*xf32>
}

// -----

// expected-error @+1 {{no Gather of the token ids from an embedding table}}
func.func @main_graph(%x: tensor<?x8xf32>) -> tensor<*xf32> {
  %y = onnx.Neg %x : (tensor<?x8xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x4xf32>, %pv: tensor<?x1x?x4xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x8xf32>
  %w = onnx.initializer "qkv" : tensor<8x16xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x8xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %qkv = onnx.MatMul %e, %w : (tensor<*xf32>, tensor<8x16xf32>) -> tensor<*xf32>
  %o, %k, %v, %qk = onnx.ms.GroupQueryAttention %qkv, %none, %none, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, none, none, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  // expected-error @+1 {{is not an operator llamac raises into the llama dialect}}
  %s = onnx.Softmax %o : (tensor<*xf32>) -> tensor<*xf32>
  return %s, %k, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x4xf32>, %pv: tensor<?x1x?x4xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x8xf32>
  %w = onnx.initializer "qkv" : tensor<8x16xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x8xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  // expected-error @+1 {{a product of two activations is attention written out in operators}}
  %sq = onnx.MatMul %e, %e : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %qkv = onnx.MatMul %sq, %w : (tensor<*xf32>, tensor<8x16xf32>) -> tensor<*xf32>
  %o, %k, %v, %qk = onnx.ms.GroupQueryAttention %qkv, %none, %none, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, none, none, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  return %o, %k, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x4xf32>, %pv: tensor<?x1x?x4xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x8xf32>
  %w = onnx.initializer "qkv" : tensor<8x16xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x8xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %qkv = onnx.MatMul %e, %w : (tensor<*xf32>, tensor<8x16xf32>) -> tensor<*xf32>
  // expected-error @+1 {{GroupQueryAttention with a sliding window, softcap, smooth softmax or QK output is not supported}}
  %o, %k, %v, %qk = onnx.ms.GroupQueryAttention %qkv, %none, %none, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64, local_window_size = 128 : i64}
      : (tensor<*xf32>, none, none, tensor<?x1x?x4xf32>, tensor<?x1x?x4xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  return %o, %k, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x16xf32>, %pv: tensor<?x1x?x16xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x32xf32>
  %b = onnx.initializer "qkv.B" : tensor<64x2x8xui8>
  %s = onnx.initializer "qkv.scales" : tensor<128xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x32xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  // expected-error @+1 {{MatMulNBits with K = 32, N = 64, block_size = 16: llamac needs K a multiple of block_size, and block_size a power of two of at least 32}}
  %qkv = onnx.ms.MatMulNBits %e, %b, %s, %none, %none, %none {K = 32 : i64, N = 64 : i64, bits = 4 : i64, block_size = 16 : i64}
      : (tensor<*xf32>, tensor<64x2x8xui8>, tensor<128xf32>, none, none, none) -> tensor<*xf32>
  %o, %k, %v, %qk = onnx.ms.GroupQueryAttention %qkv, %none, %none, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, none, none, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  return %o, %k, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}

// -----

func.func @main_graph(%ids: tensor<?x?xi64>, %pk: tensor<?x1x?x16xf32>, %pv: tensor<?x1x?x16xf32>)
    -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {
  %none = onnx.none
  %table = onnx.initializer "embed" : tensor<10x32xf32>
  %b = onnx.initializer "qkv.B" : tensor<64x1x16xui8>
  %s = onnx.initializer "qkv.scales" : tensor<64xf32>
  %z = onnx.initializer "qkv.zp" : tensor<64xf32>
  %c = onnx.Constant {value = dense<1> : tensor<1xi32>} : () -> tensor<1xi32>
  %e = onnx.Gather %table, %ids : (tensor<10x32xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  // expected-error @+1 {{MatMulNBits' zero points must be a uint8 initializer of packed 4-bit values, 64 bytes (float zero points are not supported)}}
  %qkv = onnx.ms.MatMulNBits %e, %b, %s, %z, %none, %none {K = 32 : i64, N = 64 : i64, bits = 4 : i64, block_size = 32 : i64}
      : (tensor<*xf32>, tensor<64x1x16xui8>, tensor<64xf32>, tensor<64xf32>, none, none) -> tensor<*xf32>
  %o, %k, %v, %qk = onnx.ms.GroupQueryAttention %qkv, %none, %none, %pk, %pv, %c, %c, %none, %none, %none, %none, %none
      {num_heads = 2 : i64, kv_num_heads = 1 : i64}
      : (tensor<*xf32>, none, none, tensor<?x1x?x16xf32>, tensor<?x1x?x16xf32>, tensor<1xi32>, tensor<1xi32>, none, none, none, none, none)
      -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>, none)
  return %o, %k, %v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>
}
