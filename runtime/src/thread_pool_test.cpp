//===- thread_pool_test.cpp - Unit tests of the thread pool ---------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file checks that llamac_rt_parallel_for runs every task index exactly
// once, splits work statically across threads, and does not lose a job that
// is published before a worker thread has started (a regression).
//
//===----------------------------------------------------------------------===//

#include "thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

using llamac::runtime::ThreadPool;

namespace {

struct Coverage {
  std::vector<std::atomic<int>> hits;
  explicit Coverage(int64_t n) : hits(n) {}
};

void count(void *ctx, int64_t begin, int64_t end) {
  auto *coverage = static_cast<Coverage *>(ctx);
  for (int64_t i = begin; i < end; ++i)
    coverage->hits[i].fetch_add(1);
}

TEST(ThreadPool, EveryTaskRunsOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 2, 3, 7, 64, 1000}) {
      Coverage coverage(n);
      for (int repeat = 0; repeat < 50; ++repeat)
        llamac_rt_parallel_for(&pool, n, count, &coverage);
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(coverage.hits[i].load(), 50)
            << "task " << i << " of " << n << ", " << threads << " threads";
    }
  }
}

TEST(ThreadPool, ZeroTasksIsANoOp) {
  ThreadPool pool(2);
  Coverage coverage(1);
  llamac_rt_parallel_for(&pool, 0, count, &coverage);
  EXPECT_EQ(coverage.hits[0].load(), 0);
}

TEST(ThreadPool, JobsPublishedBeforeWorkersStartAreRun) {
  // Submitting right after construction used to hang when the worker read
  // the job counter only once it started running.
  for (int i = 0; i < 300; ++i) {
    ThreadPool pool(2);
    Coverage coverage(4);
    llamac_rt_parallel_for(&pool, 4, count, &coverage);
    for (int t = 0; t < 4; ++t)
      ASSERT_EQ(coverage.hits[t].load(), 1);
  }
}

struct Owners {
  std::mutex mutex;
  std::vector<std::thread::id> owner;
  explicit Owners(int64_t n) : owner(n) {}
};

void record(void *ctx, int64_t begin, int64_t end) {
  auto *owners = static_cast<Owners *>(ctx);
  std::lock_guard<std::mutex> lock(owners->mutex);
  for (int64_t i = begin; i < end; ++i)
    owners->owner[i] = std::this_thread::get_id();
}

TEST(ThreadPool, SplitsContiguouslyAcrossThreads) {
  ThreadPool pool(2);
  Owners owners(10);
  llamac_rt_parallel_for(&pool, 10, record, &owners);
  // Thread 0 (the caller) takes [0, 5), the worker [5, 10).
  std::thread::id caller = std::this_thread::get_id();
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(owners.owner[i], caller);
  for (int i = 5; i < 10; ++i)
    EXPECT_NE(owners.owner[i], caller);
  EXPECT_EQ(
      std::set<std::thread::id>(owners.owner.begin() + 5, owners.owner.end())
          .size(),
      1u);
}

} // namespace
