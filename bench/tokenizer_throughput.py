#!/usr/bin/env python3
"""Encode throughput of llamac's tokenizer beside the `tokenizers` package.

  .venv/bin/python bench/tokenizer_throughput.py [--repeat 20]

Both encode every line of test/tokenizer/corpus.txt, one line at a time, on
one thread (llamac: `llamac tokenize --benchmark`, timed inside the process;
tokenizers: `Tokenizer.encode` per line from Python, which includes the
Python call overhead, so `encode_batch` on one thread is shown too). Prints a
Markdown table of MB/s.
"""

import argparse
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "test", "tokenizer"))

os.environ.setdefault("RAYON_NUM_THREADS", "1")
from tokenizers import Tokenizer  # noqa: E402

import references  # noqa: E402

CORPUS = os.path.join(ROOT, "test", "tokenizer", "corpus.txt")


def llamac_rate(llamac, args, repeat):
    out = subprocess.run([llamac, "tokenize"] + args + ["--file", CORPUS, "--benchmark",
                                                       str(repeat)],
                         capture_output=True, text=True, check=True).stdout
    return float(re.search(r"([\d.]+) MB/s", out).group(1))


def hf_rates(tokenizer, lines, repeat):
    size = sum(len(line.encode()) for line in lines) * repeat
    start = time.perf_counter()
    for _ in range(repeat):
        for line in lines:
            tokenizer.encode(line)
    single = size / (time.perf_counter() - start) / 1e6
    start = time.perf_counter()
    for _ in range(repeat):
        tokenizer.encode_batch(lines)
    batch = size / (time.perf_counter() - start) / 1e6
    return single, batch


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--llamac", default=os.path.join(ROOT, "build", "bin", "llamac"))
    a = p.parse_args()
    with open(CORPUS, encoding="utf-8") as f:
        lines = f.read().split("\n")
    cases = [("SmolLM2 (GGUF, byte-level BPE)", [references.SMOLLM2], references.smollm2())]
    for name in ("llama3", "spm_bpe"):
        path = os.path.join(ROOT, "test", "tokenizer", name, "tokenizer.json")
        cases.append((f"{name} (tokenizer.json)", ["--tokenizer", path], Tokenizer.from_file(path)))
    print(f"corpus: {sum(len(l.encode()) for l in lines)} bytes, {len(lines)} lines, "
          f"x{a.repeat}, one thread\n")
    print("| tokenizer | llamac MB/s | tokenizers encode MB/s | tokenizers encode_batch MB/s | llamac / encode |")
    print("|---|---|---|---|---|")
    for name, args, reference in cases:
        ours = llamac_rate(a.llamac, args, a.repeat)
        single, batch = hf_rates(reference, lines, a.repeat)
        print(f"| {name} | {ours:.2f} | {single:.2f} | {batch:.2f} | {ours / single:.2f} |")


if __name__ == "__main__":
    main()
