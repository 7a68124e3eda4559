//===- opencl_device.cpp - The OpenCL device
//--------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the device interface on OpenCL 1.2+, loaded with
// dlopen (libOpenCL.so.1, the ICD loader), so the executable needs no
// OpenCL at build time and starts without it. Kernels come from SPIR-V
// where the device takes intermediate language (CL_DEVICE_IL_VERSION), and
// otherwise from LLVM bitcode (PoCL 3 on Debian 12 takes bitcode through
// clCreateProgramWithBinary, and no SPIR-V).
//
//===----------------------------------------------------------------------===//

#include "gpu/device.h"
#include "llamac/rt.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>

namespace llamac::runtime::gpu {
namespace {

// The few OpenCL types and constants used (from the Khronos headers' ABI).
using cl_int = int32_t;
using cl_uint = uint32_t;
using cl_ulong = uint64_t;
using cl_bitfield = cl_ulong;
using cl_platform_id = struct _cl_platform_id *;
using cl_device_id = struct _cl_device_id *;
using cl_context = struct _cl_context *;
using cl_command_queue = struct _cl_command_queue *;
using cl_mem = struct _cl_mem *;
using cl_program = struct _cl_program *;
using cl_kernel = struct _cl_kernel *;
using cl_event = struct _cl_event *;

constexpr cl_int CL_SUCCESS = 0;
constexpr cl_bitfield CL_DEVICE_TYPE_ALL = 0xFFFFFFFF;
constexpr cl_uint CL_DEVICE_NAME = 0x102B;
constexpr cl_uint CL_DEVICE_GLOBAL_MEM_SIZE = 0x101F;
constexpr cl_uint CL_DEVICE_IL_VERSION = 0x105B;
constexpr cl_uint CL_PLATFORM_NAME = 0x0902;
constexpr cl_bitfield CL_MEM_READ_WRITE = 1 << 0;
constexpr cl_uint CL_PROGRAM_BUILD_LOG = 0x1183;
constexpr cl_int CL_FALSE = 0;

struct OpenCLBuffer {
  cl_mem mem;
  size_t size;
  // Sub-buffers over the whole of `mem`, for a kernel that takes the same
  // buffer more than once (see launch()).
  std::vector<cl_mem> aliases;
  // The last command that used the buffer, kept alive (see track()).
  cl_event last = nullptr;
};

struct cl_buffer_region {
  size_t origin, size;
};
constexpr cl_uint CL_BUFFER_CREATE_TYPE_REGION = 0x1220;

class OpenCLDevice final : public Device {
public:
  ~OpenCLDevice() override {
    for (cl_kernel kernel : kernels_)
      if (kernel)
        ReleaseKernel(kernel);
    if (program_)
      ReleaseProgram(program_);
    if (queue_)
      ReleaseCommandQueue(queue_);
    if (context_)
      ReleaseContext(context_);
    // The ICD loader and its drivers stay loaded (unloading them at exit
    // gains nothing, and leak checkers could no longer name their
    // allocations).
  }

  bool open(std::string *error);

  std::string describe() const override { return description_; }

  Buffer *allocate(size_t bytes, std::string *error) override {
    if (!bytes)
      bytes = 1;
    cl_int status = 0;
    cl_mem mem =
        CreateBuffer(context_, CL_MEM_READ_WRITE, bytes, nullptr, &status);
    if (!check(status, "clCreateBuffer", error))
      return nullptr;
    uint8_t zero = 0;
    cl_event event = nullptr;
    status =
        EnqueueFillBuffer(queue_, mem, &zero, 1, 0, bytes, 0, nullptr, &event);
    if (!check(status, "clEnqueueFillBuffer", error)) {
      ReleaseMemObject(mem);
      return nullptr;
    }
    auto *buffer = new OpenCLBuffer{mem, bytes, {}, nullptr};
    track({buffer}, event);
    return reinterpret_cast<Buffer *>(buffer);
  }

  void release(Buffer *buffer) override {
    auto *b = reinterpret_cast<OpenCLBuffer *>(buffer);
    if (!b)
      return;
    if (b->last)
      ReleaseEvent(b->last);
    for (cl_mem alias : b->aliases)
      ReleaseMemObject(alias);
    ReleaseMemObject(b->mem);
    delete b;
  }

  bool write(Buffer *buffer, size_t offset, const void *data, size_t bytes,
             std::string *error) override {
    return copy(buffer, offset, const_cast<void *>(data), bytes,
                /*toDevice=*/true, error);
  }

