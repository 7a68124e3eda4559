// RUN: llamac-opt %s -split-input-file --convert-llama-to-cpu -verify-diagnostics

// expected-error @+1 {{@forward must be (tokens: tensor<?xi32>, pos: index, k_cache, v_cache) -> (logits: tensor<1xVxf32>, k_cache, v_cache): wrong number of arguments or results}}
func.func @forward(%tokens: tensor<?xi32>) -> tensor<1x32xf32> {
  %w = llama.param "w" {llamac.offset = 0 : i64} : tensor<1x32xf32>
  return %w : tensor<1x32xf32>
}

// -----

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x4xf32>, %vc: tensor<1x1x16x4xf32>)
    -> (tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) {
  // expected-error @+1 {{parameter has no weights offset; run llama-layout-weights first}}
  %emb = llama.param "embed" : tensor<32x8xf32>
  %h = llama.embedding %emb[%tokens] : tensor<32x8xf32>, tensor<?xi32> -> tensor<?x8xf32>
  %c0 = arith.constant 0 : index
  %hl = tensor.extract_slice %h[%c0, 0] [1, 8] [1, 1] : tensor<?x8xf32> to tensor<1x8xf32>
  %logits = llama.linear %hl, %emb : (tensor<1x8xf32>, tensor<32x8xf32>) -> tensor<1x32xf32>
  return %logits, %kc, %vc : tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>
}

// -----

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x4xf32>, %vc: tensor<1x1x16x4xf32>)
    -> (tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) {
  %emb = llama.param "embed" {llamac.offset = 0 : i64} : tensor<32x4xf32>
  %h = llama.embedding %emb[%tokens] : tensor<32x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  // expected-error @+1 {{a cache is used again after this attention updates it; caches are updated in place and must flow linearly}}
  %o, %kc1, %vc1 = llama.attention %h, %h, %h, %kc, %vc at %pos layer = 0 heads = 1 kv_heads = 1
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32> -> tensor<?x4xf32>
  %o2, %kc2, %vc2 = llama.attention %o, %o, %o, %kc, %vc1 at %pos layer = 0 heads = 1 kv_heads = 1
      : tensor<?x4xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32> -> tensor<?x4xf32>
  %c0 = arith.constant 0 : index
  %hl = tensor.extract_slice %o2[%c0, 0] [1, 4] [1, 1] : tensor<?x4xf32> to tensor<1x4xf32>
  %logits = llama.linear %hl, %emb : (tensor<1x4xf32>, tensor<32x4xf32>) -> tensor<1x32xf32>
  return %logits, %kc2, %vc2 : tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>
}

// -----

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x4xf32>, %vc: tensor<1x1x16x4xf32>)
    -> (tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) {
  %emb = llama.param "embed" {llamac.offset = 0 : i64} : tensor<32x4xf32>
  %h = llama.embedding %emb[%tokens] : tensor<32x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  // expected-error @+1 {{the CPU target cannot lower 'tensor.empty' in @forward}}
  %e = tensor.empty() : tensor<1x4xf32>
  %logits = llama.linear %e, %emb : (tensor<1x4xf32>, tensor<32x4xf32>) -> tensor<1x32xf32>
  return %logits, %kc, %vc : tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>
}

// -----

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x4xf32>, %vc: tensor<1x1x16x4xf32>)
    -> (tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) {
  %emb = llama.param "embed" {llamac.offset = 0 : i64} : tensor<32x4xf32>
  %h = llama.embedding %emb[%tokens] : tensor<32x4xf32>, tensor<?xi32> -> tensor<?x4xf32>
  %c0 = arith.constant 0 : index
  // expected-error @+1 {{the CPU target only supports slices of whole rows of a 2-D activation}}
  %hl = tensor.extract_slice %h[%c0, 1] [1, 3] [1, 1] : tensor<?x4xf32> to tensor<1x3xf32>
  %w = llama.param "w" {llamac.offset = 1024 : i64} : tensor<32x3xf32>
  %logits = llama.linear %hl, %w : (tensor<1x3xf32>, tensor<32x3xf32>) -> tensor<1x32xf32>
  return %logits, %kc, %vc : tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>
}
