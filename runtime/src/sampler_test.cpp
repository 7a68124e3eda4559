//===- sampler_test.cpp - Unit tests of the sampler -----------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file checks llamac_sampler against hand-computed distributions: the
// softmax of chosen logits, the same restricted to top-k and to the nucleus,
// compared with frequencies over many draws (tolerance 5 standard errors).
//
//===----------------------------------------------------------------------===//

#include "llamac/llamac.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace {

struct SamplerDeleter {
  void operator()(llamac_sampler *s) const { llamac_sampler_destroy(s); }
};
using Sampler = std::unique_ptr<llamac_sampler, SamplerDeleter>;

Sampler make(float temperature, int32_t top_k, float top_p, uint64_t seed,
             int32_t vocab) {
  llamac_sampler_options options;
  llamac_sampler_options_init(&options);
  options.temperature = temperature;
  options.top_k = top_k;
  options.top_p = top_p;
  options.seed = seed;
  return Sampler(llamac_sampler_create(&options, vocab));
}

std::vector<double> frequencies(llamac_sampler *sampler,
                                const std::vector<float> &logits, int draws) {
  std::vector<double> counts(logits.size(), 0.0);
  for (int i = 0; i < draws; ++i)
    counts[llamac_sampler_sample(sampler, logits.data())] += 1.0 / draws;
  return counts;
}

void expectDistribution(const std::vector<double> &observed,
                        const std::vector<double> &expected, int draws) {
  for (size_t i = 0; i < expected.size(); ++i) {
    double sigma = std::sqrt(expected[i] * (1 - expected[i]) / draws);
    EXPECT_NEAR(observed[i], expected[i], 5 * sigma + 1e-12) << "token " << i;
  }
}

TEST(Sampler, GreedyTakesTheLowestIdAmongMaxima) {
  Sampler s = make(0.0f, 0, 1.0f, 1, 5);
  std::vector<float> logits = {0.5f, 2.0f, -1.0f, 2.0f, 1.9f};
  EXPECT_EQ(llamac_sampler_sample(s.get(), logits.data()), 1);
}

TEST(Sampler, TemperatureOneFollowsTheSoftmax) {
  // Logits 0, ln 2, ln 4: probabilities 1/7, 2/7, 4/7.
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(4.0f)};
  Sampler s = make(1.0f, 0, 1.0f, 7, 3);
  const int draws = 70000;
  expectDistribution(frequencies(s.get(), logits, draws),
                     {1 / 7.0, 2 / 7.0, 4 / 7.0}, draws);
}

TEST(Sampler, TemperatureSharpens) {
  // At temperature 0.5 the logits double: probabilities 1/21, 4/21, 16/21.
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(4.0f)};
  Sampler s = make(0.5f, 0, 1.0f, 11, 3);
  const int draws = 70000;
  expectDistribution(frequencies(s.get(), logits, draws),
                     {1 / 21.0, 4 / 21.0, 16 / 21.0}, draws);
}

TEST(Sampler, TopKKeepsTheKBest) {
  // Top-2 of (1, 2, 4)/7 renormalised: 1/3, 2/3 on tokens 1 and 2.
  std::vector<float> logits = {0.0f, std::log(2.0f), std::log(4.0f)};
  Sampler s = make(1.0f, 2, 1.0f, 3, 3);
  const int draws = 60000;
  expectDistribution(frequencies(s.get(), logits, draws),
                     {0.0, 1 / 3.0, 2 / 3.0}, draws);
}

TEST(Sampler, TopPKeepsTheSmallestNucleus) {
  // Probabilities 0.5, 0.3, 0.2: top-p 0.6 keeps {0, 1} -> 0.625, 0.375.
  std::vector<float> logits = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
  Sampler s = make(1.0f, 0, 0.6f, 5, 3);
  const int draws = 60000;
  expectDistribution(frequencies(s.get(), logits, draws), {0.625, 0.375, 0.0},
                     draws);
}

TEST(Sampler, SeedsAreReproducible) {
  std::vector<float> logits(100);
  for (int i = 0; i < 100; ++i)
    logits[i] = std::sin(static_cast<float>(i));
  Sampler a = make(1.0f, 0, 1.0f, 42, 100), b = make(1.0f, 0, 1.0f, 42, 100),
          c = make(1.0f, 0, 1.0f, 43, 100);
  int differences = 0;
  for (int i = 0; i < 200; ++i) {
    int32_t x = llamac_sampler_sample(a.get(), logits.data());
    EXPECT_EQ(x, llamac_sampler_sample(b.get(), logits.data()));
    differences += x != llamac_sampler_sample(c.get(), logits.data());
  }
  EXPECT_GT(differences, 50);
}

TEST(Sampler, RejectsInvalidOptions) {
  EXPECT_FALSE(make(-1.0f, 0, 1.0f, 1, 10));
  EXPECT_FALSE(make(1.0f, -1, 1.0f, 1, 10));
  EXPECT_FALSE(make(1.0f, 0, 0.0f, 1, 10));
  EXPECT_FALSE(make(1.0f, 0, 1.5f, 1, 10));
  EXPECT_FALSE(make(1.0f, 0, 1.0f, 1, 0));
  EXPECT_FALSE(make(NAN, 0, 1.0f, 1, 10));
}

} // namespace
