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
#include "llamac/rt.h"
#include "passes/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

using namespace mlir;
using namespace llamac;
using namespace llamac::cpu;

namespace {

/// scf/memref/arith/math (and, through the hooks, other dialects) to the
/// LLVM dialect: the tail every CPU pipeline shares. `beforeArith` adds
/// conversions that must see the math ops lowered (vectors, libm calls),
/// `beforeCasts` those that run on LLVM-typed code (the runtime calls).
void addLoopsToLLVM(OpPassManager &pm,
                    const ConvertFuncToLLVMPassOptions &funcOptions,
                    function_ref<void(OpPassManager &)> beforeArith,
                    function_ref<void(OpPassManager &)> beforeCasts) {
  // Reshaped views (the transposed key cache) to base + offset + strides.
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  beforeArith(pm);
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertFuncToLLVMPass(funcOptions));
  pm.addPass(createConvertControlFlowToLLVMPass());
  beforeCasts(pm);
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

class CPUTarget : public Target {
public:
  CPUTarget(std::string name, std::string description, std::string triple,
            std::string cpu, std::string features, int64_t vectorWidth,
            int64_t vectorRegisters, bool int8Dot)
      : name_(std::move(name)), description_(std::move(description)),
        triple_(std::move(triple)), cpu_(std::move(cpu)),
        features_(std::move(features)), vectorWidth_(vectorWidth),
        vectorRegisters_(vectorRegisters), int8Dot_(int8Dot) {}

  /// The LLAMAC_ISA_* extensions the code needs (checked at start).
  CPUTarget &needs(int64_t isa) {
    isa_ = isa;
    return *this;
  }
  /// AMX int8 tiles for the quantized products of 16 tokens or more;
  /// with `bf16`, AMX-BF16 tiles for the float products too when the
  /// user asks for bf16 products (`--float-precision bf16`).
  CPUTarget &amx(bool bf16) {
    amx_ = true;
    amxBF16_ = bf16;
    return *this;
  }
  /// AVX512-BF16 dot products (vdpbf16ps) for the float products when the
  /// user asks for bf16 products and there is no AMX.
  CPUTarget &bf16Dot() {
    bf16Dot_ = true;
    return *this;
  }
  /// Scalable vectors (SVE, RVV): the streaming kernels are vector-length
  /// agnostic (KernelOptions::scalable); `half`: scalable f16/bf16 vectors
  /// are legal on this ISA.
  CPUTarget &scalable(bool half) {
    scalable_ = true;
    scalableHalf_ = half;
    return *this;
  }
  /// A cross target: its runtime comes from lib/<crossTriple>/ and the
  /// executable is linked statically for it.
  CPUTarget &cross(std::string crossTriple, unsigned vscale,
                   std::string packages) {
    cross_ = std::move(crossTriple);
    vscale_ = vscale;
    packages_ = std::move(packages);
    return *this;
  }

  llvm::StringRef name() const override { return name_; }
  std::string description() const override {
    std::string extras;
    if (int8Dot_)
      extras += ", AVX-512 VNNI int8 dot products";
    if (amx_)
      extras += ", AMX int8 tiles for prefill";
    if (amxBF16_)
      extras += ", AMX bf16 tiles with --float-precision bf16";
    else if (bf16Dot_)
      extras += ", AVX-512 BF16 dot products with --float-precision bf16";
    return llvm::formatv("{0} ({1}, {2}{3}-lane f32 vectors{4})", description_,
                         cpu_, scalable_ ? "vscale x " : "", vectorWidth_,
                         extras);
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
    // With scalable vectors float weights keep their rows: the 16-row
    // interleave is a fixed lane count, the row-wise dot products stream
    // with any vector length.
    packOptions.dense = !scalable_;
    // Without them quantized weights keep their rows (decoded in
    // registers by the f32 kernels).
    packOptions.quantized = int8Dot_ && options.int8Activations;
    pm.addPass(createLlamaPackWeights(packOptions));
  }

  void buildKernelPipeline(OpPassManager &pm,
                           const CodegenOptions &codegen) const override {
    ConvertLlamaToCPUOptions options;
    options.vectorWidth = vectorWidth_;
    // A 4 x 4 tile takes 16 accumulators + 8 operands: right for 32
    // registers; with 16, 2 tokens x 4 rows keeps 8 + 6 in registers.
    options.tokenTile = vectorRegisters_ >= 32 ? 4 : 2;
    options.rowTile = 4;
    options.scalable = scalable_;
    options.scalableHalf = scalableHalf_;
    options.amx = amx_;
    options.amxBF16 = amxBF16_ && codegen.bf16FloatProducts;
    options.bf16Dot = !amxBF16_ && bf16Dot_ && codegen.bf16FloatProducts;
    pm.addPass(createConvertLlamaToCPU(options));
    pm.addPass(createCanonicalizerPass());
    pm.addPass(createCSEPass());
  }

