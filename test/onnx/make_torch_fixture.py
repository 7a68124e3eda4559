#!/usr/bin/env python3
"""Regenerates test/onnx/torch_llama/: a tiny random Llama (transformers'
LlamaForCausalLM) exported by torch.onnx's dynamo exporter, a tool that is
not ours, so that the plain-operator export style (attention as MatMul,
Softmax and transformers' mask construction; RMSNorm as Pow/ReduceMean/
Sqrt/Reciprocal; rotary from inv_freq with Cos/Sin) is checked on a real
exporter's graph.

Needs torch and transformers, too heavy for CI; the output (about 1.5 MB)
is committed instead:

    python3 -m venv /tmp/genv
    /tmp/genv/bin/pip install torch transformers onnx onnxscript
    /tmp/genv/bin/python test/onnx/make_torch_fixture.py

The export is stateless (use_cache=False): input_ids [1, seq] -> logits
[1, seq, vocab], seq dynamic.
"""

import os

import onnx
import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "torch_llama")


class Logits(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids):
        return self.model(input_ids=input_ids, use_cache=False).logits


def main():
    config = transformers.LlamaConfig(
        vocab_size=1600, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    ids = torch.randint(0, config.vocab_size, (1, 7))
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, "model.onnx")
    torch.onnx.export(Logits(model), (ids,), path, input_names=["input_ids"],
                      output_names=["logits"], opset_version=18, dynamo=True,
                      dynamic_shapes=({1: torch.export.Dim("seq", min=1, max=256)},))
    onnx.checker.check_model(path)
    print("wrote", path, "versions:", torch.__version__, transformers.__version__)


if __name__ == "__main__":
    main()
