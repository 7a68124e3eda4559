//===- executor.h - Running a compiled GPU model ----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the GPU executor (libllamac_gpu.a): it reads the launch
// program and device images a GPU target compiled into the executable
// (llamac/rt.h), opens the device, uploads the weights once, keeps the
// caches on the device and replays the program for every forward call.
//
// model.cpp, which every executable links, declares these functions weak:
// they exist only in executables built for a GPU target.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_RUNTIME_GPU_EXECUTOR_H
#define LLAMAC_RUNTIME_GPU_EXECUTOR_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace llamac::runtime::gpu {

class Executor;

/// Opens the device the code was compiled for and uploads `weights`
/// (`weights_bytes` from the blob). nullptr with *error set on failure.
Executor *openExecutor(const uint8_t *weights, uint64_t weights_bytes,
                       std::string *error) __attribute__((weak));
/// One forward call of at most the compiled chunk size: `tokens` at
/// positions pos, pos+1, ...; the last token's logits into `logits`
/// ([vocab]) when `logits` is not null, and its greedy token (computed on
/// the device: only 4 bytes come back) into `greedy` when that is not null.
bool executorForward(Executor *executor, const int32_t *tokens,
                     int32_t n_tokens, int32_t pos, float *logits,
                     int32_t *greedy, std::string *error) __attribute__((weak));
void closeExecutor(Executor *executor) __attribute__((weak));
/// The device, for --verbose.
std::string executorDevice(const Executor *executor) __attribute__((weak));

} // namespace llamac::runtime::gpu

#endif // LLAMAC_RUNTIME_GPU_EXECUTOR_H
