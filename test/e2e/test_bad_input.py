"""Bad input gets a clear error, a non-zero exit status and no crash.

Each case corrupts a generated checkpoint (or passes a bad option) and checks
that llamac or the compiled executable exits with status 1 or 2 (not a
signal), printing a message that names the file or flag and the problem.
"""

import json
import os
import shutil
import struct

import pytest

import make_llama
import safetensors_io
from conftest import run


def expect_error(cmd, *fragments):
    result = run(cmd, check=False)
    assert result.returncode in (1, 2), (
        f"expected a clean failure, got {result.returncode}:\n{result.stderr}")
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in:\n{result.stderr}"
    return result


@pytest.fixture
def checkpoint(tmp_path):
    directory = str(tmp_path / "model")
    make_llama.make(make_llama.parse_args([directory, "--layers", "1"]))
    return directory


def compile_cmd(llamac, model, tmp_path):
    return [llamac, "compile", model, "-o", str(tmp_path / "out.exe"), "--quiet"]


def rewrite(directory, edit):
    """Rewrites model.safetensors after edit(tensors) changes the dict."""
    path = os.path.join(directory, "model.safetensors")
    tensors = {k: ("F32", v) for k, v in safetensors_io.read(path).items()}
    edit(tensors)
    safetensors_io.write(path, tensors)


def test_path_does_not_exist(llamac, tmp_path):
    missing = str(tmp_path / "nowhere")
    expect_error(compile_cmd(llamac, missing, tmp_path), missing, "does not exist")


def test_missing_config(llamac, checkpoint, tmp_path):
    os.remove(os.path.join(checkpoint, "config.json"))
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), checkpoint, "config.json")


def test_invalid_config_json(llamac, checkpoint, tmp_path):
    with open(os.path.join(checkpoint, "config.json"), "w") as f:
        f.write("{ not json")
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), "config.json", "invalid JSON")


@pytest.mark.parametrize("key,value,message", [
    ("num_key_value_heads", 3, "not a multiple of num_key_value_heads"),
    ("architectures", ["GPT2LMHeadModel"], "GPT2LMHeadModel"),
    ("rope_scaling", {"rope_type": "yarn", "factor": 4.0}, "rope scaling type 'yarn'"),
    ("hidden_size", "wide", "'hidden_size' must be an integer"),
    ("vocab_size", -5, "vocab_size must be positive"),
    # Sizes whose products would overflow: refused before anything is sized.
    ("hidden_size", 2 ** 62, "hidden_size is 4611686018427387904, above llamac's limit"),
    ("num_hidden_layers", 10 ** 9, "num_hidden_layers is 1000000000, above llamac's limit"),
    ("intermediate_size", 2 ** 40, "intermediate_size is 1099511627776, above"),
])
def test_bad_config_values(llamac, checkpoint, tmp_path, key, value, message):
    path = os.path.join(checkpoint, "config.json")
    with open(path) as f:
        config = json.load(f)
    config[key] = value
    with open(path, "w") as f:
        json.dump(config, f)
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), "config.json", message)


def test_missing_tensor(llamac, checkpoint, tmp_path):
    rewrite(checkpoint, lambda t: t.pop("model.layers.0.mlp.up_proj.weight"))
    expect_error(compile_cmd(llamac, checkpoint, tmp_path),
                 "model.layers.0.mlp.up_proj.weight", "no tensor")


def test_wrong_shape(llamac, checkpoint, tmp_path):
    def edit(t):
        dtype, array = t["model.layers.0.self_attn.q_proj.weight"]
        t["model.layers.0.self_attn.q_proj.weight"] = (dtype, array[:-1])
    rewrite(checkpoint, edit)
    expect_error(compile_cmd(llamac, checkpoint, tmp_path),
                 "model.layers.0.self_attn.q_proj.weight", "has shape [63, 64]",
                 "[64, 64]")


def test_unsupported_dtype(llamac, checkpoint, tmp_path):
    import numpy as np

    def edit(t):
        _, array = t["model.norm.weight"]
        t["model.norm.weight"] = ("F64", array.astype(np.float64))
    rewrite(checkpoint, edit)
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), "model.norm.weight", "F64")


def test_truncated_file(llamac, checkpoint, tmp_path):
    path = os.path.join(checkpoint, "model.safetensors")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 1000)
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), path, "outside the file")


