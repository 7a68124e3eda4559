//===- LlamaDialect.h - The llama dialect -----------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the `llama` dialect class. Include LlamaOps.h for the
// ops, attributes and types.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_LLAMA_LLAMADIALECT_H
#define LLAMAC_DIALECTS_LLAMA_LLAMADIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/Llama/LlamaDialect.h.inc"

#endif // LLAMAC_DIALECTS_LLAMA_LLAMADIALECT_H
