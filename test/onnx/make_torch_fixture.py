#!/usr/bin/env python3
"""Regenerates test/onnx/torch_*/: tiny random Llamas (transformers'
LlamaForCausalLM) exported by torch.onnx's dynamo exporter, a tool that is
not ours, so that the plain-operator export style (attention as MatMul,
Softmax and transformers' mask construction; RMSNorm as Pow/ReduceMean/
Sqrt/Reciprocal; rotary from inv_freq with Cos/Sin) is checked on a real
exporter's graphs:

    torch_llama            stateless (use_cache=False): input_ids [1, seq]
                           -> logits [1, seq, vocab]; sdpa attention,
                           grouped-query heads (4 on 2), opset 18
    torch_llama_cache      past keys/values in and present ones out, with an
                           attention_mask input (the KV-cache export)
    torch_llama_opset23    opset 23: the exporter writes Attention (4-D,
                           boolean mask), RotaryEmbedding and
                           RMSNormalization
    torch_llama_eager_mqa  transformers' eager attention (additive float
                           mask of finfo.min), one key/value head for three
                           query heads of 24, tied embeddings
    torch_llama_f16        the eager model in float16 (Casts around the
                           normalizations and the softmax)

Needs torch and transformers, too heavy for CI; the outputs (about 2.5 MB
in all) are committed instead:

    python3 -m venv /tmp/genv
    /tmp/genv/bin/pip install torch transformers onnx onnxscript
    /tmp/genv/bin/python test/onnx/make_torch_fixture.py [NAME ...]

Made with torch 2.15 and transformers 5.24.
"""

import os
import sys

import onnx
import torch
import transformers
from transformers.cache_utils import DynamicCache

HERE = os.path.dirname(os.path.abspath(__file__))

SMALL = dict(vocab_size=300, hidden_size=48, intermediate_size=100, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)


class Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


class WithCache(torch.nn.Module):
    """Two layers' past keys/values as separate inputs, presents as outputs."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, k0, v0, k1, v1):
        cache = DynamicCache(config=self.model.config)
        for layer, (k, v) in enumerate([(k0, v0), (k1, v1)]):
            cache.update(k, v, layer)
        out = self.model(input_ids=input_ids, attention_mask=attention_mask,
                         past_key_values=cache, use_cache=True)
        presents = []
        for layer in out.past_key_values.layers:
            presents += [layer.keys, layer.values]
        return (out.logits, *presents)


def model_of(attention="sdpa", half=False, perturb_norms=True, **overrides):
    config = transformers.LlamaConfig(max_position_embeddings=256, rms_norm_eps=1e-5,
                                      rope_theta=10000.0, **overrides)
    config._attn_implementation = attention
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    if perturb_norms:  # distinct, non-unit normalization weights
        with torch.no_grad():
            for name, p in model.named_parameters():
                if "norm" in name:
                    p.add_(torch.randn_like(p) * 0.1)
    return model.half() if half else model


def export_stateless(name, model, opset=18):
    ids = torch.randint(0, model.config.vocab_size, (1, 7))
    path = os.path.join(HERE, name, "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(Logits(model), (ids,), path, input_names=["input_ids"],
                      output_names=["logits"], opset_version=opset, dynamo=True,
                      dynamic_shapes=({1: torch.export.Dim("seq", min=1, max=256)},))
    return path


def export_cache(name, model):
    config = model.config
    head = config.hidden_size // config.num_attention_heads
    past = [torch.randn(1, config.num_key_value_heads, 4, head) for _ in range(4)]
    ids = torch.randint(0, config.vocab_size, (1, 3))
    mask = torch.ones(1, 7, dtype=torch.int64)
    names = ["input_ids", "attention_mask"] + [
        f"past_key_values.{i}.{k}" for i in range(2) for k in ("key", "value")]
    outputs = ["logits"] + [f"present.{i}.{k}" for i in range(2) for k in ("key", "value")]
    seq = torch.export.Dim("seq", min=1, max=128)
    past_len = torch.export.Dim("past", min=1, max=128)
    total = torch.export.Dim("total", min=2, max=256)
    dynamic = {"input_ids": {1: seq}, "attention_mask": {1: total},
               **{k: {2: past_len} for k in ("k0", "v0", "k1", "v1")}}
    path = os.path.join(HERE, name, "model.onnx")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(WithCache(model), (ids, mask, *past), path, input_names=names,
                      output_names=outputs, opset_version=18, dynamo=True,
                      dynamic_shapes=dynamic)
    return path


VARIANTS = {
    # The first fixture (kept as first made: 1600 tokens, hidden 64, the
    # normalization weights left at one).
    "torch_llama": lambda: export_stateless("torch_llama", model_of(
        perturb_norms=False, vocab_size=1600, hidden_size=64, intermediate_size=128,
        num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
        tie_word_embeddings=False)),
    "torch_llama_cache": lambda: export_cache("torch_llama_cache", model_of(**SMALL)),
    "torch_llama_opset23": lambda: export_stateless(
        "torch_llama_opset23", model_of(**SMALL), opset=23),
    "torch_llama_eager_mqa": lambda: export_stateless("torch_llama_eager_mqa", model_of(
        attention="eager", **dict(SMALL, hidden_size=72, num_attention_heads=3,
                                  num_key_value_heads=1, head_dim=24,
                                  tie_word_embeddings=True))),
    "torch_llama_f16": lambda: export_stateless(
        "torch_llama_f16", model_of(attention="eager", half=True, **SMALL)),
}


def main():
    names = sys.argv[1:] or list(VARIANTS)
    for name in names:
        path = VARIANTS[name]()
        onnx.checker.check_model(path)
        print("wrote", path, "versions:", torch.__version__, transformers.__version__)


if __name__ == "__main__":
    main()
