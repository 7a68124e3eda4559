"""Every CPU target this host can run compiles and runs the same models
correctly: cpu-generic (SSE2), cpu-avx2, cpu-avx512 and cpu-avx512-vnni
(int8 activations) against the numpy reference, and the float targets
against each other (they differ only in vector width, so in float32
summation order: within 1e-5 x max|logit|).
"""

import numpy as np
import pytest

import make_gguf
import make_llama
import reference
from conftest import run
from numerics import TOLERANCE, check_int8, generate

CROSS_TOLERANCE = 1e-5


def host_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    return set()


NEEDS = {
    "cpu-generic": set(),
    "cpu-avx2": {"avx2", "fma"},
    "cpu-avx512": {"avx512f", "avx512bw", "avx512dq", "avx512vl"},
    "cpu-avx512-vnni": {"avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512_vnni"},
}
RUNNABLE = [t for t, needs in NEEDS.items() if needs <= host_flags()]
FLOAT_TARGETS = [t for t in RUNNABLE if t != "cpu-avx512-vnni"]

MODELS = {
    # name: (make_llama flags, gguf type or None for the safetensors checkpoint)
    "f32_gqa_odd": (["--hidden", "96", "--intermediate", "200", "--heads", "6",
                     "--kv-heads", "2"], None),
    "q4_1_tied": (["--tie", "--intermediate", "96"], "q4_1"),
    "q8_0": (["--heads", "8", "--kv-heads", "2", "--hidden", "128"], "q8_0"),
}


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request, tmp_path_factory):
    flags, gguf_type = MODELS[request.param]
    directory = tmp_path_factory.mktemp(request.param)
    hf = str(directory / "hf")
    make_llama.make(make_llama.parse_args([hf] + flags))
    decoded = None
    path = hf
    if gguf_type:
        path = str(directory / "model.gguf")
        decoded = make_gguf.convert(hf, path, gguf_type)
    return {"hf": hf, "path": path, "decoded": decoded, "dir": directory,
            "quantized": gguf_type is not None}


def compile_for(llamac, model, target):
    exe = str(model["dir"] / target)
    run([llamac, "compile", model["path"], "-o", exe, "--quiet", "--target", target,
         "--max-context", "128"])
    return exe


PROMPT = [1, 7, 3, 12, 9, 30]
STEPS = 12


@pytest.mark.parametrize("target", RUNNABLE)
def test_target_matches_reference(llamac, model, target):
    exe = compile_for(llamac, model, target)
    exact = reference.Llama(model["hf"], model["decoded"])
    if target == "cpu-avx512-vnni" and model["quantized"]:
        int8 = reference.Llama(model["hf"], model["decoded"],
                               int8=[k for k, v in model["decoded"].items() if v.ndim == 2])
        check_int8(int8, exact, exe, STEPS)
        return
    expected_ids, expected = exact.greedy(PROMPT, STEPS)
    ids, logits = generate(exe, PROMPT, STEPS)
    assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()
    assert ids == expected_ids


def test_float_targets_agree(llamac, model):
    if len(FLOAT_TARGETS) < 2:
        pytest.skip("one float target runs here")
    results = [generate(compile_for(llamac, model, t), PROMPT, STEPS) for t in FLOAT_TARGETS]
    ids, logits = results[0]
    scale = np.abs(logits).max()
    for other_ids, other in results[1:]:
        assert other_ids == ids
        assert np.abs(other - logits).max() <= CROSS_TOLERANCE * scale
