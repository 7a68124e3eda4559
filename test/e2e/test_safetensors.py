"""Hugging Face checkpoints compiled end to end, against the numpy reference.

Each case writes a random checkpoint (test/models/make_llama.py), compiles it
with `llamac compile`, runs the executable with --tokens / --dump-logits /
--print-ids, and checks:
  - logits of every step within 1e-4 x max|logit| of the reference's (the
    reference computes in float64 from the same stored weights; llamac in
    float32, so the error is rounding, typically 1e-7 relative);
  - greedy ids identical to the reference's for 32 steps;
  - 1 and 2 threads give bit-identical logits (work is split by output rows,
    never inside a sum).
"""

import os

import numpy as np
import pytest

TOLERANCE = 1e-4  # relative to max |logit|
# Built with LLAMAC_SANITIZE (scripts/test-sanitized.sh), or run for a cross
# target (statically linked: libc and libstdc++ are inside the executable;
# cpu-amx is a host target).
SANITIZED = bool(os.environ.get("LLAMAC_SANITIZE"))
STATIC = os.environ.get("LLAMAC_TEST_TARGET", "") not in ("", "cpu-amx")

CASES = {
    # name: (make_llama.py flags, prompt)
    "mha_f32": (["--heads", "4"], [1, 5, 7, 9]),
    "gqa_odd_sizes": (["--hidden", "96", "--intermediate", "200", "--vocab", "301",
                       "--heads", "6", "--kv-heads", "2"], [3, 1, 4, 1, 5, 9, 2, 6]),
    "tied": (["--tie"], [7, 7, 7]),
    "llama3_scaling": (["--rope-scaling", "llama3", "--max-positions", "512"],
                       list(range(1, 100))),
    "linear_scaling": (["--rope-scaling", "linear"], [4, 8, 15, 16, 23, 42]),
    "rope_parameters_v5": (["--rope-scaling", "llama3", "--rope-parameters",
                            "--theta", "500000"], [10, 20, 30]),
    "bf16": (["--dtype", "bf16"], [2, 3, 5, 7, 11]),
    "f16": (["--dtype", "f16", "--heads", "8", "--kv-heads", "1"], [1, 2, 3]),
    "sharded": (["--shards", "3"], [9, 8, 7]),
    "attention_bias": (["--attention-bias"], [5, 4, 3]),
    "explicit_head_dim": (["--hidden", "48", "--heads", "3", "--kv-heads", "1",
                           "--head-dim", "32"], [1, 2]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_reference(model_factory, name):
    flags, prompt = CASES[name]
    model = model_factory(name, flags)
    steps = 32
    expected_ids, expected_logits = model.reference.greedy(prompt, steps)
    ids, logits, result = model.generate(prompt, steps, threads=1)

    assert logits.shape == (steps, model.vocab)
    scale = np.abs(expected_logits).max()
    error = np.abs(logits - expected_logits).max()
    assert error <= TOLERANCE * scale, f"max abs error {error} vs max |logit| {scale}"
    assert ids == expected_ids
    assert result.stderr.strip().splitlines()[-1].startswith("prefill: ")

    ids2, logits2, _ = model.generate(prompt, steps, threads=2)
    assert ids2 == ids
    assert np.array_equal(logits2, logits), "1 and 2 threads differ"


def test_long_prompt_in_chunks(model_factory):
    # A prompt longer than --max-chunk runs as several forward calls.
    model = model_factory("chunks", ["--max-positions", "128"], ["--max-chunk", "8"])
    prompt = [(7 * i) % 300 + 1 for i in range(45)]
    expected_ids, expected_logits = model.reference.greedy(prompt, 8)
    ids, logits, _ = model.generate(prompt, 8, threads=2)
    assert ids == expected_ids
    assert np.abs(logits - expected_logits).max() <= TOLERANCE * np.abs(expected_logits).max()


def test_external_weights(model_factory, llamac, tmp_path):
    from conftest import run
    model = model_factory("external")
    exe = str(tmp_path / "external_exe")
    run([llamac, "compile", model.directory, "-o", exe, "--weights", "external", "--quiet"])
    embedded = run([model.exe, "--tokens", "1,2,3", "-n", "8", "--print-ids"]).stdout
    external = run([exe, "--tokens", "1,2,3", "-n", "8", "--print-ids"]).stdout
    assert external == embedded
    # The executable alone is small; the weights are beside it. (A sanitizer
    # build's executables carry the sanitizer runtime, megabytes of it; a
    # static one its C and C++ libraries.)
    if not SANITIZED and not STATIC:
        assert os.path.getsize(exe) < os.path.getsize(exe + ".weights")
    assert os.path.getsize(exe) < os.path.getsize(model.exe)


def test_sampling_is_reproducible(model_factory):
    model = model_factory("sampling")
    args = ["--temp", "0.8", "--top-k", "40", "--top-p", "0.9", "--seed", "42"]
    a, _, _ = model.generate([1, 2, 3], 16, extra=args)
    b, _, _ = model.generate([1, 2, 3], 16, threads=2, extra=args)
    c, _, _ = model.generate([1, 2, 3], 16, extra=args[:-1] + ["43"])
    assert a == b
    assert a != c
    greedy, _, _ = model.generate([1, 2, 3], 16)
    assert a != greedy


@pytest.mark.parametrize("threads", [1, 3])
def test_prompt_tiles(model_factory, threads):
    """A prompt of 13 tokens takes every tile of the float products: 8
    tokens x 2 row groups (here 5 groups of 16 in 80 rows and 13 in 200:
    pairs and a last group alone), one of 4 tokens, one token. Three
    threads split the 5 groups as [0, 1), [1, 3), [3, 5): a range that
    starts at an odd group, whose prompt tiles the even one before it
    computes."""
    model = model_factory(f"tiles{threads}", ["--hidden", "80", "--heads", "5",
                                              "--kv-heads", "1", "--intermediate", "200",
                                              "--dtype", "f16"])
    prompt = [1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25]
    expected_ids, expected_logits = model.reference.greedy(prompt, 4)
    ids, logits, _ = model.generate(prompt, 4, threads=threads)
    scale = np.abs(expected_logits).max()
    assert np.abs(logits - expected_logits).max() <= TOLERANCE * scale
    assert ids == expected_ids


@pytest.mark.skipif(SANITIZED, reason="the sanitizer runtime links libresolv")
def test_executable_is_standalone(model_factory):
    import subprocess
    model = model_factory("standalone")
    # Without LD_PRELOAD (the cpu-amx suite preloads the AMX emulator):
    # what the executable itself needs.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    out = subprocess.run(["ldd", model.exe], capture_output=True, text=True, env=env).stdout
    libraries = [line.split()[0] for line in out.splitlines() if line.strip()]
    allowed = ("linux-vdso", "libc.so", "libm.so", "libpthread.so", "libdl.so",
               "/lib64/ld-linux", "ld-linux")
    unexpected = [lib for lib in libraries if not lib.startswith(allowed)]
    assert not unexpected, f"unexpected shared libraries: {unexpected}"
