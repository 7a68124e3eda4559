//===- llamac-opt.cpp - llamac's mlir-opt
//-----------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file is llamac-opt: MLIR's opt driver with every upstream dialect and
// pass, plus llamac's dialects and passes. It is the tool of the lit tests
// and the quickest way to run one pass on a file.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"
#include "codegen/gpu/Passes.h"
#include "conversions/Passes.h"
#include "dialects/Llama/LlamaDialect.h"
#include "dialects/ONNX/ONNXDialect.h"
#include "dialects/Runtime/RuntimeDialect.h"
#include "passes/Passes.h"

#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  llamac::registerLlamacPasses();
  llamac::registerLlamacConversionPasses();
  llamac::cpu::registerLlamacCPUPasses();
  llamac::gpu::registerLlamacGPUPasses();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<llamac::llama::LlamaDialect, llamac::lrt::RuntimeDialect,
                  llamac::onnx::ONNXDialect>();
  llamac::gpu::registerGPUCodegenDialects(registry);

  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "llamac-opt: llamac's dialects and passes\n", registry));
}
