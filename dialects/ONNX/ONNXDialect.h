//===- ONNXDialect.h - The onnx dialect -------------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the `onnx` dialect and its ops (see ONNXBase.td).
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_ONNX_ONNXDIALECT_H
#define LLAMAC_DIALECTS_ONNX_ONNXDIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "dialects/ONNX/ONNXDialect.h.inc"

#define GET_OP_CLASSES
#include "dialects/ONNX/ONNXOps.h.inc"

#endif // LLAMAC_DIALECTS_ONNX_ONNXDIALECT_H
