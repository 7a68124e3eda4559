//===- MemoryPlan_test.cpp - Unit tests of the activation planner ---------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file checks the planner's two promises against hand-worked layouts:
// activations that are alive together never share bytes, and activations
// that are not reuse them.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/MemoryPlan.h"

#include <gtest/gtest.h>

using llamac::cpu::MemoryPlan;

namespace {

bool overlap(const MemoryPlan &plan, int a, int b, int64_t aBytes,
             int64_t bBytes) {
  return plan.offset(a) < plan.offset(b) + bBytes &&
         plan.offset(b) < plan.offset(a) + aBytes;
}

TEST(MemoryPlan, ChainReusesTheBufferTwoStepsBack) {
  // x0 -> x1 -> x2 -> x3, each used only by the next step: two buffers do.
  MemoryPlan plan;
  int x0 = plan.add(true, 256, 0);
  int x1 = plan.add(true, 256, 1);
  int x2 = plan.add(true, 256, 2);
  int x3 = plan.add(true, 256, 3);
  plan.use(x0, 1);
  plan.use(x1, 2);
  plan.use(x2, 3);
  plan.solve();
  EXPECT_EQ(plan.perTokenBytes(), 512);
  EXPECT_EQ(plan.offset(x0), plan.offset(x2));
  EXPECT_EQ(plan.offset(x1), plan.offset(x3));
  EXPECT_NE(plan.offset(x0), plan.offset(x1));
  EXPECT_EQ(plan.fixedBytes(), 0);
}

TEST(MemoryPlan, ResidualStaysAliveAcrossTheBlock) {
  // h is used at the end (residual add); a, b, c come and go in between.
  MemoryPlan plan;
  int h = plan.add(true, 128, 0);
  int a = plan.add(true, 64, 1);
  int b = plan.add(true, 64, 2);
  plan.use(a, 2);
  int c = plan.add(true, 64, 3);
  plan.use(b, 3);
  plan.use(h, 4);
  plan.use(c, 4);
  plan.solve();
  EXPECT_FALSE(overlap(plan, h, a, 128, 64));
  EXPECT_FALSE(overlap(plan, h, b, 128, 64));
  EXPECT_FALSE(overlap(plan, h, c, 128, 64));
  EXPECT_FALSE(overlap(plan, a, b, 64, 64));
  EXPECT_FALSE(overlap(plan, b, c, 64, 64));
  // a is dead when c is defined, so c can take its place: 128 + 64 + 64.
  EXPECT_EQ(plan.offset(c), plan.offset(a));
  EXPECT_EQ(plan.perTokenBytes(), 256);
}

TEST(MemoryPlan, SizesAreAlignedAndPoolsSeparate) {
  MemoryPlan plan;
  int odd = plan.add(true, 301 * 4, 0); // 1204 bytes -> 1216
  int next = plan.add(true, 4, 0);      // alive together
  int fixed = plan.add(false, 10, 0);   // 10 bytes -> 64
  plan.use(odd, 1);
  plan.use(next, 1);
  plan.use(fixed, 1);
  plan.solve();
  EXPECT_EQ(plan.offset(odd) % MemoryPlan::kAlignment, 0);
  EXPECT_EQ(plan.offset(next) % MemoryPlan::kAlignment, 0);
  EXPECT_EQ(plan.perTokenBytes(), 1216 + 64);
  EXPECT_EQ(plan.fixedBytes(), 64);
  EXPECT_TRUE(plan.isPerToken(odd));
  EXPECT_FALSE(plan.isPerToken(fixed));
}

TEST(MemoryPlan, FillsAGapBetweenLiveNeighbours) {
  MemoryPlan plan;
  int a = plan.add(false, 64, 0);
  int b = plan.add(false, 64, 0);
  int c = plan.add(false, 64, 0);
  plan.use(a, 1); // a dies at 1
  plan.use(b, 5);
  plan.use(c, 5);
  int d = plan.add(false, 64, 2); // fits where a was
  plan.use(d, 5);
  plan.solve();
  EXPECT_EQ(plan.offset(d), plan.offset(a));
  EXPECT_EQ(plan.fixedBytes(), 192);
}

} // namespace