  bool read(Buffer *buffer, size_t offset, void *data, size_t bytes,
            std::string *error) override {
    return copy(buffer, offset, data, bytes, /*toDevice=*/false, error);
  }

  bool load(const std::vector<Image> &images,
            const std::vector<std::string> &kernels,
            std::string *error) override;

  bool launch(int kernel, const int64_t grid[3], int64_t block,
              const std::vector<Arg> &args, std::string *error) override {
    if (kernel < 0 || kernel >= static_cast<int>(kernels_.size())) {
      *error = "OpenCL: kernel index out of range";
      return false;
    }
    cl_kernel k = kernels_[kernel];
    // PoCL 3.1 releases a buffer once per kernel argument but retains it
    // once per kernel, so a buffer passed twice is freed while in use: the
    // second and later uses of a buffer take an alias (a sub-buffer of all
    // of it), a distinct cl_mem over the same memory.
    std::vector<OpenCLBuffer *> seen;
    for (size_t i = 0; i < args.size(); ++i) {
      cl_int status;
      if (args[i].buffer) {
        auto *b = reinterpret_cast<OpenCLBuffer *>(args[i].buffer);
        size_t uses = 0;
        for (OpenCLBuffer *other : seen)
          uses += other == b;
        seen.push_back(b);
        cl_mem mem = b->mem;
        if (uses && !getenv("LLAMAC_OPENCL_NO_ALIAS")) {
          while (b->aliases.size() < uses) {
            cl_buffer_region region = {0, b->size};
            cl_mem alias =
                CreateSubBuffer(b->mem, CL_MEM_READ_WRITE,
                                CL_BUFFER_CREATE_TYPE_REGION, &region, &status);
            if (!check(status, "clCreateSubBuffer", error))
              return false;
            b->aliases.push_back(alias);
          }
          mem = b->aliases[uses - 1];
        }
        status = SetKernelArg(k, static_cast<cl_uint>(i), sizeof mem, &mem);
      } else {
        int64_t value = args[i].value;
        status = SetKernelArg(k, static_cast<cl_uint>(i), sizeof value, &value);
      }
      if (!check(status, "clSetKernelArg", error))
        return false;
    }
    size_t global[3], local[3] = {static_cast<size_t>(block), 1, 1};
    for (int d = 0; d < 3; ++d) {
      if (grid[d] < 1) {
        *error = "OpenCL: empty launch grid";
        return false;
      }
      global[d] = static_cast<size_t>(grid[d]) * local[d];
    }
    cl_event event = nullptr;
    if (!check(EnqueueNDRangeKernel(queue_, k, 3, nullptr, global, local, 0,
                                    nullptr, &event),
               "clEnqueueNDRangeKernel", error))
      return false;
    track(seen, event);
    return true;
  }

private:
  /// A copy between host memory and `buffer`, finished on return.
  /// Non-blocking, then clFinish: PoCL 3.1's blocking transfers can
  /// deadlock with its worker threads after many kernels.
  bool copy(Buffer *buffer, size_t offset, void *data, size_t bytes,
            bool toDevice, std::string *error) {
    auto *b = reinterpret_cast<OpenCLBuffer *>(buffer);
    if (!inRange(b, offset, bytes, error))
      return false;
    if (!bytes)
      return true;
    cl_event event = nullptr;
    cl_int status = toDevice
                        ? EnqueueWriteBuffer(queue_, b->mem, CL_FALSE, offset,
                                             bytes, data, 0, nullptr, &event)
                        : EnqueueReadBuffer(queue_, b->mem, CL_FALSE, offset,
                                            bytes, data, 0, nullptr, &event);
    if (!check(status,
               toDevice ? "clEnqueueWriteBuffer" : "clEnqueueReadBuffer",
               error))
      return false;
    track({b}, event);
    return check(Finish(queue_), "clFinish", error);
  }

  /// PoCL 3.1 remembers each buffer's last command's event without keeping
  /// it alive, and touches it when the buffer is next used: a buffer idle
  /// since an event was freed crashes it. Keep that event alive ourselves.
  void track(const std::vector<OpenCLBuffer *> &buffers, cl_event event) {
    for (size_t i = 0; i < buffers.size(); ++i) {
      OpenCLBuffer *b = buffers[i];
      bool repeated = false;
      for (size_t j = 0; j < i; ++j)
        repeated |= buffers[j] == b;
      if (repeated)
        continue;
      if (b->last)
        ReleaseEvent(b->last);
      RetainEvent(event);
      b->last = event;
    }
    ReleaseEvent(event);
  }

