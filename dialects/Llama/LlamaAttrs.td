//===- LlamaAttrs.td - Attributes of the llama dialect -----*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file defines the enums and attributes of the `llama` dialect: the
// quantization scheme of a weight, the rotary embedding's pairing style and
// its frequency scaling.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_LLAMA_LLAMAATTRS_TD
#define LLAMAC_DIALECTS_LLAMA_LLAMAATTRS_TD

include "dialects/Llama/LlamaDialect.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Llama_QuantKind : I32EnumAttr<"QuantKind", "block quantization format", [
    I32EnumAttrCase<"Q8_0", 0, "q8_0">,
    I32EnumAttrCase<"Q4_0", 1, "q4_0">,
    I32EnumAttrCase<"Q4_1", 2, "q4_1">,
    I32EnumAttrCase<"Int4", 3, "int4">
  ]> {
  let cppNamespace = "::llamac::llama";
  let genSpecializedAttr = 0;
}

def Llama_WeightPacking : I32EnumAttr<"WeightPacking",
    "byte layout of a quantized weight", [
    I32EnumAttrCase<"Rows", 0, "rows">,
    I32EnumAttrCase<"R16", 1, "r16">
  ]> {
  let cppNamespace = "::llamac::llama";
  let genSpecializedAttr = 0;
}

def Llama_RopeScalingKind : I32EnumAttr<"RopeScalingKind",
    "rotary frequency scaling rule", [
    I32EnumAttrCase<"Linear", 0, "linear">,
    I32EnumAttrCase<"Llama3", 1, "llama3">
  ]> {
  let cppNamespace = "::llamac::llama";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class Llama_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Llama_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// A double-precision parameter written as a plain float literal.
class Llama_F64Parameter<string desc, string value = "">
    : APFloatParameter<desc> {
  let parser = [{ [&]() -> ::mlir::FailureOr<::llvm::APFloat> {
    double v;
    if ($_parser.parseFloat(v))
      return ::mlir::failure();
    return ::llvm::APFloat(v);
  }() }];
  let printer = [{ $_printer.printFloat($_self) }];
  let defaultValue = !if(!empty(value), "", "::llvm::APFloat(" # value # ")");
}

def Llama_QuantSchemeAttr : Llama_Attr<"QuantScheme", "quant"> {
  let summary = "How a quantized weight encodes its values";
  let description = [{
    A weight matrix `W[rows, cols]` is quantized along `cols` in blocks of
    `block_size` consecutive values. Within a block `b` of row `r`, value `i`
    decodes as

    - `q8_0`: `W = d * q_i`, `q_i` a signed 8-bit integer, `d` an f16 scale
      (GGML Q8_0; 34 bytes per block of 32);
    - `q4_0`: `W = d * (q_i - 8)`, `q_i` an unsigned 4-bit integer
      (GGML Q4_0; 18 bytes per block of 32);
    - `q4_1`: `W = d * q_i + m`, `d` and `m` f16
      (GGML Q4_1; 20 bytes per block of 32);
    - `int4`: `W = s * (q_i - z)`, `s` a per-block float scale, `z` an
      explicit 4-bit zero point when `zero_points` is set and 8 otherwise
      (ONNX `com.microsoft.MatMulNBits` with `bits = 4`).

    The GGML kinds fix `block_size` to 32 and print without parameters;
    `int4` takes any power of two from 16 up.

    ```mlir
    #llama.quant<q4_0>
    #llama.quant<int4<block = 128, zero_points>>
    ```
  }];
  let parameters = (ins EnumParameter<Llama_QuantKind>:$kind,
                        "int64_t":$blockSize,
                        "bool":$zeroPoints);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The scheme of a GGML block format: block size 32, no zero points.
    static QuantSchemeAttr getGGML(::mlir::MLIRContext *context, QuantKind kind);
    /// Prints the scheme without the `#llama.quant<...>` wrapper.
    void printBody(::mlir::AsmPrinter &printer) const;
    /// Parses what printBody prints.
    static QuantSchemeAttr parseBody(::mlir::AsmParser &parser);
    /// Bytes that one row of `cols` values takes in the scheme's canonical
    /// storage (GGML blocks; for int4, packed nibbles plus f32 scales and,
    /// when present, packed zero points).
    int64_t getRowBytes(int64_t cols) const;
  }];
}

def Llama_PackedAttr : Llama_Attr<"Packed", "packed"> {
  let summary = "The byte layout of a float weight matrix (a tensor encoding)";
  let description = [{
    As the encoding of a 2-D float weight `tensor<N x K x T>`, says how its
    values are stored. `r16`, written by `llama-pack-weights` for kernels
    that keep 16 outputs in vector lanes, stores groups of 16 rows
    column-interleaved: for each group, for each column `k`, the 16 rows'
    values at `k` (rows past `N` are zero), so a product of one group is one
    sequential read and one vector load per column. Without an encoding the
    matrix is row-major.

    ```mlir
    tensor<5632x2048xf16, #llama.packed<r16>>
    ```
  }];
  let parameters = (ins EnumParameter<Llama_WeightPacking>:$packing);
  let assemblyFormat = "`<` $packing `>`";
  let extraClassDeclaration = [{
    /// Rows the storage holds for `rows` logical rows (a multiple of 16).
    static int64_t storedRows(int64_t rows) { return (rows + 15) / 16 * 16; }
  }];
}

def Llama_RopeScalingAttr : Llama_Attr<"RopeScaling", "rope_scaling"> {
  let summary = "Frequency scaling of a rotary embedding";
  let description = [{
    Rescales the rotary frequencies `f_i = theta^(-2i/rotary_dim)` so a model
    serves positions beyond its training context.

    - `linear`: `f_i' = f_i / factor`.
    - `llama3` (Llama 3.1 and later): with wavelength `w_i = 2*pi / f_i`,
      `lo = original_max_position / low_freq_factor` and
      `hi = original_max_position / high_freq_factor`,
      `f_i' = f_i` when `w_i < hi`, `f_i / factor` when `w_i > lo`, and in
      between `(1 - s) * f_i / factor + s * f_i` with
      `s = (original_max_position / w_i - low_freq_factor)
           / (high_freq_factor - low_freq_factor)`.

    ```mlir
    #llama.rope_scaling<llama3, factor = 8.0, low_freq_factor = 1.0,
                        high_freq_factor = 4.0, original_max_position = 8192>
    #llama.rope_scaling<linear, factor = 2.0>
    ```
  }];
  let parameters = (ins
    EnumParameter<Llama_RopeScalingKind>:$kind,
    Llama_F64Parameter<"scaling factor">:$factor,
    Llama_F64Parameter<"llama3 low frequency factor", "1.0">:$low_freq_factor,
    Llama_F64Parameter<"llama3 high frequency factor", "4.0">:$high_freq_factor,
    DefaultValuedParameter<"int64_t", "8192",
        "llama3 original training context">:$original_max_position);
  let assemblyFormat = [{
    `<` $kind `,` struct($factor, $low_freq_factor, $high_freq_factor,
                         $original_max_position) `>`
  }];
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// Applies the scaling rule to one inverse frequency (radians per
    /// position).
    double scaleFrequency(double frequency) const;
  }];
}

#endif // LLAMAC_DIALECTS_LLAMA_LLAMAATTRS_TD
