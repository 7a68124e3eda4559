//===- cuda_device.cpp - A GPU through the CUDA driver API ------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements openCUDA: the Device interface over the CUDA driver
// API, loaded with dlopen("libcuda.so.1") so that an executable built for an
// NVIDIA target needs neither the CUDA toolkit to build nor libcuda to start.
// The few driver types and entry points used are declared here rather than
// taken from cuda.h; their ABI has been stable since CUDA 4.0 (the _v2 names
// are the 64-bit-size variants every current driver exports).
//
// Kernels are MLIR gpu.funcs lowered with the default memref calling
// convention, so a buffer argument becomes five kernel parameters (allocated
// pointer, aligned pointer, offset, size, stride) and an integer one.
//
//===----------------------------------------------------------------------===//

#include "gpu/device.h"

#include <dlfcn.h>

#include <cerrno>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace llamac::runtime::gpu {
namespace {

// The subset of cuda.h this file needs.
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUjit_option = int;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;
constexpr CUresult CUDA_ERROR_UNSUPPORTED_PTX_VERSION = 222;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75;
constexpr int CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr CUjit_option CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;

// Image kinds (rt.h, LLAMAC_GPU_IMAGE_*); SPIR-V (3) and LLVM bitcode (4)
// are for other backends.
constexpr int64_t kImageCubin = 1;
constexpr int64_t kImagePTX = 2;
constexpr int64_t kImageSPIRV = 3;
constexpr int64_t kImageLLVMBitcode = 4;

/// The driver entry points, resolved from libcuda.so.1.
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
  CUresult (*cuDeviceTotalMem)(size_t *, CUdevice);
  CUresult (*cuCtxCreate)(CUcontext *, unsigned, CUdevice);
  CUresult (*cuCtxDestroy)(CUcontext);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemsetD8)(CUdeviceptr, unsigned char, size_t);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned,
                                 CUjit_option *, void **);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, CUstream, void **,
                             void **);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
};

template <typename F>
bool resolve(void *library, const char *symbol, F &function,
             std::string *error) {
  function = reinterpret_cast<F>(dlsym(library, symbol));
  if (function)
    return true;
  *error = std::string("CUDA: libcuda.so.1 has no ") + symbol +
           " (the NVIDIA driver is too old)";
  return false;
}

bool resolveAll(void *library, Driver &d, std::string *error) {
  return resolve(library, "cuInit", d.cuInit, error) &&
         resolve(library, "cuDeviceGetCount", d.cuDeviceGetCount, error) &&
         resolve(library, "cuDeviceGet", d.cuDeviceGet, error) &&
         resolve(library, "cuDeviceGetName", d.cuDeviceGetName, error) &&
         resolve(library, "cuDeviceGetAttribute", d.cuDeviceGetAttribute,
                 error) &&
         resolve(library, "cuDeviceTotalMem_v2", d.cuDeviceTotalMem, error) &&
         resolve(library, "cuCtxCreate_v2", d.cuCtxCreate, error) &&
         resolve(library, "cuCtxDestroy_v2", d.cuCtxDestroy, error) &&
         resolve(library, "cuCtxSetCurrent", d.cuCtxSetCurrent, error) &&
         resolve(library, "cuStreamCreate", d.cuStreamCreate, error) &&
         resolve(library, "cuStreamDestroy_v2", d.cuStreamDestroy, error) &&
         resolve(library, "cuStreamSynchronize", d.cuStreamSynchronize,
                 error) &&
         resolve(library, "cuMemAlloc_v2", d.cuMemAlloc, error) &&
         resolve(library, "cuMemFree_v2", d.cuMemFree, error) &&
         resolve(library, "cuMemsetD8_v2", d.cuMemsetD8, error) &&
         resolve(library, "cuMemcpyHtoD_v2", d.cuMemcpyHtoD, error) &&
         resolve(library, "cuMemcpyDtoH_v2", d.cuMemcpyDtoH, error) &&
         resolve(library, "cuModuleLoadDataEx", d.cuModuleLoadDataEx, error) &&
         resolve(library, "cuModuleGetFunction", d.cuModuleGetFunction,
                 error) &&
         resolve(library, "cuModuleUnload", d.cuModuleUnload, error) &&
         resolve(library, "cuLaunchKernel", d.cuLaunchKernel, error) &&
         resolve(library, "cuGetErrorName", d.cuGetErrorName, error) &&
         resolve(library, "cuGetErrorString", d.cuGetErrorString, error);
}

