"""Cross targets: AArch64 (NEON, SVE) and RISC-V (V) executables, compiled
here and run under qemu-user.

Each target compiles a random checkpoint; its executable, run under qemu,
must give the numpy reference's greedy ids and logits within the same
tolerance as the host's (test_safetensors.py), and its code must hold the
target's vector instructions (llvm-objdump), so that a scalar fallback
cannot pass. The SVE and RVV code is vector-length agnostic: the one
executable runs on emulated CPUs of several vector lengths (SVE 128 to 2048
bits, RVV VLEN 128 to 1024), each against the reference, and its code holds
the instructions that read the vector length at run time. A CPU without
what the code needs is refused at start with a message, never run into
SIGILL or wrong results. The whole end-to-end suite runs per target too
(CTest e2e_<target>: LLAMAC_TEST_TARGET).
"""

import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import EMULATORS, ROOT, run

TOLERANCE = 1e-4
OBJDUMP = "/usr/lib/llvm-22/bin/llvm-objdump"
# A vector instruction of each target, as llvm-objdump prints it.
VECTOR = {
    "aarch64-neon": (["--mattr=+neon"], r"\bfmla\s+v\d+\.4s"),
    "aarch64-sve": (["--mattr=+sve"], r"\bfmla\s+z\d+\.s"),
    "riscv64-rvv": (["--mattr=+v"], r"\bvfmacc\.v[vf]\b|\bvfmadd\.v[vf]\b"),
}
# Vector-length-agnostic code reads the vector length at run time: SVE's
# element counts (cntw, incw, ...) and RVV's vsetvli with the maximum
# length (AVL `zero`), where fixed-length code has immediates. Counted in
# the model's kernels only (the C library has SVE string functions).
SCALABLE = {
    "aarch64-sve": r"\b(?:cnt|inc|dec)[bhwd]\b|\brdvl\b|\baddvl\b",
    "riscv64-rvv": r"\bvsetvli\s+\w+,\s*zero,\s*e32\b",
}
# The emulated CPUs each executable runs on: every vector length for the
# scalable targets, from the architecture's minimum up.
CPUS = {
    "aarch64-neon": [EMULATORS["aarch64-neon"]],
    "aarch64-sve": [["qemu-aarch64-static", "-cpu", cpu] for cpu in (
        "max,sve128=on", "max,sve256=on", "max,sve512=on",
        "max,sve2048=on,sve-default-vector-length=256")],
    "riscv64-rvv": [["qemu-riscv64-static", "-cpu",
                     f"rv64,v=true,vlen={vlen},vext_spec=v1.0,Zfhmin=true"]
                    for vlen in (128, 256, 512, 1024)],
}


def kernel_code(listing):
    """The disassembly of the model's kernels (task functions such as
    rms_norm_96 or linear_f32_96x200, and their trampolines)."""
    kernel = re.compile(r"^[0-9a-f]+ <(?:linear|rms_norm|embedding|swiglu|add|"
                        r"cache_write|attention)_")
    current = False
    for line in listing.splitlines():
        if re.match(r"^[0-9a-f]+ <", line):
            current = bool(kernel.match(line))
        elif current:
            yield line


@pytest.mark.parametrize("dtype", ["f32", "f16", "bf16"])
@pytest.mark.parametrize("target", sorted(EMULATORS))
def test_cross_target(llamac, model_factory, tmp_path, target, dtype):
    if shutil.which(EMULATORS[target][0]) is None:
        pytest.fail(f"{EMULATORS[target][0]} is missing: run scripts/install-deps.sh")
    # Odd widths: 96 and 200 leave a masked remainder for every vector
    # length; a 24-wide head leaves one in the attention's value rows.
    model = model_factory(f"m_{dtype}", ["--heads", "4", "--kv-heads", "2", "--hidden",
                                         "96", "--intermediate", "200", "--dtype", dtype])
    exe = str(tmp_path / target)
    run([llamac, "compile", model.directory, "-o", exe, "--target", target, "--quiet"])
    with open(exe, "rb") as f:
        assert f.read(4) == b"\x7fELF"

    flags, pattern = VECTOR[target]
    listing = subprocess.run([OBJDUMP, "-d"] + flags + [exe], capture_output=True,
                             text=True, check=True).stdout
    assert len(re.findall(pattern, listing)) >= 16, f"no {target} vector code"
    if target in SCALABLE:
        kernels = "\n".join(kernel_code(listing))
        assert len(re.findall(SCALABLE[target], kernels)) >= 4, \
            f"no vector-length-agnostic {target} code"

    prompt = [3, 1, 4, 1, 5, 9, 2, 6]
    expected_ids, expected = model.reference.greedy(prompt, 16)
    for cpu in CPUS[target]:
        logits_path = exe + ".logits"
        out = subprocess.run(cpu + [
            exe, "--tokens", ",".join(map(str, prompt)), "-n", "16", "--print-ids",
            "--ignore-eos", "--threads", "2", "--dump-logits", logits_path],
            capture_output=True, text=True, check=True)
        ids = [int(x) for x in out.stdout.split("ids:")[-1].split()]
        logits = np.fromfile(logits_path, dtype=np.float32).reshape(16, -1)
        assert ids == expected_ids, cpu
        error = np.abs(logits - expected).max() / np.abs(expected).max()
        assert error <= TOLERANCE, (cpu, error)


@pytest.mark.parametrize("target,cpu,message", [
    ("aarch64-sve", ["qemu-aarch64-static", "-cpu", "neoverse-n1"], "needs SVE"),
    ("riscv64-rvv", ["qemu-riscv64-static", "-cpu", "rv64"], "needs the V vector extension"),
])
def test_missing_extension_is_refused(llamac, model_factory, tmp_path, target, cpu, message):
    model = model_factory("m", ["--layers", "1"])
    exe = str(tmp_path / target)
    run([llamac, "compile", model.directory, "-o", exe, "--target", target, "--quiet"])
    out = subprocess.run(cpu + [exe, "--tokens", "1,2", "-n", "2"], capture_output=True,
                         text=True)
    assert out.returncode == 1 and message in out.stderr, out.stderr


def test_unknown_target(llamac, model_factory):
    model = model_factory("m", ["--layers", "1"])
    out = run([llamac, "compile", model.directory, "-o", model.exe + "2", "--target",
               "vax-vector"], check=False)
    assert out.returncode != 0
    assert "unknown target 'vax-vector'" in out.stderr and "aarch64-sve" in out.stderr


def test_missing_cross_runtime(llamac, model_factory, tmp_path):
    """A target whose runtime was not built names the packages to install."""
    model = model_factory("m", ["--layers", "1"])
    build = os.environ.get("LLAMAC_BUILD_DIR", os.path.join(ROOT, "build"))
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in os.listdir(os.path.join(build, "lib")):
        if name.startswith("libllamac_"):  # the host's runtime, no riscv64 one
            shutil.copy(os.path.join(build, "lib", name), lib / name)
    env = dict(os.environ, LLAMAC_RUNTIME_DIR=str(lib))
    out = run([llamac, "compile", model.directory, "-o", str(tmp_path / "x"), "--target",
               "riscv64-rvv", "--quiet"], check=False, env=env)
    assert out.returncode != 0
    assert "target 'riscv64-rvv' has no runtime" in out.stderr
    assert "libc6-dev-riscv64-cross" in out.stderr
