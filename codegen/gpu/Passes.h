//===- Passes.h - Passes of the GPU targets ---------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the passes of the GPU code generators (Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_GPU_PASSES_H
#define LLAMAC_CODEGEN_GPU_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir {
class DialectRegistry;
}

namespace llamac::gpu {

#define GEN_PASS_DECL
#include "codegen/gpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/gpu/Passes.h.inc"

/// The dialects and translations the GPU targets need in a context.
void registerGPUCodegenDialects(mlir::DialectRegistry &registry);

} // namespace llamac::gpu

#endif // LLAMAC_CODEGEN_GPU_PASSES_H
