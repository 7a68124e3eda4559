//===- WeightsLayout.h - Where weights live in the blob ---------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file names the attributes by which llama-layout-weights tells the
// weights writer and the code generators where each parameter lives.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_PASSES_WEIGHTSLAYOUT_H
#define LLAMAC_PASSES_WEIGHTSLAYOUT_H

#include "mlir/IR/Types.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>

namespace llamac {

/// On llama.param: the byte offset of its data in the weights region.
constexpr llvm::StringLiteral kOffsetAttr = "llamac.offset";
/// On a llama.param: its rows are the stored matrix's columns from this one
/// on (an ONNX MatMul weight [K, N] read as [N', K] rows).
constexpr llvm::StringLiteral kTransposeFromAttr = "llamac.transpose_from";
/// On a llama.param: its rows are the stored tensor's rows from this one on
/// (one of the Q, K, V blocks of a packed MatMulNBits weight).
constexpr llvm::StringLiteral kRowsFromAttr = "llamac.rows_from";
/// On a llama.param of !llama.qtensor type (q4_0 or q4_1): the param is an
/// ONNX MatMulNBits weight, repacked into that format when the weights are
/// written. A dictionary: `scales` and, when present, `zero_points` (the
/// initializers' names), and `block_size`.
constexpr llvm::StringLiteral kMatMulNBitsAttr = "llamac.matmul_nbits";
/// On the module: the size of the weights region in bytes.
constexpr llvm::StringLiteral kWeightsBytesAttr = "llamac.weights_bytes";

/// Bytes a parameter of `type` (tensor or !llama.qtensor) takes.
int64_t getParamBytes(mlir::Type type);

} // namespace llamac

#endif // LLAMAC_PASSES_WEIGHTSLAYOUT_H
