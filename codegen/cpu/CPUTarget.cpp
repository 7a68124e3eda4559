//===- CPUTarget.cpp - The CPU targets ------------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the CPU targets. They share one pipeline:
// convert-llama-to-cpu with register tiles sized for the vector unit, then
// the upstream lowering of scf/vector/memref/arith/math to the LLVM dialect,
// and convert-lrt-to-llvm for the calls into the runtime's thread pool.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/CPUTarget.h"
#include "codegen/cpu/Passes.h"
#include "conversions/Passes.h"
#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace llamac;
using namespace llamac::cpu;

namespace {

class CPUTarget : public Target {
public:
  CPUTarget(std::string name, std::string description, std::string triple,
            std::string cpu, std::string features, int64_t vectorWidth,
            int64_t vectorRegisters, bool int8Dot)
      : name_(std::move(name)), description_(std::move(description)),
        triple_(std::move(triple)), cpu_(std::move(cpu)),
        features_(std::move(features)), vectorWidth_(vectorWidth),
        vectorRegisters_(vectorRegisters), int8Dot_(int8Dot) {}

  llvm::StringRef name() const override { return name_; }
  std::string description() const override {
    return llvm::formatv("{0} ({1}, {2}-lane f32 vectors{3})", description_,
                         cpu_, vectorWidth_,
                         int8Dot_ ? ", AVX-512 VNNI int8 dot products" : "");
  }
  std::string triple() const override { return triple_; }
  std::string cpu() const override { return cpu_; }
  std::string features() const override { return features_; }

  void buildModelPipeline(OpPassManager &pm,
                          const CodegenOptions &options) const override {
    // Float weights are packed 16 rows at a time for linearPacked; with
    // 8-bit dot products, quantized weights too, for linearInt8.
    LlamaPackWeightsOptions packOptions;
    packOptions.packing = llama::WeightPacking::R16;
    packOptions.dense = true;
    // Without them quantized weights keep their rows (decoded in
    // registers by the f32 kernels).
    packOptions.quantized = int8Dot_ && options.int8Activations;
    pm.addPass(createLlamaPackWeights(packOptions));
  }

  void buildKernelPipeline(OpPassManager &pm) const override {
    ConvertLlamaToCPUOptions options;
    options.vectorWidth = vectorWidth_;
    // A 4 x 4 tile takes 16 accumulators + 8 operands: right for 32
    // registers; with 16, 2 tokens x 4 rows keeps 8 + 6 in registers.
    options.tokenTile = vectorRegisters_ >= 32 ? 4 : 2;
    options.rowTile = 4;
    pm.addPass(createConvertLlamaToCPU(options));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  void buildLLVMPipeline(OpPassManager &pm) const override {
    pm.addPass(createLlamacApproximateMath());
    // Reshaped views (the transposed key cache) to base + offset + strides.
    pm.addPass(memref::createExpandStridedMetadataPass());
    pm.addPass(createLowerAffinePass());
    pm.addPass(createSCFToControlFlowPass());
    pm.addPass(createConvertMathToLLVMPass());
    pm.addPass(createConvertVectorToLLVMPass());
    pm.addPass(createArithToLLVMConversionPass());
    pm.addPass(createConvertIndexToLLVMPass());
    pm.addPass(createFinalizeMemRefToLLVMConversionPass());
    pm.addPass(createConvertFuncToLLVMPass());
    pm.addPass(createConvertControlFlowToLLVMPass());
    pm.addPass(llamac::createConvertRuntimeToLLVM());
    pm.addPass(createUBToLLVMConversionPass());
    pm.addPass(createReconcileUnrealizedCastsPass());
    pm.addPass(createCanonicalizerPass());
  }

  std::vector<std::string> runtimeLibraries() const override {
    return {"libllamac_runtime_main.a", "libllamac_runtime.a",
            "libllamac_tokenizer.a"};
  }
  std::vector<std::string> linkFlags() const override {
    return {"-static-libstdc++", "-static-libgcc", "-lm", "-lpthread"};
  }

private:
  std::string name_, description_, triple_, cpu_, features_;
  int64_t vectorWidth_, vectorRegisters_;
  bool int8Dot_;
};

/// The host's features as an LLVM feature string ("+avx2,+fma,-amx-tile").
std::string hostFeatures() {
  std::string features;
  for (const auto &[name, enabled] : llvm::sys::getHostCPUFeatures()) {
    if (!features.empty())
      features += ",";
    features += (enabled ? "+" : "-") + name.str();
  }
  return features;
}

} // namespace

void llamac::cpu::registerCPUTargets(TargetRegistry &registry) {
  std::string host = llvm::sys::getDefaultTargetTriple();
  llvm::Triple triple(host);
  llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
  auto has = [&](llvm::StringRef f) {
    auto it = features.find(f);
    return it != features.end() && it->second;
  };
  int64_t width = 4, registers = 16;
  if (triple.isX86()) {
    if (has("avx512f")) {
      width = 16;
      registers = 32;
    } else if (has("avx")) {
      width = 8;
    }
  } else if (triple.isAArch64()) {
    registers = 32;
  }
  registry.add(std::make_unique<CPUTarget>(
      "cpu", "this machine's CPU", host, llvm::sys::getHostCPUName().str(),
      hostFeatures(), width, registers,
      triple.isX86() && has("avx512f") && has("avx512vnni")));

  if (triple.isX86()) {
    registry.add(std::make_unique<CPUTarget>("cpu-generic",
                                             "any x86-64 CPU (SSE2)", host,
                                             "x86-64", "", 4, 16, false));
    registry.add(std::make_unique<CPUTarget>("cpu-avx2",
                                             "x86-64 with AVX2 and FMA", host,
                                             "x86-64-v3", "", 8, 16, false));
    registry.add(std::make_unique<CPUTarget>(
        "cpu-avx512", "x86-64 with AVX-512 (F, BW, DQ, VL)", host, "x86-64-v4",
        "", 16, 32, false));
    registry.add(std::make_unique<CPUTarget>(
        "cpu-avx512-vnni", "x86-64 with AVX-512 and VNNI (Ice Lake, Zen 4)",
        host, "x86-64-v4", "+avx512vnni", 16, 32, true));
  }
}
