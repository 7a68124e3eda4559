#!/usr/bin/env python3
"""Writes dialects/ONNX/ONNXOps.td: one ODS op per supported ONNX operator.

The standard operators' inputs, outputs and attributes come from the operator
schemas of the `onnx` Python package (the newest version of each, up to
opset MAX_OPSET); the com.microsoft operators that exported LLMs use are
described below from onnxruntime's contrib operator documentation.

    scripts/gen_onnx_ops.py            # rewrite the .td file
    scripts/gen_onnx_ops.py --check    # exit 1 if it is out of date

Every operand is a tensor or `none` (an input the node leaves empty), every
result likewise; attributes keep their ONNX names and kinds, all optional
(the importer stores what the node carries; consumers apply the defaults).
"""

import argparse
import os
import sys

import onnx.defs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "dialects", "ONNX", "ONNXOps.td")
TABLE = os.path.join(ROOT, "dialects", "ONNX", "ONNXOpTable.inc")
MAX_OPSET = 23

# ai.onnx operators a Llama export uses (torch.onnx, optimum, onnxruntime-genai).
STANDARD = [
    "Add", "Attention", "Cast", "Concat", "Constant", "ConstantOfShape", "Cos", "Div",
    "Equal", "Expand", "Gather", "Gemm", "Greater", "Less", "MatMul", "Mul", "Neg", "Pow",
    "RMSNormalization", "Range", "Reciprocal", "ReduceMean", "ReduceSum", "Reshape",
    "RotaryEmbedding", "Shape", "Sigmoid", "Sin", "Slice", "Softmax", "Split", "Sqrt",
    "Squeeze", "Sub", "Transpose", "Trilu", "Unsqueeze", "Where",
    # More elementwise and shape operators the generic lowering
    # (onnx-lower-graph) handles, for graphs that are not Llama decoders.
    "Abs", "And", "Ceil", "Erf", "Exp", "Flatten", "Floor", "GreaterOrEqual",
    "Identity", "LessOrEqual", "Log", "Max", "Min", "Not", "Or", "ReduceMax",
    "ReduceMin", "Relu", "Sign", "Tanh", "Xor",
    # What torch.onnx's dynamo exporter writes for transformers' masks.
    "CumSum", "GatherND", "IsNaN",
]

# (domain, name, inputs, outputs, attributes, summary); an input or output is
# (name, "single" | "optional" | "variadic"), an attribute (name, kind).
CONTRIB = [
    ("", "SimplifiedLayerNormalization",
     [("X", "single"), ("scale", "single")],
     [("Y", "single"), ("mean", "optional"), ("inv_std_var", "optional")],
     [("axis", "INT"), ("epsilon", "FLOAT"), ("stash_type", "INT")],
     "RMS normalization: X / sqrt(mean(X^2) + epsilon) * scale (an onnxruntime "
     "operator registered in the ai.onnx domain)"),
    ("com.microsoft", "SimplifiedLayerNormalization",
     [("X", "single"), ("scale", "single")],
     [("Y", "single"), ("mean", "optional"), ("inv_std_var", "optional")],
     [("axis", "INT"), ("epsilon", "FLOAT"), ("stash_type", "INT")],
     "RMS normalization, com.microsoft spelling"),
    ("com.microsoft", "SkipSimplifiedLayerNormalization",
     [("input", "single"), ("skip", "single"), ("gamma", "single"), ("bias", "optional")],
     [("output", "single"), ("mean", "optional"), ("inv_std_var", "optional"),
      ("input_skip_bias_sum", "optional")],
     [("epsilon", "FLOAT")],
     "s = input + skip (+ bias); output = RMS normalization of s times gamma; "
     "input_skip_bias_sum = s"),
    ("com.microsoft", "GroupQueryAttention",
     [("query", "single"), ("key", "optional"), ("value", "optional"),
      ("past_key", "optional"), ("past_value", "optional"), ("seqlens_k", "single"),
      ("total_sequence_length", "single"), ("cos_cache", "optional"),
      ("sin_cache", "optional"), ("position_ids", "optional"),
      ("attention_bias", "optional"), ("head_sink", "optional")],
     [("output", "single"), ("present_key", "single"), ("present_value", "single"),
      ("output_qk", "optional")],
     [("num_heads", "INT"), ("kv_num_heads", "INT"), ("scale", "FLOAT"),
      ("softcap", "FLOAT"), ("local_window_size", "INT"), ("do_rotary", "INT"),
      ("rotary_interleaved", "INT"), ("smooth_softmax", "INT"), ("qk_output", "INT")],
     "Causal grouped-query attention with a key/value cache (query packed with "
     "key and value when those are absent), optional rotary embedding"),
    ("com.microsoft", "RotaryEmbedding",
     [("input", "single"), ("position_ids", "single"), ("cos_cache", "single"),
      ("sin_cache", "single")],
     [("output", "single")],
     [("interleaved", "INT"), ("rotary_embedding_dim", "INT"), ("num_heads", "INT"),
      ("scale", "FLOAT"), ("is_packed_batching", "INT")],
     "Rotary position embedding from cos/sin caches"),
    ("com.microsoft", "MatMulNBits",
     [("A", "single"), ("B", "single"), ("scales", "single"), ("zero_points", "optional"),
      ("g_idx", "optional"), ("bias", "optional")],
     [("Y", "single")],
     [("K", "INT"), ("N", "INT"), ("bits", "INT"), ("block_size", "INT"),
      ("accuracy_level", "INT")],
     "A times a block-quantized B^T: B [N, K/block, block*bits/8] packed "
     "unsigned integers, scales [N * K/block], zero points packed like B "
     "(default 2^(bits-1))"),
]