def test_truncated_header(llamac, checkpoint, tmp_path):
    path = os.path.join(checkpoint, "model.safetensors")
    with open(path, "r+b") as f:
        f.truncate(100)
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), path, "exceeds the file")


def test_header_offsets_outside_file(llamac, checkpoint, tmp_path):
    path = os.path.join(checkpoint, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    name = "model.norm.weight"
    begin, end = header[name]["data_offsets"]
    header[name]["data_offsets"] = [begin + 10**9, end + 10**9]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data[8 + length:])
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), path, name,
                 "data_offsets outside")


def test_size_does_not_match_shape(llamac, checkpoint, tmp_path):
    path = os.path.join(checkpoint, "model.safetensors")
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    header["model.norm.weight"]["shape"] = [65]
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data[8 + length:])
    expect_error(compile_cmd(llamac, checkpoint, tmp_path), path, "model.norm.weight",
                 "shape and dtype need")


def test_garbage_file(llamac, tmp_path):
    path = tmp_path / "model.bin"
    path.write_bytes(os.urandom(4096))
    expect_error(compile_cmd(llamac, str(path), tmp_path), str(path),
                 "cannot tell the format")


@pytest.mark.parametrize("args,message", [
    (["--target", "tpu"], "unknown target 'tpu'"),
    (["--quantize", "q3_k"], "--quantize 'q3_k'"),
    (["--max-chunk", "0"], "--max-chunk"),
])
def test_bad_compile_options(llamac, checkpoint, tmp_path, args, message):
    expect_error(compile_cmd(llamac, checkpoint, tmp_path) + args, message)


def test_max_context_beyond_model(llamac, checkpoint, tmp_path):
    expect_error(compile_cmd(llamac, checkpoint, tmp_path) + ["--max-context", "100000"],
                 "--max-context 100000")


@pytest.fixture
def executable(llamac, checkpoint, tmp_path):
    exe = str(tmp_path / "small.exe")
    run([llamac, "compile", checkpoint, "-o", exe, "--max-context", "16", "--quiet"])
    return exe


@pytest.mark.parametrize("args,message", [
    (["--tokens", "1,2", "--threads", "0"], "--threads"),
    (["--tokens", "1,x,2"], "--tokens"),
    (["--tokens", "1,2", "-n", "-3"], "-n"),
    (["--tokens", "1,2", "--temp", "-1"], "--temp"),
    (["--tokens", "1,2", "--top-p", "1.5"], "--top-p"),
    (["--tokens", "1,2", "--ctx", "17"], "context 17"),
    (["--tokens", "1,2", "--frobnicate"], "--frobnicate"),
    ([], "--prompt"),
    (["--tokens", "1,2", "--weights", "/nonexistent/w"], "/nonexistent/w"),
])
def test_bad_executable_options(executable, args, message):
    expect_error([executable] + args, message)


def test_prompt_longer_than_context(executable):
    prompt = ",".join(str(i) for i in range(1, 21))
    expect_error([executable, "--tokens", prompt], "20 tokens", "context holds 16")


def test_token_outside_vocabulary(executable):
    expect_error([executable, "--tokens", "1,5000"], "5000", "vocabulary")


def test_weights_of_another_model(llamac, checkpoint, tmp_path):
    exe = str(tmp_path / "a.exe")
    run([llamac, "compile", checkpoint, "-o", exe, "--weights", "external", "--quiet"])
    other = str(tmp_path / "other")
    make_llama.make(make_llama.parse_args([other, "--layers", "2"]))
    run([llamac, "compile", other, "-o", str(tmp_path / "b.exe"), "--weights", "external",
         "--quiet"])
    expect_error([exe, "--tokens", "1", "--weights", str(tmp_path / "b.exe.weights")],
                 "different model")


def test_truncated_weights_file(llamac, checkpoint, tmp_path):
    exe = str(tmp_path / "a.exe")
    run([llamac, "compile", checkpoint, "-o", exe, "--weights", "external", "--quiet"])
    with open(exe + ".weights", "r+b") as f:
        f.truncate(os.path.getsize(exe + ".weights") // 2)
    expect_error([exe, "--tokens", "1"], exe + ".weights", "truncated")
