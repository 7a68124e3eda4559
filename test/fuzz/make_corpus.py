#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz harnesses into OUT/<target>/.

The seeds come from the test fixtures' own generators (test/models) at small
sizes, so each input runs in milliseconds, and from the committed tokenizer
fixtures. Files of one input are joined with the separator FuzzCommon.h
names. Usage: make_corpus.py OUT
"""
import glob
import os
import shutil
import struct
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "test", "models"))

import make_gguf  # noqa: E402
import make_llama  # noqa: E402
import make_onnx  # noqa: E402

SPLIT = b"\n@@llamac-fuzz-file@@\n"

# Small models (rows of 32 for the block formats) covering the reader's branches: dtypes, GQA, tied
# embeddings, rope scaling spellings, biases.
MODELS = {
    "f32": ["--hidden", "32", "--intermediate", "32", "--layers", "1", "--heads", "2",
            "--vocab", "40", "--max-positions", "32"],
    "bf16-gqa-llama3": ["--hidden", "32", "--intermediate", "64", "--layers", "2",
                        "--heads", "4", "--kv-heads", "2", "--vocab", "33",
                        "--dtype", "bf16", "--rope-scaling", "llama3",
                        "--max-positions", "32"],
    "f16-tied-params": ["--hidden", "32", "--intermediate", "64", "--layers", "1",
                        "--heads", "1", "--vocab", "35", "--dtype", "f16", "--tie",
                        "--rope-parameters", "--rope-scaling", "linear",
                        "--max-positions", "32"],
    "bias": ["--hidden", "32", "--intermediate", "32", "--layers", "1", "--heads", "2",
             "--vocab", "40", "--attention-bias", "--eos", "2", "3"],
}


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(out, target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


# The stand-in model of fuzz_weights.cpp.
WEIGHTS_MODEL = {"fingerprint": 0x4c4c414d41434655, "vocab": 65536, "weights_bytes": 4096}


def blob(tokenizer=b"", eos=(2,), bos=1):
    """A weights file for fuzz_weights.cpp's model (runtime/include/llamac/
    blob.h): the 256-byte header, the tokenizer, zeros to 4096, the weights."""
    weights_offset = (256 + len(tokenizer) + 4095) // 4096 * 4096
    header = b"LLAMACWB" + struct.pack(
        "<IIQQQQQQiii", 1, 256, WEIGHTS_MODEL["fingerprint"],
        weights_offset + WEIGHTS_MODEL["weights_bytes"], weights_offset,
        WEIGHTS_MODEL["weights_bytes"], 256 if tokenizer else 0, len(tokenizer),
        WEIGHTS_MODEL["vocab"], bos, len(eos))
    header += struct.pack("<8i", *(list(eos) + [0] * (8 - len(eos))))
    header += struct.pack("<i", 1)
    header += b"\0" * (256 - len(header))
    return (header + tokenizer).ljust(weights_offset, b"\0") + \
        bytes(range(256)) * (WEIGHTS_MODEL["weights_bytes"] // 256)


def write_weights_seeds(out):
    """Blobs with and without a tokenizer; the tokenizer (LLTK bytes) is
    taken from what llamac writes for the ONNX fixture and for the SmolLM2
    GGUF's vocabulary of a small test model."""
    llamac = os.path.join(os.path.dirname(os.path.abspath(out)), "bin", "llamac")
    write(out, "weights", "no-tokenizer", blob())
    if not os.path.exists(llamac):
        return
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(ROOT, "test", "onnx", "genai_llama", "model.onnx")
        path = os.path.join(tmp, "w")
        subprocess.run([llamac, "compile", model, "-o", path, "--emit", "weights",
                        "--quiet"], check=True)
        data = read(path)
        offset, size = struct.unpack_from("<QQ", data, 8 + 4 + 4 + 8 + 8 + 8 + 8)
        write(out, "weights", "genai-tokenizer", blob(data[offset:offset + size]))


