#!/usr/bin/env python3
"""Writes a large Llama checkpoint as sparse files, in seconds and no disk.

    make_sparse_llama.py OUT [--shape llama3.1-8b|tinyllama] [--shard-gb 5]

OUT gets config.json, model-0000K-of-0000N.safetensors shards and
model.safetensors.index.json, as Hugging Face writes them, in bf16. Only the
headers and the RMSNorm weights (1.0) are written; every matrix is a hole in
its file (reads as zeros), and the first 4 KiB of each matrix holds random
values so that the data path is not all zeros. For compile-time memory and
streaming tests, and for speed and stability runs of big shapes (random
weights: the text means nothing).
"""
import argparse
import json
import os
import struct

import numpy as np

SHAPES = {
    # Llama-3.1-8B: hidden 4096, 32 layers, 32 heads, 8 KV heads, 14336 ffn,
    # vocab 128256, llama3 rope scaling.
    "llama3.1-8b": dict(hidden=4096, layers=32, heads=32, kv_heads=8, ffn=14336,
                        vocab=128256, max_positions=131072, theta=500000.0,
                        scaling={"rope_type": "llama3", "factor": 8.0,
                                 "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                 "original_max_position_embeddings": 8192},
                        bos=128000, eos=[128001, 128008, 128009], tie=False),
    # TinyLlama-1.1B.
    "tinyllama": dict(hidden=2048, layers=22, heads=32, kv_heads=4, ffn=5632,
                      vocab=32000, max_positions=2048, theta=10000.0, scaling=None,
                      bos=1, eos=[2], tie=False),
}


def tensors(s):
    """(name, shape) in Hugging Face's order."""
    hidden, kv = s["hidden"], s["kv_heads"] * (s["hidden"] // s["heads"])
    yield "model.embed_tokens.weight", (s["vocab"], hidden)
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (hidden,)
        yield p + "self_attn.q_proj.weight", (hidden, hidden)
        yield p + "self_attn.k_proj.weight", (kv, hidden)
        yield p + "self_attn.v_proj.weight", (kv, hidden)
        yield p + "self_attn.o_proj.weight", (hidden, hidden)
        yield p + "post_attention_layernorm.weight", (hidden,)
        yield p + "mlp.gate_proj.weight", (s["ffn"], hidden)
        yield p + "mlp.up_proj.weight", (s["ffn"], hidden)
        yield p + "mlp.down_proj.weight", (hidden, s["ffn"])
    yield "model.norm.weight", (hidden,)
    if not s["tie"]:
        yield "lm_head.weight", (s["vocab"], hidden)


def write_shard(path, entries, rng):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in entries:
        size = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        base = f.tell()
        for name, shape in entries:
            start = header[name]["data_offsets"][0]
            f.seek(base + start)
            if len(shape) == 1:  # norm weights: 1.0 in bf16
                f.write(np.full(shape, 0x3F80, dtype=np.uint16).tobytes())
            else:  # a page of small random values (bf16 of N(0, 0.02))
                values = rng.normal(0, 0.02, 2048).astype(np.float32)
                f.write((values.view(np.uint32) >> 16).astype(np.uint16).tobytes())
        f.truncate(base + offset)
    return offset


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--shape", choices=sorted(SHAPES), default="llama3.1-8b")
    p.add_argument("--shard-gb", type=float, default=5.0)
    a = p.parse_args()
    s = SHAPES[a.shape]
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(0)
    shards, current, size = [], [], 0
    for name, shape in tensors(s):
        bytes_ = int(np.prod(shape)) * 2
        if current and size + bytes_ > a.shard_gb * 2 ** 30:
            shards.append(current)
            current, size = [], 0
        current.append((name, shape))
        size += bytes_
    shards.append(current)
    weight_map, total = {}, 0
    for k, entries in enumerate(shards):
        file = f"model-{k + 1:05d}-of-{len(shards):05d}.safetensors"
        total += write_shard(os.path.join(a.out, file), entries, rng)
        weight_map.update({name: file for name, _ in entries})
    with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=1)
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "hidden_size": s["hidden"], "intermediate_size": s["ffn"],
        "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
        "num_key_value_heads": s["kv_heads"], "vocab_size": s["vocab"],
        "max_position_embeddings": s["max_positions"], "rms_norm_eps": 1e-5,
        "rope_theta": s["theta"], "tie_word_embeddings": s["tie"],
        "bos_token_id": s["bos"], "eos_token_id": s["eos"], "torch_dtype": "bfloat16",
    }
    if s["scaling"]:
        config["rope_scaling"] = s["scaling"]
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    print(f"make_sparse_llama: {a.out}: {a.shape}, {len(shards)} shard(s), "
          f"{total / 2 ** 30:.1f} GiB of bf16 (sparse)")


if __name__ == "__main__":
    main()
