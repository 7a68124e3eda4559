//===- options.cpp - The command line of a compiled model -----------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Parses the flags of a compiled model's executable. Every value is checked
// (range, syntax, finiteness) and a bad one is reported with the flag's name;
// the flags are documented in print_usage and docs/executable.md.
//
//===----------------------------------------------------------------------===//

#include "options.h"

#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>

using llamac::runtime::Options;

void llamac::runtime::print_usage(const char *argv0, FILE *out) {
  fprintf(out,
          "usage: %s (--prompt TEXT | --tokens ID,ID,... | --perplexity "
          "FILE) [options]\n"
          "\n"
          "Generates text with the model compiled into this executable.\n"
          "\n"
          "  --prompt TEXT        the prompt, tokenized by the model's "
          "tokenizer\n"
          "  --chat               wrap the prompt in the model's chat "
          "template\n"
          "  --tokenize           print the prompt's token ids and exit\n"
          "  --tokens ID,ID,...   the prompt as token ids (used as given)\n"
          "  -n N                 tokens to generate (default 64)\n"
          "  --temp T             sampling temperature; 0 is greedy "
          "(default 0)\n"
          "  --top-k K            sample among the K most likely tokens (0: "
          "all)\n"
          "  --top-p P            sample within probability mass P (default "
          "1)\n"
          "  --seed S             random seed (default: from the clock)\n"
          "  --threads N          threads (default: all online cores)\n"
          "  --ctx N              context length (default: the compiled "
          "maximum)\n"
          "  --print-ids          print the generated ids: 'ids: 12 54 9'\n"
          "  --dump-logits FILE   write float32 logits, one row of vocab "
          "size per step\n"
          "  --ignore-eos         keep generating after an end-of-sequence "
          "token\n"
          "  --weights FILE       read weights from FILE instead of the "
          "executable\n"
          "  --perplexity FILE    score FILE's text (its first --ctx tokens):"
          "\n"
          "                       print 'perplexity: P over N tokens'; with "
          "--print-ids,\n"
          "                       the most likely next id at each position; "
          "with\n"
          "                       --tokenize, the ids scored\n"
          "  --score              score the prompt (--prompt or --tokens) as "
          "--perplexity\n"
          "                       does a file, instead of generating\n"
          "  -h, --help           show this help\n"
          "\n"
          "The last line on stderr is 'prefill: N tok, X tok/s; decode: M "
          "tok, Y tok/s'.\n",
          argv0);
}

namespace {

bool parse_int(const char *text, long min, long max, long *out) {
  if (!text || !*text)
    return false;
  char *end = nullptr;
  errno = 0;
  long value = strtol(text, &end, 10);
  if (errno != 0 || *end != '\0' || value < min || value > max)
    return false;
  *out = value;
  return true;
}

bool parse_float(const char *text, float *out) {
  if (!text || !*text)
    return false;
  char *end = nullptr;
  errno = 0;
  float value = strtof(text, &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(value))
    return false;
  *out = value;
  return true;
}

bool parse_token_list(const char *text, std::vector<int32_t> *out) {
  std::string list = text;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string item = list.substr(
        start, comma == std::string::npos ? std::string::npos : comma - start);
    long id;
    if (!parse_int(item.c_str(), 0, INT32_MAX, &id))
      return false;
    out->push_back(static_cast<int32_t>(id));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  return !out->empty();
}

} // namespace

/// Parses argv into *out. Returns 0 to go on, 1 after --help, 2 on error.
int llamac::runtime::parse_args(int argc, char **argv, Options *out) {
  auto need = [&](int &i, const char *flag) -> const char * {
    if (i + 1 >= argc) {
      fprintf(stderr, "error: %s needs a value\n", flag);
      return nullptr;
    }
    return argv[++i];
  };
  for (int i = 1; i < argc; ++i) {
    const char *arg = argv[i];
    const char *value = nullptr;
    long number;
    auto bad = [&](const char *what) {
      fprintf(stderr, "error: invalid value '%s' for %s: %s\n",
              value ? value : "", arg, what);
      return 2;
    };
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
      print_usage(argv[0], stdout);
      return 1;
    } else if (!strcmp(arg, "--prompt")) {
      if (!(value = need(i, arg)))
        return 2;
      out->prompt = value;
      out->has_prompt = true;
    } else if (!strcmp(arg, "--tokens")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_token_list(value, &out->tokens))
        return bad("expected comma-separated non-negative token ids");
      out->has_tokens = true;
    } else if (!strcmp(arg, "-n")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_int(value, 0, INT32_MAX, &number))
        return bad("expected a count >= 0");
      out->n_predict = static_cast<int>(number);
    } else if (!strcmp(arg, "--temp")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_float(value, &out->temperature) || out->temperature < 0)
        return bad("expected a temperature >= 0");
    } else if (!strcmp(arg, "--top-k")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_int(value, 0, INT32_MAX, &number))
        return bad("expected a count >= 0");
      out->top_k = static_cast<int>(number);
    } else if (!strcmp(arg, "--top-p")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_float(value, &out->top_p) || !(out->top_p > 0) ||
          out->top_p > 1)
        return bad("expected a probability in (0, 1]");
    } else if (!strcmp(arg, "--seed")) {
      if (!(value = need(i, arg)))
        return 2;
      char *end = nullptr;
      errno = 0;
      unsigned long long seed = strtoull(value, &end, 10);
      if (errno != 0 || *end != '\0' || *value == '-' || !*value)
        return bad("expected a non-negative integer");
      out->seed = seed;
      out->has_seed = true;
    } else if (!strcmp(arg, "--threads")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_int(value, 1, 4096, &number))
        return bad("expected a thread count in [1, 4096]");
      out->threads = static_cast<int>(number);
    } else if (!strcmp(arg, "--ctx")) {
      if (!(value = need(i, arg)))
        return 2;
      if (!parse_int(value, 1, INT32_MAX, &number))
        return bad("expected a context length >= 1");
      out->ctx = static_cast<int>(number);
    } else if (!strcmp(arg, "--chat")) {
      out->chat = true;
    } else if (!strcmp(arg, "--tokenize")) {
      out->tokenize = true;
    } else if (!strcmp(arg, "--print-ids")) {
      out->print_ids = true;
    } else if (!strcmp(arg, "--ignore-eos")) {
      out->ignore_eos = true;
    } else if (!strcmp(arg, "--dump-logits")) {
      if (!(value = need(i, arg)))
        return 2;
      out->dump_logits = value;
    } else if (!strcmp(arg, "--score")) {
      out->score = true;
    } else if (!strcmp(arg, "--perplexity")) {
      if (!(value = need(i, arg)))
        return 2;
      out->perplexity = value;
    } else if (!strcmp(arg, "--weights")) {
      if (!(value = need(i, arg)))
        return 2;
      out->weights = value;
    } else {
      fprintf(stderr, "error: unknown argument '%s' (see --help)\n", arg);
      return 2;
    }
  }
  if (!out->perplexity.empty()) {
    if (out->has_prompt || out->has_tokens) {
      fprintf(stderr, "error: --perplexity scores its file; it takes no "
                      "--prompt or --tokens\n");
      return 2;
    }
    return 0;
  }
  if (out->has_prompt == out->has_tokens) {
    fprintf(stderr, "error: give exactly one of --prompt and --tokens (see "
                    "--help)\n");
    return 2;
  }
  return 0;
}
