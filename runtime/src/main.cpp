//===- main.cpp - The command line of a compiled model --------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file is the `main` of every executable llamac produces: it parses the
// command line, opens the embedded (or external) weights, runs the prompt,
// generates tokens with the sampler and reports prefill and decode rates on
// stderr. Flags are documented in printUsage and in docs/executable.md.
//
//===----------------------------------------------------------------------===//

#include "llamac/llamac.h"
#include "tokenizer.h"

#include <cerrno>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

const llamac::runtime::Tokenizer *
llamac_model_tokenizer(const llamac_model *model);

namespace {

struct Options {
  std::string prompt;
  bool has_prompt = false;
  std::vector<int32_t> tokens;
  bool has_tokens = false;
  int n_predict = 64;
  float temperature = 0.0f;
  int top_k = 0;
  float top_p = 1.0f;
  uint64_t seed = 0;
  bool has_seed = false;
  int threads = 0;
  int ctx = 0;
  bool print_ids = false;
  bool ignore_eos = false;
  bool chat = false;
  bool tokenize = false;
  std::string dump_logits;
  std::string weights;
  std::string perplexity; // a text file to score
  bool score = false;     // score the prompt instead of generating
};

void print_usage(const char *argv0, FILE *out) {
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

/// Parses argv into *out. Returns 0 to go on, 1 after --help, 2 on error.
int parse_args(int argc, char **argv, Options *out) {
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

int score_tokens(llamac_model *model, const std::vector<int32_t> &tokens,
                 const Options &opt, FILE *dump);

/// Scores the text of the --perplexity file (see score_tokens).
int score_text(llamac_model *model, const llamac::runtime::Tokenizer *tokenizer,
               const Options &opt, FILE *dump) {
  if (!tokenizer) {
    fprintf(stderr, "error: --perplexity: this model was compiled without a "
                    "tokenizer\n");
    return 1;
  }
  FILE *file = fopen(opt.perplexity.c_str(), "rb");
  if (!file) {
    fprintf(stderr, "error: cannot read '%s': %s\n", opt.perplexity.c_str(),
            strerror(errno));
    return 1;
  }
  std::string text;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof buffer, file)) > 0;)
    text.append(buffer, n);
  bool failed = ferror(file);
  fclose(file);
  if (failed) {
    fprintf(stderr, "error: reading '%s' failed\n", opt.perplexity.c_str());
    return 1;
  }
  std::vector<int32_t> tokens = tokenizer->encode(text, /*add_special=*/true,
                                                  /*parse_special=*/false);
  int32_t ctx = llamac_context_length(model);
  if (static_cast<int64_t>(tokens.size()) > ctx)
    tokens.resize(static_cast<size_t>(ctx));
  if (opt.tokenize) {
    printf("ids:");
    for (int32_t id : tokens)
      printf(" %d", id);
    printf("\n");
    return 0;
  }
  if (tokens.size() < 2) {
    fprintf(stderr, "error: --perplexity: '%s' has fewer than 2 tokens\n",
            opt.perplexity.c_str());
    return 1;
  }
  return score_tokens(model, tokens, opt, dump);
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// Scores `tokens`: each token after the first predicted from those before
/// it, one forward call per position, so every position's logits exist.
int score_tokens(llamac_model *model, const std::vector<int32_t> &tokens,
                 const Options &opt, FILE *dump) {
  int32_t vocab = llamac_vocab_size(model);
  std::vector<float> logits(static_cast<size_t>(vocab));
  std::vector<int32_t> best;
  double nll = 0;
  for (size_t pos = 0; pos + 1 < tokens.size(); ++pos) {
    if (llamac_forward(model, &tokens[pos], 1, static_cast<int32_t>(pos),
                       logits.data()) != LLAMAC_OK) {
      fprintf(stderr, "error: %s\n", llamac_last_error(model));
      return 1;
    }
    if (dump && fwrite(logits.data(), sizeof(float), logits.size(), dump) !=
                    logits.size()) {
      fprintf(stderr, "error: writing '%s' failed\n", opt.dump_logits.c_str());
      return 1;
    }
    double top = logits[0];
    int32_t argmax = 0;
    for (int32_t i = 1; i < vocab; ++i)
      if (logits[i] > top) {
        top = logits[i];
        argmax = i;
      }
    double sum = 0;
    for (float v : logits)
      sum += std::exp(static_cast<double>(v) - top);
    nll += top + std::log(sum) - logits[tokens[pos + 1]];
    best.push_back(argmax);
  }
  if (opt.print_ids) {
    printf("ids:");
    for (int32_t id : best)
      printf(" %d", id);
    printf("\n");
  }
  printf("perplexity: %.6f over %zu tokens\n",
         std::exp(nll / static_cast<double>(best.size())), best.size());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options opt;
  if (int status = parse_args(argc, argv, &opt))
    return status == 1 ? 0 : 2;

  llamac_options model_options;
  llamac_options_init(&model_options);
  model_options.n_threads = opt.threads;
  model_options.n_ctx = opt.ctx;
  char error[1024];
  std::unique_ptr<llamac_model, void (*)(llamac_model *)> model(
      llamac_open(opt.weights.empty() ? nullptr : opt.weights.c_str(),
                  &model_options, error, sizeof error),
      llamac_close);
  if (!model) {
    fprintf(stderr, "error: %s\n", error);
    return 1;
  }

  const llamac::runtime::Tokenizer *tokenizer =
      llamac_model_tokenizer(model.get());
  if (!opt.perplexity.empty()) {
    FILE *dump = nullptr;
    if (!opt.dump_logits.empty() &&
        !(dump = fopen(opt.dump_logits.c_str(), "wb"))) {
      fprintf(stderr, "error: cannot write '%s': %s\n", opt.dump_logits.c_str(),
              strerror(errno));
      return 1;
    }
    int status = score_text(model.get(), tokenizer, opt, dump);
    if (dump && fclose(dump) != 0 && status == 0) {
      fprintf(stderr, "error: writing '%s' failed\n", opt.dump_logits.c_str());
      status = 1;
    }
    return status;
  }
  std::vector<int32_t> prompt;
  if (opt.has_prompt) {
    if (!tokenizer) {
      fprintf(stderr, "error: this model was compiled without a tokenizer; "
                      "pass the prompt as --tokens ID,ID,...\n");
      return 1;
    }
    std::string text = opt.prompt;
    if (opt.chat) {
      std::string problem;
      text = tokenizer->chat_prompt(opt.prompt, &problem);
      if (!problem.empty()) {
        fprintf(stderr, "error: --chat: %s\n", problem.c_str());
        return 1;
      }
    }
    prompt = tokenizer->encode(text, /*add_special=*/true,
                               /*parse_special=*/true);
  } else {
    if (opt.chat) {
      fprintf(stderr, "error: --chat needs --prompt\n");
      return 2;
    }
    prompt = opt.tokens;
  }
  if (opt.tokenize) {
    printf("ids:");
    for (int32_t id : prompt)
      printf(" %d", id);
    printf("\n");
    return 0;
  }
  if (prompt.empty()) {
    fprintf(stderr, "error: the prompt has no tokens\n");
    return 1;
  }
  if (opt.score) {
    if (prompt.size() < 2 || static_cast<int64_t>(prompt.size()) >
                                 llamac_context_length(model.get())) {
      fprintf(stderr,
              "error: --score needs 2 to %d tokens, the prompt has %zu\n",
              llamac_context_length(model.get()), prompt.size());
      return 1;
    }
    FILE *dump = nullptr;
    if (!opt.dump_logits.empty() &&
        !(dump = fopen(opt.dump_logits.c_str(), "wb"))) {
      fprintf(stderr, "error: cannot write '%s': %s\n", opt.dump_logits.c_str(),
              strerror(errno));
      return 1;
    }
    int status = score_tokens(model.get(), prompt, opt, dump);
    if (dump && fclose(dump) != 0 && status == 0) {
      fprintf(stderr, "error: writing '%s' failed\n", opt.dump_logits.c_str());
      status = 1;
    }
    return status;
  }
  int32_t ctx = llamac_context_length(model.get());
  if (static_cast<int64_t>(prompt.size()) > ctx) {
    fprintf(stderr,
            "error: the prompt has %zu tokens but the context holds %d "
            "(--ctx, or compile with a larger --max-context)\n",
            prompt.size(), ctx);
    return 1;
  }

  llamac_sampler_options sampler_options;
  llamac_sampler_options_init(&sampler_options);
  sampler_options.temperature = opt.temperature;
  sampler_options.top_k = opt.top_k;
  sampler_options.top_p = opt.top_p;
  sampler_options.seed =
      opt.has_seed
          ? opt.seed
          : static_cast<uint64_t>(
                std::chrono::steady_clock::now().time_since_epoch().count());
  int32_t vocab = llamac_vocab_size(model.get());
  std::unique_ptr<llamac_sampler, void (*)(llamac_sampler *)> sampler(
      llamac_sampler_create(&sampler_options, vocab), llamac_sampler_destroy);
  if (!sampler) {
    fprintf(stderr, "error: invalid sampling options\n");
    return 2;
  }

  FILE *dump = nullptr;
  if (!opt.dump_logits.empty()) {
    dump = fopen(opt.dump_logits.c_str(), "wb");
    if (!dump) {
      fprintf(stderr, "error: cannot write '%s': %s\n", opt.dump_logits.c_str(),
              strerror(errno));
      return 1;
    }
  }

  std::vector<float> logits(static_cast<size_t>(vocab));
  std::vector<int32_t> generated;
  std::unique_ptr<llamac::runtime::StreamDecoder> text;
  if (tokenizer)
    text.reset(new llamac::runtime::StreamDecoder(*tokenizer,
                                                  /*skip_control=*/true));
  double prefill_seconds = 0, decode_seconds = 0;
  int decode_tokens = 0;
  int32_t pos = 0;
  int status = 0;
  if (opt.n_predict > 0) {
    auto start = std::chrono::steady_clock::now();
    if (llamac_forward(model.get(), prompt.data(),
                       static_cast<int32_t>(prompt.size()), 0,
                       logits.data()) != LLAMAC_OK) {
      fprintf(stderr, "error: %s\n", llamac_last_error(model.get()));
      return 1;
    }
    prefill_seconds = seconds_since(start);
    pos = static_cast<int32_t>(prompt.size());
    for (int step = 0; step < opt.n_predict; ++step) {
      if (dump && fwrite(logits.data(), sizeof(float), logits.size(), dump) !=
                      logits.size()) {
        fprintf(stderr, "error: writing '%s' failed\n",
                opt.dump_logits.c_str());
        status = 1;
        break;
      }
      int32_t next = llamac_sampler_sample(sampler.get(), logits.data());
      generated.push_back(next);
      if (text) {
        std::string piece = text->push(next);
        fwrite(piece.data(), 1, piece.size(), stdout);
        fflush(stdout);
      }
      if (!opt.ignore_eos && llamac_is_eos_token(model.get(), next))
        break;
      if (step + 1 == opt.n_predict)
        break;
      if (pos >= ctx) {
        fprintf(stderr, "warning: context of %d tokens is full\n", ctx);
        break;
      }
      auto t0 = std::chrono::steady_clock::now();
      if (llamac_forward(model.get(), &next, 1, pos, logits.data()) !=
          LLAMAC_OK) {
        fprintf(stderr, "error: %s\n", llamac_last_error(model.get()));
        status = 1;
        break;
      }
      decode_seconds += seconds_since(t0);
      ++decode_tokens;
      ++pos;
    }
  }
  if (dump && fclose(dump) != 0) {
    fprintf(stderr, "error: writing '%s' failed\n", opt.dump_logits.c_str());
    status = 1;
  }

  if (text) {
    std::string rest = text->flush();
    fwrite(rest.data(), 1, rest.size(), stdout);
    printf("\n");
  }
  // Without a tokenizer the generated text is its ids.
  if (!text || opt.print_ids) {
    printf("ids:");
    for (int32_t id : generated)
      printf(" %d", id);
    printf("\n");
  }
  fflush(stdout);

  fprintf(stderr, "prefill: %zu tok, %.2f tok/s; decode: %d tok, %.2f tok/s\n",
          prompt.size(),
          prefill_seconds > 0 ? prompt.size() / prefill_seconds : 0.0,
          decode_tokens,
          decode_seconds > 0 ? decode_tokens / decode_seconds : 0.0);
  return status;
}
