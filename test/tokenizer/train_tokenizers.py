#!/usr/bin/env python3
"""Trains the test tokenizers with the `tokenizers` package (run once; the
outputs are committed next to this script):

  spm_bpe/tokenizer.json      SentencePiece-style BPE with byte fallback:
                              Metaspace pre-tokenizer (prepend_scheme first),
                              <0xXX> byte tokens, "<s>" added in front.
  spm_legacy/tokenizer.json   The same vocabulary and merges with the legacy
                              normalizers (Prepend "▁", Replace " " by "▁")
                              and the Replace/ByteFallback/Fuse/Strip decoder,
                              as Llama 2's tokenizer.json has them.
  llama3/tokenizer.json       Llama-3-style byte-level BPE: the Llama 3 split
                              regex, ignore_merges, <|begin_of_text|> in front.

Each directory also gets a tokenizer_config.json with the chat template of
the family (ChatML, Llama 2, Llama 3) for the --chat tests.

  .venv/bin/python test/tokenizer/train_tokenizers.py
"""

import json
import os

from tokenizers import (Regex, Tokenizer, decoders, models, normalizers,
                        pre_tokenizers, processors, trainers)

HERE = os.path.dirname(os.path.abspath(__file__))
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|"
                  r" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")

CHATML = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
          "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|im_start|>assistant\\n' }}{% endif %}")
LLAMA2 = ("{% for message in messages %}{% if message['role'] == 'user' %}{{ bos_token + "
          "'[INST] ' + message['content'].strip() + ' [/INST]' }}{% elif message['role'] == "
          "'assistant' %}{{ ' ' + message['content'].strip() + ' ' + eos_token }}{% endif %}"
          "{% endfor %}")
LLAMA3 = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
          "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ "
          "message['content'] | trim + '<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = "
          "bos_token + content %}{% endif %}{{ content }}{% endfor %}{% if add_generation_prompt %}"
          "{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{% endif %}")


def corpus():
    with open(os.path.join(HERE, "corpus.txt"), encoding="utf-8") as f:
        return f.read().split("\n")


def save(tokenizer, name, chat_template, extra_config=None, edit=None):
    directory = os.path.join(HERE, name)
    os.makedirs(directory, exist_ok=True)
    data = json.loads(tokenizer.to_str())
    if edit:
        edit(data)
    with open(os.path.join(directory, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False, indent=1)
    config = {"chat_template": chat_template}
    config.update(extra_config or {})
    with open(os.path.join(directory, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, ensure_ascii=False, indent=1)


def byte_tokens_in_vocab_only(data):
    # Byte tokens live in the vocabulary, not among the added tokens.
    data["added_tokens"] = [t for t in data["added_tokens"]
                            if not (t["content"].startswith("<0x") and len(t["content"]) == 6)]


def train_sentencepiece_style():
    bytes_ = [f"<0x{b:02X}>" for b in range(256)]
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=True)
    tok.decoder = decoders.Sequence([decoders.ByteFallback(),
                                     decoders.Metaspace(replacement="▁", prepend_scheme="first")])
    trainer = trainers.BpeTrainer(vocab_size=1600, limit_alphabet=120,
                                  special_tokens=["<unk>", "<s>", "</s>"] + bytes_)
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))])
    save(tok, "spm_bpe", LLAMA2, edit=byte_tokens_in_vocab_only)

    def legacy(data):
        byte_tokens_in_vocab_only(data)
        data["normalizer"] = {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}
        data["pre_tokenizer"] = None
        data["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    save(tok, "spm_legacy", LLAMA2, edit=legacy)


def train_llama3_style():
    specials = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
                "<|end_header_id|>", "<|eot_id|>"]
    tok = Tokenizer(models.BPE(ignore_merges=True))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(LLAMA3_PATTERN), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2200, special_tokens=specials,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(corpus(), trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<|begin_of_text|> $A",
        special_tokens=[("<|begin_of_text|>", tok.token_to_id("<|begin_of_text|>"))])
    save(tok, "llama3", LLAMA3)


if __name__ == "__main__":
    train_sentencepiece_style()
    train_llama3_style()
