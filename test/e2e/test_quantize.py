"""`llamac compile --quantize`: float checkpoints quantized at compile time.

- The blocks llamac writes are the ones the `gguf` package's quantizer (a
  port of llama.cpp's) makes from the same float weights: scales, minimums
  and values, byte for byte (read back with --emit weights,
  --activation-precision f32 so that the canonical layout is kept).
- Which matrices are quantized: every linear weight whose rows are whole
  blocks of 32; the token embedding table and the output layer only with
  --quantize-output.
- The compiled model matches the numpy reference run on the dequantized
  weights, with float activations (1e-4 relative) and with int8 activations
  (numerics.check_int8).
"""

import glob
import re
import struct

import gguf
import numpy as np
import pytest

import make_llama
import reference
import safetensors_io
from conftest import run
from numerics import TOLERANCE, check_int8, generate

QTYPES = {"q8_0": gguf.GGMLQuantizationType.Q8_0, "q4_0": gguf.GGMLQuantizationType.Q4_0,
          "q4_1": gguf.GGMLQuantizationType.Q4_1}
# The down projection's 72 columns are not whole blocks of 32: it stays
# float. The gate/up projections' 72 rows and the output layer's 300 are not
# multiples of 16 (the packed kernels' row group).
FLAGS = ["--hidden", "64", "--intermediate", "72", "--heads", "4", "--kv-heads", "2",
         "--vocab", "300"]


@pytest.fixture
def checkpoint(tmp_path):
    directory = str(tmp_path / "hf")
    make_llama.make(make_llama.parse_args([directory] + FLAGS))
    return directory


def float_weights(directory):
    weights = {}
    for path in sorted(glob.glob(f"{directory}/*.safetensors")):
        weights.update(safetensors_io.read(path))
    return {k: v.astype(np.float32) for k, v in weights.items()}


def params(llamac, directory, extra):
    """name -> (type text, offset) of each weight, from --emit llama."""
    out = run([llamac, "compile", directory, "-o", "-", "--emit", "llama", "--quiet"]
              + extra).stdout
    found = {}
    for m in re.finditer(r'llama\.param "([^"]+)" \{llamac\.offset = (\d+) : i64\} : (\S+)', out):
        found.setdefault(m.group(1), []).append((m.group(3), int(m.group(2))))
    return found


def is_output(name):
    return name in ("model.embed_tokens.weight", "lm_head.weight")


@pytest.mark.parametrize("output", [False, True], ids=["", "output"])
@pytest.mark.parametrize("qtype", sorted(QTYPES))
def test_blocks_match_gguf_quantizer(llamac, checkpoint, tmp_path, qtype, output):
    extra = ["--quantize", qtype, "--activation-precision", "f32"]
    if output:
        extra.append("--quantize-output")
    blob = str(tmp_path / "weights")
    run([llamac, "compile", checkpoint, "-o", blob, "--emit", "weights", "--quiet"] + extra)
    with open(blob, "rb") as f:
        data = f.read()
    weights_offset = struct.unpack_from("<Q", data, 32)[0]
    weights = float_weights(checkpoint)
    found = params(llamac, checkpoint, extra)
    checked = 0
    for name, array in weights.items():
        if array.ndim != 2:
            continue
        types = [t for t, _ in found[name]]
        should = array.shape[1] % 32 == 0 and (output or not is_output(name))
        quantized = [(t, o) for t, o in found[name] if t.startswith("!llama.qtensor")]
        assert bool(quantized) == should, (name, types)
        if not should:
            continue
        expected = gguf.quants.quantize(array, QTYPES[qtype]).tobytes()
        start = weights_offset + quantized[0][1]
        assert data[start:start + len(expected)] == expected, name
        checked += 1
    assert checked >= 7


@pytest.mark.parametrize("precision", ["f32", "int8"])
@pytest.mark.parametrize("qtype", sorted(QTYPES))
def test_quantized_model_matches_reference(llamac, int8_dot, checkpoint, tmp_path, qtype,
                                           precision):
    exe = str(tmp_path / "model")
    run([llamac, "compile", checkpoint, "-o", exe, "--quiet", "--quantize", qtype,
         "--quantize-output", "--activation-precision", precision])
    weights = float_weights(checkpoint)
    decoded = {}
    for name, array in weights.items():
        if array.ndim == 2 and array.shape[1] % 32 == 0:
            blocks = gguf.quants.quantize(array, QTYPES[qtype])
            decoded[name] = gguf.quants.dequantize(blocks, QTYPES[qtype]).reshape(array.shape)
    steps = 16
    if precision == "int8" and int8_dot:
        # Every product with a quantized matrix takes int8 activations (the
        # embedding lookup is not a product).
        model = reference.Llama(checkpoint, decoded, int8=list(decoded))
        check_int8(model, reference.Llama(checkpoint, decoded), exe, steps)
        return
    model = reference.Llama(checkpoint, decoded)
    prompt = [1, 5, 7, 9, 11]
    expected_ids, expected_logits = model.greedy(prompt, steps)
    ids, logits = generate(exe, prompt, steps)
    scale = np.abs(expected_logits).max()
    assert np.abs(logits - expected_logits).max() <= TOLERANCE * scale
    assert ids == expected_ids


def test_quantize_output_needs_quantize(llamac, checkpoint, tmp_path):
    result = run([llamac, "compile", checkpoint, "-o", str(tmp_path / "x"),
                  "--quantize-output"], check=False)
    assert result.returncode != 0
    assert "--quantize-output needs --quantize" in result.stderr
