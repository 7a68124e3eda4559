//===- LlamaOps.h - Ops, attributes and types of llama ---------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares everything the `llama` dialect defines: its enums, the
// quantization scheme and rotary scaling attributes, the `!llama.qtensor`
// type and the ops.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_LLAMA_LLAMAOPS_H
#define LLAMAC_DIALECTS_LLAMA_LLAMAOPS_H

#include "dialects/Llama/LlamaDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <vector>

#include "dialects/Llama/LlamaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Llama/LlamaAttrs.h.inc"

#define GET_TYPEDEF_CLASSES
#include "dialects/Llama/LlamaTypes.h.inc"

#define GET_OP_CLASSES
#include "dialects/Llama/LlamaOps.h.inc"

#endif // LLAMAC_DIALECTS_LLAMA_LLAMAOPS_H
