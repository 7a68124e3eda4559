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
#include "options.h"
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

using llamac::runtime::Options;
using llamac::runtime::parse_args;

int score_tokens(llamac_model *model, const std::vector<int32_t> &tokens,
                 const Options &opt, FILE *dump);

/// Runs `score` with the --dump-logits file open (or NULL without one);
/// returns its status, or 1 when the file cannot be written.
template <typename Score> int with_dump(const Options &opt, Score score) {
  FILE *dump = nullptr;
  if (!opt.dump_logits.empty() &&
      !(dump = fopen(opt.dump_logits.c_str(), "wb"))) {
    fprintf(stderr, "error: cannot write '%s': %s\n", opt.dump_logits.c_str(),
            strerror(errno));
    return 1;
  }
  int status = score(dump);
  if (dump && fclose(dump) != 0 && status == 0) {
    fprintf(stderr, "error: writing '%s' failed\n", opt.dump_logits.c_str());
    status = 1;
  }
  return status;
}

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
    return with_dump(opt, [&](FILE *dump) {
      return score_text(model.get(), tokenizer, opt, dump);
    });
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
    return with_dump(opt, [&](FILE *dump) {
      return score_tokens(model.get(), prompt, opt, dump);
    });
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
  // Greedy decoding asks the model for its token: on a GPU it is chosen on
  // the device, and the logits are copied back only for --dump-logits.
  bool greedy = opt.temperature == 0;
  int32_t greedy_token = 0;
  float *wanted_logits = !greedy || dump ? logits.data() : nullptr;
  auto forward = [&](const int32_t *tokens, int32_t n, int32_t at) {
    return greedy ? llamac_forward_greedy(model.get(), tokens, n, at,
                                          wanted_logits, &greedy_token)
                  : llamac_forward(model.get(), tokens, n, at, logits.data());
  };
  if (opt.n_predict > 0) {
    auto start = std::chrono::steady_clock::now();
    if (forward(prompt.data(), static_cast<int32_t>(prompt.size()), 0) !=
        LLAMAC_OK) {
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
      int32_t next = greedy
                         ? greedy_token
                         : llamac_sampler_sample(sampler.get(), logits.data());
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
      if (forward(&next, 1, pos) != LLAMAC_OK) {
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
