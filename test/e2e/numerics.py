"""Running a compiled model and comparing its logits with the numpy
reference, shared by the end-to-end tests."""

import numpy as np
import pytest

from conftest import run

TOLERANCE = 1e-4  # relative to max |logit|


def generate(exe, prompt, steps):
    result = run([exe, "--tokens", ",".join(map(str, prompt)), "-n", str(steps),
                  "--print-ids", "--ignore-eos", "--threads", "2",
                  "--dump-logits", exe + ".logits"])
    ids = [int(x) for x in result.stdout.split("ids:")[-1].split()]
    return ids, np.fromfile(exe + ".logits", dtype=np.float32).reshape(steps, -1)


# int8 activations round each scaled value to an integer, a step function:
# where the reference's value lies within TIE_MARGIN steps of a rounding
# boundary, llamac's float32 value (1e-5 steps away at most) may round the
# other way. Steps whose forward pass has no such value must match to
# TOLERANCE; later steps to the int8 error itself (int8 vs float64 logits).
TIE_MARGIN = 1e-4
TIGHT_STEPS = 4


def check_int8(model, exact, exe, steps):
    rng = np.random.default_rng(0)
    vocab = model.w["model.embed_tokens.weight"].shape[0]
    for _ in range(20):
        # A prompt whose first TIGHT_STEPS steps are clear of rounding ties.
        prompt = [1] + [int(t) for t in rng.integers(3, vocab, 4)]
        expected_ids, expected_logits = model.greedy(prompt, steps)
        tight = sum(1 for m in model.margins if m >= TIE_MARGIN)
        if tight >= TIGHT_STEPS:
            break
    else:
        pytest.fail("no prompt clear of rounding ties")
    ids, logits = generate(exe, prompt, steps)
    scale = np.abs(expected_logits).max()
    exact_logits = np.array([exact.forward(prompt + expected_ids[:i])[-1] for i in range(steps)])
    loose = np.abs(exact_logits - expected_logits).max()
    for step in range(steps):
        error = np.abs(logits[step] - expected_logits[step]).max()
        if model.margins[step] >= TIE_MARGIN:
            assert error <= TOLERANCE * scale, (step, error, scale)
        else:
            assert error <= loose, (step, error, loose)
        if ids[step] != expected_ids[step]:
            # Only a near-tie of the reference's own logits may differ.
            row = expected_logits[step]
            assert model.margins[step] < TIE_MARGIN
            assert row[expected_ids[step]] - row[ids[step]] <= loose
            break
