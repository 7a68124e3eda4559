//===- LLVMEmit.cpp - From the LLVM dialect to machine code ---------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the translation to LLVM IR, the O3 pipeline and code
// emission through the target machine.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLVMEmit.h"

#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Triple.h"

using namespace llamac;
using llvm::createStringError;

void llamac::initializeLLVMTargets() {
  static bool initialized = [] {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
    llvm::InitializeAllAsmParsers();
    return true;
  }();
  (void)initialized;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
llamac::createTargetMachine(const Target &target) {
  initializeLLVMTargets();
  llvm::Triple triple(target.triple());
  std::string error;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return createStringError("target '%s': %s", target.triple().c_str(),
                             error.c_str());
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> machine(llvmTarget->createTargetMachine(
      triple, target.cpu(), target.features(), options, llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return createStringError("cannot create a target machine for '%s'",
                             target.triple().c_str());
  return machine;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
llamac::translateToLLVMIR(mlir::ModuleOp module, llvm::LLVMContext &context,
                          llvm::TargetMachine &machine,
                          llvm::ArrayRef<llvm::StringRef> exported,
                          unsigned fixedVScale) {
  mlir::registerBuiltinDialectTranslation(*module.getContext());
  mlir::registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      mlir::translateModuleToLLVMIR(module, context, "llamac_model");
  if (!llvmModule)
    return createStringError("translation to LLVM IR failed");
  llvmModule->setDataLayout(machine.createDataLayout());
  llvmModule->setTargetTriple(machine.getTargetTriple());

  llvm::StringSet<> keep;
  for (llvm::StringRef name : exported)
    keep.insert(name);
  for (llvm::Function &function : *llvmModule) {
    if (function.isDeclaration())
      continue;
    if (!keep.contains(function.getName()))
      function.setLinkage(llvm::GlobalValue::InternalLinkage);
    // Fixed-width vectors wider than 128 bits become SVE code only when the
    // backend knows the vector length.
    if (fixedVScale)
      function.addFnAttr(llvm::Attribute::getWithVScaleRangeArgs(
          context, fixedVScale, fixedVScale));
  }
  for (llvm::GlobalVariable &global : llvmModule->globals())
    if (!global.isDeclaration() && !keep.contains(global.getName()))
      global.setLinkage(llvm::GlobalValue::InternalLinkage);
  return llvmModule;
}

void llamac::optimizeLLVMIR(llvm::Module &module,
                            llvm::TargetMachine &machine) {
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager cgscc;
  llvm::ModuleAnalysisManager modules;
  llvm::PipelineTuningOptions tuning;
  tuning.LoopUnrolling = true;
  tuning.LoopVectorization = true;
  tuning.SLPVectorization = true;
  llvm::PassBuilder builder(&machine, tuning);
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(cgscc);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, cgscc, modules);
  llvm::ModulePassManager pipeline =
      builder.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  pipeline.run(module, modules);
}

llvm::Error llamac::emitMachineCode(llvm::Module &module,
                                    llvm::TargetMachine &machine,
                                    llvm::CodeGenFileType type,
                                    llvm::raw_pwrite_stream &out) {
  llvm::legacy::PassManager passes;
  if (machine.addPassesToEmitFile(passes, out, nullptr, type))
    return createStringError("the target machine cannot emit this file type");
  passes.run(module);
  return llvm::Error::success();
}