def main():
    out = sys.argv[1]
    shutil.rmtree(out, ignore_errors=True)
    tokenizers = sorted(glob.glob(os.path.join(ROOT, "test", "tokenizer", "*",
                                               "tokenizer.json")))
    tokenizers.append(os.path.join(ROOT, "test", "onnx", "genai_llama", "tokenizer.json"))
    with tempfile.TemporaryDirectory() as tmp:
        for name, flags in MODELS.items():
            hf = os.path.join(tmp, name)
            make_llama.make(make_llama.parse_args([hf] + flags))
            config = read(os.path.join(hf, "config.json"))
            weights = read(os.path.join(hf, "model.safetensors"))
            write(out, "safetensors", name, config + SPLIT + weights)
            for qtype in ("f32", "f16", "q8_0", "q4_0", "q4_1") if name != "bias" else ():
                gguf = os.path.join(tmp, f"{name}-{qtype}.gguf")
                make_gguf.convert(hf, gguf, qtype, vocab=True)
                write(out, "gguf", f"{name}-{qtype}", read(gguf))
            if name != "bias":  # the GGUF and ONNX writers here have no biases
                onnx_path = os.path.join(tmp, f"{name}.onnx")
                make_onnx.build(hf, onnx_path, positions=32)
                write(out, "onnx", name, read(onnx_path) + SPLIT + read(onnx_path + ".data"))
                make_onnx.build(hf, onnx_path + "-inline", separate_qkv=True, inline=True,
                                positions=32)
                write(out, "onnx", name + "-separate-inline", read(onnx_path + "-inline"))
                make_onnx.build(hf, onnx_path + "-int4", int4_block=32, zero_points=True,
                                inline=True, positions=32)
                write(out, "onnx", name + "-int4", read(onnx_path + "-int4"))
    genai = os.path.join(ROOT, "test", "onnx", "genai_llama")
    write(out, "onnx", "genai", read(os.path.join(genai, "model.onnx")) + SPLIT +
          read(os.path.join(genai, "model.onnx.data")) + SPLIT +
          read(os.path.join(genai, "genai_config.json")))
    # torch.onnx exports: attention in plain operators, raised through the
    # graph evaluator (with past keys/values; opset 23's 4-D Attention).
    for name in ("torch_llama_cache", "torch_llama_opset23"):
        fixture = os.path.join(ROOT, "test", "onnx", name)
        write(out, "onnx", name, read(os.path.join(fixture, "model.onnx")) + SPLIT +
              read(os.path.join(fixture, "model.onnx.data")))
    # Static-shaped graphs for the generic lowering (--graph): a few of the
    # onnx package's node test models, one per family of lowering.
    import onnx.backend.test.case.node as node_cases
    wanted = {"test_add_bcast", "test_matmul_3d", "test_reshape_negative_dim",
              "test_slice_neg_steps", "test_gather_negative_indices", "test_softmax_axis_1",
              "test_reduce_mean_keepdims_example", "test_trilu_lower", "test_concat_3d_axis_1",
              "test_split_equal_parts_1d_opset18", "test_attention_4d_gqa_with_past_and_present",
              "test_cumsum_2d_axis_0", "test_where_example", "test_cast_FLOAT_to_FLOAT16",
              "test_gemm_all_attributes", "test_expand_dim_changed"}
    for case in node_cases.collect_testcases():
        if case.name in wanted and case.model is not None:
            write(out, "onnx", "node-" + case.name, case.model.SerializeToString())
    hf = os.path.join(out, "safetensors")
    first = read(os.path.join(hf, "f32"))
    write(out, "safetensors", "f32-tokenizer", first + SPLIT + read(tokenizers[0]))
    text = "Hello, world! <|im_start|>user\n12 × 7 = ? café 🦙\t\t  end".encode()
    for path in tokenizers:
        family = os.path.basename(os.path.dirname(path))
        config_path = os.path.join(os.path.dirname(path), "tokenizer_config.json")
        config = read(config_path) if os.path.exists(config_path) else b"{}"
        write(out, "tokenizer", family, read(path) + SPLIT + config + SPLIT + text)
    for i, argv in enumerate([
            ["--prompt", "Hello", "-n", "8", "--temp", "0.7", "--top-k", "40",
             "--top-p", "0.9", "--seed", "42", "--threads", "2"],
            ["--tokens", "1,2,3", "--print-ids", "--ignore-eos", "--ctx", "64"],
            ["--perplexity", "file.txt", "--dump-logits", "out.bin", "--score"],
            ["--prompt", "hi", "--chat", "--tokenize", "--weights", "w.bin"],
            ["--help"]]):
        write(out, "args", f"args{i}", b"\0".join(a.encode() for a in argv))
    write_weights_seeds(out)
    for target in sorted(os.listdir(out)):
        print(f"make_corpus: {len(os.listdir(os.path.join(out, target)))} {target} seeds")


if __name__ == "__main__":
    main()
