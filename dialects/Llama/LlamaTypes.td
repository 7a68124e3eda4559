//===- LlamaTypes.td - Types of the llama dialect ----------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file defines the quantized weight type `!llama.qtensor`.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_LLAMA_LLAMATYPES_TD
#define LLAMAC_DIALECTS_LLAMA_LLAMATYPES_TD

include "dialects/Llama/LlamaAttrs.td"

class Llama_Type<string name, string typeMnemonic, list<Trait> traits = []>
    : TypeDef<Llama_Dialect, name, traits> {
  let mnemonic = typeMnemonic;
}

def Llama_QTensorType : Llama_Type<"QTensor", "qtensor"> {
  let summary = "A weight matrix stored in a block-quantized format";
  let description = [{
    `!llama.qtensor<ROWSxCOLS, SCHEME>` is a static `ROWS x COLS` matrix of
    real values stored quantized along `COLS` (the reduction dimension of a
    `llama.linear`, the feature dimension of a `llama.embedding` table) as
    `#llama.quant` describes. A pass or a backend reads the scheme to know the
    arithmetic it must generate; the byte layout is the scheme's canonical one
    until a packing pass says otherwise.

    ```mlir
    !llama.qtensor<1536x576, q4_0>
    !llama.qtensor<4096x4096, int4<block = 32, zero_points>>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t", "matrix shape">:$shape,
                        "QuantSchemeAttr":$scheme);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRows() const { return getShape()[0]; }
    int64_t getCols() const { return getShape()[1]; }
    /// Bytes of the whole matrix in the scheme's canonical storage.
    int64_t getStorageBytes() const;
  }];
}

#endif // LLAMAC_DIALECTS_LLAMA_LLAMATYPES_TD
