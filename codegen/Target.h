//===- Target.h - What a llamac target provides -----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the interface every code generation target implements
// and the registry the driver looks targets up in. A target names itself,
// says which LLVM machine it generates code for, builds the pass pipeline
// from the laid-out `llama` module to the LLVM dialect, and names the runtime
// libraries an executable links. Adding a backend is one folder implementing
// this interface and one registration call in registerAllTargets.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_TARGET_H
#define LLAMAC_CODEGEN_TARGET_H

#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>
#include <vector>

namespace llamac {

/// Choices the user makes for every target.
struct CodegenOptions {
  /// Multiply quantized weights with activations quantized to 8 bits per
  /// block of 32 where the target has 8-bit dot products (faster, and
  /// within ~1% of f32, as llama.cpp does), instead of in f32.
  bool int8Activations = true;
  /// Multiply float weights (f32, f16, bf16) with the activations of a
  /// prompt in bf16 tiles (both rounded to bf16, sums in f32) where the
  /// target has them (AMX-BF16, AVX512-BF16): `--float-precision bf16`.
  /// Off, every float product is computed in f32.
  bool bf16FloatProducts = false;
};

class Target {
public:
  virtual ~Target() = default;

  /// The name `--target` takes.
  virtual llvm::StringRef name() const = 0;
  /// One line for `llamac targets`.
  virtual std::string description() const = 0;

  /// The LLVM machine the code is generated for.
  virtual std::string triple() const = 0;
  virtual std::string cpu() const = 0;
  virtual std::string features() const = 0;

  /// Target-specific passes on the llama module before its weights are laid
  /// out: how the target wants its weights packed.
  virtual void buildModelPipeline(mlir::OpPassManager &pm,
                                  const CodegenOptions &options) const {}

  /// Lowers the laid-out llama module to the target's kernel level
  /// (`--emit kernels`).
  virtual void buildKernelPipeline(mlir::OpPassManager &pm,
                                   const CodegenOptions &options) const = 0;
  /// Lowers the kernel level to the LLVM dialect (`--emit llvm-mlir`).
  virtual void buildLLVMPipeline(mlir::OpPassManager &pm) const = 0;

  /// Static libraries of the runtime (file names in the runtime library
  /// directory) an executable links, in link order.
  virtual std::vector<std::string> runtimeLibraries() const = 0;
  /// Extra linker flags of an executable.
  virtual std::vector<std::string> linkFlags() const = 0;

  /// Whether the code runs on the machine that compiles it (the sanitizer
  /// build's runtime, for one, exists only for the host).
  virtual bool isHost() const { return true; }
  /// For a scalable-vector ISA compiled for one vector length: the vscale
  /// (vector length / 128 bits on AArch64 SVE, / 64 on RISC-V V) every
  /// function assumes (LLVM's vscale_range), or 0.
  virtual unsigned fixedVScale() const { return 0; }
  /// LLAMAC_ISA_* bits (llamac/rt.h) of the extensions the code needs; the
  /// runtime refuses to start without them.
  virtual int64_t requiredISA(const CodegenOptions &options) const { return 0; }
  /// Why this target cannot honour `options` (an error message naming the
  /// option), or "" when it can.
  virtual std::string unsupported(const CodegenOptions &options) const {
    return options.bf16FloatProducts
               ? "--float-precision bf16 needs a CPU target with bf16 "
                 "products (cpu-amx, cpu-avx512-bf16)"
               : "";
  }
  /// What to install when the target's runtime libraries are missing.
  virtual std::string setupHint() const { return ""; }

  /// Whether the fusion pass `pass` (llama-fuse-projections, -norm,
  /// -swiglu, -residual, -rope) runs for this target: its kernels take the
  /// fused ops that pass writes.
  virtual bool supportsFusion(llvm::StringRef pass) const { return true; }
  /// The symbols the generated object exports to the runtime (everything
  /// else is internal).
  virtual std::vector<std::string> exportedSymbols() const {
    return {"_mlir_ciface_llamac_forward", "llamac_model_info"};
  }
  /// LLAMAC_DEVICE_* (llamac/rt.h): where the forward pass runs.
  virtual int64_t device() const { return 0; }
};

/// Every target llamac was built with.
class TargetRegistry {
public:
  static TargetRegistry &get();
  void add(std::unique_ptr<Target> target);
  const Target *lookup(llvm::StringRef name) const;
  const std::vector<std::unique_ptr<Target>> &targets() const {
    return targets_;
  }

private:
  std::vector<std::unique_ptr<Target>> targets_;
};

/// Registers the built-in targets (once).
void registerAllTargets();

} // namespace llamac

#endif // LLAMAC_CODEGEN_TARGET_H
