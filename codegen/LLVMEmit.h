//===- LLVMEmit.h - From the LLVM dialect to machine code -------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the last steps shared by every LLVM-based target:
// translating the LLVM dialect to LLVM IR, optimizing it with LLVM's O3
// pipeline for the target machine, and emitting assembly or an object file.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_LLVMEMIT_H
#define LLAMAC_CODEGEN_LLVMEMIT_H

#include "codegen/Target.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/CodeGen.h"
#include "llvm/Support/Error.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace llamac {

/// Initializes LLVM's targets (once).
void initializeLLVMTargets();

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const Target &target);

/// Translates `module` (LLVM dialect only) to LLVM IR for `machine`. Every
/// defined function except those in `exported` gets internal linkage, so the
/// optimizer may inline and specialise it.
llvm::Expected<std::unique_ptr<llvm::Module>>
translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context,
                  llvm::TargetMachine &machine,
                  llvm::ArrayRef<llvm::StringRef> exported,
                  unsigned fixedVScale = 0);

/// Runs LLVM's O3 pipeline.
void optimizeLLVMIR(llvm::Module &module, llvm::TargetMachine &machine);

/// Emits assembly or an object file.
llvm::Error emitMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                            llvm::CodeGenFileType type,
                            llvm::raw_pwrite_stream &out);

} // namespace llamac

#endif // LLAMAC_CODEGEN_LLVMEMIT_H
