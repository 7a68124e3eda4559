//===- CPUTarget.h - The CPU targets ----------------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the CPU targets: `cpu` (the host, with every feature it
// has), and fixed x86-64 levels for shipping to other machines
// (`cpu-generic`, `cpu-avx2`, `cpu-avx512`).
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_CPU_CPUTARGET_H
#define LLAMAC_CODEGEN_CPU_CPUTARGET_H

#include "codegen/Target.h"

namespace llamac::cpu {

void registerCPUTargets(TargetRegistry &registry);

/// The lowering of a tensor function (onnx-lower-graph's `@llamac_graph`:
/// linalg on tensors, static shapes) to the LLVM dialect: one-shot
/// bufferization, buffer deallocation, loops, then the upstream conversions;
/// memrefs are passed as bare pointers.
void buildGraphLLVMPipeline(mlir::OpPassManager &pm);

/// Registers the bufferization models that pipeline needs.
void registerGraphInterfaces(mlir::DialectRegistry &registry);

} // namespace llamac::cpu

#endif // LLAMAC_CODEGEN_CPU_CPUTARGET_H
