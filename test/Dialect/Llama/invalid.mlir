// RUN: llamac-opt %s -split-input-file -verify-diagnostics

// One case per verifier rule of the llama dialect's types, attributes and ops.

//===----------------------------------------------------------------------===//
// #llama.quant and !llama.qtensor
//===----------------------------------------------------------------------===//

// expected-error @+1 {{unknown quantization scheme 'q3_k'}}
func.func @unknown_scheme() attributes {s = #llama.quant<q3_k>} { return }

// -----

// expected-error @+1 {{int4 block size must be a power of two >= 16, got 24}}
func.func @int4_block_not_power_of_two() attributes {s = #llama.quant<int4<block = 24>>} { return }

// -----

// expected-error @+1 {{int4 block size must be a power of two >= 16, got 8}}
func.func @int4_block_too_small(%w: !llama.qtensor<64x64, int4<block = 8>>) { return }

// -----

// expected-error @+1 {{quantized tensor must be a 2-D matrix, got rank 1}}
func.func @qtensor_rank(%w: !llama.qtensor<64, q8_0>) { return }

// -----

// expected-error @+1 {{quantized tensor dimensions must be static and positive}}
func.func @qtensor_zero_rows(%w: !llama.qtensor<0x64, q8_0>) { return }

// -----

// expected-error @+1 {{quantized dimension 48 is not a multiple of the block size 32}}
func.func @qtensor_partial_block(%w: !llama.qtensor<16x48, q4_0>) { return }

// -----

//===----------------------------------------------------------------------===//
// #llama.rope_scaling
//===----------------------------------------------------------------------===//

// expected-error @+1 {{rope scaling factor must be positive}}
func.func @scaling_factor() attributes {s = #llama.rope_scaling<linear, factor = 0.0>} { return }

// -----

// expected-error @+1 {{low_freq_factor must be positive}}
func.func @scaling_low() attributes {s = #llama.rope_scaling<llama3, factor = 8.0, low_freq_factor = -1.0>} { return }

// -----

// expected-error @+1 {{high_freq_factor (1.000000e+00) must be greater than low_freq_factor (2.000000e+00)}}
func.func @scaling_high() attributes {s = #llama.rope_scaling<llama3, factor = 8.0, low_freq_factor = 2.0, high_freq_factor = 1.0>} { return }

// -----

// expected-error @+1 {{original_max_position must be positive}}
func.func @scaling_context() attributes {s = #llama.rope_scaling<llama3, factor = 8.0, original_max_position = 0>} { return }

// -----

//===----------------------------------------------------------------------===//
// llama.param
//===----------------------------------------------------------------------===//

func.func @param_empty_name() {
  // expected-error @+1 {{needs a non-empty parameter name}}
  %0 = llama.param "" : tensor<4x4xf32>
  return
}

// -----

func.func @param_zero_dim() {
  // expected-error @+1 {{parameter dimensions must be positive}}
  %0 = llama.param "w" : tensor<0x4xf32>
  return
}

// -----

func.func @param_dynamic() {
  // expected-error @+1 {{must be statically shaped 2-D float tensor or 1D tensor of}}
  %0 = llama.param "w" : tensor<?x4xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llama.embedding
//===----------------------------------------------------------------------===//

func.func @embedding_features(%t: tensor<100x64xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{result has 32 features but the table's rows have 64}}
  %0 = llama.embedding %t[%ids] : tensor<100x64xf32>, tensor<?xi32> -> tensor<?x32xf32>
  return
}

// -----

func.func @embedding_tokens(%t: tensor<100x64xf32>, %ids: tensor<3xi32>) {
  // expected-error @+1 {{result has 4 rows but there are 3 tokens}}
  %0 = llama.embedding %t[%ids] : tensor<100x64xf32>, tensor<3xi32> -> tensor<4x64xf32>
  return
}

// -----

func.func @embedding_dynamic_features(%t: tensor<100x64xf32>, %ids: tensor<?xi32>) {
  // expected-error @+1 {{result feature dimension must be static}}
  %0 = llama.embedding %t[%ids] : tensor<100x64xf32>, tensor<?xi32> -> tensor<?x?xf32>
  return
}

// -----

func.func @embedding_token_type(%t: tensor<100x64xf32>, %ids: tensor<?xf32>) {
  // expected-error @+1 {{operand #1 must be 1D tensor of 32-bit signless integer values}}
  %0 = llama.embedding %t[%ids] : tensor<100x64xf32>, tensor<?xf32> -> tensor<?x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llama.rms_norm
//===----------------------------------------------------------------------===//

func.func @rms_norm_weight(%x: tensor<?x64xf32>, %w: tensor<32xf32>) {
  // expected-error @+1 {{weight has 32 elements but the input has 64 features}}
  %0 = llama.rms_norm %x, %w eps = 1.0e-5 : tensor<?x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @rms_norm_eps(%x: tensor<?x64xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{epsilon must be positive}}
  %0 = llama.rms_norm %x, %w eps = 0.0 : tensor<?x64xf32>, tensor<64xf32>
  return
}

// -----

func.func @rms_norm_dynamic_features(%x: tensor<?x?xf32>, %w: tensor<64xf32>) {
  // expected-error @+1 {{input feature dimension must be static}}
  %0 = llama.rms_norm %x, %w eps = 1.0e-5 : tensor<?x?xf32>, tensor<64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llama.linear
//===----------------------------------------------------------------------===//

func.func @linear_reduction(%x: tensor<?x64xf32>, %w: tensor<128x32xf32>) {
  // expected-error @+1 {{input has 64 features but the weight [128, 32] expects 32}}
  %0 = llama.linear %x, %w : (tensor<?x64xf32>, tensor<128x32xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @linear_outputs(%x: tensor<?x64xf32>, %w: !llama.qtensor<128x64, q8_0>) {
  // expected-error @+1 {{result has 64 features but the weight [128, 64] produces 128}}
  %0 = llama.linear %x, %w : (tensor<?x64xf32>, !llama.qtensor<128x64, q8_0>) -> tensor<?x64xf32>
  return
}

// -----

func.func @linear_tokens(%x: tensor<2x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{input has 2 tokens but result has 3}}
  %0 = llama.linear %x, %w : (tensor<2x64xf32>, tensor<128x64xf32>) -> tensor<3x128xf32>
  return
}

// -----

func.func @linear_element_type(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{result element type must match the input's}}
  %0 = llama.linear %x, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf16>
  return
}

// -----

func.func @linear_bias(%x: tensor<?x64xf32>, %w: tensor<128x64xf32>, %b: tensor<64xf32>) {
  // expected-error @+1 {{bias has 64 elements but the layer has 128 outputs}}
  %0 = llama.linear %x, %w bias %b : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @linear_dynamic_features(%x: tensor<?x?xf32>, %w: tensor<128x64xf32>) {
  // expected-error @+1 {{input feature dimension must be static}}
  %0 = llama.linear %x, %w : (tensor<?x?xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  return
}

// -----

func.func @linear_dynamic_weight(%x: tensor<?x64xf32>, %w: tensor<?x64xf32>) {
  // expected-error @+1 {{operand #1 must be statically shaped 2-D float tensor or}}
  %0 = llama.linear %x, %w : (tensor<?x64xf32>, tensor<?x64xf32>) -> tensor<?x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llama.rope
//===----------------------------------------------------------------------===//

func.func @rope_head_dim(%x: tensor<?x64xf32>, %p: index) {
  // expected-error @+1 {{head_dim must be positive, got 0}}
  %0 = llama.rope %x at %p head_dim = 0 theta = 1.0e4 : tensor<?x64xf32>
  return
}

// -----

func.func @rope_heads(%x: tensor<?x96xf32>, %p: index) {
  // expected-error @+1 {{input has 96 features, not a multiple of head_dim 64}}
  %0 = llama.rope %x at %p head_dim = 64 theta = 1.0e4 : tensor<?x96xf32>
  return
}

// -----

func.func @rope_rotary_too_wide(%x: tensor<?x128xf32>, %p: index) {
  // expected-error @+1 {{rotary_dim 128 must be in [1, head_dim = 64]}}
  %0 = llama.rope %x at %p head_dim = 64 rotary_dim = 128 theta = 1.0e4 : tensor<?x128xf32>
  return
}

// -----

func.func @rope_rotary_odd(%x: tensor<?x128xf32>, %p: index) {
  // expected-error @+1 {{rotary dimension 31 must be even (features rotate in pairs)}}
  %0 = llama.rope %x at %p head_dim = 64 rotary_dim = 31 theta = 1.0e4 : tensor<?x128xf32>
  return
}

// -----

func.func @rope_head_dim_odd(%x: tensor<?x14xf32>, %p: index) {
  // expected-error @+1 {{rotary dimension 7 must be even (features rotate in pairs)}}
  %0 = llama.rope %x at %p head_dim = 7 theta = 1.0e4 : tensor<?x14xf32>
  return
}

// -----

func.func @rope_theta(%x: tensor<?x64xf32>, %p: index) {
  // expected-error @+1 {{theta must be positive}}
  %0 = llama.rope %x at %p head_dim = 64 theta = -1.0 : tensor<?x64xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// llama.attention
//===----------------------------------------------------------------------===//

func.func @attention_head_count(%q: tensor<?x64xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                                %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{head counts must be positive}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 0 kv_heads = 1
      : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @attention_groups(%q: tensor<?x192xf32>, %k: tensor<?x128xf32>, %v: tensor<?x128xf32>,
                            %kc: tensor<2x2x16x64xf32>, %vc: tensor<2x2x16x64xf32>, %p: index) {
  // expected-error @+1 {{heads (3) must be a multiple of kv_heads (2)}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 3 kv_heads = 2
      : tensor<?x192xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<2x2x16x64xf32>, tensor<2x2x16x64xf32> -> tensor<?x192xf32>
  return
}

// -----

func.func @attention_cache_heads(%q: tensor<?x256xf32>, %k: tensor<?x128xf32>, %v: tensor<?x128xf32>,
                                 %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{caches hold 1 and 1 key/value heads but kv_heads is 2}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 4 kv_heads = 2
      : tensor<?x256xf32>, tensor<?x128xf32>, tensor<?x128xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x256xf32>
  return
}

// -----

func.func @attention_cache_context(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                                   %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x32x64xf32>, %p: index) {
  // expected-error @+1 {{key and value caches must have the same layers and context length}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x32x64xf32> -> tensor<?x128xf32>
  return
}

// -----

func.func @attention_layer(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                           %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{layer 2 is outside the caches' 2 layers}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 2 heads = 2 kv_heads = 1
      : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x128xf32>
  return
}

// -----

func.func @attention_query(%q: tensor<?x96xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                           %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{query has 96 features but heads x head_dim is 2 x 64}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<?x96xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x128xf32>
  return
}

// -----

func.func @attention_key(%q: tensor<?x128xf32>, %k: tensor<?x32xf32>, %v: tensor<?x64xf32>,
                         %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{key has 32 features but kv_heads x head_dim is 1 x 64}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<?x128xf32>, tensor<?x32xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x128xf32>
  return
}

// -----

func.func @attention_value(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                           %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x32xf32>, %p: index) {
  // expected-error @+1 {{value has 64 features but kv_heads x value head_dim is 1 x 32}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x32xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @attention_output(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                            %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{output has 64 features but heads x value head_dim is 2 x 64}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x64xf32>
  return
}

// -----

func.func @attention_tokens(%q: tensor<2x128xf32>, %k: tensor<3x64xf32>, %v: tensor<3x64xf32>,
                            %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{query has 2 tokens but key has 3}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<2x128xf32>, tensor<3x64xf32>, tensor<3x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<2x128xf32>
  return
}

// -----

func.func @attention_scale(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                           %kc: tensor<2x1x16x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{scale must be positive}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1 scale = 0.0
      : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x16x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x128xf32>
  return
}

// -----

func.func @attention_dynamic_cache(%q: tensor<?x128xf32>, %k: tensor<?x64xf32>, %v: tensor<?x64xf32>,
                                   %kc: tensor<2x1x?x64xf32>, %vc: tensor<2x1x16x64xf32>, %p: index) {
  // expected-error @+1 {{operand #3 must be statically shaped 4-D float tensor}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %p layer = 0 heads = 2 kv_heads = 1
      : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<2x1x?x64xf32>, tensor<2x1x16x64xf32> -> tensor<?x128xf32>
  return
}

// -----

//===----------------------------------------------------------------------===//
// Elementwise ops and argmax
//===----------------------------------------------------------------------===//

func.func @swiglu_shapes(%g: tensor<?x64xf32>, %u: tensor<?x32xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "llama.swiglu"(%g, %u) : (tensor<?x64xf32>, tensor<?x32xf32>) -> tensor<?x64xf32>
  return
}

// -----

func.func @add_shapes(%a: tensor<?x64xf32>, %b: tensor<?x64xf16>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "llama.add"(%a, %b) : (tensor<?x64xf32>, tensor<?x64xf16>) -> tensor<?x64xf32>
  return
}

// -----

func.func @argmax_tokens(%l: tensor<2x100xf32>) {
  // expected-error @+1 {{input has 2 tokens but result has 1}}
  %0 = llama.argmax %l : tensor<2x100xf32> -> tensor<1xi32>
  return
}

// -----

// expected-error @+1 {{r16 packing is for q8_0, q4_0 and q4_1 weights}}
func.func @int4_packed(%w: !llama.qtensor<64x64, int4<block = 32>, packed = r16>) { return }

// -----

// expected-error @+1 {{unknown packing 'r8' (expected rows or r16)}}
func.func @unknown_packing(%w: !llama.qtensor<64x64, q8_0, packed = r8>) { return }

// -----

//===----------------------------------------------------------------------===//
// llama.linear prologues and epilogue, llama.multi_linear
//===----------------------------------------------------------------------===//

func.func @linear_two_prologues(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{takes one prologue, norm or swiglu, not both}}
  %0 = llama.linear %x, %w norm %g eps = 1.0e-5 swiglu %x : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<64xf32>, tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_norm_size(%x: tensor<?x64xf32>, %g: tensor<32xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{norm weight has 32 elements but the input has 64 features}}
  %0 = llama.linear %x, %w norm %g eps = 1.0e-5 : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_norm_eps(%x: tensor<?x64xf32>, %g: tensor<64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{norm epsilon must be positive}}
  %0 = llama.linear %x, %w norm %g eps = 0.0 : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_residual_type(%x: tensor<?x64xf32>, %r: tensor<?x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{residual must have the result's type}}
  %0 = llama.linear %x, %w residual %r : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<?x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @linear_swiglu_type(%x: tensor<?x64xf32>, %u: tensor<?x32xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{swiglu up must have the input's type}}
  %0 = llama.linear %x, %w swiglu %u : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<?x32xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @multi_linear_counts(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>) {
  // expected-error @+1 {{has 2 weights but 1 results}}
  %0 = llama.multi_linear %x, [%w, %w] : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return
}

// -----

func.func @multi_linear_empty(%x: tensor<?x64xf32>) {
  // expected-error @+1 {{needs at least one weight}}
  llama.multi_linear %x, [] : (tensor<?x64xf32>) -> ()
  return
}

// -----

func.func @multi_linear_shape(%x: tensor<?x64xf32>, %w: tensor<32x64xf32>, %v: tensor<32x48xf32>) {
  // expected-error @+1 {{input has 64 features but the weight [32, 48] expects 48}}
  %0:2 = llama.multi_linear %x, [%w, %v] : (tensor<?x64xf32>, tensor<32x64xf32>, tensor<32x48xf32>) -> (tensor<?x32xf32>, tensor<?x32xf32>)
  return
}

// -----

func.func @key_rope_too_long(%q: tensor<?x32xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                             %kc: tensor<1x2x64x16xf32>, %vc: tensor<1x2x64x16xf32>, %pos: index) {
  // expected-error @+1 {{key_rope has 9 frequencies; a head of 16 features rotates 1 to 8 pairs}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 2
      {key_rope = array<f64: 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0>}
      : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<?x32xf32>
  return
}

// -----

func.func @key_rope_interleaved_alone(%q: tensor<?x32xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                                      %kc: tensor<1x2x64x16xf32>, %vc: tensor<1x2x64x16xf32>, %pos: index) {
  // expected-error @+1 {{key_rope_interleaved without key_rope}}
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 2
      {key_rope_interleaved}
      : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<?x32xf32>
  return
}