/// "CUDA_ERROR_OUT_OF_MEMORY (out of memory)", or the number when the driver
/// does not know the code.
std::string describeResult(const Driver &d, CUresult result) {
  const char *name = nullptr;
  const char *text = nullptr;
  if (d.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "CUDA error %d", result);
    return buffer;
  }
  std::string out = name;
  if (d.cuGetErrorString(result, &text) == CUDA_SUCCESS && text)
    out += std::string(" (") + text + ")";
  return out;
}

/// Device memory; Buffer * handed out by this backend point to these. Buffer
/// itself stays incomplete so each backend's definition is file-local.
struct CUDABuffer {
  CUdeviceptr ptr = 0;
  size_t size = 0;
};

CUDABuffer *fromHandle(Buffer *buffer) {
  return reinterpret_cast<CUDABuffer *>(buffer);
}

std::string smName(int64_t arch) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "sm_%lld", static_cast<long long>(arch));
  return buffer;
}

/// Joins the JIT log into one line for an error message.
std::string oneLine(const char *log) {
  std::string out;
  bool broken = false;
  for (const char *c = log; *c; ++c) {
    if (*c == '\n' || *c == '\r') {
      broken = true;
      continue;
    }
    if (broken && !out.empty())
      out += "; ";
    broken = false;
    out += *c;
  }
  return out;
}

class CUDADevice final : public Device {
public:
  CUDADevice(void *handle, int index) : library(handle), ordinal(index) {}
  ~CUDADevice() override;

  /// Everything after dlopen: cuInit, picking the device, the context and
  /// the stream.
  bool open(std::string *error);

  std::string describe() const override { return description; }
  Buffer *allocate(size_t bytes, std::string *error) override;
  void release(Buffer *buffer) override;
  bool write(Buffer *buffer, size_t offset, const void *data, size_t bytes,
             std::string *error) override;
  bool read(Buffer *buffer, size_t offset, void *data, size_t bytes,
            std::string *error) override;
  bool load(const std::vector<Image> &images,
            const std::vector<std::string> &kernels,
            std::string *error) override;
  bool launch(int kernel, const int64_t grid[3], int64_t block,
              const std::vector<Arg> &args, std::string *error) override;

private:
  bool check(CUresult result, const char *call, std::string *error) const;
  /// The context is current only on the thread that created it; the
  /// executor may call from another.
  bool bind(std::string *error) const;
  bool checkRange(const CUDABuffer *buffer, size_t offset, size_t bytes,
                  const char *what, std::string *error) const;
  bool loadImage(const Image &image, std::string *error);

  void *library;
  Driver d = {};
  int ordinal;
  CUdevice device = 0;
  int sm = 0;
  CUcontext context = nullptr;
  CUstream stream = nullptr;
  CUmodule module = nullptr;
  std::vector<CUfunction> functions;
  std::string description;
};

CUDADevice::~CUDADevice() {
  if (context) {
    d.cuCtxSetCurrent(context);
    if (module)
      d.cuModuleUnload(module);
    if (stream)
      d.cuStreamDestroy(stream);
    d.cuCtxDestroy(context);
  }
  // The driver stays loaded: unloading a GPU driver at exit gains nothing
  // and is known to crash some of them.
  (void)library;
}

bool CUDADevice::check(CUresult result, const char *call,
                       std::string *error) const {
  if (result == CUDA_SUCCESS)
    return true;
  *error =
      std::string("CUDA: ") + call + " failed: " + describeResult(d, result);
  return false;
}

bool CUDADevice::bind(std::string *error) const {
  return check(d.cuCtxSetCurrent(context), "cuCtxSetCurrent", error);
}

