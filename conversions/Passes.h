//===- Passes.h - llamac's dialect conversions ------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the conversion passes of conversions/Passes.td.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CONVERSIONS_PASSES_H
#define LLAMAC_CONVERSIONS_PASSES_H

#include "conversions/RuntimeToLLVM/RuntimeToLLVM.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace llamac {

#define GEN_PASS_DECL
#include "conversions/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "conversions/Passes.h.inc"

} // namespace llamac

#endif // LLAMAC_CONVERSIONS_PASSES_H
