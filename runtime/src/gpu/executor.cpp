//===- executor.cpp - Running a compiled GPU model
//--------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the GPU executor. The program is checked once when
// the model opens (every kernel index, buffer and argument count in range),
// so a forward call only evaluates c0 + cT * T + cP * pos for each grid
// size and integer argument and enqueues the launches in order.
//
//===----------------------------------------------------------------------===//

#include "gpu/executor.h"
#include "gpu/device.h"
#include "llamac/rt.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

extern "C" {
// Written by the GPU targets' serializer (rt.h).
extern const int64_t llamac_gpu_program[];
extern const double llamac_gpu_rope_frequencies[];
extern const char llamac_gpu_kernel_names[];
extern const int64_t llamac_gpu_images[];
extern const uint8_t llamac_gpu_image_data[];
}

// The GPU targets' objects refer to this symbol (llamac_gpu_uses_executor):
// model.cpp refers to the executor only weakly, which does not pull it from
// an archive.
extern "C" const int llamac_gpu_executor_anchor = 1;

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
// Sanitizer builds: what the GPU drivers allocate for the process's lifetime
// is theirs, not a leak of ours.
extern "C" const char *__lsan_default_suppressions() {
  return "leak:libpocl\nleak:libOpenCL\nleak:libcuda\nleak:libLLVM\n";
}
#endif
#endif

namespace llamac::runtime::gpu {

namespace {

struct Affine {
  int64_t c0, cT, cP;
  int64_t at(int64_t tokens, int64_t pos) const {
    return c0 + cT * tokens + cP * pos;
  }
};

struct LaunchArg {
  int64_t kind; // LLAMAC_GPU_ARG_INT or LLAMAC_GPU_BUF_*
  Affine value;
};

struct Launch {
  int kernel;
  int64_t grid[6]; // x: c0, cT, div; y: c0, cT, div
  int64_t block;
  std::vector<LaunchArg> args;
};

struct RopeTable {
  Affine offset; // elements of the arena
  int64_t count;
  const double *frequencies;
};

int64_t info(int index) { return llamac_model_info[index]; }

} // namespace

class Executor {
public:
  ~Executor() {
    for (Buffer *buffer : buffers_)
      if (buffer)
        device_->release(buffer);
  }

  bool open(const uint8_t *weights, uint64_t weightsBytes, std::string *error);
  bool forward(const int32_t *tokens, int32_t n, int32_t pos, float *logits,
               int32_t *greedy, std::string *error);
  std::string describe() const { return device_->describe(); }

private:
  bool parse(std::string *error);
  /// LLAMAC_GPU_CHECK=1: after each launch, reads back the float buffers
  /// it wrote and fails naming the first kernel that produced a NaN or an
  /// infinity (a debugging aid for kernel authors).
  bool findNaN(const Launch &launch, std::string *error);
  bool checkNaN_ = getenv("LLAMAC_GPU_CHECK") != nullptr;
  std::vector<size_t> sizes_ = std::vector<size_t>(LLAMAC_GPU_BUF_COUNT);

