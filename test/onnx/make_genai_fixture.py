#!/usr/bin/env python3
"""Regenerates test/onnx/genai_llama/: a tiny random Llama exported by a tool
that is not ours, onnxruntime-genai's model builder (fp32, CPU), so that the
ONNX front end is checked on a real exporter's graph.

Needs torch, transformers and onnxruntime-genai, which are too heavy for CI
(several GB); the output (about 1.2 MB) is committed instead:

    python3 -m venv /tmp/genv
    /tmp/genv/bin/pip install torch transformers onnxruntime-genai onnx
    /tmp/genv/bin/python test/onnx/make_genai_fixture.py

The tokenizer is the repo's test tokenizer (test/tokenizer/spm_bpe).
"""

import os
import shutil
import subprocess
import sys
import tempfile

import torch
import transformers

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "genai_llama")


def main():
    config = transformers.LlamaConfig(
        vocab_size=1600, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256,
        rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config).eval()
    with tempfile.TemporaryDirectory() as tmp:
        hf = os.path.join(tmp, "hf")
        model.save_pretrained(hf, safe_serialization=True)
        for name in ("tokenizer.json", "tokenizer_config.json"):
            shutil.copy(os.path.join(ROOT, "test", "tokenizer", "spm_bpe", name), hf)
        out = os.path.join(tmp, "out")
        subprocess.run([sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", hf,
                        "-o", out, "-p", "fp32", "-e", "cpu"], check=True)
        shutil.rmtree(OUT, ignore_errors=True)
        os.makedirs(OUT)
        for name in ("model.onnx", "model.onnx.data", "genai_config.json", "tokenizer.json",
                     "tokenizer_config.json"):
            shutil.copy(os.path.join(out, name), OUT)


if __name__ == "__main__":
    main()
