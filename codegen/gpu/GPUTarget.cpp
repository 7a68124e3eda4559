//===- GPUTarget.cpp - The GPU targets ------------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the GPU targets. Their executables are ordinary host
// executables: the host object holds no code, only the launch program and
// the device images (llamac/rt.h), and the runtime's GPU executor
// (libllamac_gpu.a) replays the program through the CUDA driver API or
// OpenCL, both opened with dlopen when the executable starts.
//
//===----------------------------------------------------------------------===//

#include "codegen/gpu/GPUTarget.h"
#include "codegen/gpu/Passes.h"
#include "llamac/rt.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/Host.h"

using namespace mlir;
using namespace llamac;
using namespace llamac::gpu;

namespace {

class GPUTarget : public Target {
public:
  GPUTarget(std::string name, std::string description, int64_t device,
            std::vector<int64_t> chips)
      : name_(std::move(name)), description_(std::move(description)),
        device_(device), chips_(std::move(chips)) {}

  llvm::StringRef name() const override { return name_; }
  std::string description() const override { return description_; }
  // The host object is data only: any CPU of the host's architecture.
  std::string triple() const override {
    return llvm::sys::getDefaultTargetTriple();
  }
  std::string cpu() const override { return "generic"; }
  std::string features() const override { return ""; }

  // Kernels read weights in their canonical rows (no packing); of the
  // fused forms they take the residual added as a product stores.
  bool supportsFusion(llvm::StringRef pass) const override {
    return pass == "llama-fuse-residual";
  }

  void buildKernelPipeline(OpPassManager &pm,
                           const CodegenOptions &) const override {
    pm.addPass(createConvertLlamaToGPU());
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  void buildLLVMPipeline(OpPassManager &pm) const override {
    bool cuda = device_ == LLAMAC_DEVICE_CUDA;
    std::string chips;
    for (int64_t chip : chips_)
      chips += (chips.empty() ? "" : ",") + std::to_string(chip);
    std::string pipeline =
        cuda ? "llamac-gpu-prepare{api=cuda},"
               "gpu.module(convert-scf-to-cf,"
               "convert-gpu-to-nvvm{index-bitwidth=64}),"
               "reconcile-unrealized-casts,"
               "llamac-gpu-serialize{api=cuda chips=" +
                   chips + "}"
             : "llamac-gpu-prepare{api=opencl},"
               "gpu.module(convert-math-to-spirv),"
               "convert-gpu-to-spirv{use-64bit-index=true},"
               "gpu.module(spirv.module(spirv-lower-abi-attrs,"
               "spirv-update-vce)),"
               "llamac-gpu-serialize{api=opencl}";
    // The upstream conversions are named in the pipeline text (their
    // options are not all reachable from C++); registering twice is fine.
    static bool registered = [] {
      registerConversionPasses();
      spirv::registerSPIRVPasses();
      registerLlamacGPUPasses();
      return true;
    }();
    (void)registered;
    if (failed(parsePassPipeline(pipeline, pm)))
      llvm::report_fatal_error("invalid GPU pass pipeline: " +
                               llvm::StringRef(pipeline));
  }

  std::vector<std::string> runtimeLibraries() const override {
    return {"libllamac_runtime_main.a", "libllamac_runtime.a",
            "libllamac_gpu.a", "libllamac_tokenizer.a"};
  }
  std::vector<std::string> linkFlags() const override {
    return {"-static-libstdc++", "-static-libgcc", "-lm", "-lpthread", "-ldl"};
  }
  std::vector<std::string> exportedSymbols() const override {
    return {"llamac_model_info",           "llamac_gpu_program",
            "llamac_gpu_rope_frequencies", "llamac_gpu_kernel_names",
            "llamac_gpu_images",           "llamac_gpu_image_data",
            "llamac_gpu_uses_executor"};
  }
  int64_t device() const override { return device_; }

private:
  std::string name_, description_;
  int64_t device_;
  std::vector<int64_t> chips_;
};

} // namespace

void llamac::gpu::registerGPUTargets(TargetRegistry &registry) {
  registry.add(std::make_unique<GPUTarget>(
      "cuda-sm80",
      "NVIDIA GPUs from Ampere (sm_80 cubin + PTX; CUDA driver at run time)",
      LLAMAC_DEVICE_CUDA, std::vector<int64_t>{80}));
  registry.add(std::make_unique<GPUTarget>(
      "cuda-sm90",
      "NVIDIA Hopper GPUs (sm_90 cubin + PTX; CUDA driver at run time)",
      LLAMAC_DEVICE_CUDA, std::vector<int64_t>{90}));
  registry.add(std::make_unique<GPUTarget>(
      "opencl-spirv",
      "OpenCL devices (SPIR-V, or LLVM bitcode for PoCL; libOpenCL at run "
      "time)",
      LLAMAC_DEVICE_OPENCL, std::vector<int64_t>{}));
}
