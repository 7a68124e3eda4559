//===- LlamaDialect.td - The llama dialect -----------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file defines the `llama` dialect and the base class of its ops. The
// dialect describes a Llama-family transformer at the level of its layers:
// tensor-valued ops such as `llama.linear` or `llama.attention`, weights named
// by `llama.param` and resolved from a parameter store, and a quantized weight
// type that names its block scheme.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_LLAMA_LLAMADIALECT_TD
#define LLAMAC_DIALECTS_LLAMA_LLAMADIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Llama_Dialect : Dialect {
  let name = "llama";
  let cppNamespace = "::llamac::llama";
  let summary = "Model-level ops of Llama-family transformers";
  let description = [{
    The `llama` dialect is the level at which llamac reasons about a model:
    every front end (safetensors, GGUF, ONNX after raising) produces it, the
    fusion and quantization passes rewrite it, and every target lowers it.

    Activations are tensors whose leading dimension is the number of tokens
    processed in one call (dynamic: one for decode, many for prefill), and
    whose last dimension is a feature dimension. Multi-head tensors are kept
    flat, `[tokens, heads * head_dim]`, exactly as they are laid out in
    memory; ops that need the head structure (`rope`, `attention`) carry the
    head counts as attributes and verify them against the shapes.

    Weights never appear as constants. `llama.param` names a tensor of the
    source checkpoint; the parameter store resolves the name, converts the
    data to the type the op declares (dequantize, quantize, transpose, pack)
    and streams it into the output weights blob at compile time.

    The key/value cache is an explicit value: `llama.attention` takes the
    cache tensors and returns them updated, so a forward pass threads them
    from layer to layer and a bufferization can update them in place.
  }];
  let useDefaultTypePrinterParser = 1;
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    // Defined next to the storage classes they need (LlamaAttrs.cpp,
    // LlamaTypes.cpp).
    void registerAttributes();
    void registerTypes();
  }];
}

class Llama_Op<string mnemonic, list<Trait> traits = []>
    : Op<Llama_Dialect, mnemonic, traits>;

#endif // LLAMAC_DIALECTS_LLAMA_LLAMADIALECT_TD
