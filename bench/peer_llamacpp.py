#!/usr/bin/env python3
"""One llama.cpp measurement, in its own process (bench/run.py calls it):

  peer_llamacpp.py MODEL.gguf THREADS PROMPT_TOKENS DECODE_TOKENS

Evaluates a prompt of PROMPT_TOKENS ids in one batch, then DECODE_TOKENS
single-token steps (greedy), and prints JSON with the rates (wall time around
llama.cpp's eval calls; the Python overhead is microseconds per call, against
milliseconds of work) and the process's peak RSS. llama.cpp runs with its
defaults otherwise (f16 KV cache), as deployments use it; it is built by
scripts/install-peers.sh without AMX.
"""

import time

import numpy as np
import llama_cpp



from peer_common import arguments, report  # noqa: E402


def main():
    path, threads, prompt_tokens, decode_tokens = arguments()
    llm = llama_cpp.Llama(path, n_ctx=max(512, prompt_tokens + decode_tokens + 8),
                          n_batch=512, n_ubatch=512, n_threads=threads,
                          n_threads_batch=threads, verbose=False)
    vocab = llm.n_vocab()
    prompt = [(7 * i + 11) % (vocab - 100) + 50 for i in range(prompt_tokens)]
    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt)
    prefill = time.perf_counter() - start
    decode = 0.0
    for _ in range(decode_tokens):
        logits = np.asarray(llm.scores[llm.n_tokens - 1])
        token = int(np.argmax(logits))
        start = time.perf_counter()
        llm.eval([token])
        decode += time.perf_counter() - start
    report(prompt_tokens, prefill, decode_tokens, decode)


if __name__ == "__main__":
    main()
