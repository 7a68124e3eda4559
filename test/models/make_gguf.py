#!/usr/bin/env python3
"""Writes a GGUF file from a Hugging Face checkpoint made by make_llama.py.

  make_gguf.py HF_DIR OUT.gguf [--type q8_0|q4_0|q4_1|f16|bf16|f32] [--version 2|3]

Follows what llama.cpp's converter does for the llama architecture, using the
`gguf` PyPI package's writer and quantizers: `llama.*` hyper-parameters,
tensors renamed (token_embd, blk.N.attn_q, ...), the query and key rows
permuted for adjacent-pair rotation, matrices stored in the requested type and
norms in F32, a GPT-2-style token list for the vocabulary size. The
reference weights (what a correct reader must see, before the permutation)
are returned by `reference_weights()`.
"""

import argparse
import json
import os

import gguf
import numpy as np

import safetensors_io

TYPES = {
    "f32": gguf.GGMLQuantizationType.F32,
    "f16": gguf.GGMLQuantizationType.F16,
    "bf16": gguf.GGMLQuantizationType.BF16,
    "q8_0": gguf.GGMLQuantizationType.Q8_0,
    "q4_0": gguf.GGMLQuantizationType.Q4_0,
    "q4_1": gguf.GGMLQuantizationType.Q4_1,
}

NAMES = {
    "model.embed_tokens.weight": "token_embd.weight",
    "model.norm.weight": "output_norm.weight",
    "lm_head.weight": "output.weight",
    "input_layernorm.weight": "attn_norm.weight",
    "self_attn.q_proj.weight": "attn_q.weight",
    "self_attn.k_proj.weight": "attn_k.weight",
    "self_attn.v_proj.weight": "attn_v.weight",
    "self_attn.o_proj.weight": "attn_output.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
    "mlp.gate_proj.weight": "ffn_gate.weight",
    "mlp.up_proj.weight": "ffn_up.weight",
    "mlp.down_proj.weight": "ffn_down.weight",
}


def gguf_name(name):
    if name in NAMES:
        return NAMES[name]
    parts = name.split(".")
    return f"blk.{parts[2]}." + NAMES[".".join(parts[3:])]


def permute(weights, heads):
    """Rows of each head reordered from (i, i + d/2) pairs to (2i, 2i + 1)."""
    rows = weights.shape[0]
    return (weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
            .swapaxes(1, 2).reshape(weights.shape))


def load_hf(directory):
    with open(os.path.join(directory, "config.json")) as f:
        config = json.load(f)
    tensors = {}
    for name in sorted(os.listdir(directory)):
        if name.endswith(".safetensors"):
            tensors.update(safetensors_io.read(os.path.join(directory, name)))
    return config, tensors


def stored(array, qtype):
    """(bytes to store, what a reader decodes them to)"""
    if qtype == gguf.GGMLQuantizationType.F32:
        return array.astype(np.float32), array.astype(np.float32)
    if qtype == gguf.GGMLQuantizationType.F16:
        half = array.astype(np.float16)
        return half, half.astype(np.float32)
    data = gguf.quants.quantize(array.astype(np.float32), qtype)
    return data, gguf.quants.dequantize(data, qtype).reshape(array.shape).astype(np.float32)


def add_synthetic_vocab(writer, vocab_size):
    """A SentencePiece-style vocabulary of the model's size (peers such as
    llama.cpp refuse a GGUF without one): <unk>, <s>, </s>, the 256 byte
    tokens, then filler pieces."""
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    tokens += [f"\u2581t{i}" for i in range(vocab_size - len(tokens))]
    types = [2, 3, 3] + [6] * 256 + [1] * (vocab_size - 259)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens[:vocab_size])
    writer.add_token_scores([-float(i) for i in range(vocab_size)])
    writer.add_token_types(types[:vocab_size])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)