ATTR = {
    "INT": "OptionalAttr<I64Attr>",
    "FLOAT": "OptionalAttr<F32Attr>",
    "STRING": "OptionalAttr<StrAttr>",
    "INTS": "OptionalAttr<I64ArrayAttr>",
    "FLOATS": "OptionalAttr<F32ArrayAttr>",
    "STRINGS": "OptionalAttr<StrArrayAttr>",
    "TENSOR": "OptionalAttr<ElementsAttr>",
}

OPTION = {
    onnx.defs.OpSchema.FormalParameterOption.Single: "single",
    onnx.defs.OpSchema.FormalParameterOption.Optional: "optional",
    onnx.defs.OpSchema.FormalParameterOption.Variadic: "variadic",
}


def standard(name):
    schema = onnx.defs.get_schema(name, MAX_OPSET)
    inputs = [(p.name, OPTION[p.option]) for p in schema.inputs]
    outputs = [(p.name, OPTION[p.option]) for p in schema.outputs]
    attrs = [(a, str(v.type).split(".")[-1]) for a, v in sorted(schema.attributes.items())]
    doc = " ".join((schema.doc or "").split())
    summary = doc.split(". ")[0].rstrip(".")[:160] if doc else name
    return ("", name, inputs, outputs, attrs, summary, schema.since_version)


def td_name(domain, name):
    prefix = "MS_" if domain == "com.microsoft" else ""
    return f"ONNX_{prefix}{name}Op"


def op_name(domain, name):
    return f"ms.{name}" if domain == "com.microsoft" else name


def escape(text):
    return text.replace("\\", "\\\\").replace('"', '\\"')