  template <typename F>
  bool resolve(F *&fn, const char *name, std::string *error) {
    fn = reinterpret_cast<F *>(dlsym(library_, name));
    if (!fn) {
      *error = std::string("OpenCL: libOpenCL.so.1 has no ") + name;
      return false;
    }
    return true;
  }
  bool check(cl_int status, const char *call, std::string *error) {
    if (status == CL_SUCCESS)
      return true;
    char text[160];
    snprintf(text, sizeof text, "OpenCL: %s failed with error %d", call,
             status);
    *error = text;
    return false;
  }
  bool inRange(OpenCLBuffer *b, size_t offset, size_t bytes,
               std::string *error) {
    if (b && offset <= b->size && bytes <= b->size - offset)
      return true;
    *error = "OpenCL: copy outside the buffer";
    return false;
  }
  std::string deviceString(cl_uint what) {
    size_t size = 0;
    if (GetDeviceInfo(device_, what, 0, nullptr, &size) != CL_SUCCESS ||
        size == 0)
      return "";
    std::string value(size, '\0');
    if (GetDeviceInfo(device_, what, size, &value[0], nullptr) != CL_SUCCESS)
      return "";
    value.resize(strlen(value.c_str()));
    return value;
  }

  void *library_ = nullptr;
  cl_device_id device_ = nullptr;
  cl_context context_ = nullptr;
  cl_command_queue queue_ = nullptr;
  cl_program program_ = nullptr;
  std::vector<cl_kernel> kernels_;
  std::string description_;

