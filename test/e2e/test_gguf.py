"""GGUF: files written by the `gguf` PyPI package, read back by llamac.

- every metadata value type (scalars and arrays) round-trips through
  `llamac inspect --metadata`;
- every supported tensor type decodes (`llamac inspect --tensor`) to what
  numpy / gguf.quants.dequantize decode;
- random Llama checkpoints converted the way llama.cpp's converter does it
  (Q/K rows permuted, each matrix type, GGUF v2 and v3) compile and match the
  numpy reference run on the decoded weights;
- malformed files fail with a message naming the file and the problem.
"""

import json
import os
import struct

import gguf
import numpy as np
import pytest

import make_gguf
import make_llama
import reference
from conftest import run
from numerics import check_int8, generate
from test_bad_input import expect_error

TOLERANCE = 1e-4


def inspect_json(llamac, path):
    out = run([llamac, "inspect", "--metadata", path]).stdout
    return {entry["key"]: entry for entry in map(json.loads, out.splitlines())}


def test_metadata_value_types(llamac, tmp_path):
    path = str(tmp_path / "values.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint8("t.u8", 250)
    w.add_int8("t.i8", -100)
    w.add_uint16("t.u16", 65000)
    w.add_int16("t.i16", -32000)
    w.add_uint32("t.u32", 4000000000)
    w.add_int32("t.i32", -2000000000)
    w.add_float32("t.f32", 1.5)
    w.add_uint64("t.u64", 2**63 + 5)
    w.add_int64("t.i64", -(2**62))
    w.add_float64("t.f64", 0.1)
    w.add_bool("t.bool", True)
    w.add_string("t.string", "héllo\nwörld ✓")
    w.add_array("t.strings", ["a", "", "ü"])
    w.add_array("t.ints", [1, -2, 3])
    w.add_array("t.floats", [0.5, -1.25])
    w.add_array("t.bools", [True, False])
    w.add_tensor("x", np.zeros((2, 32), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    meta = inspect_json(llamac, path)
    expected = {
        "t.u8": ("u8", 250), "t.i8": ("i8", -100), "t.u16": ("u16", 65000),
        "t.i16": ("i16", -32000), "t.u32": ("u32", 4000000000),
        "t.i32": ("i32", -2000000000), "t.f32": ("f32", 1.5),
        "t.u64": ("u64", 2**63 + 5), "t.i64": ("i64", -(2**62)),
        "t.f64": ("f64", 0.1), "t.bool": ("bool", True),
        "t.string": ("string", "héllo\nwörld ✓"),
        "t.strings": ("array<string>", ["a", "", "ü"]),
        "t.bools": ("array<bool>", [True, False]),
    }
    for key, (type_name, value) in expected.items():
        assert meta[key]["type"] == type_name, key
        assert meta[key]["value"] == value, key
    assert meta["t.ints"]["type"].startswith("array<i")
    assert meta["t.ints"]["value"] == [1, -2, 3]
    assert meta["t.floats"]["type"] == "array<f32>"
    assert meta["t.floats"]["value"] == [0.5, -1.25]
    assert meta["general.architecture"]["value"] == "llama"


@pytest.mark.parametrize("type_name", ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1"])
def test_tensor_values(llamac, tmp_path, type_name):
    rng = np.random.default_rng(3)
    array = rng.standard_normal((5, 64)).astype(np.float32) * 3
    qtype = make_gguf.TYPES[type_name]
    path = str(tmp_path / f"{type_name}.gguf")
    w = gguf.GGUFWriter(path, "llama")
    if type_name == "f32":
        data, expected = array, array
    elif type_name == "f16":
        data = array.astype(np.float16)
        expected = data.astype(np.float32)
    else:
        data = gguf.quants.quantize(array, qtype)
        expected = gguf.quants.dequantize(data, qtype).reshape(array.shape)
    w.add_tensor("w", data, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    out = run([llamac, "inspect", "--tensor", "w", path]).stdout
    got = np.array([[float(v) for v in line.split()] for line in out.splitlines()],
                   dtype=np.float32)
    assert got.shape == array.shape
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


MODELS = {
    # name: (make_llama flags, gguf type, gguf version)
    "f32_v3": (["--heads", "6", "--kv-heads", "2", "--hidden", "96",
                "--intermediate", "160"], "f32", 3),
    "f16_v2": ([], "f16", 2),
    "q8_0_gqa": (["--heads", "8", "--kv-heads", "2", "--hidden", "128"], "q8_0", 3),
    "q4_0": ([], "q4_0", 3),
    "q4_1_tied": (["--tie"], "q4_1", 3),
}


@pytest.mark.parametrize("precision", ["f32", "int8"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_model_matches_reference(llamac, int8_dot, tmp_path, name, precision):
    # int8: on targets with 8-bit dot products, activations are quantized per
    # block of 32 before meeting quantized weights; the reference does the
    # same arithmetic (reference.Llama.quantize_activations).
    flags, type_name, version = MODELS[name]
    hf = str(tmp_path / "hf")
    make_llama.make(make_llama.parse_args([hf] + flags))
    path = str(tmp_path / f"{name}.gguf")
    decoded = make_gguf.convert(hf, path, type_name, version)
    int8 = []
    if precision == "int8" and int8_dot and type_name in ("q8_0", "q4_0", "q4_1"):
        int8 = [k for k, v in decoded.items() if v.ndim == 2]
    model = reference.Llama(hf, decoded, int8=int8)
    steps = 24
    exe = str(tmp_path / "model.exe")
    run([llamac, "compile", path, "-o", exe, "--quiet", "--activation-precision", precision])
    if not int8:
        prompt = [1, 5, 7, 9, 11]
        expected_ids, expected_logits = model.greedy(prompt, steps)
        ids, logits = generate(exe, prompt, steps)
        scale = np.abs(expected_logits).max()
        assert np.abs(logits - expected_logits).max() <= TOLERANCE * scale
        assert ids == expected_ids
        return
    check_int8(model, reference.Llama(hf, decoded), exe, steps)


#===------------------------------------------------------------------------===#
# Malformed files
#===------------------------------------------------------------------------===#

def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def header(version=3, tensors=0, kvs=0):
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs)


def tensor_info(name, ne, ggml_type, offset):
    return (gguf_string(name) + struct.pack("<I", len(ne)) +
            b"".join(struct.pack("<Q", n) for n in ne) +
            struct.pack("<IQ", ggml_type, offset))


def kv_u32(key, value):
    return gguf_string(key) + struct.pack("<II", 4, value)


@pytest.mark.parametrize("name,content,message", [
    ("bad_magic", b"GGML" + b"\0" * 28, "not a GGUF file (bad magic)"),
    ("version_1", header(version=1), "GGUF version 1 is not supported"),
    ("version_9", header(version=9), "GGUF version 9 is not supported"),
    ("truncated_header", b"GGUF\x03\x00\x00\x00\x01", "truncated"),
    ("huge_counts", header(tensors=2**60, kvs=2**60), "exceed what the file can hold"),
    ("string_beyond_file", header(kvs=1) + struct.pack("<Q", 2**40) + b"key",
     "beyond the end of the file"),
    ("array_beyond_file", header(kvs=1) + gguf_string("a") + struct.pack("<IIQ", 9, 4, 2**50),
     "more than the file can hold"),
    ("bad_value_type", header(kvs=1) + gguf_string("k") + struct.pack("<I", 99),
     "invalid type 99"),
    ("tensor_outside_file",
     header(tensors=1) + tensor_info("w", [32, 4], 0, 1 << 20) + b"\0" * 64,
     "lies outside the file"),
    ("misaligned_offset",
     header(tensors=1) + tensor_info("w", [32, 1], 0, 3) + b"\0" * 256,
     "not aligned"),
    ("bad_rank", header(tensors=1) + gguf_string("w") + struct.pack("<I", 7),
     "rank 7"),
    ("partial_block",
     header(tensors=1) + tensor_info("w", [33, 1], 8, 0) + b"\0" * 256,
     "not whole blocks of 32"),
    ("unknown_tensor_type",
     header(tensors=1) + tensor_info("w", [32, 1], 77, 0) + b"\0" * 256,
     "unknown GGML type 77"),
    ("bad_alignment", header(kvs=1) + kv_u32("general.alignment", 3), "power of two"),
    ("no_architecture", header(), "no general.architecture"),
])
def test_malformed(llamac, tmp_path, name, content, message):
    path = str(tmp_path / f"{name}.gguf")
    with open(path, "wb") as f:
        f.write(content)
    expect_error([llamac, "compile", path, "-o", str(tmp_path / "x"), "--quiet"],
                 path, message)


def test_unsupported_tensor_type(llamac, tmp_path):
    hf = str(tmp_path / "hf")
    make_llama.make(make_llama.parse_args([hf, "--hidden", "256", "--intermediate", "256",
                                           "--heads", "4"]))
    path = str(tmp_path / "k.gguf")
    make_gguf.convert(hf, path, "q8_0")
    # Rewrite one matrix as Q4_K (type 12), which llamac does not read.
    reader = gguf.GGUFReader(path)
    tensor = next(t for t in reader.tensors if t.name == "blk.0.ffn_up.weight")
    # The tensor info's type field sits right after the dims of its record;
    # find it by searching the header for the name.
    with open(path, "r+b") as f:
        data = f.read()
        at = data.index(gguf_string("blk.0.ffn_up.weight"))
        at += len(gguf_string("blk.0.ffn_up.weight"))
        n_dims = struct.unpack("<I", data[at:at + 4])[0]
        type_at = at + 4 + 8 * n_dims
        f.seek(type_at)
        f.write(struct.pack("<I", 12))
    del tensor
    expect_error([llamac, "compile", path, "-o", str(tmp_path / "x"), "--quiet"],
                 "blk.0.ffn_up.weight", "q4_K")


def test_architecture_not_llama(llamac, tmp_path):
    path = str(tmp_path / "gpt2.gguf")
    w = gguf.GGUFWriter(path, "gpt2")
    w.add_tensor("x", np.zeros((2, 32), dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    expect_error([llamac, "compile", path, "-o", str(tmp_path / "x"), "--quiet"],
                 "architecture 'gpt2' is not supported")
