//===- LlamaOps.td - Ops of the llama dialect --------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file defines the ops of the `llama` dialect: one op per layer of a
// Llama-family forward pass. Each op's description gives its formula and an
// example; the verifiers check every shape rule the formula relies on.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_LLAMA_LLAMAOPS_TD
#define LLAMAC_DIALECTS_LLAMA_LLAMAOPS_TD

include "dialects/Llama/LlamaTypes.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/OpBase.td"

//===----------------------------------------------------------------------===//
// Type constraints
//===----------------------------------------------------------------------===//

def Llama_FloatElement : AnyTypeOf<[F32, F16, BF16]>;

// [tokens, features]: the tokens dimension is usually dynamic.
def Llama_Activation : TensorRankOf<[Llama_FloatElement], [2]>;

// A per-feature vector (norm weight, bias).
def Llama_Vector : TensorRankOf<[Llama_FloatElement], [1]>;

def Llama_TokenIds : TensorRankOf<[I32], [1]>;

def Llama_DenseWeight : AllOfType<
    [TensorRankOf<[Llama_FloatElement], [2]>, AnyStaticShapeTensor],
    "statically shaped 2-D float tensor">;

// A weight matrix, plain or quantized.
def Llama_Weight : AnyTypeOf<[Llama_DenseWeight, Llama_QTensorType]>;

// [layers, kv_heads, context, head_dim]
def Llama_KVCache : AllOfType<
    [TensorRankOf<[Llama_FloatElement], [4]>, AnyStaticShapeTensor],
    "statically shaped 4-D float tensor">;

//===----------------------------------------------------------------------===//
// param
//===----------------------------------------------------------------------===//

