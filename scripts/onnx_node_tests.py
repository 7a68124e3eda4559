#!/usr/bin/env python3
"""The ONNX backend node tests through `llamac compile --graph`.

The onnx package defines one test case per operator behaviour
(onnx/backend/test/case/node: a one-node model, inputs, and the outputs its
numpy reference computes). This script writes them as the ONNX repository
lays them out (model.onnx, test_data_set_N/input_I.pb, output_I.pb), then
for every case whose operators llamac's ONNX dialect has: compiles the model
with `llamac compile model.onnx --graph`, runs the executable on the stored
inputs, and compares its outputs with the stored ones (same dtype and shape,
values within rtol 1e-3 and atol 1e-5, the backend tests' own default
tolerance, NaNs where the reference has NaNs).

Inputs that decide shapes (Reshape's shape, Unsqueeze's axes as an input,
Slice's starts, ...) must be known when compiling: when llamac says so, the
case is compiled again with those integer inputs bound by --input-value (the
case's own values), and its note says "shape inputs bound".

    scripts/onnx_node_tests.py --llamac build/bin/llamac --json results.json
    scripts/onnx_node_tests.py ... --doc docs/onnx-ops.md   # regenerate the table

Every outcome is one of: pass, mismatch (wrong values: a bug), crash (a
signal or an exit without an error message: a bug), rejected (a clear
compile error: an operator form llamac does not lower), not supported (an
operator the dialect does not have; not run).
"""

import argparse
import collections
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TABLE = os.path.join(ROOT, "dialects", "ONNX", "ONNXOpTable.inc")
RTOL, ATOL = 1e-3, 1e-5


def dialect_ops():
    """The ai.onnx operators of llamac's onnx dialect."""
    ops = set()
    for line in open(TABLE):
        m = re.match(r'ONNX_OP\("([^"]*)", "([^"]+)"', line)
        if m and m.group(1) == "":
            ops.add(m.group(2))
    return ops


def write_cases(directory):
    """Writes the onnx package's node test cases under `directory`."""
    import onnx.backend.test.case.node as node_cases

    names = []
    for case in node_cases.collect_testcases():
        if case.kind != "node" or not case.model:
            continue
        out = os.path.join(directory, case.name)
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            data = os.path.join(out, f"test_data_set_{i}")
            os.makedirs(data, exist_ok=True)
            for kind, values, infos in (("input", inputs, case.model.graph.input),
                                        ("output", outputs, case.model.graph.output)):
                for j, value in enumerate(values):
                    if not infos[j].type.HasField("tensor_type"):
                        break  # sequences, maps, optionals: not tensors
                    tensor = value if isinstance(value, onnx.TensorProto) else \
                        numpy_helper.from_array(np.asarray(value), infos[j].name)
                    with open(os.path.join(data, f"{kind}_{j}.pb"), "wb") as f:
                        f.write(tensor.SerializeToString())
        names.append(case.name)
    return sorted(names)


