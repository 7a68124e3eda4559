// One decoder layer of SmolLM2-135M in the llama dialect (hidden 576, 9 query
// heads, 3 key/value heads of 64, feed-forward 1536, 30 layers of cache).
// scripts/run.sh passes it through llamac-opt's quantization pass until the
// end-to-end compiler lands.
func.func @decoder_layer(%h: tensor<?x576xf32>, %pos: index,
                         %k_cache: tensor<30x3x2048x64xf32>,
                         %v_cache: tensor<30x3x2048x64xf32>)
    -> (tensor<?x576xf32>, tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf32>) {
  %attn_norm = llama.param "model.layers.0.input_layernorm.weight" : tensor<576xf32>
  %wq = llama.param "model.layers.0.self_attn.q_proj.weight" : tensor<576x576xf32>
  %wk = llama.param "model.layers.0.self_attn.k_proj.weight" : tensor<192x576xf32>
  %wv = llama.param "model.layers.0.self_attn.v_proj.weight" : tensor<192x576xf32>
  %wo = llama.param "model.layers.0.self_attn.o_proj.weight" : tensor<576x576xf32>
  %ffn_norm = llama.param "model.layers.0.post_attention_layernorm.weight" : tensor<576xf32>
  %w_gate = llama.param "model.layers.0.mlp.gate_proj.weight" : tensor<1536x576xf32>
  %w_up = llama.param "model.layers.0.mlp.up_proj.weight" : tensor<1536x576xf32>
  %w_down = llama.param "model.layers.0.mlp.down_proj.weight" : tensor<576x1536xf32>

  %x = llama.rms_norm %h, %attn_norm eps = 1.0e-05 : tensor<?x576xf32>, tensor<576xf32>
  %q = llama.linear %x, %wq : (tensor<?x576xf32>, tensor<576x576xf32>) -> tensor<?x576xf32>
  %k = llama.linear %x, %wk : (tensor<?x576xf32>, tensor<192x576xf32>) -> tensor<?x192xf32>
  %v = llama.linear %x, %wv : (tensor<?x576xf32>, tensor<192x576xf32>) -> tensor<?x192xf32>
  %q_rot = llama.rope %q at %pos head_dim = 64 theta = 100000.0 : tensor<?x576xf32>
  %k_rot = llama.rope %k at %pos head_dim = 64 theta = 100000.0 : tensor<?x192xf32>
  %attn, %k_cache1, %v_cache1 = llama.attention %q_rot, %k_rot, %v, %k_cache, %v_cache at %pos
      layer = 0 heads = 9 kv_heads = 3
      : tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>,
        tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf32> -> tensor<?x576xf32>
  %o = llama.linear %attn, %wo : (tensor<?x576xf32>, tensor<576x576xf32>) -> tensor<?x576xf32>
  %h1 = llama.add %h, %o : tensor<?x576xf32>

  %y = llama.rms_norm %h1, %ffn_norm eps = 1.0e-05 : tensor<?x576xf32>, tensor<576xf32>
  %gate = llama.linear %y, %w_gate : (tensor<?x576xf32>, tensor<1536x576xf32>) -> tensor<?x1536xf32>
  %up = llama.linear %y, %w_up : (tensor<?x576xf32>, tensor<1536x576xf32>) -> tensor<?x1536xf32>
  %act = llama.swiglu %gate, %up : tensor<?x1536xf32>
  %down = llama.linear %act, %w_down : (tensor<?x1536xf32>, tensor<576x1536xf32>) -> tensor<?x576xf32>
  %h2 = llama.add %h1, %down : tensor<?x576xf32>
  return %h2, %k_cache1, %v_cache1 : tensor<?x576xf32>, tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf32>
}
