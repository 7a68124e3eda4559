//===- MemoryPlan.h - Static placement of activations -----------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the planner that places every activation of a forward
// pass in one arena. An activation either has a fixed size or a size
// proportional to the token count T of the call; the arena is
//
//   [ fixed-size pool | T x per-token pool ]
//
// and an activation of the per-token pool lives at `fixedBytes + T * offset`,
// so one plan serves every T. Two activations share bytes only when their
// live ranges (first definition to last use, in program order) are disjoint.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_CPU_MEMORYPLAN_H
#define LLAMAC_CODEGEN_CPU_MEMORYPLAN_H

#include <cstdint>
#include <vector>

namespace llamac::cpu {

class MemoryPlan {
public:
  /// Alignment of every placement, in bytes (per token in the T pool).
  static constexpr int64_t kAlignment = 64;

  /// Adds an activation of `bytes` bytes (per token when `perToken`) defined
  /// at step `first`; returns its id.
  int add(bool perToken, int64_t bytes, int64_t first);
  /// Records a use at step `step`, extending the live range.
  void use(int id, int64_t step);

  /// Places every activation; call once, after all add/use.
  void solve();

  /// Bytes of the fixed pool, and per token of the T pool.
  int64_t fixedBytes() const { return fixedBytes_; }
  int64_t perTokenBytes() const { return perTokenBytes_; }
  bool isPerToken(int id) const { return allocations_[id].perToken; }
  /// The placement: from the arena start for fixed activations, per token
  /// from the start of the T pool otherwise.
  int64_t offset(int id) const { return allocations_[id].offset; }

private:
  struct Allocation {
    bool perToken;
    int64_t bytes;
    int64_t first, last;
    int64_t offset = -1;
  };
  int64_t place(bool perToken);

  std::vector<Allocation> allocations_;
  int64_t fixedBytes_ = 0, perTokenBytes_ = 0;
};

} // namespace llamac::cpu

#endif // LLAMAC_CODEGEN_CPU_MEMORYPLAN_H
