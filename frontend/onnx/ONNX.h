//===- ONNX.h - The ONNX front end ------------------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the ONNX front end: loadONNX reads a ModelProto (and
// its external data files) into a LoadedModel whose weight store holds the
// initializers; importONNX writes the graph as an `onnx` dialect function,
// `@main_graph`, one op per node.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_ONNX_ONNX_H
#define LLAMAC_FRONTEND_ONNX_ONNX_H

#include "frontend/common/Model.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"

#include <map>
#include <string>
#include <vector>

namespace llamac {

/// Oldest and newest ai.onnx opsets the importer accepts. Older models are
/// read when each of their operators' definitions has not changed since
/// their opset (the importer checks node by node).
constexpr int64_t kMinONNXOpset = 13;
constexpr int64_t kMaxONNXOpset = 28;

/// Whether the file's first bytes look like a protobuf ModelProto.
bool looksLikeONNX(llvm::StringRef path);

/// Reads an ONNX model: the ModelProto, every initializer (inline, typed
/// fields, or external data files, each checked against its file's size),
/// the tokenizer beside the model (tokenizer.json), and what the graph says
/// of the config (vocabulary and hidden size from the embedding table,
/// layers and heads from the attention nodes; bos/eos/context from a
/// genai_config.json beside it when there is one).
llvm::Expected<std::unique_ptr<LoadedModel>> loadONNX(llvm::StringRef path,
                                                      bool strict = true);

/// How importONNX writes the graph.
struct ONNXImportOptions {
  /// Float initializers become `onnx.Constant` ops holding their data (the
  /// generic lowering embeds them) instead of `onnx.initializer` references
  /// into the weight store.
  bool embedInitializers = false;
  /// Graph inputs whose values are given when compiling: input name ->
  /// a TensorProto file (`--input-value`). They become constants.
  std::map<std::string, std::string> inputValues;
  /// Graph inputs given a shape (`--input-shape`): dynamic dimensions
  /// become these; the input's static ones must agree.
  std::map<std::string, std::vector<int64_t>> inputShapes;
};

/// The graph of a model loadONNX read, as `@main_graph` in the `onnx`
/// dialect. Unsupported operators are all listed in one error, each with its
/// domain, opset and node name.
llvm::Expected<mlir::OwningOpRef<mlir::ModuleOp>>
importONNX(mlir::MLIRContext &context, const LoadedModel &model,
           const ONNXImportOptions &options = {});

} // namespace llamac

#endif // LLAMAC_FRONTEND_ONNX_ONNX_H
