//===- thread_pool.cpp - The runtime's thread pool ------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the thread pool: static shares of each job, a spin
// phase for back-to-back jobs, and futex sleep when the model is idle.
//
//===----------------------------------------------------------------------===//

#include "thread_pool.h"

#include <climits>
#include <linux/futex.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace llamac::runtime {
namespace {

/// Spins before sleeping: long enough to bridge the gap between two kernels
/// of one forward pass, short enough not to burn a core between tokens.
constexpr int kSpinIterations = 1 << 16;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

void futex_wait(std::atomic<uint32_t> *word, uint32_t expected) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT_PRIVATE,
          expected, nullptr, nullptr, 0);
}

void futex_wake_all(std::atomic<uint32_t> *word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE_PRIVATE,
          INT_MAX, nullptr, nullptr, 0);
}

} // namespace

ThreadPool::ThreadPool(int n_threads)
    : n_threads_(n_threads < 1 ? 1 : n_threads) {
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i)
    workers_.emplace_back([this, i] { worker_main(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_acq_rel);
  futex_wake_all(&generation_);
  for (std::thread &worker : workers_)
    worker.join();
}

void ThreadPool::run_share(int index, const Job &job) const {
  int64_t begin = job.n_tasks * index / n_threads_;
  int64_t end = job.n_tasks * (index + 1) / n_threads_;
  if (begin < end)
    job.task(job.ctx, begin, end);
}

void ThreadPool::parallel_for(int64_t n_tasks, llamac_rt_task_fn task,
                              void *ctx) {
  if (n_tasks <= 0)
    return;
  if (n_threads_ == 1 || n_tasks == 1) {
    task(ctx, 0, n_tasks);
    return;
  }
  job_ = Job{task, ctx, n_tasks};
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  // Publishes job_ to the workers (release pairs with their acquire).
  // seq_cst on both sides (here and in worker_main) orders the generation
  // bump before the sleeper check, so a worker going to sleep is woken.
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0)
    futex_wake_all(&generation_);

  run_share(0, job_);
  // Spin for the workers; if they are slow (descheduled, or sharing this
  // core), yield so that they can run.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations)
      cpu_relax();
    else
      sched_yield();
  }
}

void ThreadPool::worker_main(int index) {
  // Jobs are counted from the pool's creation, not from when this thread
  // started running: a job published before it ran is still its to do.
  uint32_t seen = 0;
  for (;;) {
    uint32_t current = seen;
    for (int spin = 0; spin < kSpinIterations; ++spin) {
      current = generation_.load(std::memory_order_acquire);
      if (current != seen)
        break;
      cpu_relax();
    }
    while (current == seen) {
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      // Re-check after announcing ourselves so a wake cannot be missed.
      if (generation_.load(std::memory_order_seq_cst) == seen)
        futex_wait(&generation_, seen);
      sleepers_.fetch_sub(1, std::memory_order_acq_rel);
      current = generation_.load(std::memory_order_acquire);
    }
    seen = current;
    if (stop_.load(std::memory_order_acquire))
      return;
    run_share(index, job_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

} // namespace llamac::runtime

extern "C" void llamac_rt_parallel_for(void *runtime, int64_t n_tasks,
                                       llamac_rt_task_fn task, void *ctx) {
  static_cast<llamac::runtime::ThreadPool *>(runtime)->parallel_for(n_tasks,
                                                                    task, ctx);
}
