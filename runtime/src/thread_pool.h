//===- thread_pool.h - The runtime's thread pool ----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the thread pool behind llamac_rt_parallel_for. A forward
// pass issues a few hundred parallel loops of a few microseconds each, so the
// pool is built for dispatch latency: workers spin on a generation counter for
// a short while after each job and only then sleep on a futex.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_RUNTIME_SRC_THREAD_POOL_H
#define LLAMAC_RUNTIME_SRC_THREAD_POOL_H

#include "llamac/rt.h"

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace llamac::runtime {

class ThreadPool {
public:
  /// Starts `n_threads - 1` workers; the calling thread is the last one.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return n_threads_; }

  /// Runs task over [0, n_tasks): thread i takes the i-th contiguous share.
  void parallel_for(int64_t n_tasks, llamac_rt_task_fn task, void *ctx);

private:
  struct Job {
    llamac_rt_task_fn task = nullptr;
    void *ctx = nullptr;
    int64_t n_tasks = 0;
  };

  void worker_main(int index);
  void run_share(int index, const Job &job) const;

  int n_threads_;
  Job job_;
  std::atomic<uint32_t> generation_{0}; // bumped once per job
  std::atomic<int> pending_{0};         // workers still busy with the job
  std::atomic<int> sleepers_{0};        // workers waiting on the futex
  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

} // namespace llamac::runtime

#endif // LLAMAC_RUNTIME_SRC_THREAD_POOL_H
