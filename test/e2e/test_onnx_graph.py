"""ONNX graphs that are not Llama decoders: `llamac compile model.onnx --graph`
(onnx-lower-graph, then linalg to loops), checked against independent
references.

- The ONNX backend node tests defined by the onnx package (one-node models,
  with outputs from its numpy reference implementations), through
  scripts/onnx_node_tests.py: no case may compute wrong values or crash; a
  case llamac cannot lower must be refused with an error; and
  docs/onnx-ops.md must be the table this run generates.
- Small graphs built here, with initializers and shape subgraphs
  (Shape -> Gather -> Concat -> Reshape, folded while compiling), against
  numpy; and against onnxruntime running the same file.
- The C library (`--emit lib`): a C program links it and calls
  llamac_graph_run.
- Bad input: a graph input with a dynamic dimension, a shape that must be
  known when compiling, --input-value naming no input or of the wrong
  shape, an input file of the wrong shape at run time.
"""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import ROOT, run
from test_bad_input import expect_error

SCRIPT = os.path.join(ROOT, "scripts", "onnx_node_tests.py")
DOC = os.path.join(ROOT, "docs", "onnx-ops.md")
# float32 graphs below: loops in the same order of operations as numpy up to
# reassociation of sums.
TOLERANCE = 1e-5


def save(tmp_path, nodes, inputs, outputs, initializers=(), name="g.onnx", opset=17):
    model = helper.make_model(
        helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers)),
        opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    path = str(tmp_path / name)
    onnx.save(model, path)
    return path


def run_graph(llamac, tmp_path, path, feeds, extra=()):
    """Compiles `path` with --graph, runs it on `feeds` (name -> array),
    returns its outputs."""
    exe = str(tmp_path / "graph")
    run([llamac, "compile", path, "--graph", "-o", exe, "--quiet"] + list(extra))
    files = []
    for name, value in feeds.items():
        f = str(tmp_path / f"{name}.pb")
        with open(f, "wb") as out:
            out.write(numpy_helper.from_array(value, name).SerializeToString())
        files.append(f"{name}={f}")
    out_dir = tmp_path / "out"
    out_dir.mkdir(exist_ok=True)
    run([exe] + files + ["-o", str(out_dir)])
    model = onnx.load(path)
    return [numpy_helper.to_array(onnx.load_tensor(str(out_dir / f"output_{i}.pb")))
            for i in range(len(model.graph.output))]


def test_node_tests(llamac, tmp_path):
    results = str(tmp_path / "results.json")
    doc = str(tmp_path / "onnx-ops.md")
    out = subprocess.run([sys.executable, SCRIPT, "--llamac", llamac, "--json", results,
                          "--doc", doc], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    with open(results) as f:
        outcomes = json.load(f)
    bad = {n: r for n, r in outcomes.items() if r["outcome"] in ("mismatch", "crash")}
    assert not bad, bad
    passed = sum(r["outcome"] == "pass" for r in outcomes.values())
    assert passed > 0
    with open(doc) as f, open(DOC) as g:
        assert f.read() == g.read(), (
            "docs/onnx-ops.md is out of date: run scripts/onnx_node_tests.py "
            "--doc docs/onnx-ops.md")


def test_mlp_with_initializers(llamac, tmp_path):
    rng = np.random.default_rng(0)
    w1 = rng.standard_normal((12, 20)).astype(np.float32)
    b1 = rng.standard_normal(20).astype(np.float32)
    w2 = rng.standard_normal((20, 7)).astype(np.float32)
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"]),
        helper.make_node("Add", ["h", "b1"], ["hb"]),
        helper.make_node("Relu", ["hb"], ["r"]),
        helper.make_node("MatMul", ["r", "w2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["p"], axis=-1),
        helper.make_node("ReduceMax", ["p"], ["best"], keepdims=0, axes=[1]),
    ]
    path = save(tmp_path, nodes,
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 12])],
                [helper.make_tensor_value_info("p", TensorProto.FLOAT, [3, 7]),
                 helper.make_tensor_value_info("best", TensorProto.FLOAT, [3])],
                [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
                 numpy_helper.from_array(w2, "w2")], opset=17)
    x = rng.standard_normal((3, 12)).astype(np.float32)
    p, best = run_graph(llamac, tmp_path, path, {"x": x})
    logits = np.maximum(x @ w1 + b1, 0) @ w2
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    expected = e / e.sum(axis=1, keepdims=True)
    assert p.shape == (3, 7) and best.shape == (3,)
    assert np.abs(p - expected).max() <= TOLERANCE
    assert np.abs(best - expected.max(axis=1)).max() <= TOLERANCE