def emit(op):
    domain, name, inputs, outputs, attrs, summary, since = op
    seen = {}
    for part, kind in [(n, "operand") for n, _ in inputs] + [(n, "result") for n, _ in outputs] \
            + [(n, "attribute") for n, _ in attrs]:
        key = part.lower()
        if key in seen:
            sys.exit(f"gen_onnx_ops: {name}: {kind} '{part}' clashes with {seen[key]}")
        seen[key] = f"{kind} '{part}'"
    args = []
    for n, option in inputs:
        args.append(f"Variadic<ONNX_Value>:${n}" if option == "variadic" else f"ONNX_Value:${n}")
    for n, kind in attrs:
        if kind in ATTR:
            args.append(f"{ATTR[kind]}:${n}")
    results = []
    for n, option in outputs:
        results.append(f"Variadic<ONNX_Value>:${n}" if option == "variadic" else f"ONNX_Value:${n}")
    variadic_in = sum(1 for _, o in inputs if o == "variadic")
    traits = []
    if variadic_in > 1:
        traits.append("AttrSizedOperandSegments")
    if sum(1 for _, o in outputs if o == "variadic") > 1:
        traits.append("AttrSizedResultSegments")
    domain_text = domain or "ai.onnx"
    lines = [f'def {td_name(domain, name)} : ONNX_Op<"{op_name(domain, name)}", [{", ".join(traits)}]> {{',
             f'  let summary = "{escape(summary)}";',
             "  let description = [{",
             f"    ONNX operator `{domain_text}.{name}`"
             + (f" (this definition: opset {since})" if since else "") + ".",
             "    Inputs: " + ", ".join(f"`{n}` ({o})" for n, o in inputs) + ".",
             "    Outputs: " + ", ".join(f"`{n}` ({o})" for n, o in outputs) + ".",
             "    An input or output the node leaves empty is a `none` value.",
             "  }];",
             f"  let arguments = (ins {', '.join(args)});",
             f"  let results = (outs {', '.join(results)});",
             "}", ""]
    return "\n".join(lines)


def render():
    ops = [standard(n) for n in STANDARD] + [(*c, None) for c in CONTRIB]
    head = """//===- ONNXOps.td - Ops of the onnx dialect ----------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// GENERATED by scripts/gen_onnx_ops.py from the onnx package's operator
// schemas and onnxruntime's contrib operator documentation; do not edit.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_ONNX_ONNXOPS_TD
#define LLAMAC_DIALECTS_ONNX_ONNXOPS_TD

include "dialects/ONNX/ONNXBase.td"

"""
    return head + "\n".join(emit(op) for op in ops) + "\n#endif // LLAMAC_DIALECTS_ONNX_ONNXOPS_TD\n"


def oldest_opset(domain, name):
    """The oldest ai.onnx opset whose definition of the operator is the one
    llamac reads: the definition in effect at opset 13 (llamac's floor),
    or the operator's first one if it is newer. A model of an older opset
    may use the operator when its definition has not changed since."""
    if domain:
        return 1
    try:
        return onnx.defs.get_schema(name, 13).since_version
    except onnx.defs.SchemaError:
        return onnx.defs.get_schema(name, MAX_OPSET).since_version


def render_table():
    """The importer's table: domain, op type, declared inputs and outputs
    (a variadic one counts as -1: everything from there on), the oldest
    opset of the definition llamac reads, and which inputs are required (bit
    i: input i is neither optional nor variadic)."""
    ops = [standard(n) for n in STANDARD] + [(*c, None) for c in CONTRIB]
    lines = ["// GENERATED by scripts/gen_onnx_ops.py; do not edit.",
             "// ONNX_OP(domain, type, mlir name, inputs, outputs, variadic input, "
             "variadic output, oldest opset, required inputs)"]
    for domain, name, inputs, outputs, _, _, since in ops:
        vin = next((i for i, (_, o) in enumerate(inputs) if o == "variadic"), -1)
        vout = next((i for i, (_, o) in enumerate(outputs) if o == "variadic"), -1)
        # Contrib operators (no since version) have no opset history here.
        oldest = oldest_opset(domain, name) if since is not None else 1
        required = sum(1 << i for i, (_, o) in enumerate(inputs) if o == "single")
        lines.append(f'ONNX_OP("{domain}", "{name}", "onnx.{op_name(domain, name)}", '
                     f"{len(inputs)}, {len(outputs)}, {vin}, {vout}, {oldest}, {required:#x})")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--check", action="store_true")
    a = p.parse_args()
    outputs = {OUT: render(), TABLE: render_table()}
    if a.check:
        for path, text in outputs.items():
            with open(path) as f:
                if f.read() != text:
                    sys.exit(f"{path} is out of date: run scripts/gen_onnx_ops.py")
        return
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    for path, text in outputs.items():
        with open(path, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