bool CUDADevice::open(std::string *error) {
  if (!resolveAll(library, d, error))
    return false;

  CUresult result = d.cuInit(0);
  if (result != CUDA_SUCCESS) {
    // CUDA_ERROR_NO_DEVICE is the common case (driver installed, no GPU or
    // none visible); any other failure also leaves no usable device.
    std::string reason = describeResult(d, result);
    if (result != CUDA_ERROR_NO_DEVICE)
      reason = "cuInit failed: " + reason;
    *error = "no CUDA device found (" + reason + ")";
    return false;
  }
  int count = 0;
  if (!check(d.cuDeviceGetCount(&count), "cuDeviceGetCount", error))
    return false;
  if (count <= 0) {
    *error = "no CUDA device found (the driver reports 0 devices)";
    return false;
  }

  if (const char *env = std::getenv("LLAMAC_CUDA_DEVICE"); env && *env) {
    char *end = nullptr;
    errno = 0;
    long value = std::strtol(env, &end, 10);
    if (errno != 0 || *end != '\0' || value < 0 || value >= count) {
      char buffer[64];
      std::snprintf(buffer, sizeof buffer, "%d", count - 1);
      *error = std::string("LLAMAC_CUDA_DEVICE=\"") + env +
               "\" is not a CUDA device index (the devices are 0 to " + buffer +
               ")";
      return false;
    }
    ordinal = static_cast<int>(value);
  }

  if (!check(d.cuDeviceGet(&device, ordinal), "cuDeviceGet", error))
    return false;
  char name[256] = {};
  if (!check(d.cuDeviceGetName(name, sizeof name - 1, device),
             "cuDeviceGetName", error))
    return false;
  int major = 0, minor = 0;
  if (!check(d.cuDeviceGetAttribute(
                 &major, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, device),
             "cuDeviceGetAttribute", error) ||
      !check(d.cuDeviceGetAttribute(
                 &minor, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, device),
             "cuDeviceGetAttribute", error))
    return false;
  sm = major * 10 + minor;
  size_t memory = 0;
  if (!check(d.cuDeviceTotalMem(&memory, device), "cuDeviceTotalMem", error))
    return false;

  char text[400];
  constexpr double GiB = 1024.0 * 1024.0 * 1024.0;
  if (memory >= (size_t(1) << 30))
    std::snprintf(text, sizeof text, "CUDA device %d: %s (sm_%d, %.0f GiB)",
                  ordinal, name, sm, memory / GiB);
  else
    std::snprintf(text, sizeof text, "CUDA device %d: %s (sm_%d, %zu MiB)",
                  ordinal, name, sm, memory >> 20);
  description = text;

  if (!check(d.cuCtxCreate(&context, 0, device), "cuCtxCreate", error))
    return false;
  // Flags 0: a blocking stream, so it is ordered with the legacy default
  // stream that cuMemsetD8 and the synchronous copies use.
  return check(d.cuStreamCreate(&stream, 0), "cuStreamCreate", error);
}

Buffer *CUDADevice::allocate(size_t bytes, std::string *error) {
  if (!bind(error))
    return nullptr;
  if (bytes == 0)
    bytes = 1;
  CUdeviceptr ptr = 0;
  if (!check(d.cuMemAlloc(&ptr, bytes), "cuMemAlloc", error))
    return nullptr;
  if (!check(d.cuMemsetD8(ptr, 0, bytes), "cuMemsetD8", error)) {
    d.cuMemFree(ptr);
    return nullptr;
  }
  auto *buffer = new CUDABuffer;
  buffer->ptr = ptr;
  buffer->size = bytes;
  return reinterpret_cast<Buffer *>(buffer);
}

void CUDADevice::release(Buffer *handle) {
  if (!handle)
    return;
  CUDABuffer *buffer = fromHandle(handle);
  std::string ignored;
  if (bind(&ignored))
    d.cuMemFree(buffer->ptr);
  delete buffer;
}

bool CUDADevice::checkRange(const CUDABuffer *buffer, size_t offset,
                            size_t bytes, const char *what,
                            std::string *error) const {
  if (!buffer) {
    *error = std::string("CUDA: ") + what + " of a null buffer";
    return false;
  }
  if (bytes <= buffer->size && offset <= buffer->size - bytes)
    return true;
  char text[160];
  std::snprintf(text, sizeof text,
                "CUDA: %s of %zu bytes at offset %zu is outside the buffer "
                "of %zu bytes",
                what, bytes, offset, buffer->size);
  *error = text;
  return false;
}

