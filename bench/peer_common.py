"""What the peer scripts (peer_llamacpp.py, peer_onnxruntime.py) share."""

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