def run_case(llamac, case_dir, work):
    """Compiles and runs one case; returns (outcome, note)."""
    model = onnx.load(os.path.join(case_dir, "model.onnx"))
    exe = os.path.join(work, "graph")
    data = os.path.join(case_dir, "test_data_set_0")
    inputs = [i for i in model.graph.input
              if i.name not in {t.name for t in model.graph.initializer}]
    input_files = [os.path.join(data, f"input_{j}.pb") for j in range(len(inputs))]
    if not all(os.path.exists(f) for f in input_files):
        return "rejected", "inputs that are not tensors"

    def compile_with(bound):
        cmd = [llamac, "compile", os.path.join(case_dir, "model.onnx"), "--graph",
               "-o", exe, "--quiet"]
        for j in bound:
            cmd += ["--input-value", f"{inputs[j].name}={input_files[j]}"]
        return subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=300)

    bound = []
    result = compile_with(bound)
    # llamac names the inputs it needs when compiling: bind them and retry.
    for _ in range(len(inputs)):
        names = set(re.findall(r"--input-value (\S+)=FILE", result.stderr))
        more = [j for j, i in enumerate(inputs) if i.name in names and j not in bound]
        if result.returncode == 0 or not more:
            break
        bound += more
        result = compile_with(bound)
    note = "shape inputs bound" if bound else ""
    if result.returncode < 0 or (result.returncode != 0 and "error" not in result.stderr):
        return "crash", f"llamac exited with {result.returncode}: {result.stderr[-300:]}"
    if result.returncode != 0:
        lines = [l for l in result.stderr.splitlines() if "error" in l]
        message = lines[0] if lines else result.stderr.strip()
        message = re.sub(r"^.*?error: ", "", message)
        message = message.replace(case_dir + "/", "").replace(os.path.join(case_dir, ""), "")
        return "rejected", message[:200]
    free = [f for j, f in enumerate(input_files) if j not in bound]
    out_dir = os.path.join(work, "out")
    os.makedirs(out_dir, exist_ok=True)
    run = subprocess.run([exe] + free + ["-o", out_dir], capture_output=True, text=True,
                         errors="replace", timeout=300)
    if run.returncode != 0:
        return "crash", f"the executable exited with {run.returncode}: {run.stderr[-300:]}"
    for j, output in enumerate(model.graph.output):
        expected = numpy_helper.to_array(onnx.load_tensor(
            os.path.join(data, f"output_{j}.pb")))
        got = numpy_helper.to_array(onnx.load_tensor(os.path.join(out_dir, f"output_{j}.pb")))
        if got.dtype != expected.dtype or got.shape != expected.shape:
            return "mismatch", (f"output {j}: {got.dtype}{list(got.shape)}, expected "
                                f"{expected.dtype}{list(expected.shape)}")
        if expected.dtype.kind in "fc" or expected.dtype.name == "bfloat16":
            close = np.isclose(got.astype(np.float64), expected.astype(np.float64),
                               rtol=RTOL, atol=ATOL, equal_nan=True)
        else:
            close = got == expected
        if not np.all(close):
            worst = np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))
            return "mismatch", f"output {j}: max |error| {worst:.3g}"
    return "pass", note


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--llamac", default=os.path.join(ROOT, "build", "bin", "llamac"))
    parser.add_argument("--cases", help="where to write the cases (default: a temporary "
                        "directory)")
    parser.add_argument("--json", help="write every case's outcome here")
    parser.add_argument("--doc", help="write the operator table (docs/onnx-ops.md) here")
    parser.add_argument("--only", help="a regular expression on case names")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="cases compiled at once")
    args = parser.parse_args()

    supported = dialect_ops()
    with tempfile.TemporaryDirectory() as tmp:
        cases_dir = args.cases or os.path.join(tmp, "node")
        names = write_cases(cases_dir)
        results = {}
        runnable = []
        for name in names:
            if args.only and not re.search(args.only, name):
                continue
            case_dir = os.path.join(cases_dir, name)
            model = onnx.load(os.path.join(case_dir, "model.onnx"))
            ops = sorted({(n.domain or "ai.onnx", n.op_type) for n in model.graph.node})
            op_names = [op for _, op in ops]
            if any(d not in ("ai.onnx", "") or op not in supported for d, op in ops):
                results[name] = {"ops": op_names, "outcome": "not supported", "note": ""}
                continue
            runnable.append((name, case_dir, op_names))

        def one(item):
            name, case_dir, op_names = item
            with tempfile.TemporaryDirectory(dir=tmp) as work:
                try:
                    outcome, note = run_case(args.llamac, case_dir, work)
                except subprocess.TimeoutExpired:
                    outcome, note = "crash", "timed out"
            print(f"{outcome:10} {name} {note}", flush=True)
            return name, {"ops": op_names, "outcome": outcome, "note": note}

        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for name, result in pool.map(one, runnable):
                results[name] = result

    counts = collections.Counter(r["outcome"] for r in results.values())
    print(", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1, sort_keys=True)
    if args.doc:
        write_doc(args.doc, results, supported)
    return 0


def write_doc(path, results, supported):
    per_op = collections.defaultdict(lambda: collections.Counter())
    notes = collections.defaultdict(collections.Counter)
    for name, r in results.items():
        if r["outcome"] == "not supported" or len(r["ops"]) != 1:
            continue
        op = r["ops"][0]
        per_op[op][r["outcome"]] += 1
        if r["outcome"] != "pass" and r["note"]:
            notes[op][re.sub(r"node '[^']*' ", "", r["note"])] += 1
    multi = {n: r for n, r in results.items()
             if r["outcome"] != "not supported" and len(r["ops"]) != 1}
    total = collections.Counter(r["outcome"] for r in results.values()
                                if r["outcome"] != "not supported")
    lines = [
        "# ONNX operators: backend node tests",
        "",
        "GENERATED by `scripts/onnx_node_tests.py --doc docs/onnx-ops.md` from a run of",
        "the onnx package's node test cases (onnx "
        f"{onnx.__version__}) through `llamac compile --graph`; do not edit.",
        "",
        "A case passes when the compiled executable's outputs equal the stored ones",
        f"(floats within rtol {RTOL:g}, atol {ATOL:g}). *rejected*: llamac refused the",
        "model with an error naming what it does not lower (the note gives the most",
        "common one). *mismatch* and *crash* would be bugs. Operators of the `onnx`",
        "dialect that are only raised into the `llama` dialect (RotaryEmbedding and",
        "the com.microsoft ones) are rejected by the generic lowering; so are",
        "operators of models older than opset 13 whose definition changed since,",
        "the 2-, 4- and 8-bit float and integer types, strings, tensors with a",
        "zero-size dimension at the graph's edge, and Attention's opset-24",
        "`nonpad_kv_seqlen` input and opset-25 window attributes.",
        "",
        f"Cases run: {sum(total.values())}; " +
        ", ".join(f"{k}: {v}" for k, v in sorted(total.items())) + ".",
        "",
        "| operator | cases | pass | rejected | mismatch | crash | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in sorted(set(per_op) | supported):
        c = per_op.get(op, collections.Counter())
        n = sum(c.values())
        note = notes[op].most_common(1)[0][0] if notes[op] else ""
        if n == 0:
            note = "no single-operator case"
        lines.append(f"| {op} | {n} | {c['pass']} | {c['rejected']} | {c['mismatch']} | "
                     f"{c['crash']} | {note.replace('|', '/')} |")
    if multi:
        lines += ["", "Cases with several operators (expanded functions):", ""]
        lines += [f"- `{n}` ({', '.join(r['ops'])}): {r['outcome']}" for n, r in sorted(multi.items())]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