def convert(hf_dir, out, type_name="q8_0", version=3, embed_type=None,
            vocab=False):
    config, tensors = load_hf(hf_dir)
    heads = config["num_attention_heads"]
    kv_heads = config.get("num_key_value_heads") or heads
    hidden = config["hidden_size"]
    head_dim = config.get("head_dim") or hidden // heads
    qtype = TYPES[type_name]
    etype = TYPES[embed_type or type_name]

    writer = gguf.GGUFWriter(out, "llama")
    if version == 2:
        writer.fout  # noqa: B018 (version set below)
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_context_length(config.get("max_position_embeddings", 2048))
    writer.add_embedding_length(hidden)
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(heads)
    writer.add_head_count_kv(kv_heads)
    writer.add_layer_norm_rms_eps(config.get("rms_norm_eps", 1e-6))
    writer.add_rope_freq_base(config.get("rope_theta", 10000.0))
    writer.add_rope_dimension_count(head_dim)
    if vocab:
        add_synthetic_vocab(writer, config["vocab_size"])
    else:
        # No tokenizer ("none", as llama.cpp spells it); the vocabulary size
        # comes from the embedding table.
        writer.add_tokenizer_model("none")

    reference = {}
    for name, array in tensors.items():
        array = array.astype(np.float32)
        if name.endswith("q_proj.weight"):
            array_gguf = permute(array, heads)
        elif name.endswith("k_proj.weight"):
            array_gguf = permute(array, kv_heads)
        else:
            array_gguf = array
        if array.ndim == 1:
            data, decoded = stored(array_gguf, gguf.GGMLQuantizationType.F32)
            kind = gguf.GGMLQuantizationType.F32
        else:
            kind = etype if name in ("model.embed_tokens.weight", "lm_head.weight") else qtype
            data, decoded = stored(array_gguf, kind)
        writer.add_tensor(gguf_name(name), data, raw_dtype=kind)
        # Undo the permutation on what a reader decodes: row-wise formats
        # commute with the row permutation.
        if name.endswith("q_proj.weight"):
            inverse = np.argsort(permute(np.arange(array.shape[0]), heads))
            decoded = decoded[inverse]
        elif name.endswith("k_proj.weight"):
            inverse = np.argsort(permute(np.arange(array.shape[0]), kv_heads))
            decoded = decoded[inverse]
        reference[name] = decoded
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    if version == 2:
        with open(out, "r+b") as f:
            f.seek(4)
            f.write((2).to_bytes(4, "little"))
    return reference


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("hf_dir")
    p.add_argument("out")
    p.add_argument("--type", choices=sorted(TYPES), default="q8_0")
    p.add_argument("--embed-type", choices=sorted(TYPES))
    p.add_argument("--version", type=int, choices=[2, 3], default=3)
    a = p.parse_args()
    convert(a.hf_dir, a.out, a.type, a.version, a.embed_type)


def dequantized_copy(src, dst, type_name="f16"):
    """A copy of the GGUF file `src` (metadata, tokenizer and all) whose
    matrices are decoded by the gguf package and stored as `type_name`
    (f16 or f32): the float model a quantized checkpoint stands for."""
    reader = gguf.GGUFReader(src)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    writer = gguf.GGUFWriter(dst, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture":
            continue
        kind = field.types[0]
        if kind == gguf.GGUFValueType.ARRAY:
            if field.types[1] == gguf.GGUFValueType.STRING:
                values = [bytes(field.parts[i]) for i in field.data]
            else:
                values = [field.parts[i].tolist()[0] for i in field.data]
            writer.add_array(key, values)
        elif kind == gguf.GGUFValueType.STRING:
            writer.add_string(key, bytes(field.parts[field.data[0]]).decode())
        else:
            writer.add_key_value(key, field.parts[field.data[0]].tolist()[0], kind)
    for t in reader.tensors:
        shape = [int(n) for n in reversed(t.shape)]
        array = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape)
        if array.ndim == 2:
            array = array.astype(np.float16 if type_name == "f16" else np.float32)
        else:
            array = array.astype(np.float32)
        writer.add_tensor(t.name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
