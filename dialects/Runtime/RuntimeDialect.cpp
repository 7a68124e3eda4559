//===- RuntimeDialect.cpp - The lrt dialect -------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the `lrt` dialect: registration and the verifier of
// `lrt.parallel_for` against the task function it names.
//
//===----------------------------------------------------------------------===//

#include "dialects/Runtime/RuntimeDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/Interfaces/FunctionInterfaces.h"

using namespace mlir;
using namespace llamac::lrt;

#include "dialects/Runtime/RuntimeDialect.cpp.inc"

void RuntimeDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/Runtime/RuntimeOps.cpp.inc"
      >();
}

LogicalResult
ParallelForOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  auto function = symbolTable.lookupNearestSymbolFrom<FunctionOpInterface>(
      *this, getTaskAttr());
  if (!function)
    return emitOpError() << "task " << getTaskAttr()
                         << " is not a function in scope";
  // After conversion to the LLVM dialect the task's signature is no longer
  // in terms of the argument types; it is checked while it still is.
  auto task = dyn_cast<func::FuncOp>(function.getOperation());
  if (!task)
    return success();
  FunctionType type = task.getFunctionType();
  if (type.getNumResults() != 0)
    return emitOpError("task function must not return values");
  auto index = IndexType::get(getContext());
  if (type.getNumInputs() != getArgs().size() + 2 ||
      type.getInput(0) != index || type.getInput(1) != index)
    return emitOpError("task function must take (index, index) followed by "
                       "the types of the arguments");
  for (auto [i, arg] : llvm::enumerate(getArgs()))
    if (type.getInput(i + 2) != arg.getType())
      return emitOpError() << "argument " << i << " has type " << arg.getType()
                           << " but the task expects " << type.getInput(i + 2);
  return success();
}

#define GET_OP_CLASSES
#include "dialects/Runtime/RuntimeOps.cpp.inc"