def test_shape_subgraph_is_folded(llamac, tmp_path):
    """A torch.onnx-style reshape: the target shape computed from Shape,
    Gather and Concat, known only after folding."""
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Constant", [], ["i0"], value=numpy_helper.from_array(
            np.array(0, dtype=np.int64))),
        helper.make_node("Gather", ["s", "i0"], ["batch"], axis=0),
        helper.make_node("Unsqueeze", ["batch", "axes"], ["b1"]),
        helper.make_node("Concat", ["b1", "rest"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["y"]),
        helper.make_node("Transpose", ["y"], ["z"], perm=[0, 2, 1]),
        helper.make_node("Gather", ["z", "idx"], ["g"], axis=1),
    ]
    path = save(tmp_path, nodes,
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 4]),
                 helper.make_tensor_value_info("idx", TensorProto.INT64, [3])],
                [helper.make_tensor_value_info("g", TensorProto.FLOAT, [2, 3, 6])],
                [numpy_helper.from_array(np.array([0], np.int64), "axes"),
                 numpy_helper.from_array(np.array([6, 2], np.int64), "rest")])
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    idx = np.array([1, -1, 0], dtype=np.int64)
    (g,) = run_graph(llamac, tmp_path, path, {"x": x, "idx": idx})
    expected = np.take(x.reshape(2, 6, 2).transpose(0, 2, 1), idx, axis=1)
    np.testing.assert_array_equal(g, expected)


def test_matches_onnxruntime(llamac, tmp_path):
    """Broadcasting, comparisons, Where, Expand, Slice with a negative step,
    Trilu and a batched MatMul, against onnxruntime on the same file."""
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(1)
    nodes = [
        helper.make_node("Less", ["a", "b"], ["lt"]),
        helper.make_node("Where", ["lt", "a", "b"], ["m"]),
        helper.make_node("Expand", ["m", "shape"], ["e"]),
        helper.make_node("Slice", ["e", "starts", "ends", "axes", "steps"], ["s"]),
        helper.make_node("Trilu", ["s"], ["t"], upper=0),
        helper.make_node("MatMul", ["t", "c"], ["y"]),
        helper.make_node("Pow", ["y", "two"], ["sq"]),
        helper.make_node("ReduceMean", ["sq", "rm_axes"], ["out"], keepdims=1),
    ]
    ints = lambda name, v: numpy_helper.from_array(np.array(v, np.int64), name)
    path = save(tmp_path, nodes,
                [helper.make_tensor_value_info("a", TensorProto.FLOAT, [5, 1]),
                 helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, 6]),
                 helper.make_tensor_value_info("c", TensorProto.FLOAT, [2, 6, 3])],
                [helper.make_tensor_value_info("out", TensorProto.FLOAT, [2, 5, 1])],
                [ints("shape", [2, 5, 6]), ints("starts", [-1]), ints("ends", [-100]),
                 ints("axes", [2]), ints("steps", [-1]), ints("rm_axes", [2]),
                 numpy_helper.from_array(np.array(2.0, np.float32), "two")], opset=18)
    feeds = {"a": rng.standard_normal((5, 1)).astype(np.float32),
             "b": rng.standard_normal((1, 6)).astype(np.float32),
             "c": rng.standard_normal((2, 6, 3)).astype(np.float32)}
    (out,) = run_graph(llamac, tmp_path, path, feeds)
    (expected,) = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, feeds)
    assert out.shape == expected.shape
    assert np.abs(out - expected).max() <= TOLERANCE * max(1.0, np.abs(expected).max())


