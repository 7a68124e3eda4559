"""What the peer scripts (peer_llamacpp.py, peer_onnxruntime.py) share."""

import json
import sys


def peak_rss_mb():
    """This process's peak resident set (VmHWM). Not getrusage's ru_maxrss:
    that survives exec, so a child started by a large parent (the bench
    harness after writing a model) would report the parent's peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def arguments():
    """MODEL THREADS PROMPT_TOKENS DECODE_TOKENS from the command line."""
    return sys.argv[1], *map(int, sys.argv[2:5])


def report(prompt_tokens, prefill_s, decode_tokens, decode_s):
    """The one JSON line bench/run.py reads."""
    print(json.dumps({
        "prefill_tok_s": prompt_tokens / prefill_s,
        "decode_tok_s": decode_tokens / decode_s,
        "prefill_tokens": prompt_tokens, "decode_tokens": decode_tokens,
        "peak_rss_mb": peak_rss_mb(),
    }))
