"""The `cpu-amx` target: quantized products of 16 tokens or more on AMX int8
tiles (`tdpbssd`, `tdpbsud` for q4_1), checked on CPUs without AMX through the emulator in
test/amx (loaded with LD_PRELOAD; it executes each AMX instruction when the
CPU faults on it).

- The emulator against the instructions' definition: clang's AMX
  intrinsics on random tiles and shapes, each of the four signedness
  variants, against numpy (test/amx/amx_check.c), so that a decoding or
  arithmetic slip in the emulator cannot hide one in the generated code.
- Compiled models: q8_0, q4_0 and q4_1 weights (rows not a multiple of 16,
  biases, residuals, the quantized output layer) with prompts that take
  whole AMX tiles, the VNNI remainder tiles and single tokens, against the
  numpy reference (int8 activations) and against the cpu-avx512-vnni
  executable, which computes the same int32 block sums with vpdpbusd (equal
  within 1e-6 x max|logit|).
- The code holds the tile instructions and the emulator ran them; decode
  (one token) runs no tile product.
- On a CPU without AMX and no emulator, the executable refuses to start.
"""

import glob
import os
import re
import subprocess

import gguf
import numpy as np
import pytest

import make_gguf
import make_llama
import reference
import safetensors_io
from conftest import build_dir, run
from numerics import TOLERANCE, generate

OBJDUMP = "/usr/lib/llvm-22/bin/llvm-objdump"
EMULATOR = os.path.join(build_dir(), "lib", "libllamac_amx_emulator.so")
CHECK = os.path.join(build_dir(), "bin", "amx-check")

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("LLAMAC_SANITIZE")),
    reason="the emulator is preloaded, which a sanitizer runtime forbids; "
           "the unsanitized build runs these tests")


def host_flags():
    with open("/proc/cpuinfo") as f:
        return set(next((line for line in f if line.startswith("flags")), "").split())


def host_has_amx():
    return {"amx_tile", "amx_int8"} <= host_flags()


def emulated(extra_env=None):
    env = dict(os.environ)
    env["LD_PRELOAD"] = EMULATOR
    env.update(extra_env or {})
    return env


@pytest.fixture(scope="module")
def emulator():
    for path in (EMULATOR, CHECK):
        if not os.path.exists(path):
            pytest.fail(f"{path} does not exist: build the project first")
    return EMULATOR


