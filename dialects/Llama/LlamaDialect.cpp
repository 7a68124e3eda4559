//===- LlamaDialect.cpp - The llama dialect -------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file registers the ops, attributes and types of the `llama` dialect.
//
//===----------------------------------------------------------------------===//

#include "dialects/Llama/LlamaDialect.h"
#include "dialects/Llama/LlamaOps.h"

#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llamac::llama;

#include "dialects/Llama/LlamaDialect.cpp.inc"

void LlamaDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Llama/LlamaOps.cpp.inc"
      >();
  registerAttributes();
  registerTypes();
}
