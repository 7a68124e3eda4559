//===- ONNXDialect.cpp - The onnx dialect ---------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file registers the `onnx` dialect's ops, all generated from ODS.
//
//===----------------------------------------------------------------------===//

#include "dialects/ONNX/ONNXDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

using namespace mlir;
using namespace llamac::onnx;

#include "dialects/ONNX/ONNXDialect.cpp.inc"

void ONNXDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "dialects/ONNX/ONNXOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "dialects/ONNX/ONNXOps.cpp.inc"
