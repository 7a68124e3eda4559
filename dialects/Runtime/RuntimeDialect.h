//===- RuntimeDialect.h - The lrt dialect -----------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the `lrt` dialect and its ops.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_RUNTIME_RUNTIMEDIALECT_H
#define LLAMAC_DIALECTS_RUNTIME_RUNTIMEDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"

#include "dialects/Runtime/RuntimeDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/Runtime/RuntimeOps.h.inc"

#endif // LLAMAC_DIALECTS_RUNTIME_RUNTIMEDIALECT_H
