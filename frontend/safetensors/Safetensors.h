//===- Safetensors.h - Hugging Face checkpoints -----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the reader of Hugging Face model directories:
// config.json (LlamaForCausalLM) and model.safetensors, or shards listed in
// model.safetensors.index.json, memory-mapped.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_SAFETENSORS_SAFETENSORS_H
#define LLAMAC_FRONTEND_SAFETENSORS_SAFETENSORS_H

#include "frontend/common/Model.h"

namespace llamac {

/// Whether `path` is a directory holding a config.json.
bool isHuggingFaceDirectory(llvm::StringRef path);

/// Reads the model in the Hugging Face directory `path`.
llvm::Expected<std::unique_ptr<LoadedModel>>
loadHuggingFace(llvm::StringRef path);

/// Parses a config.json's text into a ModelConfig (exposed for tests).
llvm::Expected<ModelConfig> parseLlamaConfig(llvm::StringRef json,
                                             llvm::StringRef file);

/// Registers the tensors of one .safetensors file (already mapped by
/// `store`) under their names; `only`, when not empty, restricts to names
/// the index assigns to this file.
llvm::Error readSafetensors(WeightStore &store, llvm::StringRef path);

} // namespace llamac

#endif // LLAMAC_FRONTEND_SAFETENSORS_SAFETENSORS_H
