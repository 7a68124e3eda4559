#!/usr/bin/env python3
"""Writes a Llama checkpoint (test/models/make_llama.py) as an ONNX decoder
graph in the style of onnxruntime-genai's model builder: com.microsoft
GroupQueryAttention with a key/value cache and rotary cos/sin tables,
SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization, MatMul
weights stored [in, out], SwiGLU as Sigmoid and Mul, the attention-mask
bookkeeping the builder writes (sequence lengths for the attention node).

    make_onnx.py HF_DIR OUT.onnx [--dtype f32|f16] [--separate-qkv]
                 [--interleaved] [--inline] [--positions N]

Weights go to OUT.onnx.data (external data) unless --inline. onnxruntime
runs the result (it implements the com.microsoft operators on CPU), which
makes it the reference for llamac's ONNX front end.
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402


def load(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    weights = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".safetensors"):
            weights.update(safetensors_io.read(os.path.join(directory, name)))
    return config, {k: v.astype(np.float32) for k, v in weights.items()}


def rotary_tables(config, head_dim, positions):
    theta = config.get("rope_theta", 10000.0)
    inv = 1.0 / theta ** (np.arange(0, head_dim, 2, dtype=np.float64) / head_dim)
    angles = np.arange(positions, dtype=np.float64)[:, None] * inv[None, :]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


def quantize_nbits(weight, block, zero_points):
    """MatMulNBits' initializers for weight [N, K]: B [N, K/block, block/2]
    (4-bit codes, two per byte, low nibble first), scales [N * K/block] and,
    with zero_points, packed 4-bit zero points [N * ceil(blocks/2)]. Without
    them the zero point is 8. (Any rounding will do: onnxruntime and llamac
    read the same codes.)"""
    n, k = weight.shape
    blocks = k // block
    w = weight.astype(np.float64).reshape(n, blocks, block)
    if zero_points:
        lo, hi = np.minimum(w.min(axis=2), 0), np.maximum(w.max(axis=2), 0)
        scale = np.where(hi > lo, (hi - lo) / 15, 1.0)
        zero = np.clip(np.round(-lo / scale), 0, 15).astype(np.uint8)
    else:
        scale = np.abs(w).max(axis=2) / 7
        scale = np.where(scale > 0, scale, 1.0)
        zero = np.full((n, blocks), 8, np.uint8)
    codes = np.clip(np.round(w / scale[:, :, None]) + zero[:, :, None], 0, 15).astype(np.uint8)
    packed = codes[:, :, 0::2] | (codes[:, :, 1::2] << 4)
    result = {"B": packed, "scales": scale.astype(np.float32).reshape(-1)}
    if zero_points:
        padded = np.zeros((n, (blocks + 1) // 2 * 2), np.uint8)
        padded[:, :blocks] = zero
        result["zero_points"] = (padded[:, 0::2] | (padded[:, 1::2] << 4)).reshape(-1)
    return result


def build(hf_dir, out, dtype="f32", separate_qkv=False, interleaved=False, inline=False,
          positions=256, int4_block=0, zero_points=False, accuracy_level=0,
          separate_rotary=False, standard=False):
    """separate_rotary: RotaryEmbedding nodes on Q and K (with a position_ids
    input) before a GroupQueryAttention with do_rotary = 0, as the builder
    writes for attention kernels without fused rotary: com.microsoft's
    (True or "ms") or opset 23's ("onnx"); needs separate_qkv.

    standard: opset 23's standard operators only, no com.microsoft ones:
    RMSNormalization, Add for the residuals, RotaryEmbedding and Attention
    (3-D Q/K/V with q_num_heads/kv_num_heads, the past keys/values as
    inputs, is_causal) - the graph an exporter targeting opset 23 writes."""
    if standard:
        separate_qkv, separate_rotary = True, "onnx"
    assert not separate_rotary or separate_qkv
    config, w = load(hf_dir)
    hidden = config["hidden_size"]
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    layers = config["num_hidden_layers"]
    eps = config.get("rms_norm_eps", 1e-6)
    tied = config.get("tie_word_embeddings", False)
    np_type = np.float16 if dtype == "f16" else np.float32
    onnx_type = TensorProto.FLOAT16 if dtype == "f16" else TensorProto.FLOAT

    nodes, inits = [], []

    def init(name, array, cast=True):
        array = array.astype(np_type) if cast else array
        inits.append(numpy_helper.from_array(array, name))
        return name

    def node(op, inputs, outputs, domain="", **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, name=f"/{op}_{len(nodes)}",
                                      domain=domain, **attrs))
        return outputs[0]

    def interleave_rows(matrix, n_heads):
        # HF's rotate-half layout -> (2i, 2i+1) pairs, per head: the weights an
        # interleaved rotary expects to compute the same model.
        rows = matrix.reshape(n_heads, 2, head_dim // 2, -1)
        return rows.transpose(0, 2, 1, 3).reshape(matrix.shape)

    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64,
                                            ["batch_size", "sequence_length"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                            ["batch_size", "total_sequence_length"])]
    if separate_rotary:
        inputs.append(helper.make_tensor_value_info("position_ids", TensorProto.INT64,
                                                    ["batch_size", "sequence_length"]))
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                             ["batch_size", "sequence_length",
                                              config["vocab_size"]])]
    for i in range(layers):
        for kind in ("key", "value"):
            inputs.append(helper.make_tensor_value_info(
                f"past_key_values.{i}.{kind}", TensorProto.FLOAT,
                ["batch_size", kv_heads, "past_sequence_length", head_dim]))
            outputs.append(helper.make_tensor_value_info(
                f"present.{i}.{kind}", TensorProto.FLOAT,
                ["batch_size", kv_heads, "total_sequence_length", head_dim]))

    # Attention-mask bookkeeping, as the builder writes it.
    one = init("one_i64", np.array([1], np.int64), cast=False)
    summed = node("ReduceSum", ["attention_mask", one], ["mask_sum"], keepdims=1)
    node("Cast", [node("Sub", [summed, one], ["mask_sub"])], ["seqlens_k"],
         to=TensorProto.INT32)
    shape = node("Shape", ["attention_mask"], ["mask_shape"])
    total = node("Gather", [shape, init("one_scalar", np.array(1, np.int64), cast=False)],
                 ["total_i64"], axis=0)
    node("Cast", [total], ["total_sequence_length"], to=TensorProto.INT32)

    cos, sin = rotary_tables(config, head_dim, positions)
    init("cos_cache", cos, cast=False)
    init("sin_cache", sin, cast=False)

    embed = init("model.embed_tokens.weight", w["model.embed_tokens.weight"])
    x = node("Gather", [embed, "input_ids"], ["embedded"])
    if dtype == "f16":
        x = node("Cast", [x], ["embedded_f32"], to=TensorProto.FLOAT)
    residual = x
    norm = node("RMSNormalization" if standard else "SimplifiedLayerNormalization",
                [x, init("model.layers.0.input_layernorm.weight",
                         w["model.layers.0.input_layernorm.weight"], cast=False)],
                ["layer0_norm"], axis=-1, epsilon=eps, stash_type=1)

    def skip_norm(a, b, scale, out, total, tag):
        """a + b, then RMS normalization: com.microsoft's fused node, or an
        Add and opset 23's RMSNormalization."""
        if standard:
            node("Add", [a, b], [total])
            return node("RMSNormalization", [total, scale], [out], axis=-1,
                        epsilon=eps, stash_type=1)
        nodes.append(helper.make_node(
            "SkipSimplifiedLayerNormalization", [a, b, scale],
            [out, "", "", total], name=tag, domain="com.microsoft", epsilon=eps))
        return out

    def matmul(inp, name, weight, tag):
        if int4_block:
            # The builder's int4 export: MatMulNBits on the weight [N, K].
            q = quantize_nbits(weight, int4_block, zero_points)
            names = [inp, init(name + ".B", q["B"], cast=False),
                     init(name + ".scales", q["scales"], cast=False)]
            if zero_points:
                names.append(init(name + ".zero_points", q["zero_points"], cast=False))
            return node("MatMulNBits", names, [f"{tag}_out"], domain="com.microsoft",
                        K=weight.shape[1], N=weight.shape[0], bits=4,
                        block_size=int4_block, accuracy_level=accuracy_level)
        # f16 weights: the product runs in f16 between two Casts, as mixed
        # precision exports write it.
        if dtype == "f16":
            inp = node("Cast", [inp], [f"{tag}_in16"], to=TensorProto.FLOAT16)
            out = node("MatMul", [inp, init(name, weight.T.copy())], [f"{tag}_out16"])
            return node("Cast", [out], [f"{tag}_out"], to=TensorProto.FLOAT)
        return node("MatMul", [inp, init(name, weight.T.copy())], [f"{tag}_out"])

    for i in range(layers):
        p = f"model.layers.{i}."
        q_w, k_w, v_w = (w[p + f"self_attn.{n}_proj.weight"] for n in "qkv")
        if interleaved:
            q_w, k_w = interleave_rows(q_w, heads), interleave_rows(k_w, kv_heads)
        if separate_qkv:
            q = matmul(norm, p + "attn.q_proj.weight", q_w, f"l{i}_q")
            k = matmul(norm, p + "attn.k_proj.weight", k_w, f"l{i}_k")
            v = matmul(norm, p + "attn.v_proj.weight", v_w, f"l{i}_v")
            if separate_rotary == "onnx":
                q = node("RotaryEmbedding", [q, "cos_cache", "sin_cache", "position_ids"],
                         [f"l{i}_q_rot"], num_heads=heads,
                         interleaved=1 if interleaved else 0)
                k = node("RotaryEmbedding", [k, "cos_cache", "sin_cache", "position_ids"],
                         [f"l{i}_k_rot"], num_heads=kv_heads,
                         interleaved=1 if interleaved else 0)
            elif separate_rotary:
                q = node("RotaryEmbedding", [q, "position_ids", "cos_cache", "sin_cache"],
                         [f"l{i}_q_rot"], domain="com.microsoft", num_heads=heads,
                         interleaved=1 if interleaved else 0)
                k = node("RotaryEmbedding", [k, "position_ids", "cos_cache", "sin_cache"],
                         [f"l{i}_k_rot"], domain="com.microsoft", num_heads=kv_heads,
                         interleaved=1 if interleaved else 0)
            gqa_in = [q, k, v]
        else:
            qkv = matmul(norm, p + "attn.qkv_proj.weight",
                         np.concatenate([q_w, k_w, v_w], axis=0), f"l{i}_qkv")
            gqa_in = [qkv, "", ""]
        if standard:
            # Causal over the past keys and the new ones, aligned to the last
            # key (a query at position p sees keys 0..p).
            node("Attention",
                 gqa_in + ["", f"past_key_values.{i}.key", f"past_key_values.{i}.value"],
                 [f"l{i}_attn", f"present.{i}.key", f"present.{i}.value"],
                 q_num_heads=heads, kv_num_heads=kv_heads, is_causal=1,
                 scale=1.0 / math.sqrt(head_dim))
        else:
            node("GroupQueryAttention",
                 gqa_in + [f"past_key_values.{i}.key", f"past_key_values.{i}.value",
                           "seqlens_k", "total_sequence_length", "cos_cache", "sin_cache"],
                 [f"l{i}_attn", f"present.{i}.key", f"present.{i}.value"],
                 domain="com.microsoft", num_heads=heads, kv_num_heads=kv_heads,
                 scale=1.0 / math.sqrt(head_dim), do_rotary=0 if separate_rotary else 1,
                 rotary_interleaved=1 if interleaved else 0, local_window_size=-1)
        o = matmul(f"l{i}_attn", p + "attn.o_proj.weight", w[p + "self_attn.o_proj.weight"],
                   f"l{i}_o")
        post = init(p + "post_attention_layernorm.weight",
                    w[p + "post_attention_layernorm.weight"], cast=False)
        skip_norm(residual, o, post, f"l{i}_post", f"l{i}_sum1", f"/skip_{i}_a")
        residual = f"l{i}_sum1"
        gate = matmul(f"l{i}_post", p + "mlp.gate_proj.weight", w[p + "mlp.gate_proj.weight"],
                      f"l{i}_gate")
        up = matmul(f"l{i}_post", p + "mlp.up_proj.weight", w[p + "mlp.up_proj.weight"],
                    f"l{i}_up")
        silu = node("Mul", [gate, node("Sigmoid", [gate], [f"l{i}_sig"])], [f"l{i}_silu"])
        act = node("Mul", [silu, up], [f"l{i}_act"])
        down = matmul(act, p + "mlp.down_proj.weight", w[p + "mlp.down_proj.weight"],
                      f"l{i}_down")
        last = i == layers - 1
        norm_name = "model.norm.weight" if last else f"model.layers.{i + 1}.input_layernorm.weight"
        scale = init(norm_name, w[norm_name], cast=False)
        if standard:
            skip_norm(residual, down, scale, f"l{i}_next", f"l{i}_sum2", f"/skip_{i}_b")
        else:
            outs = [f"l{i}_next", "", "", f"l{i}_sum2"] if not last else [f"l{i}_next"]
            nodes.append(helper.make_node("SkipSimplifiedLayerNormalization",
                                          [residual, down, scale], outs,
                                          name=f"/skip_{i}_b", domain="com.microsoft",
                                          epsilon=eps))
        residual = f"l{i}_sum2"
        norm = f"l{i}_next"

    if tied:
        table = embed
        if dtype == "f16":
            head_in = node("Cast", [norm], ["head_in16"], to=TensorProto.FLOAT16)
            out = node("MatMul", [head_in, node("Transpose", [table], ["embed_t"],
                                                perm=[1, 0])], ["logits16"])
            node("Cast", [out], ["logits"], to=TensorProto.FLOAT)
        else:
            node("MatMul", [norm, node("Transpose", [table], ["embed_t"], perm=[1, 0])],
                 ["logits"])
    else:
        matmul(norm, "lm_head.weight", w["lm_head.weight"], "head")
        nodes[-1].output[0] = "logits"

    graph = helper.make_graph(nodes, "llama", inputs, outputs, inits)
    opset = 23 if separate_rotary == "onnx" else 21
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="llamac make_onnx.py")
    model.ir_version = 10
    if inline:
        onnx.save(model, out)
    else:
        data = os.path.basename(out) + ".data"
        if os.path.exists(os.path.join(os.path.dirname(out) or ".", data)):
            os.remove(os.path.join(os.path.dirname(out) or ".", data))
        onnx.save(model, out, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=data, size_threshold=256)
    return model


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("hf_dir")
    p.add_argument("out")
    p.add_argument("--dtype", choices=["f32", "f16"], default="f32")
    p.add_argument("--separate-qkv", action="store_true")
    p.add_argument("--interleaved", action="store_true")
    p.add_argument("--inline", action="store_true")
    p.add_argument("--positions", type=int, default=256, help="rows of the rotary tables")
    p.add_argument("--int4-block", type=int, default=0,
                   help="write projections as MatMulNBits with this block size")
    p.add_argument("--zero-points", action="store_true", help="with --int4-block: asymmetric")
    p.add_argument("--separate-rotary", choices=["ms", "onnx"],
                   help="RotaryEmbedding nodes (com.microsoft, or opset 23's) "
                        "instead of GQA's do_rotary")
    p.add_argument("--standard", action="store_true",
                   help="opset 23's standard operators only (Attention, "
                        "RotaryEmbedding, RMSNormalization)")
    a = p.parse_args()
    build(a.hf_dir, a.out, a.dtype, a.separate_qkv, a.interleaved, a.inline, a.positions,
          a.int4_block, a.zero_points, separate_rotary=a.separate_rotary,
          standard=a.standard)


if __name__ == "__main__":
    main()