bool CUDADevice::write(Buffer *handle, size_t offset, const void *data,
                       size_t bytes, std::string *error) {
  CUDABuffer *buffer = fromHandle(handle);
  if (!checkRange(buffer, offset, bytes, "write", error))
    return false;
  if (bytes == 0)
    return true;
  // Earlier launches may still be reading the old contents.
  return bind(error) &&
         check(d.cuStreamSynchronize(stream), "cuStreamSynchronize", error) &&
         check(d.cuMemcpyHtoD(buffer->ptr + offset, data, bytes),
               "cuMemcpyHtoD", error);
}

bool CUDADevice::read(Buffer *handle, size_t offset, void *data, size_t bytes,
                      std::string *error) {
  CUDABuffer *buffer = fromHandle(handle);
  if (!checkRange(buffer, offset, bytes, "read", error))
    return false;
  // Synchronizing also reports a kernel's execution fault here rather than
  // as a puzzling copy failure.
  if (!bind(error) ||
      !check(d.cuStreamSynchronize(stream), "cuStreamSynchronize", error))
    return false;
  if (bytes == 0)
    return true;
  return check(d.cuMemcpyDtoH(data, buffer->ptr + offset, bytes),
               "cuMemcpyDtoH", error);
}

bool CUDADevice::loadImage(const Image &image, std::string *error) {
  const void *data = image.data;
  // The driver reads PTX as a C string.
  std::vector<char> text;
  if (image.kind == kImagePTX && image.data[image.size - 1] != 0) {
    text.assign(image.data, image.data + image.size);
    text.push_back('\0');
    data = text.data();
  }

  char log[8192] = {};
  CUjit_option options[] = {CU_JIT_ERROR_LOG_BUFFER,
                            CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
  void *values[] = {log, reinterpret_cast<void *>(uintptr_t(sizeof log))};
  CUresult result = d.cuModuleLoadDataEx(&module, data, 2, options, values);
  if (result == CUDA_SUCCESS)
    return true;
  module = nullptr;
  log[sizeof log - 1] = '\0';
  *error = "CUDA: cuModuleLoadDataEx failed for the " + smName(image.arch) +
           (image.kind == kImagePTX ? " PTX: " : " cubin: ") +
           describeResult(d, result);
  if (result == CUDA_ERROR_UNSUPPORTED_PTX_VERSION)
    *error += "; the NVIDIA driver is older than the compiler's PTX, update "
              "the driver";
  std::string details = oneLine(log);
  if (!details.empty())
    *error += ": " + details;
  return false;
}

bool CUDADevice::load(const std::vector<Image> &images,
                      const std::vector<std::string> &kernels,
                      std::string *error) {
  if (!bind(error))
    return false;
  if (module) {
    functions.clear();
    d.cuModuleUnload(module);
    module = nullptr;
  }

  // A cubin runs only on its own major version, on the same or a later
  // minor; PTX is JIT-compiled for any later SM.
  const Image *chosen = nullptr;
  for (const Image &image : images)
    if (image.kind == kImageCubin && image.data && image.size &&
        image.arch / 10 == sm / 10 && image.arch <= sm &&
        (!chosen || image.arch > chosen->arch))
      chosen = &image;
  if (!chosen)
    for (const Image &image : images)
      if (image.kind == kImagePTX && image.data && image.size &&
          image.arch <= sm && (!chosen || image.arch > chosen->arch))
        chosen = &image;

  if (!chosen) {
    std::string cubins, ptx, other;
    for (const Image &image : images) {
      std::string *list = image.kind == kImageCubin ? &cubins
                          : image.kind == kImagePTX ? &ptx
                                                    : &other;
      std::string item = image.kind == kImageCubin || image.kind == kImagePTX
                             ? smName(image.arch)
                         : image.kind == kImageSPIRV ? "SPIR-V"
                         : image.kind == kImageLLVMBitcode
                             ? "LLVM bitcode"
                             : "unknown kind " + std::to_string(image.kind);
      if (list->find(item) == std::string::npos)
        *list += (list->empty() ? "" : ", ") + item;
    }
    std::string what;
    if (!cubins.empty())
      what = cubins + " (cubin)";
    if (!ptx.empty())
      what += (what.empty() ? "" : ", ") + ptx + " (PTX)";
    if (!other.empty())
      what += (what.empty() ? "" : ", ") + other;
    std::string target = "CUDA device " + std::to_string(ordinal) + " is sm_" +
                         std::to_string(sm);
    *error = what.empty()
                 ? "the compiled model has no GPU code but " + target
                 : "the compiled code is for " + what + " but " + target;
    return false;
  }

  if (!loadImage(*chosen, error))
    return false;
  functions.reserve(kernels.size());
  for (const std::string &name : kernels) {
    CUfunction function = nullptr;
    CUresult result = d.cuModuleGetFunction(&function, module, name.c_str());
    if (result != CUDA_SUCCESS) {
      *error = "CUDA: the compiled code has no kernel '" + name +
               "' (cuModuleGetFunction: " + describeResult(d, result) + ")";
      functions.clear();
      d.cuModuleUnload(module);
      module = nullptr;
      return false;
    }
    functions.push_back(function);
  }
  return true;
}

bool CUDADevice::launch(int kernel, const int64_t grid[3], int64_t block,
                        const std::vector<Arg> &args, std::string *error) {
  if (kernel < 0 || static_cast<size_t>(kernel) >= functions.size()) {
    *error = "CUDA: launch of kernel " + std::to_string(kernel) + " but " +
             std::to_string(functions.size()) + " kernels are loaded";
    return false;
  }
  const int64_t limits[3] = {INT32_MAX, 65535, 65535};
  static const char *const axes[3] = {"x", "y", "z"};
  for (int i = 0; i < 3; ++i)
    if (grid[i] < 1 || grid[i] > limits[i]) {
      *error = std::string("CUDA: grid ") + axes[i] + " of " +
               std::to_string(grid[i]) + " workgroups is outside 1 to " +
               std::to_string(limits[i]);
      return false;
    }
  if (block < 1 || block > 1024) {
    *error = "CUDA: a block of " + std::to_string(block) +
             " threads is outside 1 to 1024";
    return false;
  }

  // The slots are sized up front: params keeps pointers into them.
  size_t count = 0;
  for (const Arg &arg : args)
    count += arg.buffer ? 5 : 1;
  std::vector<uint64_t> slots(count);
  std::vector<void *> params(count);
  size_t next = 0;
  for (const Arg &arg : args) {
    if (const CUDABuffer *buffer = fromHandle(arg.buffer)) {
      slots[next + 0] = buffer->ptr; // allocated
      slots[next + 1] = buffer->ptr; // aligned
      slots[next + 2] = 0;           // offset
      slots[next + 3] = buffer->size;
      slots[next + 4] = 1; // stride
      next += 5;
    } else {
      slots[next++] = static_cast<uint64_t>(arg.value);
    }
  }
  for (size_t i = 0; i < count; ++i)
    params[i] = &slots[i];

  return bind(error) &&
         check(d.cuLaunchKernel(
                   functions[kernel], unsigned(grid[0]), unsigned(grid[1]),
                   unsigned(grid[2]), unsigned(block), 1, 1, 0, stream,
                   params.empty() ? nullptr : params.data(), nullptr),
               "cuLaunchKernel", error);
}

} // namespace

std::unique_ptr<Device> openCUDA(std::string *error) {
  dlerror();
  void *library = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *reason = dlerror();
    *error = std::string("no CUDA driver: cannot load libcuda.so.1 (") +
             (reason ? reason : "unknown error") +
             "); this executable was compiled for an NVIDIA GPU (--target "
             "cuda-sm80/cuda-sm90)";
    return nullptr;
  }
  // The device owns the library from here on, so every failure below
  // unwinds through its destructor.
  std::unique_ptr<CUDADevice> device(new CUDADevice(library, 0));
  if (!device->open(error))
    return nullptr;
  return device;
}

} // namespace llamac::runtime::gpu
