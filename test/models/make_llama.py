#!/usr/bin/env python3
"""Writes a small random Llama checkpoint in the Hugging Face layout.

  make_llama.py OUT_DIR [--hidden 64 --intermediate 128 --layers 2 --heads 4
                         --kv-heads 2 --vocab 301 --dtype f32|f16|bf16 --tie
                         --rope-scaling llama3 --rope-parameters --shards 2 ...]

config.json follows transformers' LlamaConfig; weights are drawn with a fixed
seed and scaled so activations stay O(1) and logits are well separated.
"""

import argparse
import json
import os

import numpy as np

import safetensors_io


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("out")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--intermediate", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=None)
    p.add_argument("--head-dim", type=int, default=None)
    p.add_argument("--vocab", type=int, default=301)
    p.add_argument("--max-positions", type=int, default=256)
    p.add_argument("--theta", type=float, default=10000.0)
    p.add_argument("--eps", type=float, default=1e-5)
    p.add_argument("--dtype", choices=["f32", "f16", "bf16"], default="f32")
    p.add_argument("--tie", action="store_true")
    p.add_argument("--rope-scaling", choices=["none", "llama3", "linear"],
                   default="none")
    p.add_argument("--rope-parameters", action="store_true",
                   help="write rope settings the transformers v5 way")
    p.add_argument("--attention-bias", action="store_true")
    p.add_argument("--shards", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--bos", type=int, default=1)
    p.add_argument("--eos", type=int, nargs="*", default=[2])
    return p.parse_args(argv)


def make(args):
    rng = np.random.default_rng(args.seed)
    hidden, inter, vocab = args.hidden, args.intermediate, args.vocab
    heads = args.heads
    kv = args.kv_heads or heads
    head_dim = args.head_dim or hidden // heads

    def matrix(rows, cols, gain=1.0):
        return (rng.standard_normal((rows, cols)) * gain / np.sqrt(cols)).astype(np.float32)

    def norm(n):
        return (1.0 + 0.1 * rng.standard_normal(n)).astype(np.float32)

    tensors = {"model.embed_tokens.weight": rng.standard_normal((vocab, hidden)).astype(np.float32)}
    for i in range(args.layers):
        p = f"model.layers.{i}."
        tensors[p + "input_layernorm.weight"] = norm(hidden)
        tensors[p + "self_attn.q_proj.weight"] = matrix(heads * head_dim, hidden)
        tensors[p + "self_attn.k_proj.weight"] = matrix(kv * head_dim, hidden)
        tensors[p + "self_attn.v_proj.weight"] = matrix(kv * head_dim, hidden)
        tensors[p + "self_attn.o_proj.weight"] = matrix(hidden, heads * head_dim, 0.5)
        if args.attention_bias:
            tensors[p + "self_attn.q_proj.bias"] = (0.1 * rng.standard_normal(heads * head_dim)).astype(np.float32)
            tensors[p + "self_attn.k_proj.bias"] = (0.1 * rng.standard_normal(kv * head_dim)).astype(np.float32)
            tensors[p + "self_attn.v_proj.bias"] = (0.1 * rng.standard_normal(kv * head_dim)).astype(np.float32)
            tensors[p + "self_attn.o_proj.bias"] = (0.1 * rng.standard_normal(hidden)).astype(np.float32)
        tensors[p + "post_attention_layernorm.weight"] = norm(hidden)
        tensors[p + "mlp.gate_proj.weight"] = matrix(inter, hidden)
        tensors[p + "mlp.up_proj.weight"] = matrix(inter, hidden)
        tensors[p + "mlp.down_proj.weight"] = matrix(hidden, inter, 0.5)
    tensors["model.norm.weight"] = norm(hidden)
    if not args.tie:
        tensors["lm_head.weight"] = matrix(vocab, hidden, 4.0)

    def stored(array):
        if args.dtype == "f16":
            return ("F16", array.astype(np.float16))
        if args.dtype == "bf16":
            return ("BF16", safetensors_io.to_bf16_bits(array))
        return ("F32", array)

    os.makedirs(args.out, exist_ok=True)
    names = list(tensors)
    if args.shards <= 1:
        safetensors_io.write(os.path.join(args.out, "model.safetensors"),
                             {n: stored(tensors[n]) for n in names},
                             {"format": "pt"})
    else:
        weight_map = {}
        chunks = np.array_split(np.arange(len(names)), args.shards)
        for s, chunk in enumerate(chunks):
            file = f"model-{s + 1:05d}-of-{args.shards:05d}.safetensors"
            part = {names[j]: stored(tensors[names[j]]) for j in chunk}
            safetensors_io.write(os.path.join(args.out, file), part, {"format": "pt"})
            weight_map.update({n: file for n in part})
        with open(os.path.join(args.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {}, "weight_map": weight_map}, f, indent=1)

    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": inter,
        "num_hidden_layers": args.layers,
        "num_attention_heads": heads,
        "num_key_value_heads": kv,
        "vocab_size": vocab,
        "max_position_embeddings": args.max_positions,
        "rms_norm_eps": args.eps,
        "tie_word_embeddings": args.tie,
        "attention_bias": args.attention_bias,
        "bos_token_id": args.bos,
        "eos_token_id": args.eos if len(args.eos) != 1 else args.eos[0],
        "torch_dtype": {"f32": "float32", "f16": "float16", "bf16": "bfloat16"}[args.dtype],
    }
    if args.head_dim:
        config["head_dim"] = head_dim
    scaling = None
    if args.rope_scaling == "llama3":
        scaling = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 64}
    elif args.rope_scaling == "linear":
        scaling = {"factor": 2.0}
    if args.rope_parameters:
        params = {"rope_type": args.rope_scaling if scaling else "default",
                  "rope_theta": args.theta}
        params.update(scaling or {})
        config["rope_parameters"] = params
    else:
        config["rope_theta"] = args.theta
        if scaling:
            config["rope_scaling"] = dict(scaling, rope_type=args.rope_scaling)
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=1)


if __name__ == "__main__":
    make(parse_args())