def test_c_library(llamac, tmp_path):
    compiler = shutil.which("clang-22") or shutil.which("cc")
    if compiler is None:
        pytest.fail("no C compiler (clang-22) to link the library")
    nodes = [helper.make_node("Mul", ["x", "y"], ["p"]),
             helper.make_node("Cast", ["p"], ["i"], to=TensorProto.INT64)]
    path = save(tmp_path, nodes,
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4]),
                 helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
                [helper.make_tensor_value_info("i", TensorProto.INT64, [4])])
    lib = str(tmp_path / "libg.a")
    run([llamac, "compile", path, "--graph", "--emit", "lib", "-o", lib, "--quiet"])
    header = str(tmp_path / "libg.h")
    assert os.path.exists(header)
    program = tmp_path / "main.c"
    program.write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "libg.h"\n'
        "int main(void) {\n"
        "  float x[4] = {1.5f, -2.0f, 3.0f, 10.0f}, y[4] = {2.0f, 3.25f, -1.5f, 0.5f};\n"
        "  long long out[4];\n"
        "  void *buffers[3] = {x, y, out};\n"
        "  llamac_graph_run(buffers);\n"
        '  printf("%lld %lld %lld %lld\\n", out[0], out[1], out[2], out[3]);\n'
        '  printf("%s", strstr(llamac_graph_info, "output"));\n'
        "  return 0;\n}\n")
    exe = str(tmp_path / "main")
    subprocess.run([compiler, "-o", exe, str(program), lib, "-I", str(tmp_path), "-lm"],
                   check=True)
    out = subprocess.run([exe], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    # ONNX Cast from float truncates toward zero: 3, -6.5 -> -6, -4.5 -> -4, 5.
    assert lines[0] == "3 -6 -4 5"
    assert lines[1] == "output i 7 1 4"


def test_split_num_outputs_mismatch(llamac, tmp_path):
    """Found by fuzz_onnx (test/fuzz/regressions/onnx/split-num-outputs-zero):
    a num_outputs that is not the node's output count (0 divided by zero)."""
    outputs = [helper.make_tensor_value_info(f"y{i}", TensorProto.FLOAT, [2]) for i in range(3)]
    nodes = [helper.make_node("Split", ["x"], ["y0", "y1", "y2"], axis=0, num_outputs=3)]
    path = save(tmp_path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [6])],
                outputs, opset=18)
    model = onnx.load(path)
    model.graph.node[0].attribute[1].i = 0  # the checker refuses it; llamac must too
    onnx.save(model, path)
    expect_error([llamac, "compile", path, "--graph", "-o", str(tmp_path / "x")],
                 "num_outputs = 0 for 3 outputs")


def test_dynamic_input_is_an_error(llamac, tmp_path):
    path = save(tmp_path, [helper.make_node("Neg", ["x"], ["y"])],
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])])
    expect_error([llamac, "compile", path, "--graph", "-o", str(tmp_path / "x")],
                 "no static shape")


def test_shape_input_must_be_bound(llamac, tmp_path):
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape_it")]
    path = save(tmp_path, nodes,
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
                 helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3, 2])])
    exe = str(tmp_path / "x")
    expect_error([llamac, "compile", path, "--graph", "-o", exe],
                 "node 'reshape_it' (Reshape)", "--input-value shape=FILE")
    bad = str(tmp_path / "bad.pb")
    with open(bad, "wb") as f:
        f.write(numpy_helper.from_array(np.array([3, 2, 1], np.int64), "s")
                .SerializeToString())
    expect_error([llamac, "compile", path, "--graph", "-o", exe, "--input-value",
                  f"shape={bad}"], "input 'shape' is")
    expect_error([llamac, "compile", path, "--graph", "-o", exe, "--input-value",
                  f"nope={bad}"], "'nope', which is not an input of the graph")
    good = str(tmp_path / "good.pb")
    with open(good, "wb") as f:
        f.write(numpy_helper.from_array(np.array([3, -1], np.int64), "s")
                .SerializeToString())
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = run_graph(llamac, tmp_path, path, {"x": x},
                     extra=["--input-value", f"shape={good}"])
    np.testing.assert_array_equal(y, x.reshape(3, 2))


