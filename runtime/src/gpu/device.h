//===- device.h - A GPU as the runtime drives it ----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the small device interface the GPU executor
// (gpu_executor.cpp) runs a compiled model's launch program through, and
// the two implementations: the CUDA driver API and OpenCL. Both load their
// library with dlopen at run time (libcuda.so.1, libOpenCL.so.1), so an
// executable built for a GPU target starts on any machine and says clearly
// what is missing.
//
// Kernel parameters are the generated gpu.func's, in order: buffers and
// 64-bit integers. A buffer parameter is a whole device allocation (kernels
// index it with an explicit element offset passed as an integer), so no
// backend needs sub-buffers or pointer arithmetic on handles.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_RUNTIME_GPU_DEVICE_H
#define LLAMAC_RUNTIME_GPU_DEVICE_H

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace llamac::runtime::gpu {

/// One code image of the compiled model (rt.h, LLAMAC_GPU_IMAGE_*).
struct Image {
  int64_t kind = 0; // LLAMAC_GPU_IMAGE_CUBIN, _PTX, _SPIRV, _LLVM_BC
  int64_t arch = 0; // CUDA: the SM version (80, 90); others: 0
  const uint8_t *data = nullptr;
  size_t size = 0;
};

/// A device allocation.
struct Buffer;

/// A kernel argument: a buffer, or a 64-bit integer.
struct Arg {
  Buffer *buffer = nullptr; // non-null: a buffer parameter
  int64_t value = 0;        // otherwise: an integer parameter
};

class Device {
public:
  virtual ~Device() = default;

  /// For messages and `--verbose`: the API, the device's name, memory.
  virtual std::string describe() const = 0;

  /// Allocates `bytes` (at least 1) of zero-filled device memory; nullptr
  /// with *error set on failure.
  virtual Buffer *allocate(size_t bytes, std::string *error) = 0;
  virtual void release(Buffer *buffer) = 0;
  /// Copies host memory into `buffer` at byte `offset`, blocking.
  virtual bool write(Buffer *buffer, size_t offset, const void *data,
                     size_t bytes, std::string *error) = 0;
  /// Copies `bytes` at byte `offset` of `buffer` to host memory, after all
  /// launched work has finished.
  virtual bool read(Buffer *buffer, size_t offset, void *data, size_t bytes,
                    std::string *error) = 0;

  /// Builds the program from the image this device takes (the backend
  /// chooses among `images`) and looks up `kernels` by name; launch() takes
  /// indices into `kernels`.
  virtual bool load(const std::vector<Image> &images,
                    const std::vector<std::string> &kernels,
                    std::string *error) = 0;
  /// Enqueues kernel `kernel` over `grid` workgroups of `block` threads
  /// (one dimension of threads) with `args` in parameter order.
  virtual bool launch(int kernel, const int64_t grid[3], int64_t block,
                      const std::vector<Arg> &args, std::string *error) = 0;
};

/// The first CUDA device through the driver API. nullptr with *error set
/// ("no CUDA driver (libcuda.so.1) ...", "no CUDA device ...") otherwise.
std::unique_ptr<Device> openCUDA(std::string *error);
/// The first OpenCL device of any platform (LLAMAC_OPENCL_DEVICE=N picks
/// another).
std::unique_ptr<Device> openOpenCL(std::string *error);

} // namespace llamac::runtime::gpu

#endif // LLAMAC_RUNTIME_GPU_DEVICE_H