  cl_int (*GetPlatformIDs)(cl_uint, cl_platform_id *, cl_uint *) = nullptr;
  cl_int (*GetPlatformInfo)(cl_platform_id, cl_uint, size_t, void *,
                            size_t *) = nullptr;
  cl_int (*GetDeviceIDs)(cl_platform_id, cl_bitfield, cl_uint, cl_device_id *,
                         cl_uint *) = nullptr;
  cl_int (*GetDeviceInfo)(cl_device_id, cl_uint, size_t, void *,
                          size_t *) = nullptr;
  cl_context (*CreateContext)(const intptr_t *, cl_uint, const cl_device_id *,
                              void *, void *, cl_int *) = nullptr;
  cl_command_queue (*CreateCommandQueue)(cl_context, cl_device_id, cl_bitfield,
                                         cl_int *) = nullptr;
  cl_mem (*CreateBuffer)(cl_context, cl_bitfield, size_t, void *,
                         cl_int *) = nullptr;
  cl_int (*EnqueueFillBuffer)(cl_command_queue, cl_mem, const void *, size_t,
                              size_t, size_t, cl_uint, const cl_event *,
                              cl_event *) = nullptr;
  cl_int (*EnqueueWriteBuffer)(cl_command_queue, cl_mem, cl_int, size_t, size_t,
                               const void *, cl_uint, const cl_event *,
                               cl_event *) = nullptr;
  cl_int (*EnqueueReadBuffer)(cl_command_queue, cl_mem, cl_int, size_t, size_t,
                              void *, cl_uint, const cl_event *,
                              cl_event *) = nullptr;
  cl_program (*CreateProgramWithIL)(cl_context, const void *, size_t,
                                    cl_int *) = nullptr;
  cl_program (*CreateProgramWithBinary)(cl_context, cl_uint,
                                        const cl_device_id *, const size_t *,
                                        const unsigned char **, cl_int *,
                                        cl_int *) = nullptr;
  cl_int (*BuildProgram)(cl_program, cl_uint, const cl_device_id *,
                         const char *, void *, void *) = nullptr;
  cl_int (*GetProgramBuildInfo)(cl_program, cl_device_id, cl_uint, size_t,
                                void *, size_t *) = nullptr;
  cl_kernel (*CreateKernel)(cl_program, const char *, cl_int *) = nullptr;
  cl_int (*SetKernelArg)(cl_kernel, cl_uint, size_t, const void *) = nullptr;
  cl_int (*EnqueueNDRangeKernel)(cl_command_queue, cl_kernel, cl_uint,
                                 const size_t *, const size_t *, const size_t *,
                                 cl_uint, const cl_event *,
                                 cl_event *) = nullptr;
  cl_int (*Finish)(cl_command_queue) = nullptr;
  cl_int (*RetainEvent)(cl_event) = nullptr;
  cl_int (*ReleaseEvent)(cl_event) = nullptr;
  cl_mem (*CreateSubBuffer)(cl_mem, cl_bitfield, cl_uint, const void *,
                            cl_int *) = nullptr;
  cl_int (*ReleaseMemObject)(cl_mem) = nullptr;
  cl_int (*ReleaseKernel)(cl_kernel) = nullptr;
  cl_int (*ReleaseProgram)(cl_program) = nullptr;
  cl_int (*ReleaseCommandQueue)(cl_command_queue) = nullptr;
  cl_int (*ReleaseContext)(cl_context) = nullptr;
};

bool OpenCLDevice::open(std::string *error) {
  library_ = dlopen("libOpenCL.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!library_) {
    const char *why = dlerror();
    *error = std::string("no OpenCL: cannot load libOpenCL.so.1 (") +
             (why ? why : "unknown error") +
             "); this executable was compiled for an OpenCL device "
             "(--target opencl-spirv): install an OpenCL driver and the ICD "
             "loader (on Debian: ocl-icd-libopencl1 and, for the CPU, "
             "pocl-opencl-icd)";
    return false;
  }
  if (!resolve(GetPlatformIDs, "clGetPlatformIDs", error) ||
      !resolve(GetPlatformInfo, "clGetPlatformInfo", error) ||
      !resolve(GetDeviceIDs, "clGetDeviceIDs", error) ||
      !resolve(GetDeviceInfo, "clGetDeviceInfo", error) ||
      !resolve(CreateContext, "clCreateContext", error) ||
      !resolve(CreateCommandQueue, "clCreateCommandQueue", error) ||
      !resolve(CreateBuffer, "clCreateBuffer", error) ||
      !resolve(EnqueueFillBuffer, "clEnqueueFillBuffer", error) ||
      !resolve(EnqueueWriteBuffer, "clEnqueueWriteBuffer", error) ||
      !resolve(EnqueueReadBuffer, "clEnqueueReadBuffer", error) ||
      !resolve(CreateProgramWithBinary, "clCreateProgramWithBinary", error) ||
      !resolve(BuildProgram, "clBuildProgram", error) ||
      !resolve(GetProgramBuildInfo, "clGetProgramBuildInfo", error) ||
      !resolve(CreateKernel, "clCreateKernel", error) ||
      !resolve(SetKernelArg, "clSetKernelArg", error) ||
      !resolve(EnqueueNDRangeKernel, "clEnqueueNDRangeKernel", error) ||
      !resolve(Finish, "clFinish", error) ||
      !resolve(RetainEvent, "clRetainEvent", error) ||
      !resolve(ReleaseEvent, "clReleaseEvent", error) ||
      !resolve(CreateSubBuffer, "clCreateSubBuffer", error) ||
      !resolve(ReleaseMemObject, "clReleaseMemObject", error) ||
      !resolve(ReleaseKernel, "clReleaseKernel", error) ||
      !resolve(ReleaseProgram, "clReleaseProgram", error) ||
      !resolve(ReleaseCommandQueue, "clReleaseCommandQueue", error) ||
      !resolve(ReleaseContext, "clReleaseContext", error))
    return false;
  // OpenCL 2.1; absent from older loaders.
  CreateProgramWithIL = reinterpret_cast<decltype(CreateProgramWithIL)>(
      dlsym(library_, "clCreateProgramWithIL"));

  // All devices of all platforms, in order; LLAMAC_OPENCL_DEVICE picks one.
  cl_uint platformCount = 0;
  if (GetPlatformIDs(0, nullptr, &platformCount) != CL_SUCCESS ||
      platformCount == 0) {
    *error = "no OpenCL platform found (is an OpenCL driver installed? on "
             "Debian, pocl-opencl-icd provides one for the CPU)";
    return false;
  }
  std::vector<cl_platform_id> platforms(platformCount);
  GetPlatformIDs(platformCount, platforms.data(), nullptr);
  std::vector<std::pair<cl_platform_id, cl_device_id>> devices;
  for (cl_platform_id platform : platforms) {
    cl_uint count = 0;
    if (GetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 0, nullptr, &count) !=
            CL_SUCCESS ||
        count == 0)
      continue;
    std::vector<cl_device_id> ids(count);
    GetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, count, ids.data(), nullptr);
    for (cl_device_id id : ids)
      devices.push_back({platform, id});
  }
  if (devices.empty()) {
    *error = "no OpenCL device found";
    return false;
  }
  size_t index = 0;
  if (const char *chosen = getenv("LLAMAC_OPENCL_DEVICE"); chosen && *chosen) {
    char *end = nullptr;
    long value = strtol(chosen, &end, 10);
    if (*end || value < 0 || static_cast<size_t>(value) >= devices.size()) {
      char text[200];
      snprintf(text, sizeof text,
               "LLAMAC_OPENCL_DEVICE=\"%s\" is not an OpenCL device index "
               "(there are %zu)",
               chosen, devices.size());
      *error = text;
      return false;
    }
    index = static_cast<size_t>(value);
  }
  device_ = devices[index].second;

