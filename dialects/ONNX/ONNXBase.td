//===- ONNXBase.td - The onnx dialect ----------------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file defines the `onnx` dialect and the base of its ops; the ops
// themselves are generated into ONNXOps.td by scripts/gen_onnx_ops.py.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_ONNX_ONNXBASE_TD
#define LLAMAC_DIALECTS_ONNX_ONNXBASE_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def ONNX_Dialect : Dialect {
  let name = "onnx";
  let cppNamespace = "::llamac::onnx";
  let summary = "ONNX graphs as imported, one op per node";
  let description = [{
    The `onnx` dialect holds an ONNX graph as the importer read it: one op
    per node (`onnx.<OpType>` for the ai.onnx domain, `onnx.ms.<OpType>` for
    com.microsoft), operands and results in the node's order, attributes
    under their ONNX names. An input or output the node leaves empty is a
    value of type `none` (`onnx.none`). Initializers are `onnx.initializer`
    ops naming a tensor of the model's weight store: their data is not
    copied into the IR, except for small float ones.

    Passes raise Llama-shaped subgraphs into the `llama` dialect
    (`onnx-raise-llama`).
  }];
}

class ONNX_Op<string mnemonic, list<Trait> traits = []>
    : Op<ONNX_Dialect, mnemonic, !listconcat(traits, [Pure])> {
  let assemblyFormat =
      "operands attr-dict `:` functional-type(operands, results)";
}

// A tensor, or `none` for an input or output the node leaves empty.
def ONNX_Value : AnyTypeOf<[AnyTensor, NoneType]>;

def ONNX_NoneOp : ONNX_Op<"none"> {
  let summary = "The value of an input a node leaves empty";
  let results = (outs NoneType:$result);
  let assemblyFormat = "attr-dict";
}

def ONNX_InitializerOp : ONNX_Op<"initializer"> {
  let summary = "A tensor of the model's weight store (an initializer)";
  let description = [{
    Names an initializer of the graph; the data stays in the model file (or
    its external data file) and is read when weights are written. A float
    scalar or 1-D initializer of up to 1024 values also carries them as a
    `value` attribute (f32), for the passes that evaluate shape and position
    arithmetic while compiling (an epsilon, a scale, rotary frequencies).

    ```mlir
    %w = onnx.initializer "model.embed_tokens.weight" : tensor<1600x64xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name);
  let results = (outs AnyRankedTensor:$result);
  let assemblyFormat = "$name attr-dict `:` type($result)";
}

#endif // LLAMAC_DIALECTS_ONNX_ONNXBASE_TD
