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
    arithmetic it must generate.

    `packed` names the byte layout. `rows` (the default, not printed) is the
    scheme's canonical one: each row is its blocks one after another, as GGUF
    stores them. `r16`, written by `llama-pack-weights` for kernels built on
    8-bit dot products, interleaves groups of 16 rows: for each group and
    each block, the 16 rows' f16 scales (then, for q4_1, their minimums),
    then the values, 16 rows x 4 consecutive values per 64 bytes (q8_0 values
    biased to unsigned by flipping their sign bit; q4 bytes holding values k
    and k + 16 in their low and high nibble). Rows are padded with zeros to a
    multiple of 16; the size per row is the canonical one.

    ```mlir
    !llama.qtensor<1536x576, q4_0>
    !llama.qtensor<1536x576, q8_0, packed = r16>
    !llama.qtensor<4096x4096, int4<block = 32, zero_points>>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"int64_t", "matrix shape">:$shape,
                        "QuantSchemeAttr":$scheme,
                        DefaultValuedParameter<"WeightPacking",
                            "WeightPacking::Rows">:$packing);
  let builders = [
    TypeBuilder<(ins "::llvm::ArrayRef<int64_t>":$shape,
                     "QuantSchemeAttr":$scheme), [{
      return $_get($_ctxt, shape, scheme, WeightPacking::Rows);
    }]>
  ];
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    int64_t getRows() const { return getShape()[0]; }
    int64_t getCols() const { return getShape()[1]; }
    /// Bytes of the whole matrix in its layout (rows padded for r16).
    int64_t getStorageBytes() const;
    /// Rows the layout stores (a multiple of 16 for r16).
    int64_t getStoredRows() const;
  }];
}

#endif // LLAMAC_DIALECTS_LLAMA_LLAMATYPES_TD
