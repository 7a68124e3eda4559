//===- MemoryPlan.cpp - Static placement of activations -------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the activation planner: first-fit placement in order
// of definition, where an activation may take any gap that no activation with
// an overlapping live range occupies.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/MemoryPlan.h"

#include <algorithm>
#include <cassert>

using namespace llamac::cpu;

namespace {
int64_t alignUp(int64_t value) {
  return (value + MemoryPlan::kAlignment - 1) / MemoryPlan::kAlignment *
         MemoryPlan::kAlignment;
}
} // namespace

int MemoryPlan::add(bool perToken, int64_t bytes, int64_t first) {
  allocations_.push_back(
      {perToken, alignUp(std::max<int64_t>(bytes, 1)), first, first});
  return static_cast<int>(allocations_.size() - 1);
}

void MemoryPlan::use(int id, int64_t step) {
  Allocation &a = allocations_[id];
  a.last = std::max(a.last, step);
}

int64_t MemoryPlan::place(bool perToken) {
  std::vector<int> order;
  for (int i = 0, e = static_cast<int>(allocations_.size()); i < e; ++i)
    if (allocations_[i].perToken == perToken)
      order.push_back(i);
  std::sort(order.begin(), order.end(), [&](int a, int b) {
    return allocations_[a].first != allocations_[b].first
               ? allocations_[a].first < allocations_[b].first
               : a < b;
  });

  int64_t extent = 0;
  std::vector<int> placed;
  for (int id : order) {
    Allocation &a = allocations_[id];
    // Byte ranges taken by placed activations whose lives overlap a's.
    std::vector<std::pair<int64_t, int64_t>> busy;
    for (int other : placed) {
      const Allocation &o = allocations_[other];
      if (o.first <= a.last && a.first <= o.last)
        busy.push_back({o.offset, o.offset + o.bytes});
    }
    std::sort(busy.begin(), busy.end());
    int64_t candidate = 0;
    for (auto [begin, end] : busy) {
      if (candidate + a.bytes <= begin)
        break;
      candidate = std::max(candidate, end);
    }
    a.offset = candidate;
    extent = std::max(extent, candidate + a.bytes);
    placed.push_back(id);
  }
  return extent;
}

void MemoryPlan::solve() {
  fixedBytes_ = place(/*perToken=*/false);
  perTokenBytes_ = place(/*perToken=*/true);
  assert(std::all_of(allocations_.begin(), allocations_.end(),
                     [](const Allocation &a) { return a.offset >= 0; }) &&
         "every activation is placed");
}
