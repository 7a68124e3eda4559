//===- Passes.td - llamac's passes -------------------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares every llamac pass that works on the `llama` dialect.
// Each pass is registered with llamac-opt under its flag.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_PASSES_PASSES_TD
#define LLAMAC_PASSES_PASSES_TD

include "mlir/Pass/PassBase.td"

def LlamaQuantize : Pass<"llama-quantize", "mlir::ModuleOp"> {
  let summary = "Quantize the weights of linear layers to a GGML block format";
  let description = [{
    Retypes every `llama.param` that serves as the weight of a `llama.linear`
    from a float matrix to `!llama.qtensor` in the chosen scheme. The data
    itself is converted by the parameter store when the weights blob is
    written, with per-block scales computed as llama.cpp computes them, so the
    pass only decides *which* weights are quantized and *how*.

    Left as they are:
    - weights that are already quantized (from GGUF or MatMulNBits): they are
      repacked by a backend, never dequantized and requantized;
    - matrices whose row length is not a multiple of the 32-value block;
    - the output layers (the token embedding table, and a linear whose result
      is returned or fed to `llama.argmax`) unless `quantize-output` is set.
      A parameter shared by a quantized and a kept use (tied embeddings) is
      split into two `llama.param` ops of the same name.

    Before (`--llama-quantize=scheme=q8_0`):
    ```mlir
    %w = llama.param "model.layers.0.mlp.up_proj.weight" : tensor<1536x576xf32>
    %y = llama.linear %x, %w : (tensor<?x576xf32>, tensor<1536x576xf32>)
        -> tensor<?x1536xf32>
    ```
    After:
    ```mlir
    %w = llama.param "model.layers.0.mlp.up_proj.weight"
        : !llama.qtensor<1536x576, q8_0>
    %y = llama.linear %x, %w
        : (tensor<?x576xf32>, !llama.qtensor<1536x576, q8_0>)
        -> tensor<?x1536xf32>
    ```
  }];
  let options = [
    Option<"scheme", "scheme", "::llamac::llama::QuantKind",
           "::llamac::llama::QuantKind::Q8_0",
           "Block format of the quantized weights",
           [{::llvm::cl::values(
             clEnumValN(::llamac::llama::QuantKind::Q8_0, "q8_0",
                        "8-bit values, one f16 scale per 32"),
             clEnumValN(::llamac::llama::QuantKind::Q4_0, "q4_0",
                        "4-bit values, one f16 scale per 32"),
             clEnumValN(::llamac::llama::QuantKind::Q4_1, "q4_1",
                        "4-bit values, f16 scale and minimum per 32"))}]>,
    Option<"quantizeOutput", "quantize-output", "bool", /*default=*/"false",
           "Also quantize the token embedding table and the output layer">
  ];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def LlamaFuseProjections : Pass<"llama-fuse-projections"> {
  let summary = "Merge products of one input into one llama.multi_linear";
  let description = [{
    Replaces the `llama.linear` ops that read the same input (with no bias
    and no residual, and the same `norm` prologue or none) by one
    `llama.multi_linear`: the query, key and value projections, the gate and
    up projections. The weights stay separate parameters, so each keeps its
    type and layout; a backend computes all the products in one parallel
    region over one prepared input. Numerics are unchanged: each product is
    computed as before.

    Before:
    ```mlir
    %q = llama.linear %x, %wq : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    %k = llama.linear %x, %wk : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
    %v = llama.linear %x, %wv : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
    ```
    After:
    ```mlir
    %q, %k, %v = llama.multi_linear %x, [%wq, %wk, %wv]
        : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<32x64xf32>, tensor<32x64xf32>)
        -> (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>)
    ```
  }];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def LlamaFuseNorm : Pass<"llama-fuse-norm"> {
  let summary = "Fold an RMSNorm into the prologue of the products it feeds";
  let description = [{
    A `llama.rms_norm` whose every use is the input of a `llama.linear` or
    `llama.multi_linear` without a prologue becomes their `norm` prologue:
    a backend normalizes each row as it prepares the product's input (on
    the CPU with int8 activations, inside the quantizer), and the normalized
    tensor is never stored. Numerics are unchanged.

    Before:
    ```mlir
    %n = llama.rms_norm %h, %g eps = 1.0e-05 : tensor<?x64xf32>, tensor<64xf32>
    %y = llama.linear %n, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
    ```
    After:
    ```mlir
    %y = llama.linear %h, %w norm %g eps = 1.0e-05
        : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<?x128xf32>
    ```
  }];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def LlamaFuseSwiGLU : Pass<"llama-fuse-swiglu"> {
  let summary = "Fold SwiGLU into the prologue of the down projection";
  let description = [{
    A `llama.swiglu` whose every use is the input of a `llama.linear`
    without a prologue becomes their `swiglu` prologue (the gate as input,
    `up` as the prologue's operand). Numerics are unchanged.

    Before:
    ```mlir
    %s = llama.swiglu %gate, %up : tensor<?x128xf32>
    %y = llama.linear %s, %wd : (tensor<?x128xf32>, tensor<64x128xf32>) -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    %y = llama.linear %gate, %wd swiglu %up
        : (tensor<?x128xf32>, tensor<64x128xf32>, tensor<?x128xf32>) -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def LlamaFuseResidual : Pass<"llama-fuse-residual"> {
  let summary = "Fold a residual add into the epilogue of the product before it";
  let description = [{
    `llama.add %h, %y` where `%y` is a `llama.linear` used only there (and
    `%h` is defined before it) becomes that linear's `residual` epilogue:
    the product adds `%h` as it stores its result. Numerics are unchanged
    (float addition commutes).

    Before:
    ```mlir
    %a = llama.linear %o, %wo : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
    %h1 = llama.add %h, %a : tensor<?x64xf32>
    ```
    After:
    ```mlir
    %h1 = llama.linear %o, %wo residual %h
        : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
    ```
  }];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def LlamaFuseRope : Pass<"llama-fuse-rope"> {
  let summary = "Apply the keys' rotary embedding while writing the key cache";
  let description = [{
    `llama.attention` whose `key` is a `llama.rope` used only there (at the
    attention's own position, over whole heads of the key's size) takes the
    rope's inverse frequencies as `key_rope` (and its pair convention as
    `key_rope_interleaved`) and reads the unrotated keys: the CPU backend
    rotates each key as it stores it into the cache, instead of writing a
    rotated copy first. Numerics are unchanged (the same products and sums,
    in the same order, from the same cos/sin table).

    Before:
    ```mlir
    %kr = llama.rope %k at %pos head_dim = 16 theta = 1.000000e+04
        : tensor<?x32xf32>
    %o, %kc1, %vc1 = llama.attention %qr, %kr, %v, %kc, %vc at %pos
        layer = 0 heads = 4 kv_heads = 2 : ...
    ```
    After:
    ```mlir
    %o, %kc1, %vc1 = llama.attention %qr, %k, %v, %kc, %vc at %pos
        layer = 0 heads = 4 kv_heads = 2
        {key_rope = array<f64: 1.000000e+00, 0.31622776601683794, ...>} : ...
    ```
  }];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def ONNXLowerGraph : Pass<"onnx-lower-graph", "mlir::ModuleOp"> {
  let summary = "Lower any imported ONNX graph to linalg, tensor and arith";
  let description = [{
    The generic path for graphs that are not Llama decoders
    (`llamac compile model.onnx --graph`). `@main_graph` becomes
    `@llamac_graph`, a function of static-shaped buffers in
    destination-passing style: the graph inputs, then one buffer per output.
    Elementwise operators become `linalg.generic` ops with numpy
    broadcasting in their indexing maps; MatMul/Gemm and the Reduce*
    operators generic ops with reduction loops (Softmax, RMSNormalization
    and opset 23's Attention are composed of them); Gather, Slice and Trilu
    generic ops that compute source indices; Reshape and its relatives
    `tensor.reshape`; Concat and Split slices. Values that decide shapes
    (Reshape's shape, Slice's starts, axes given as inputs) must be known
    when compiling: they are folded from Constant, Shape and integer
    arithmetic, or bound with `--input-value`. Anything else is an error
    naming the node.

    Before:
    ```mlir
    func.func @main_graph(%x: tensor<2x3xf32>, %y: tensor<3xf32>)
        -> tensor<2x3xf32> {
      %z = onnx.Add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
      return %z : tensor<2x3xf32>
    }
    ```
    After:
    ```mlir
    func.func @llamac_graph(%x: memref<2x3xf32>, %y: memref<3xf32>,
                            %z: memref<2x3xf32>) {
      %xt = bufferization.to_tensor %x restrict : ...
      %yt = bufferization.to_tensor %y restrict : ...
      %e = tensor.empty() : tensor<2x3xf32>
      %r = linalg.generic {indexing_maps = [(d0, d1) -> (d0, d1),
             (d0, d1) -> (d1), (d0, d1) -> (d0, d1)], ...}
             ins(%xt, %yt : ...) outs(%e : ...) { arith.addf ... }
      bufferization.materialize_in_destination %r in writable %z : ...
      return
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::func::FuncDialect"];
}

def ONNXRaiseLlama : Pass<"onnx-raise-llama", "mlir::ModuleOp"> {
  let summary = "Raise an imported ONNX decoder graph into the llama forward pass";
  let description = [{
    Reads `@main_graph` (the `onnx` dialect, as the ONNX importer writes it)
    and replaces it with `@forward` in the `llama` dialect: the token ids
    become `tokens`, each attention node's past/present key and value the
    runtime's cache at that layer, the logits output its last position.
    Only what the outputs need is translated (an export's attention-mask
    bookkeeping has no counterpart); MatMul weights are read transposed
    through `llama.param` views (`llamac.transpose_from`), a packed Q/K/V
    weight as three views; rotary frequencies come from the cos/sin tables.
    Attention written out in plain operators (torch.onnx and optimum
    exports: Reshape/Transpose into heads, rotate_half, a mask computed
    from positions, Softmax) is raised too: the graph's shape, position and
    mask arithmetic is evaluated at a few sequence lengths (and past
    lengths) while compiling, the rotary tables must be cos/sin of position
    x frequency and the mask causal at each of them.
    Any other operator the outputs need is an error naming its node.

    Before (abridged):
    ```mlir
    %e = onnx.Gather %table, %input_ids : ...
    %n = onnx.SimplifiedLayerNormalization %e, %g {epsilon = 1.0e-05 : f32} : ...
    %qkv = onnx.MatMul %n, %wqkv : ...
    %o, %pk, %pv, %none = onnx.ms.GroupQueryAttention %qkv, %none, %none,
        %past_k, %past_v, %seqlens, %total, %cos, %sin, ... {num_heads = 4, ...}
    ```
    After:
    ```mlir
    %e = llama.embedding %table[%tokens] : ...
    %n = llama.rms_norm %e, %g eps = 1.000000e-05 : ...
    %wq = llama.param "wqkv" {llamac.transpose_from = 0 : i64} : tensor<64x64xf32>
    %q = llama.linear %n, %wq : ...
    ...
    %o, %kc, %vc = llama.attention %qr, %kr, %v, %k_cache, %v_cache at %pos
        layer = 0 heads = 4 kv_heads = 2 : ...
    ```
  }];
  let options = [
    Option<"maxContext", "max-context", "int64_t", /*default=*/"4096",
           "Cache length of the forward pass">
  ];
  let dependentDialects = ["::llamac::llama::LlamaDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::func::FuncDialect"];
}

def LlamaPackWeights : Pass<"llama-pack-weights", "mlir::ModuleOp"> {
  let summary = "Choose the byte layout of linear weights";
  let description = [{
    Retypes every q8_0/q4_0/q4_1 `llama.param` that serves as the weight of a
    `llama.linear` or `llama.multi_linear` to the `packed` layout its kernel
    reads, and with `dense`, every float one to the `#llama.packed`
    encoding of the same layout (16 rows column-interleaved). The data is
    rearranged by the weights writer, at compile time, from the canonical
    blocks: weights that arrive quantized are repacked, never dequantized
    and requantized. Embedding tables keep the row layout (a lookup reads
    one row); a param used both ways is split into two.

    Targets add this pass to their model pipeline when their kernels want
    the layout (the CPU target: `r16` for quantized weights with AVX-512
    VNNI, and `dense` on every CPU).

    Before:
    ```mlir
    %w = llama.param "up" : !llama.qtensor<1536x576, q4_0>
    %y = llama.linear %x, %w : (tensor<?x576xf32>, !llama.qtensor<1536x576, q4_0>)
        -> tensor<?x1536xf32>
    ```
    After (`--llama-pack-weights=packing=r16`):
    ```mlir
    %w = llama.param "up" : !llama.qtensor<1536x576, q4_0, packed = r16>
    %y = llama.linear %x, %w
        : (tensor<?x576xf32>, !llama.qtensor<1536x576, q4_0, packed = r16>)
        -> tensor<?x1536xf32>
    ```
    and a float weight with `dense=true`:
    ```mlir
    %w = llama.param "down" : tensor<576x1536xf16, #llama.packed<r16>>
    ```
  }];
  let options = [
    Option<"packing", "packing", "::llamac::llama::WeightPacking",
           "::llamac::llama::WeightPacking::R16",
           "The layout to pack linear weights into",
           [{::llvm::cl::values(
             clEnumValN(::llamac::llama::WeightPacking::Rows, "rows",
                        "the canonical rows of blocks"),
             clEnumValN(::llamac::llama::WeightPacking::R16, "r16",
                        "16 rows interleaved for 8-bit dot products"))}]>,
    Option<"dense", "dense", "bool", /*default=*/"false",
           "Also pack float (f32/f16/bf16) linear weights">,
    Option<"quantized", "quantized", "bool", /*default=*/"true",
           "Pack quantized (q8_0/q4_0/q4_1) linear weights">
  ];
  let dependentDialects = ["::llamac::llama::LlamaDialect"];
}

def LlamaLayoutWeights : Pass<"llama-layout-weights", "mlir::ModuleOp"> {
  let summary = "Assign every weight its place in the weights blob";
  let description = [{
    Gives each distinct `llama.param` (same name and type) a byte offset in
    the weights region of the output blob, in order of first use, aligned to
    `alignment` bytes, and records it as the `llamac.offset` attribute of the
    param ops; the region's size is recorded on the module as
    `llamac.weights_bytes`. The weights writer streams each parameter to its
    offset; code generators read it there.

    ```mlir
    %w = llama.param "up" : tensor<128x64xf16>
    // becomes
    %w = llama.param "up" {llamac.offset = 16384 : i64} : tensor<128x64xf16>
    ```
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Alignment of every weight in bytes (a power of two)">
  ];
}

#endif // LLAMAC_PASSES_PASSES_TD