  std::unique_ptr<Device> device_;
  std::vector<std::string> kernelNames_;
  std::vector<Launch> launches_;
  std::vector<RopeTable> tables_;
  int64_t argmaxLaunch_ = -1;
  Buffer *buffers_[LLAMAC_GPU_BUF_COUNT] = {};
  std::vector<float> table_;
  std::vector<Arg> args_;
};

bool Executor::parse(std::string *error) {
  const int64_t *p = llamac_gpu_program;
  if (p[0] != LLAMAC_GPU_PROGRAM_VERSION) {
    *error = "the GPU launch program has an unknown version";
    return false;
  }
  int64_t kernels = p[1], launches = p[2], tables = p[3];
  argmaxLaunch_ = p[4];
  if (argmaxLaunch_ < -1 || argmaxLaunch_ >= launches) {
    *error = "the GPU launch program is malformed";
    return false;
  }
  const char *name = llamac_gpu_kernel_names;
  for (int64_t i = 0; i < kernels; ++i) {
    kernelNames_.push_back(name);
    name += strlen(name) + 1;
  }
  size_t at = 5;
  for (int64_t i = 0; i < launches; ++i) {
    Launch launch;
    launch.kernel = static_cast<int>(p[at++]);
    for (int64_t &g : launch.grid)
      g = p[at++];
    launch.block = p[at++];
    int64_t count = p[at++];
    if (launch.kernel < 0 || launch.kernel >= kernels || launch.block < 1 ||
        launch.grid[2] < 1 || launch.grid[5] < 1 || count < 0) {
      *error = "the GPU launch program is malformed";
      return false;
    }
    for (int64_t a = 0; a < count; ++a) {
      LaunchArg arg;
      arg.kind = p[at++];
      arg.value = {p[at], p[at + 1], p[at + 2]};
      at += 3;
      if (arg.kind < LLAMAC_GPU_ARG_INT || arg.kind >= LLAMAC_GPU_BUF_COUNT) {
        *error = "the GPU launch program names an unknown buffer";
        return false;
      }
      launch.args.push_back(arg);
    }
    launches_.push_back(std::move(launch));
  }
  for (int64_t i = 0; i < tables; ++i) {
    RopeTable table;
    table.offset = {p[at], p[at + 1], 0};
    table.count = p[at + 2];
    table.frequencies = llamac_gpu_rope_frequencies + p[at + 3];
    at += 4;
    tables_.push_back(table);
  }
  return true;
}

bool Executor::open(const uint8_t *weights, uint64_t weightsBytes,
                    std::string *error) {
  if (!parse(error))
    return false;
  int64_t kind = info(LLAMAC_INFO_DEVICE);
  if (kind == LLAMAC_DEVICE_CUDA)
    device_ = openCUDA(error);
  else if (kind == LLAMAC_DEVICE_OPENCL)
    device_ = openOpenCL(error);
  else
    *error = "the compiled model is not for a GPU";
  if (!device_)
    return false;

  std::vector<Image> images;
  for (int64_t i = 0; i < llamac_gpu_images[0]; ++i) {
    const int64_t *entry = llamac_gpu_images + 1 + 4 * i;
    images.push_back({entry[0], entry[1], llamac_gpu_image_data + entry[2],
                      static_cast<size_t>(entry[3])});
  }
  if (!device_->load(images, kernelNames_, error))
    return false;

  size_t cacheElements = static_cast<size_t>(info(LLAMAC_INFO_LAYERS)) *
                         info(LLAMAC_INFO_KV_HEADS) * info(LLAMAC_INFO_CONTEXT);
  size_t sizes[LLAMAC_GPU_BUF_COUNT];
  sizes[LLAMAC_GPU_BUF_TOKENS] = info(LLAMAC_INFO_MAX_CHUNK) * 4;
  sizes[LLAMAC_GPU_BUF_K_CACHE] =
      cacheElements * info(LLAMAC_INFO_K_HEAD_DIM) * 4;
  sizes[LLAMAC_GPU_BUF_V_CACHE] =
      cacheElements * info(LLAMAC_INFO_V_HEAD_DIM) * 4;
  sizes[LLAMAC_GPU_BUF_LOGITS] = info(LLAMAC_INFO_VOCAB) * 4;
  sizes[LLAMAC_GPU_BUF_SAMPLED] = 4;
  sizes[LLAMAC_GPU_BUF_WEIGHTS] = weightsBytes;
  sizes[LLAMAC_GPU_BUF_ARENA] =
      info(LLAMAC_INFO_ARENA_STATIC) +
      info(LLAMAC_INFO_MAX_CHUNK) * info(LLAMAC_INFO_ARENA_PER_TOKEN);
  for (int i = 0; i < LLAMAC_GPU_BUF_COUNT; ++i) {
    sizes_[i] = sizes[i];
    buffers_[i] = device_->allocate(sizes[i], error);
    if (!buffers_[i]) {
      char text[96];
      snprintf(text, sizeof text, " (allocating %.1f MiB)",
               static_cast<double>(sizes[i]) / (1 << 20));
      *error += text;
      return false;
    }
  }
  return device_->write(buffers_[LLAMAC_GPU_BUF_WEIGHTS], 0, weights,
                        weightsBytes, error);
}

bool Executor::forward(const int32_t *tokens, int32_t n, int32_t pos,
                       float *logits, int32_t *greedy, std::string *error) {
  if (!device_->write(buffers_[LLAMAC_GPU_BUF_TOKENS], 0, tokens,
                      static_cast<size_t>(n) * 4, error))
    return false;
  // Rotary tables: cos then sin of (pos + t) * f_i, in f64 as on the CPU.
  for (const RopeTable &table : tables_) {
    table_.resize(static_cast<size_t>(n) * 2 * table.count);
    for (int32_t t = 0; t < n; ++t)
      for (int64_t i = 0; i < table.count; ++i) {
        double angle = static_cast<double>(pos + t) * table.frequencies[i];
        table_[t * 2 * table.count + i] = static_cast<float>(std::cos(angle));
        table_[t * 2 * table.count + table.count + i] =
            static_cast<float>(std::sin(angle));
      }
    if (!device_->write(buffers_[LLAMAC_GPU_BUF_ARENA],
                        table.offset.at(n, pos) * 4, table_.data(),
                        table_.size() * 4, error))
      return false;
  }
  for (size_t index = 0; index < launches_.size(); ++index) {
    const Launch &launch = launches_[index];
    if (static_cast<int64_t>(index) == argmaxLaunch_ && !greedy)
      continue;
    int64_t grid[3] = {1, 1, 1};
    for (int d = 0; d < 2; ++d) {
      const int64_t *g = launch.grid + 3 * d;
      int64_t extent = g[0] + g[1] * n;
      grid[d] = (extent + g[2] - 1) / g[2];
    }
    args_.clear();
    for (const LaunchArg &arg : launch.args) {
      Arg value;
      if (arg.kind == LLAMAC_GPU_ARG_INT)
        value.value = arg.value.at(n, pos);
      else
        value.buffer = buffers_[arg.kind];
      args_.push_back(value);
    }
    if (!device_->launch(launch.kernel, grid, launch.block, args_, error)) {
      *error += " (kernel " + kernelNames_[launch.kernel] + ")";
      return false;
    }
    if (checkNaN_ && !findNaN(launch, error))
      return false;
  }
  if (greedy) {
    if (argmaxLaunch_ < 0) {
      *error = "the compiled GPU program has no argmax kernel";
      return false;
    }
    if (!device_->read(buffers_[LLAMAC_GPU_BUF_SAMPLED], 0, greedy, 4, error))
      return false;
  }
  if (!logits)
    return true;
  return device_->read(buffers_[LLAMAC_GPU_BUF_LOGITS], 0, logits,
                       static_cast<size_t>(info(LLAMAC_INFO_VOCAB)) * 4, error);
}

bool Executor::findNaN(const Launch &launch, std::string *error) {
  for (int b : {LLAMAC_GPU_BUF_ARENA, LLAMAC_GPU_BUF_LOGITS,
                LLAMAC_GPU_BUF_K_CACHE, LLAMAC_GPU_BUF_V_CACHE}) {
    std::vector<float> data(sizes_[b] / 4);
    if (!device_->read(buffers_[b], 0, data.data(), data.size() * 4, error))
      return false;
    for (size_t i = 0; i < data.size(); ++i)
      if (!std::isfinite(data[i])) {
        char text[160];
        snprintf(text, sizeof text, "buffer %d element %zu is %g after ", b, i,
                 data[i]);
        *error = text + kernelNames_[launch.kernel] + " (arguments";
        for (const Arg &arg : args_) {
          snprintf(text, sizeof text, " %lld",
                   static_cast<long long>(arg.buffer ? -1 : arg.value));
          *error += text;
        }
        *error += ")";
        return false;
      }
  }
  return true;
}

Executor *openExecutor(const uint8_t *weights, uint64_t weightsBytes,
                       std::string *error) {
  std::unique_ptr<Executor> executor(new (std::nothrow) Executor());
  if (!executor) {
    *error = "out of memory";
    return nullptr;
  }
  if (!executor->open(weights, weightsBytes, error))
    return nullptr;
  return executor.release();
}

bool executorForward(Executor *executor, const int32_t *tokens,
                     int32_t n_tokens, int32_t pos, float *logits,
                     int32_t *greedy, std::string *error) {
  return executor->forward(tokens, n_tokens, pos, logits, greedy, error);
}

void closeExecutor(Executor *executor) { delete executor; }

std::string executorDevice(const Executor *executor) {
  return executor->describe();
}

} // namespace llamac::runtime::gpu