def test_runner_checks_its_inputs(llamac, tmp_path):
    path = save(tmp_path, [helper.make_node("Neg", ["x"], ["y"])],
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])])
    exe = str(tmp_path / "neg")
    run([llamac, "compile", path, "--graph", "-o", exe, "--quiet"])
    wrong = str(tmp_path / "wrong.pb")
    with open(wrong, "wb") as f:
        f.write(numpy_helper.from_array(np.zeros((3, 2), np.float32), "x")
                .SerializeToString())
    expect_error([exe, wrong], "input 'x' is float [2,3], the file holds float [3,2]")
    truncated = str(tmp_path / "truncated.pb")
    with open(truncated, "wb") as f:
        f.write(numpy_helper.from_array(np.zeros((2, 3), np.float32), "x")
                .SerializeToString()[:-7])
    expect_error([exe, truncated], "truncated TensorProto")
    expect_error([exe], "no value for input 'x'")


def test_older_opsets_node_by_node(llamac, tmp_path):
    """An opset-7 model whose operators have not changed since (And, Not)
    compiles; one whose Softmax has (opset 11's flattens to 2-D) is refused
    naming the node and the definition llamac reads."""
    b = TensorProto.BOOL
    path = save(tmp_path, [helper.make_node("And", ["x", "y"], ["a"]),
                           helper.make_node("Not", ["a"], ["z"])],
                [helper.make_tensor_value_info("x", b, [3, 4]),
                 helper.make_tensor_value_info("y", b, [4])],
                [helper.make_tensor_value_info("z", b, [3, 4])], opset=7)
    rng = np.random.default_rng(3)
    x, y = rng.random((3, 4)) > 0.5, rng.random(4) > 0.5
    (z,) = run_graph(llamac, tmp_path, path, {"x": x, "y": y})
    np.testing.assert_array_equal(z, ~(x & y))
    old = save(tmp_path, [helper.make_node("Softmax", ["x"], ["y"], name="old_softmax")],
               [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
               [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
               name="old.onnx", opset=11)
    expect_error([llamac, "compile", old, "--graph", "-o", str(tmp_path / "o")],
                 "Softmax (domain ai.onnx, opset 11, node 'old_softmax')",
                 "definition of opset 13 onward")


def test_llama_options_do_not_apply(llamac, tmp_path):
    path = save(tmp_path, [helper.make_node("Neg", ["x"], ["y"])],
                [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    for extra, option in ((["--quantize", "q8_0"], "--quantize"),
                          (["--max-context", "64"], "--max-context"),
                          (["--weights", "external"], "--weights")):
        expect_error([llamac, "compile", path, "--graph", "-o", str(tmp_path / "g")] + extra,
                     f"{option} does not apply to --graph")
    expect_error([llamac, "compile", path, "-o", str(tmp_path / "g"), "--input-shape",
                  "x=2"], "need --graph")


def test_graph_needs_onnx(llamac, model_factory):
    model = model_factory("m", ["--layers", "1"])
    expect_error([llamac, "compile", model.directory, "--graph", "-o", model.exe + "2"],
                 "--graph needs an ONNX model")


def test_attention_against_onnxruntime(llamac, tmp_path):
    """Opset 23's Attention on the generic path: 3-D inputs, grouped-query
    heads (4 query heads on 2 key/value heads), a past cache, a boolean
    mask and is_causal (aligned to the last key: query i sees keys up to
    past + i), against onnxruntime."""
    ort = pytest.importorskip("onnxruntime")
    batch, seq, past = 2, 3, 5
    node = helper.make_node("Attention", ["q", "k", "v", "mask", "pk", "pv"],
                            ["y", "pko", "pvo"], q_num_heads=4, kv_num_heads=2,
                            is_causal=1)
    f = TensorProto.FLOAT
    path = save(tmp_path, [node],
                [helper.make_tensor_value_info("q", f, [batch, seq, 32]),
                 helper.make_tensor_value_info("k", f, [batch, seq, 16]),
                 helper.make_tensor_value_info("v", f, [batch, seq, 16]),
                 helper.make_tensor_value_info("mask", TensorProto.BOOL, [seq, past + seq]),
                 helper.make_tensor_value_info("pk", f, [batch, 2, past, 8]),
                 helper.make_tensor_value_info("pv", f, [batch, 2, past, 8])],
                [helper.make_tensor_value_info("y", f, [batch, seq, 32]),
                 helper.make_tensor_value_info("pko", f, [batch, 2, past + seq, 8]),
                 helper.make_tensor_value_info("pvo", f, [batch, 2, past + seq, 8])],
                opset=23)
    rng = np.random.default_rng(2)
    feeds = {"q": rng.standard_normal((batch, seq, 32)).astype(np.float32),
             "k": rng.standard_normal((batch, seq, 16)).astype(np.float32),
             "v": rng.standard_normal((batch, seq, 16)).astype(np.float32),
             "mask": rng.random((seq, past + seq)) > 0.2,
             "pk": rng.standard_normal((batch, 2, past, 8)).astype(np.float32),
             "pv": rng.standard_normal((batch, 2, past, 8)).astype(np.float32)}
    outputs = run_graph(llamac, tmp_path, path, feeds)
    expected = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(
        None, feeds)
    for got, want in zip(outputs, expected):
        assert got.shape == want.shape
        assert np.abs(got - want).max() <= TOLERANCE * max(1.0, np.abs(want).max())


TORCH_LLAMA = os.path.join(ROOT, "test", "onnx", "torch_llama", "model.onnx")


@pytest.mark.parametrize("length", [1, 7, 20])
def test_torch_exported_llama(llamac, tmp_path, length):
    """A Llama exported by torch.onnx's dynamo exporter (plain operators:
    attention as MatMul/Softmax with transformers' mask construction;
    test/onnx/make_torch_fixture.py), compiled with --graph at a fixed
    sequence length, against onnxruntime on the same file."""
    ort = pytest.importorskip("onnxruntime")
    ids = np.random.default_rng(length).integers(0, 1600, (1, length)).astype(np.int64)
    (logits,) = run_graph(llamac, tmp_path, TORCH_LLAMA, {"input_ids": ids},
                          extra=["--input-shape", f"input_ids=1x{length}"])
    (expected,) = ort.InferenceSession(TORCH_LLAMA, providers=["CPUExecutionProvider"]).run(
        None, {"input_ids": ids})
    assert logits.shape == expected.shape == (1, length, 1600)
    assert np.abs(logits - expected).max() <= TOLERANCE * np.abs(expected).max()


def test_input_shape_errors(llamac, tmp_path):
    exe = str(tmp_path / "g")
    expect_error([llamac, "compile", TORCH_LLAMA, "--graph", "-o", exe],
                 "no static shape")
    expect_error([llamac, "compile", TORCH_LLAMA, "--graph", "-o", exe, "--input-shape",
                  "input_ids=2x7"], "does not fit its declared type")
    expect_error([llamac, "compile", TORCH_LLAMA, "--graph", "-o", exe, "--input-shape",
                  "ids=1x7"], "'ids', which is not an input of the graph")
    expect_error([llamac, "compile", TORCH_LLAMA, "--graph", "-o", exe, "--input-shape",
                  "input_ids=1x0"], "is not NAME=D0xD1... with positive sizes")
