"""Shared fixtures of the end-to-end tests.

The tests drive the built `llamac` (found through $LLAMAC_BUILD_DIR, set by
CTest, or ./build) exactly as a user would, and compare what the compiled
executables print with the independent numpy reference in test/models.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
sys.path.insert(0, os.path.join(ROOT, "test", "e2e"))

import make_llama  # noqa: E402
import reference  # noqa: E402


def build_dir():
    return os.environ.get("LLAMAC_BUILD_DIR", os.path.join(ROOT, "build"))


# LLAMAC_TEST_TARGET=T runs the suite for a cross target: every
# `llamac compile` gets --target T, and executables of another machine run
# under qemu-user with a CPU that has what T needs (docs/adding-a-backend.md).
TEST_TARGET = os.environ.get("LLAMAC_TEST_TARGET", "")
EMULATORS = {
    "aarch64-neon": ["qemu-aarch64-static", "-cpu", "neoverse-n1"],
    "aarch64-sve": ["qemu-aarch64-static", "-cpu", "max,sve512=on"],
    "riscv64-rvv": ["qemu-riscv64-static", "-cpu", "rv64,v=true,vlen=128,vext_spec=v1.0,Zfhmin=true"],
}
HOST_MACHINE = 62  # ELF e_machine of x86-64


def emulator(path):
    """The qemu command line that runs `path`, when it is an executable of
    another machine; [] otherwise."""
    try:
        with open(path, "rb") as f:
            header = f.read(20)
    except (OSError, TypeError):
        return []
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return []
    machine = int.from_bytes(header[18:20], "little")
    if machine == HOST_MACHINE:
        return []
    if TEST_TARGET not in EMULATORS:
        raise AssertionError(f"{path} is for ELF machine {machine}; set LLAMAC_TEST_TARGET")
    command = EMULATORS[TEST_TARGET]
    if not shutil.which(command[0]):
        raise AssertionError(f"{command[0]} is not installed (scripts/install-deps.sh "
                             "installs qemu-user-static)")
    return command


@pytest.fixture(scope="session")
def llamac(tmp_path_factory):
    path = os.path.join(build_dir(), "bin", "llamac")
    if not os.path.exists(path):
        pytest.fail(f"{path} does not exist: build llamac first")
    if TEST_TARGET:
        # A stand-in that compiles for the target under test.
        wrapper = tmp_path_factory.mktemp("target") / "llamac"
        wrapper.write_text("#!/bin/sh\n"
                           f'if [ "$1" = compile ]; then shift; exec "{path}" compile '
                           f'--target {TEST_TARGET} "$@"; fi\n'
                           f'exec "{path}" "$@"\n')
        wrapper.chmod(0o755)
        return str(wrapper)
    return path


def run(cmd, check=True, **kwargs):
    # Generated text of random models is arbitrary bytes: decode leniently.
    kwargs.setdefault("errors", "replace")
    cmd = emulator(cmd[0]) + list(cmd)
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} failed with {result.returncode}:\n"
                             f"{result.stdout}\n{result.stderr}")
    return result


class Model:
    """A generated checkpoint and its compiled executable."""

    def __init__(self, llamac, directory, args, compile_args=()):
        self.directory = directory
        make_llama.make(make_llama.parse_args([directory] + list(args)))
        self.exe = directory + ".exe"
        run([llamac, "compile", directory, "-o", self.exe, "--quiet"] + list(compile_args))
        self.reference = reference.Llama(directory)
        self.vocab = self.reference.config["vocab_size"]

    def generate(self, prompt, steps, threads=1, extra=()):
        logits_path = f"{self.exe}.{threads}.logits"
        result = run([self.exe, "--tokens", ",".join(map(str, prompt)), "-n", str(steps),
                      "--print-ids", "--ignore-eos", "--threads", str(threads),
                      "--dump-logits", logits_path] + list(extra))
        ids_line = [line for line in result.stdout.splitlines() if line.startswith("ids:")][-1]
        ids = [int(x) for x in ids_line.split()[1:]]
        logits = np.fromfile(logits_path, dtype=np.float32).reshape(-1, self.vocab)
        return ids, logits, result


@pytest.fixture(scope="session")
def int8_dot(llamac):
    """Whether the host target multiplies quantized weights with 8-bit
    activations (then --activation-precision int8 changes the numerics)."""
    out = run([llamac, "targets"]).stdout
    name = (TEST_TARGET or "cpu") + " "
    host = next(line for line in out.splitlines() if line.startswith(name))
    return "int8 dot products" in host


@pytest.fixture
def model_factory(llamac, tmp_path):
    def make(name, args=(), compile_args=()):
        return Model(llamac, str(tmp_path / name), args, compile_args)
    return make