  void buildLLVMPipeline(OpPassManager &pm) const override {
    pm.addPass(createLlamacApproximateMath());
    addLoopsToLLVM(
        pm, ConvertFuncToLLVMPassOptions(),
        [&](OpPassManager &pm) {
          pm.addPass(createConvertMathToLLVMPass());
          ConvertVectorToLLVMPassOptions vectorOptions;
          // amx.tile_* ops to the llvm.x86.*.internal intrinsics, whose
          // tile configuration (ldtilecfg) LLVM's backend inserts.
          vectorOptions.amx = amx_;
          pm.addPass(createConvertVectorToLLVMPass(vectorOptions));
        },
        [](OpPassManager &pm) {
          pm.addPass(llamac::createConvertRuntimeToLLVM());
        });
  }

  std::vector<std::string> runtimeLibraries() const override {
    std::string dir = cross_.empty() ? "" : cross_ + "/";
    return {dir + "libllamac_runtime_main.a", dir + "libllamac_runtime.a",
            dir + "libllamac_tokenizer.a"};
  }
  std::vector<std::string> linkFlags() const override {
    if (!cross_.empty())
      return {"--target=" + cross_, "-static", "-lm", "-lpthread"};
    return {"-static-libstdc++", "-static-libgcc", "-lm", "-lpthread"};
  }
  bool isHost() const override { return cross_.empty(); }
  unsigned fixedVScale() const override { return vscale_; }
  int64_t requiredISA(const CodegenOptions &options) const override {
    if (!options.bf16FloatProducts)
      return isa_;
    return isa_ | (amxBF16_ ? LLAMAC_ISA_AMX_BF16 : LLAMAC_ISA_AVX512_BF16);
  }
  std::string unsupported(const CodegenOptions &options) const override {
    if (options.bf16FloatProducts && !amxBF16_ && !bf16Dot_)
      return "--float-precision bf16 needs AMX bf16 tiles or AVX-512 BF16, "
             "which target '" +
             name_ +
             "' has not (use --target cpu-amx or cpu-avx512-bf16, or cpu "
             "on a CPU with either)";
    return "";
  }
  std::string setupHint() const override {
    if (cross_.empty())
      return "";
    return "install Debian's " + packages_ +
           " (scripts/install-deps.sh does) and rebuild llamac, which then "
           "builds the " +
           cross_ + " runtime";
  }

private:
  std::string name_, description_, triple_, cpu_, features_;
  int64_t vectorWidth_, vectorRegisters_;
  bool int8Dot_;
  bool scalable_ = false, scalableHalf_ = true, amx_ = false, amxBF16_ = false,
       bf16Dot_ = false;
  std::string cross_, packages_;
  unsigned vscale_ = 0;
  int64_t isa_ = 0;
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
  auto add = [&](std::unique_ptr<CPUTarget> target) -> CPUTarget & {
    CPUTarget &ref = *target;
    registry.add(std::move(target));
    return ref;
  };
  bool vnni = triple.isX86() && has("avx512f") && has("avx512vnni");
  bool amx = vnni && has("amx-tile") && has("amx-int8");
  int64_t hostISA = 0;
  if (triple.isX86())
    hostISA = (width >= 8 ? LLAMAC_ISA_AVX2 : 0) |
              (width >= 16 ? LLAMAC_ISA_AVX512 : 0) |
              (vnni ? LLAMAC_ISA_AVX512_VNNI : 0) |
              (amx ? LLAMAC_ISA_AMX_INT8 : 0);
  CPUTarget &hostTarget = add(std::make_unique<CPUTarget>(
      "cpu", "this machine's CPU", host, llvm::sys::getHostCPUName().str(),
      hostFeatures(), width, registers, vnni));
  hostTarget.needs(hostISA);
  if (amx)
    hostTarget.amx(has("amx-bf16"));
  if (vnni && has("avx512bf16"))
    hostTarget.bf16Dot();

  if (triple.isX86()) {
    add(std::make_unique<CPUTarget>("cpu-generic", "any x86-64 CPU (SSE2)",
                                    host, "x86-64", "", 4, 16, false));
    add(std::make_unique<CPUTarget>("cpu-avx2", "x86-64 with AVX2 and FMA",
                                    host, "x86-64-v3", "", 8, 16, false))
        .needs(LLAMAC_ISA_AVX2);
    add(std::make_unique<CPUTarget>("cpu-avx512",
                                    "x86-64 with AVX-512 (F, BW, DQ, VL)", host,
                                    "x86-64-v4", "", 16, 32, false))
        .needs(LLAMAC_ISA_AVX2 | LLAMAC_ISA_AVX512);
    add(std::make_unique<CPUTarget>(
            "cpu-avx512-vnni", "x86-64 with AVX-512 and VNNI (Ice Lake, Zen 4)",
            host, "x86-64-v4", "+avx512vnni", 16, 32, true))
        .needs(LLAMAC_ISA_AVX2 | LLAMAC_ISA_AVX512 | LLAMAC_ISA_AVX512_VNNI);
    add(std::make_unique<CPUTarget>(
            "cpu-avx512-bf16",
            "x86-64 with AVX-512, VNNI and BF16 (Zen 4, Cooper Lake)", host,
            "x86-64-v4", "+avx512vnni,+avx512bf16", 16, 32, true))
        .needs(LLAMAC_ISA_AVX2 | LLAMAC_ISA_AVX512 | LLAMAC_ISA_AVX512_VNNI |
               LLAMAC_ISA_AVX512_BF16)
        .bf16Dot();
    add(std::make_unique<CPUTarget>(
            "cpu-amx", "x86-64 with AVX-512, VNNI and AMX (Sapphire Rapids)",
            host, "x86-64-v4", "+avx512vnni,+amx-tile,+amx-int8,+amx-bf16", 16,
            32, true))
        .needs(LLAMAC_ISA_AVX2 | LLAMAC_ISA_AVX512 | LLAMAC_ISA_AVX512_VNNI |
               LLAMAC_ISA_AMX_INT8)
        .amx(/*bf16=*/true);
  }

