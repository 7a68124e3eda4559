//===- sampler.cpp - Choosing the next token ------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements llamac_sampler: greedy decoding, and sampling from the
// softmax of logits / temperature restricted to the top-k tokens and to the
// smallest set whose probability reaches top-p. The random stream is a
// xorshift64* generator seeded by the caller, so runs are reproducible.
//
//===----------------------------------------------------------------------===//

#include "sampler.h"
#include "llamac/llamac.h"

#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

struct llamac_sampler {
  llamac_sampler_options options;
  int32_t vocab_size;
  uint64_t rng_state;
  std::vector<int32_t> order;     // candidate ids, best first
  std::vector<float> probability; // of order[i]
};

namespace {

uint64_t next_random(uint64_t *state) {
  // xorshift64* (Vigna, 2016).
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

/// A uniform float in [0, 1) from the top 24 bits.
float next_uniform(uint64_t *state) {
  return static_cast<float>(next_random(state) >> 40) / 16777216.0f;
}

} // namespace

/// The index of the largest logit, the lowest on ties (NaNs never win).
/// Eight running maxima keep the compares independent; a second pass finds
/// the first index holding the maximum.
int32_t llamac::runtime::argmax(const float *logits, int32_t n) {
  float lanes[8];
  for (float &lane : lanes)
    lane = logits[0];
  int32_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; ++j)
      lanes[j] = logits[i + j] > lanes[j] ? logits[i + j] : lanes[j];
  float best = lanes[0];
  for (float lane : lanes)
    best = lane > best ? lane : best;
  for (; i < n; ++i)
    best = logits[i] > best ? logits[i] : best;
  for (i = 0; i < n; ++i)
    if (logits[i] == best)
      return i;
  return 0; // every logit is NaN
}

extern "C" {

void llamac_sampler_options_init(llamac_sampler_options *out_options) {
  out_options->temperature = 0.0f;
  out_options->top_k = 0;
  out_options->top_p = 1.0f;
  out_options->seed = 0x9E3779B97F4A7C15ULL;
}

llamac_sampler *llamac_sampler_create(const llamac_sampler_options *options,
                                      int32_t vocab_size) {
  if (!options || vocab_size < 1 || !(options->temperature >= 0.0f) ||
      options->top_k < 0 || !(options->top_p > 0.0f && options->top_p <= 1.0f))
    return nullptr;
  auto *sampler = new (std::nothrow) llamac_sampler();
  if (!sampler)
    return nullptr;
  sampler->options = *options;
  sampler->vocab_size = vocab_size;
  // xorshift needs a non-zero state; mix the seed so nearby seeds differ.
  uint64_t state =
      options->seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
  sampler->rng_state = state ? state : 1;
  return sampler;
}

int32_t llamac_sampler_sample(llamac_sampler *sampler, const float *logits) {
  const llamac_sampler_options &opt = sampler->options;
  int32_t n = sampler->vocab_size;
  if (opt.temperature == 0.0f)
    return llamac::runtime::argmax(logits, n);

  // Unnormalised softmax of logits / temperature over the whole vocabulary.
  std::vector<float> &probability = sampler->probability;
  probability.resize(n);
  float max_logit = logits[llamac::runtime::argmax(logits, n)];
  double total = 0.0;
  for (int32_t i = 0; i < n; ++i) {
    probability[i] = std::exp((logits[i] - max_logit) / opt.temperature);
    total += probability[i];
  }

  // Candidates, best first (ties: lower id first). Without a cut no order is
  // needed; top-k selects before sorting; top-p alone can drop every token
  // below (1 - top_p) / (n - 1) of the mass, which cannot be in the nucleus.
  std::vector<int32_t> &order = sampler->order;
  order.clear();
  bool cut_k = opt.top_k > 0 && opt.top_k < n;
  bool cut_p = opt.top_p < 1.0f;
  if (!cut_k && !cut_p) {
    double target = next_uniform(&sampler->rng_state) * total, running = 0.0;
    for (int32_t i = 0; i < n; ++i) {
      running += probability[i];
      if (target < running)
        return i;
    }
    return n - 1;
  }
  double floor = cut_k ? 0.0 : (1.0 - opt.top_p) / (n - 1) * total;
  for (int32_t i = 0; i < n; ++i)
    if (probability[i] >= floor)
      order.push_back(i);
  auto better = [&](int32_t a, int32_t b) {
    return probability[a] > probability[b] ||
           (probability[a] == probability[b] && a < b);
  };
  size_t keep =
      cut_k ? std::min<size_t>(opt.top_k, order.size()) : order.size();
  std::partial_sort(order.begin(), order.begin() + keep, order.end(), better);
  order.resize(keep);

  // Nucleus: the smallest prefix whose share of the candidates' mass (or of
  // the whole mass without top-k) reaches top_p.
  double mass = 0.0;
  for (int32_t id : order)
    mass += probability[id];
  double reference = cut_k ? mass : total;
  size_t nucleus = order.size();
  double cumulative = 0.0;
  for (size_t i = 0; i < order.size(); ++i) {
    cumulative += probability[order[i]];
    if (cumulative >= opt.top_p * reference) {
      nucleus = i + 1;
      break;
    }
  }
  double nucleus_mass = 0.0;
  for (size_t i = 0; i < nucleus; ++i)
    nucleus_mass += probability[order[i]];

  double target = next_uniform(&sampler->rng_state) * nucleus_mass;
  double running = 0.0;
  for (size_t i = 0; i < nucleus; ++i) {
    running += probability[order[i]];
    if (target < running)
      return order[i];
  }
  return order[nucleus - 1];
}

void llamac_sampler_destroy(llamac_sampler *sampler) { delete sampler; }

} // extern "C"