def Llama_ParamOp : Llama_Op<"param", [Pure]> {
  let summary = "A named weight of the model";
  let description = [{
    Names a tensor of the source checkpoint (`name` is the tensor's name in
    the safetensors, GGUF or ONNX file) and declares the type the model uses
    it as. The parameter store resolves the name at compile time and converts
    the stored data to that type: a `tensor<...xf32>` of an f16 checkpoint is
    widened, a `!llama.qtensor` of an f32 checkpoint is quantized, and a
    `!llama.qtensor` of a GGUF file already in that scheme is copied as is.
    Weights therefore never live in the IR text.

    ```mlir
    %w = llama.param "model.layers.0.mlp.down_proj.weight" : tensor<576x1536xf32>
    %q = llama.param "blk.0.attn_q.weight" : !llama.qtensor<576x576, q8_0>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyTypeOf<[Llama_DenseWeight, Llama_Vector,
                                 Llama_QTensorType]>:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// embedding
//===----------------------------------------------------------------------===//

def Llama_EmbeddingOp : Llama_Op<"embedding", [Pure]> {
  let summary = "Looks up token embeddings";
  let description = [{
    `result[t, :] = table[tokens[t], :]` for every token `t`. The table may
    be quantized; rows are decoded as they are read. A token id outside
    `[0, rows)` is a runtime error checked before the forward pass runs.

    ```mlir
    %h = llama.embedding %table[%tokens]
        : tensor<49152x576xf32>, tensor<?xi32> -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Llama_Weight:$table, Llama_TokenIds:$tokens);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $table `[` $tokens `]` attr-dict `:` type($table) `,` type($tokens)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// rms_norm
//===----------------------------------------------------------------------===//

def Llama_RMSNormOp : Llama_Op<"rms_norm",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Root-mean-square layer normalization";
  let description = [{
    For every token `t` over the `D` features:
    `result[t, i] = input[t, i] / sqrt(mean_j(input[t, j]^2) + eps) * weight[i]`.

    ```mlir
    %n = llama.rms_norm %x, %w eps = 1.000000e-05
        : tensor<?x576xf32>, tensor<576xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, Llama_Vector:$weight,
                       F64Attr:$epsilon);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight `eps` `=` $epsilon attr-dict `:` type($input) `,`
    type($weight)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// linear
//===----------------------------------------------------------------------===//

def Llama_LinearOp : Llama_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "Multiplies by a weight matrix transposed (a dense layer)";
  let description = [{
    `result[t, n] = sum_k x[t, k] * weight[n, k] (+ bias[n]) (+ residual[t, n])`,
    that is `x x weight^T`, with `weight` of shape `[N, K]` as checkpoints
    store it. The weight may be quantized; the result has the input's
    element type.

    `x` is `input`, or, with a prologue that the fusion passes fold in:
    - `norm %g eps = E`: `x = rms_norm(input, g, E)` (as `llama.rms_norm`);
    - `swiglu %up`: `x = silu(input) * up` (as `llama.swiglu`, `input` the
      gate).
    `residual` is an epilogue: a tensor of the result's shape added to it.

    ```mlir
    %y = llama.linear %x, %w
        : (tensor<?x576xf32>, !llama.qtensor<1536x576, q8_0>)
        -> tensor<?x1536xf32>
    %z = llama.linear %x, %wq bias %b
        : (tensor<?x896xf32>, tensor<896x896xf32>, tensor<896xf32>)
        -> tensor<?x896xf32>
    %h2 = llama.linear %gate, %wd residual %h1 swiglu %up
        : (tensor<?x1536xf32>, tensor<576x1536xf32>, tensor<?x576xf32>,
           tensor<?x1536xf32>) -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, Llama_Weight:$weight,
                       Optional<Llama_Vector>:$bias,
                       Optional<Llama_Activation>:$residual,
                       Optional<Llama_Vector>:$norm,
                       OptionalAttr<F64Attr>:$norm_eps,
                       Optional<Llama_Activation>:$up);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `,` $weight (`bias` $bias^)? (`residual` $residual^)?
    (`norm` $norm^ `eps` `=` $norm_eps)? (`swiglu` $up^)? attr-dict `:`
    functional-type(operands, results)
  }];
  let builders = [
    OpBuilder<(ins "::mlir::Type":$result, "::mlir::Value":$input,
                   "::mlir::Value":$weight, "::mlir::Value":$bias), [{
      build($_builder, $_state, result, input, weight, bias, ::mlir::Value(),
            ::mlir::Value(), ::mlir::FloatAttr(), ::mlir::Value());
    }]>
  ];
  let extraClassDeclaration = [{
    /// Whether a prologue (norm or swiglu) transforms the input.
    bool hasPrologue() { return getNorm() || getUp(); }
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// multi_linear
//===----------------------------------------------------------------------===//

def Llama_MultiLinearOp : Llama_Op<"multi_linear",
    [Pure, AttrSizedOperandSegments]> {
  let summary = "Several dense layers of one input (e.g. Q, K and V)";
  let description = [{
    `results[i] = linear(x, weights[i])` for every weight, with `x` as in
    `llama.linear` (`input`, or its `norm` prologue). One op so that a
    backend computes every product in one pass over the input and one
    parallel region; the weights stay separate parameters (each keeps its
    own type and layout).

    ```mlir
    %q, %k, %v = llama.multi_linear %h, [%wq, %wk, %wv] norm %g eps = 1.0e-05
        : (tensor<?x576xf32>, !llama.qtensor<576x576, q8_0>,
           !llama.qtensor<192x576, q8_0>, !llama.qtensor<192x576, q8_0>,
           tensor<576xf32>)
        -> (tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>)
    ```
  }];
  let arguments = (ins Llama_Activation:$input,
                       Variadic<Llama_Weight>:$weights,
                       Optional<Llama_Vector>:$norm,
                       OptionalAttr<F64Attr>:$norm_eps);
  let results = (outs Variadic<Llama_Activation>:$results);
  let assemblyFormat = [{
    $input `,` `[` $weights `]` (`norm` $norm^ `eps` `=` $norm_eps)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// rope
//===----------------------------------------------------------------------===//

def Llama_RopeOp : Llama_Op<"rope",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "Rotary position embedding";
  let description = [{
    `input` is `[tokens, heads * head_dim]`; token `t` sits at position
    `p = position + t`. In every head the first `rotary_dim` features
    (default: all of them) are rotated in pairs, the rest pass through. With
    `R = rotary_dim` and `f_i = theta^(-2i / R)` for `i < R/2` (rescaled by
    `scaling` when given), `a = p * f_i`:

    `x0' = x0 * cos(a) - x1 * sin(a)`,  `x1' = x0 * sin(a) + x1 * cos(a)`

    where the pair `(x0, x1)` is features `(i, i + R/2)` by default (the
    Hugging Face rotate-half convention, also called NeoX style) and
    `(2i, 2i + 1)` when `interleaved` is set (GPT-J style, which GGUF files
    converted by llama.cpp expect of their permuted Q/K rows).

    `frequencies`, when given, lists the `R/2` values `f_i` themselves (as
    read from a model's cos/sin tables); `theta` and `scaling` are then not
    used. (It is printed in the attribute dictionary, `{frequencies =
    array<f64: ...>}`, the form that prints every digit of a double.)

    ```mlir
    %q_rot = llama.rope %q at %pos head_dim = 64 theta = 1.000000e+04
        : tensor<?x576xf32>
    %k_rot = llama.rope %k at %pos head_dim = 128 theta = 5.000000e+05
        scaling = <llama3, factor = 8.0, low_freq_factor = 1.0,
                   high_freq_factor = 4.0, original_max_position = 8192>
        : tensor<?x1024xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$input, Index:$position,
                       I64Attr:$head_dim, OptionalAttr<I64Attr>:$rotary_dim,
                       F64Attr:$theta, UnitAttr:$interleaved,
                       OptionalAttr<Llama_RopeScalingAttr>:$scaling,
                       OptionalAttr<DenseF64ArrayAttr>:$frequencies);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = [{
    $input `at` $position `head_dim` `=` $head_dim
    (`rotary_dim` `=` $rotary_dim^)? `theta` `=` $theta
    (`interleaved` $interleaved^)? (`scaling` `=` $scaling^)? attr-dict
    `:` type($input)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// The number of rotated features per head (`rotary_dim`, or `head_dim`
    /// when absent).
    int64_t getRotaryDimOrHeadDim() {
      return getRotaryDim() ? *getRotaryDim() : getHeadDim();
    }
    /// The inverse frequency of pair `i`, scaling applied.
    double getFrequency(int64_t i);
    /// All `rotary_dim / 2` of them (the key of a shared cos/sin table).
    std::vector<double> getAllFrequencies();
  }];
}

//===----------------------------------------------------------------------===//
// attention
//===----------------------------------------------------------------------===//

def Llama_AttentionOp : Llama_Op<"attention",
    [Pure, AllTypesMatch<["k_cache", "k_cache_out"]>,
     AllTypesMatch<["v_cache", "v_cache_out"]>]> {
  let summary = "Causal grouped-query attention over the key/value cache";
  let description = [{
    Appends this call's keys and values to layer `layer` of the caches and
    attends to everything up to each query's own position.

    Shapes, with `T` tokens, `H` query heads, `G` key/value heads (`H % G == 0`),
    head sizes `Dk` and `Dv`, context `C` and `L` layers:
    `query [T, H*Dk]`, `key [T, G*Dk]`, `value [T, G*Dv]`,
    `k_cache [L, G, C, Dk]`, `v_cache [L, G, C, Dv]`, `output [T, H*Dv]`.

    With `p = position`:

    - `k_cache_out[layer, g, p + t, :] = key[t, g*Dk : (g+1)*Dk]`, the same
      for values; all other cache entries are unchanged;
    - query head `h` reads key/value head `g = h / (H / G)`; for token `t`
      and every `j <= p + t`:
      `s_j = scale * dot(query[t, h*Dk : (h+1)*Dk], k_cache_out[layer, g, j, :])`,
      `output[t, h*Dv : (h+1)*Dv] = sum_j softmax(s)_j * v_cache_out[layer, g, j, :]`.

    `scale` defaults to `1 / sqrt(Dk)`. `p + T <= C` is a runtime
    precondition the caller checks.

    `key_rope`, when present, lists the `R/2` inverse frequencies of a
    rotary embedding applied to `key` before it is written to the cache,
    exactly as `llama.rope %key at %position head_dim = Dk` with those
    `frequencies` (and `interleaved` when `key_rope_interleaved`) would
    (`llama-fuse-rope` folds that rope in: the keys are rotated while they
    are stored).

    ```mlir
    %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos
        layer = 0 heads = 9 kv_heads = 3
        : tensor<?x576xf32>, tensor<?x192xf32>, tensor<?x192xf32>,
          tensor<30x3x2048x64xf32>, tensor<30x3x2048x64xf32>
        -> tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$query, Llama_Activation:$key,
                       Llama_Activation:$value, Llama_KVCache:$k_cache,
                       Llama_KVCache:$v_cache, Index:$position,
                       I64Attr:$layer, I64Attr:$num_heads,
                       I64Attr:$num_kv_heads, OptionalAttr<F64Attr>:$scale,
                       OptionalAttr<DenseF64ArrayAttr>:$key_rope,
                       UnitAttr:$key_rope_interleaved);
  let results = (outs Llama_Activation:$output, Llama_KVCache:$k_cache_out,
                      Llama_KVCache:$v_cache_out);
  let assemblyFormat = [{
    $query `,` $key `,` $value `,` $k_cache `,` $v_cache `at` $position
    `layer` `=` $layer `heads` `=` $num_heads `kv_heads` `=` $num_kv_heads
    (`scale` `=` $scale^)? attr-dict `:` type($query) `,` type($key) `,`
    type($value) `,` type($k_cache) `,` type($v_cache) `->` type($output)
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getKeyHeadDim();
    int64_t getValueHeadDim();
    int64_t getContextLength();
    /// `scale`, or `1 / sqrt(Dk)` when absent.
    double getScaleOrDefault();
  }];
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

def Llama_SwiGLUOp : Llama_Op<"swiglu", [Pure, SameOperandsAndResultType]> {
  let summary = "Gated SiLU unit of the feed-forward block";
  let description = [{
    `result = silu(gate) * up` elementwise, with
    `silu(x) = x / (1 + exp(-x))`.

    ```mlir
    %h = llama.swiglu %gate, %up : tensor<?x1536xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$gate, Llama_Activation:$up);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$gate `,` $up attr-dict `:` type($result)";
}

def Llama_AddOp : Llama_Op<"add",
    [Pure, Commutative, SameOperandsAndResultType]> {
  let summary = "Elementwise sum (the residual connection)";
  let description = [{
    `result = lhs + rhs` elementwise.

    ```mlir
    %h1 = llama.add %h, %attn_out : tensor<?x576xf32>
    ```
  }];
  let arguments = (ins Llama_Activation:$lhs, Llama_Activation:$rhs);
  let results = (outs Llama_Activation:$result);
  let assemblyFormat = "$lhs `,` $rhs attr-dict `:` type($result)";
}

def Llama_ArgmaxOp : Llama_Op<"argmax", [Pure]> {
  let summary = "Index of the largest value of each row";
  let description = [{
    `result[t] = argmax_v input[t, v]`; among equal maxima the smallest
    index wins (greedy decoding's next token).

    ```mlir
    %next = llama.argmax %logits : tensor<1x49152xf32> -> tensor<1xi32>
    ```
  }];
  let arguments = (ins Llama_Activation:$input);
  let results = (outs Llama_TokenIds:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasVerifier = 1;
}

#endif // LLAMAC_DIALECTS_LLAMA_LLAMAOPS_TD