  // Cross targets, run here under qemu-user (docs/adding-a-backend.md).
  // NEON: fixed 4-lane vectors. SVE and RVV: vector-length agnostic code,
  // the streaming kernels on vector<[4]xf32> (one SVE register of any
  // length; an RVV LMUL-2 group of any VLEN) and the fixed-lane kernels on
  // 4 lanes, which every SVE (as NEON) and every RVV (VLEN >= 128) holds.
  std::string arm64 = "libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross";
  std::string riscv64 =
      "libc6-dev-riscv64-cross libstdc++-12-dev-riscv64-cross";
  auto crossTarget = [&](const char *name, const char *description,
                         const char *llvmTriple, const char *cpu,
                         const char *features, int64_t lanes,
                         int64_t registers) -> CPUTarget & {
    return add(std::make_unique<CPUTarget>(name, description, llvmTriple, cpu,
                                           features, lanes, registers, false));
  };
  crossTarget("aarch64-neon", "AArch64 Linux with NEON (Neoverse N1)",
              "aarch64-unknown-linux-gnu", "neoverse-n1", "+neon", 4, 32)
      .cross("aarch64-linux-gnu", 0, arm64);
  crossTarget("aarch64-sve",
              "AArch64 Linux with SVE of any vector length (Neoverse V1)",
              "aarch64-unknown-linux-gnu", "neoverse-v1", "+sve", 4, 32)
      .scalable(/*half=*/true)
      .cross("aarch64-linux-gnu", 0, arm64)
      .needs(LLAMAC_ISA_SVE);
  crossTarget("riscv64-rvv", "RISC-V 64 Linux with V and Zfhmin (RVA22 + V)",
              "riscv64-unknown-linux-gnu", "generic-rv64",
              "+64bit,+m,+a,+f,+d,+c,+v,+zfhmin", 4, 16)
      .scalable(/*half=*/false)
      .cross("riscv64-linux-gnu", 0, riscv64)
      .needs(LLAMAC_ISA_RVV);
}

namespace {
/// memref.copy between buffers of any layout lowers to a call into MLIR's
/// C runner library (memrefCopy), which executables do not link: copies
/// become linalg.copy, then loops.
struct CopiesToLinalg
    : public PassWrapper<CopiesToLinalg, OperationPass<ModuleOp>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(CopiesToLinalg)
  StringRef getArgument() const override { return "llamac-copies-to-linalg"; }
  void getDependentDialects(DialectRegistry &registry) const override {
    registry.insert<linalg::LinalgDialect>();
  }
  void runOnOperation() override {
    SmallVector<memref::CopyOp> copies;
    getOperation().walk([&](memref::CopyOp copy) { copies.push_back(copy); });
    for (memref::CopyOp copy : copies) {
      OpBuilder b(copy);
      linalg::CopyOp::create(b, copy.getLoc(), copy.getSource(),
                             copy.getTarget());
      copy.erase();
    }
  }
};
} // namespace

void llamac::cpu::buildGraphLLVMPipeline(OpPassManager &pm) {
  pm.addPass(createLinalgElementwiseOpFusionPass());
  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = false;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(std::make_unique<CopiesToLinalg>());
  pm.addPass(createConvertLinalgToLoopsPass());
  pm.addPass(createCanonicalizerPass());
  ConvertFuncToLLVMPassOptions func;
  func.useBarePtrCallConv = true;
  addLoopsToLLVM(
      pm, func,
      [](OpPassManager &pm) {
        pm.addPass(createConvertMathToLibmPass());
        pm.addPass(createConvertMathToLLVMPass());
      },
      [](OpPassManager &) {});
}

void llamac::cpu::registerGraphInterfaces(DialectRegistry &registry) {
  arith::registerBufferizableOpInterfaceExternalModels(registry);
  linalg::registerBufferizableOpInterfaceExternalModels(registry);
  tensor::registerBufferizableOpInterfaceExternalModels(registry);
}
