#!/usr/bin/env python3
"""One onnxruntime measurement, in its own process (bench/run.py calls it):

  peer_onnxruntime.py MODEL.onnx THREADS PROMPT_TOKENS DECODE_TOKENS

The model is a decoder in onnxruntime-genai's builder style (input_ids,
attention_mask, past_key_values.* -> logits, present.*), as
test/models/make_onnx.py writes it. Runs the prompt in one call, then
DECODE_TOKENS single-token steps (greedy) feeding the present keys/values
back, with intra-op threads = THREADS, and prints JSON like
peer_llamacpp.py. The timing is around session.run (the Python overhead is
microseconds against milliseconds of work).
"""

import time

import numpy as np
import onnxruntime as ort



from peer_common import arguments, report  # noqa: E402


def main():
    path, threads, prompt_tokens, decode_tokens = arguments()
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    inputs = {i.name: i for i in session.get_inputs()}
    names = [o.name for o in session.get_outputs()]
    vocab = session.get_outputs()[0].shape[-1]
    past = {n: np.zeros([1, inputs[n].shape[1], 0, inputs[n].shape[3]], np.float32)
            for n in inputs if n.startswith("past_key_values")}
    prompt = [(7 * i + 11) % (vocab - 100) + 50 for i in range(prompt_tokens)]
    ids = np.array([prompt], np.int64)
    total = prompt_tokens
    prefill = decode = 0.0
    for step in range(decode_tokens + 1):
        feed = {"input_ids": ids, "attention_mask": np.ones((1, total), np.int64), **past}
        start = time.perf_counter()
        out = session.run(None, feed)
        elapsed = time.perf_counter() - start
        if step == 0:
            prefill = elapsed
        else:
            decode += elapsed
        values = dict(zip(names, out))
        past = {n: values[n.replace("past_key_values", "present")] for n in past}
        ids = np.array([[int(np.argmax(values["logits"][0, -1]))]], np.int64)
        total += 1
    report(prompt_tokens, prefill, decode_tokens, decode)


if __name__ == "__main__":
    main()
