//===- RuntimeToLLVM.h - lrt to LLVM conversion -----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the patterns that lower the `lrt` dialect to the LLVM
// dialect (calls of the runtime's C functions).
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CONVERSIONS_RUNTIMETOLLVM_RUNTIMETOLLVM_H
#define LLAMAC_CONVERSIONS_RUNTIMETOLLVM_RUNTIMETOLLVM_H

namespace mlir {
class LLVMTypeConverter;
class RewritePatternSet;
} // namespace mlir

namespace llamac {

/// Adds the lowering of lrt.parallel_for. The task functions must already be
/// llvm.func ops.
void populateRuntimeToLLVMPatterns(mlir::LLVMTypeConverter &converter,
                                   mlir::RewritePatternSet &patterns);

} // namespace llamac

#endif // LLAMAC_CONVERSIONS_RUNTIMETOLLVM_RUNTIMETOLLVM_H