  cl_int status = 0;
  context_ = CreateContext(nullptr, 1, &device_, nullptr, nullptr, &status);
  if (!check(status, "clCreateContext", error))
    return false;
  queue_ = CreateCommandQueue(context_, device_, 0, &status);
  if (!check(status, "clCreateCommandQueue", error))
    return false;

  char platformName[128] = "";
  GetPlatformInfo(devices[index].first, CL_PLATFORM_NAME, sizeof platformName,
                  platformName, nullptr);
  cl_ulong memory = 0;
  GetDeviceInfo(device_, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof memory, &memory,
                nullptr);
  char text[512];
  snprintf(text, sizeof text, "OpenCL device %zu: %s (%s, %.1f GiB)", index,
           deviceString(CL_DEVICE_NAME).c_str(), platformName,
           static_cast<double>(memory) / (1024.0 * 1024 * 1024));
  description_ = text;
  return true;
}

bool OpenCLDevice::load(const std::vector<Image> &images,
                        const std::vector<std::string> &names,
                        std::string *error) {
  const Image *spirv = nullptr, *bitcode = nullptr;
  for (const Image &image : images) {
    if (image.kind == LLAMAC_GPU_IMAGE_SPIRV)
      spirv = &image;
    else if (image.kind == LLAMAC_GPU_IMAGE_LLVM_BC)
      bitcode = &image;
  }
  bool takesSPIRV =
      CreateProgramWithIL &&
      deviceString(CL_DEVICE_IL_VERSION).find("SPIR-V") != std::string::npos;
  if (const char *force = getenv("LLAMAC_OPENCL_IMAGE")) {
    if (!strcmp(force, "bitcode"))
      takesSPIRV = false;
  }
  cl_int status = 0;
  if (takesSPIRV && spirv) {
    program_ = CreateProgramWithIL(context_, spirv->data, spirv->size, &status);
    if (!check(status, "clCreateProgramWithIL", error))
      return false;
  } else if (bitcode) {
    const unsigned char *data = bitcode->data;
    size_t size = bitcode->size;
    cl_int binaryStatus = 0;
    program_ = CreateProgramWithBinary(context_, 1, &device_, &size, &data,
                                       &binaryStatus, &status);
    if (!check(status, "clCreateProgramWithBinary", error))
      return false;
  } else {
    *error = "the compiled code has no image this OpenCL device takes (it "
             "takes " +
             std::string(takesSPIRV ? "SPIR-V" : "LLVM bitcode") + ")";
    return false;
  }
  status = BuildProgram(program_, 1, &device_, "", nullptr, nullptr);
  if (status != CL_SUCCESS) {
    std::string log(4096, '\0');
    size_t size = 0;
    GetProgramBuildInfo(program_, device_, CL_PROGRAM_BUILD_LOG, log.size(),
                        &log[0], &size);
    log.resize(strlen(log.c_str()));
    char text[96];
    snprintf(text, sizeof text, "OpenCL: clBuildProgram failed with error %d",
             status);
    *error = std::string(text) + (log.empty() ? "" : ": " + log);
    return false;
  }
  for (const std::string &name : names) {
    cl_kernel kernel = CreateKernel(program_, name.c_str(), &status);
    if (status != CL_SUCCESS) {
      *error = "OpenCL: the program has no kernel '" + name + "'";
      return false;
    }
    kernels_.push_back(kernel);
  }
  return true;
}

} // namespace

std::unique_ptr<Device> openOpenCL(std::string *error) {
  std::unique_ptr<OpenCLDevice> device(new OpenCLDevice());
  if (!device->open(error))
    return nullptr;
  return device;
}

} // namespace llamac::runtime::gpu