@pytest.mark.parametrize("shape", [(16, 64, 16), (16, 32, 16), (5, 12, 3), (1, 4, 1)])
def test_emulator_matches_numpy(emulator, shape):
    m, k4, n = shape
    rng = np.random.default_rng(m * 1000 + k4 * 10 + n)
    a = rng.integers(0, 256, (16, 64), dtype=np.uint8)
    b = rng.integers(0, 256, (16, 64), dtype=np.uint8)
    c = rng.integers(-2**31, 2**31, (16, 16), dtype=np.int64).astype(np.int32)
    stdin = a.tobytes() + b.tobytes() + c.tobytes() + np.array(shape, np.int32).tobytes()
    result = subprocess.run([CHECK], input=stdin, capture_output=True, env=emulated())
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = np.frombuffer(result.stdout, dtype=np.int32).reshape(4, 16, 16)
    for variant, (signed_a, signed_b) in enumerate(
            [(True, True), (True, False), (False, True), (False, False)]):
        # C[m, n] += sum_k A[m, k] B[k // 4, 4 n + k % 4], in int32 (wrapping).
        av = (a.view(np.int8) if signed_a else a)[:m, :k4].astype(np.int64)
        bv = (b.view(np.int8) if signed_b else b)[:k4 // 4, :4 * n].astype(np.int64)
        bk = bv.reshape(k4 // 4, n, 4).transpose(0, 2, 1).reshape(k4, n)
        expected = np.zeros((16, 16), np.int64)
        expected[:m, :n] = c[:m, :n].astype(np.int64) + av @ bk
        expected = ((expected + 2**31) % 2**32 - 2**31).astype(np.int32)
        np.testing.assert_array_equal(out[variant], expected, err_msg=f"variant {variant}")


def bf16_bits(x):
    """float32 values rounded to bf16 (to nearest, ties to even), as bits."""
    bits = np.asarray(x, np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_values(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


@pytest.mark.parametrize("shape", [(16, 64, 16), (7, 24, 5), (1, 4, 1)])
def test_emulator_bf16_matches_numpy(emulator, shape):
    m, k4, n = shape
    rng = np.random.default_rng(m * 1000 + k4 * 10 + n + 1)
    a = bf16_bits(rng.standard_normal((16, 32)))
    b = bf16_bits(rng.standard_normal((16, 32)))
    c = rng.standard_normal((16, 16)).astype(np.float32)
    stdin = a.tobytes() + b.tobytes() + c.tobytes() + np.array(shape, np.int32).tobytes()
    result = subprocess.run([CHECK, "bf16"], input=stdin, capture_output=True,
                            env=emulated())
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    out = np.frombuffer(result.stdout, dtype=np.float32).reshape(16, 16)
    # C[m, n] += A[m, 2k] B[k, 2n] + A[m, 2k + 1] B[k, 2n + 1], k in turn,
    # each step rounded to f32 (a bf16 x bf16 product is exact in f32).
    av, bv = bf16_values(a), bf16_values(b)
    expected = np.zeros((16, 16), np.float32)
    acc = c[:m, :n].copy()
    magnitude = np.abs(acc).astype(np.float64)
    for k in range(k4 // 4):
        for i in range(2):
            term = av[:m, 2 * k + i][:, None] * bv[k, 2 * np.arange(n) + i][None, :]
            acc = acc + term
            magnitude += np.abs(term)
    expected[:m, :n] = acc
    # The emulator follows the SDM's order exactly; AMX hardware (where this
    # runs natively) may sum a pair before adding it: a few f32 ulps.
    assert np.all(np.abs(out - expected) <= 4 * np.finfo(np.float32).eps * np.pad(
        magnitude, ((0, 16 - m), (0, 16 - n))))
    assert np.all(out[m:] == 0) and np.all(out[:, n:] == 0)


def test_emulator_refuses_bad_shapes(emulator):
    # A with 6 bytes per row, not whole dwords: real AMX raises #UD on
    # the product, so must the emulator.
    stdin = bytes(16 * 64 * 2 + 16 * 64) + np.array([4, 6, 4], np.int32).tobytes()
    result = subprocess.run([CHECK], input=stdin, capture_output=True, env=emulated())
    assert result.returncode != 0
    assert b"#UD" in result.stderr and b"shapes" in result.stderr


# name: (make_llama flags, weights: "gguf" converts the checkpoint to a
# GGUF of that type, "quantize" has llamac quantize it at compile time).
# Rows not a multiple of 16 (the output layer's 300, q4_0's gate and up
# projections' 72), biases on q/k/v, tied embeddings
# quantized as the output layer.
MODELS = {
    "q8_0": (["--hidden", "64", "--intermediate", "96", "--heads", "4",
              "--kv-heads", "2", "--vocab", "300"], "gguf"),
    "q4_0": (["--hidden", "96", "--intermediate", "72", "--heads", "6",
              "--kv-heads", "2", "--vocab", "300", "--attention-bias"], "quantize"),
    "q4_1": (["--hidden", "64", "--intermediate", "96", "--tie", "--vocab", "300"], "gguf"),
}
QTYPES = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_0": gguf.GGMLQuantizationType.Q4_0,
          "q4_1": gguf.GGMLQuantizationType.Q4_1}
VOCAB = 300
# 2 AMX tiles + one 4-token VNNI tile + 1 single token; then decode.
PROMPT_LENGTH = 37
STEPS = 6


@pytest.fixture(scope="module", params=sorted(MODELS))
def model(request, tmp_path_factory):
    qtype = request.param
    flags, weights = MODELS[qtype]
    directory = tmp_path_factory.mktemp(qtype)
    hf = str(directory / "hf")
    make_llama.make(make_llama.parse_args([hf] + flags))
    if weights == "gguf":
        path = str(directory / "model.gguf")
        decoded = make_gguf.convert(hf, path, qtype)
        compile_args = []
    else:
        path = hf
        compile_args = ["--quantize", qtype, "--quantize-output"]
        decoded = {}
        for shard in sorted(glob.glob(f"{hf}/*.safetensors")):
            for name, array in safetensors_io.read(shard).items():
                array = array.astype(np.float32)
                if array.ndim == 2 and array.shape[1] % 32 == 0:
                    blocks = gguf.quants.quantize(array, QTYPES[qtype])
                    decoded[name] = gguf.quants.dequantize(
                        blocks, QTYPES[qtype]).reshape(array.shape)
    return {"hf": hf, "path": path, "decoded": decoded, "dir": directory,
            "compile_args": compile_args}


def compile_for(llamac, model, target):
    exe = str(model["dir"] / target)
    run([llamac, "compile", model["path"], "-o", exe, "--quiet", "--target", target,
         "--max-context", "128"] + model["compile_args"])
    return exe


def prompt_for(vocab):
    rng = np.random.default_rng(7)
    return [1] + [int(t) for t in rng.integers(3, vocab, PROMPT_LENGTH - 1)]


def run_emulated(exe, prompt, steps, threads=2):
    logits = exe + ".logits"
    result = subprocess.run(
        [exe, "--tokens", ",".join(map(str, prompt)), "-n", str(steps), "--print-ids",
         "--ignore-eos", "--threads", str(threads), "--dump-logits", logits],
        capture_output=True, text=True, errors="replace",
        env=emulated({"LLAMAC_AMX_EMULATOR_STATS": "1"}))
    assert result.returncode == 0, result.stderr
    ids = [int(x) for x in result.stdout.split("ids:")[-1].split()]
    counts = re.search(r"amx_emulator: (\d+) tile products, (\d+) instructions",
                       result.stderr)
    assert counts, result.stderr
    return ids, np.fromfile(logits, dtype=np.float32).reshape(steps, -1), \
        int(counts.group(1))


def test_amx_matches_vnni_and_reference(llamac, emulator, model):
    amx = compile_for(llamac, model, "cpu-amx")
    vnni = compile_for(llamac, model, "cpu-avx512-vnni")
    prompt = prompt_for(VOCAB)

    ids, logits, products = run_emulated(amx, prompt, STEPS)
    # Every quantized product of the prompt ran on tiles: 2 tiles of 16
    # tokens x (row groups x blocks) per product.
    assert products > 0
    expected_ids, expected = generate(vnni, prompt, STEPS)
    scale = np.abs(expected).max()
    assert np.abs(logits - expected).max() <= 1e-6 * scale
    assert ids == expected_ids

    # The numpy reference with int8 activations, as the VNNI target is
    # checked (test_targets.py): the prompt's step is the one the tiles
    # computed.
    int8 = reference.Llama(model["hf"], model["decoded"],
                           int8=[k for k, v in model["decoded"].items() if v.ndim == 2])
    ref_ids, ref_logits = int8.greedy(prompt, 1)
    error = np.abs(logits[0] - ref_logits[0]).max()
    if int8.margins[0] >= 1e-4:
        assert error <= TOLERANCE * np.abs(ref_logits).max()
    else:
        # A value within 1e-4 of an int8 rounding boundary may round the
        # other way: bounded by the int8 rounding error itself.
        exact = reference.Llama(model["hf"], model["decoded"])
        loose = np.abs(exact.forward(prompt)[-1] - ref_logits[0]).max()
        assert error <= max(loose, TOLERANCE * np.abs(ref_logits).max())


def test_decode_runs_no_tile_product(llamac, emulator, model):
    amx = compile_for(llamac, model, "cpu-amx")
    # A prompt of 15 tokens and decode: never 16 tokens in one product.
    _, _, products = run_emulated(amx, prompt_for(VOCAB)[:15], 3)
    assert products == 0


def test_code_holds_tile_instructions(llamac, model):
    listing = {t: run([OBJDUMP, "-d", "--no-show-raw-insn", compile_for(llamac, model, t)]).stdout
               for t in ("cpu-amx", "cpu-avx512-vnni")}
    # Signed weights (q8_0, q4_0) or unsigned (q4_1) times signed
    # activations.
    assert re.search(r"\btdpbs[su]d\b", listing["cpu-amx"])
    assert re.search(r"\bldtilecfg\b", listing["cpu-amx"])
    assert not re.search(r"\btdpb", listing["cpu-avx512-vnni"])


def test_refused_without_amx(llamac, model):
    if host_has_amx():
        pytest.skip("this CPU has AMX")
    assert_refused(compile_for(llamac, model, "cpu-amx"), "AMX-TILE and AMX-INT8")


def assert_refused(exe, needs):
    """Run without the emulator, `exe` exits with what it `needs`, not
    SIGILL."""
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    result = subprocess.run([exe, "--tokens", "1,2,3", "-n", "1"], capture_output=True,
                            text=True, env=env)
    assert result.returncode != 0
    assert needs in result.stderr
    assert "Illegal instruction" not in result.stderr


# --float-precision bf16: the float products of prompts on bf16 tiles, AMX
# (cpu-amx, under the emulator) or AVX512-BF16 registers (cpu-avx512-bf16,
# natively where the CPU has it); make_llama flags. f16 with q/k/v biases and
# gate/up of 72 rows (4 whole groups on tiles, 8 rows in f32), the down
# projection's K = 72 not a multiple of 32 (f32); bf16, tied, the down
# projection's K = 320 (a whole chunk of 8 blocks and 2 more); f32 with
# hidden 80 (K = 80: only the down projection, K = 96, on tiles; 5 groups,
# an odd count for the AVX512-BF16 pairs of groups).
FLOAT_MODELS = {
    "f16": ["--dtype", "f16", "--hidden", "96", "--intermediate", "72", "--heads", "6",
            "--kv-heads", "2", "--vocab", "300", "--attention-bias"],
    "bf16": ["--dtype", "bf16", "--hidden", "64", "--intermediate", "320", "--tie",
             "--vocab", "300"],
    "f32": ["--dtype", "f32", "--hidden", "80", "--intermediate", "96", "--heads", "5",
            "--kv-heads", "1", "--vocab", "300"],
}
BF16_TARGETS = ["cpu-amx", "cpu-avx512-bf16"]


@pytest.fixture(scope="module", params=sorted(FLOAT_MODELS))
def float_model(request, tmp_path_factory):
    directory = tmp_path_factory.mktemp("float-" + request.param)
    hf = str(directory / "hf")
    make_llama.make(make_llama.parse_args([hf] + FLOAT_MODELS[request.param]))
    return {"hf": hf, "path": hf, "dir": directory, "compile_args": []}


@pytest.fixture(params=BF16_TARGETS)
def bf16_target(request, emulator):
    if request.param == "cpu-avx512-bf16" and "avx512_bf16" not in host_flags():
        pytest.skip("this CPU has no AVX512-BF16 (and the emulator runs AMX only)")
    return request.param


def compile_bf16(llamac, model, target, *extra):
    exe = str(model["dir"] / (target + "-bf16" + "".join(extra).replace("-", "_")))
    run([llamac, "compile", model["hf"], "-o", exe, "--quiet", "--target", target,
         "--float-precision", "bf16", "--max-context", "128"] + list(extra))
    return exe


def tile_products(reference_model, tokens):
    """AMX tile products a prompt of `tokens` takes: per product whose K is
    a multiple of 32, (whole groups of 16 rows) x (blocks of 32) per tile of
    16 tokens, in every layer (the output layer computes the last token
    only)."""
    count = 0
    for name, w in reference_model.w.items():
        if name.startswith("model.layers.") and w.ndim == 2 and w.shape[1] % 32 == 0:
            count += (w.shape[0] // 16) * (w.shape[1] // 32)
    return count * (tokens // 16)


def test_bf16_tiles_match_reference(llamac, float_model, bf16_target):
    exe = compile_bf16(llamac, float_model, bf16_target)
    prompt = prompt_for(VOCAB)
    ids, logits, products = run_emulated(exe, prompt, STEPS)

    exact = reference.Llama(float_model["hf"])
    if bf16_target == "cpu-amx":
        assert products == tile_products(exact, PROMPT_LENGTH)
    # The numpy reference with the same tiles in bf16: the first 32 tokens
    # x the whole groups of rows of every layer's product whose K is a
    # multiple of 32.
    layers = [k for k, v in exact.w.items()
              if k.startswith("model.layers.") and v.ndim == 2 and v.shape[1] % 32 == 0]
    bf16 = reference.Llama(float_model["hf"], bf16_tiles=layers)
    expected = bf16.forward(prompt)[-1]
    scale = np.abs(expected).max()
    error = np.abs(logits[0] - expected).max()
    assert error <= TOLERANCE * scale
    # And the rounding is real: the f32 reference is measurably further.
    assert np.abs(logits[0] - exact.forward(prompt)[-1]).max() > 10 * error
    # Decode goes on from the bf16 prompt's cache in f32.
    assert np.all(np.isfinite(logits))


def test_bf16_tiles_with_and_without_fusion(llamac, float_model, bf16_target):
    prompt = prompt_for(VOCAB)
    _, fused, _ = run_emulated(compile_bf16(llamac, float_model, bf16_target), prompt, 2)
    _, unfused, _ = run_emulated(
        compile_bf16(llamac, float_model, bf16_target, "--no-fusion"), prompt, 2)
    assert np.abs(fused - unfused).max() <= 1e-6 * np.abs(unfused).max()


def test_bf16_decode_runs_no_tile(llamac, float_model, bf16_target):
    exe = compile_bf16(llamac, float_model, bf16_target)
    prompt = prompt_for(VOCAB)[:15]
    ids, logits, products = run_emulated(exe, prompt, 3)
    assert products == 0
    # Without a tile every product is f32: the f32 reference.
    expected_ids, expected = reference.Llama(float_model["hf"]).greedy(prompt, 3)
    assert ids == expected_ids
    assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()


def test_bf16_code_holds_products(llamac, float_model):
    for target, instruction in (("cpu-amx", "tdpbf16ps"), ("cpu-avx512-bf16", "vdpbf16ps")):
        listing = run([OBJDUMP, "-d", "--no-show-raw-insn",
                       compile_bf16(llamac, float_model, target)]).stdout
        assert re.search(rf"\b{instruction}\b", listing), target


def test_bf16_needs_bf16_products(llamac, float_model, tmp_path):
    out = str(tmp_path / "x")
    for target in ("cpu-avx512-vnni", "cpu-avx2"):
        result = subprocess.run([llamac, "compile", float_model["hf"], "-o", out, "--target",
                                 target, "--float-precision", "bf16"],
                                capture_output=True, text=True)
        assert result.returncode != 0
        assert "--float-precision bf16" in result.stderr and target in result.stderr
    result = subprocess.run([llamac, "compile", float_model["hf"], "-o", out,
                             "--float-precision", "f8"], capture_output=True, text=True)
    assert result.returncode != 0 and "'f8' is not f32 or bf16" in result.stderr
    assert not os.path.exists(out)
    # On a CPU without AMX and no emulator, the executable says what it needs.
    if not host_has_amx():
        assert_refused(compile_bf16(llamac, float_model, "cpu-amx"), "AMX-TILE and AMX-BF16")
    if "avx512_bf16" not in host_flags():
        assert_refused(compile_bf16(llamac, float_model, "cpu-avx512-bf16"), "AVX-512 BF16")
