//===- Load.h - Reading a model in any supported format ---------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the entry point of the front ends: it tells a model's
// format from its content and hands it to the matching reader.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_LOAD_H
#define LLAMAC_FRONTEND_LOAD_H

#include "frontend/common/Model.h"

namespace llamac {

/// Reads the model at `path`: a Hugging Face directory (config.json and
/// safetensors), or a file whose content says what it is. Errors name the
/// file and the problem. `strict = false` (for inspection) accepts a file
/// whose hyper-parameters do not make a model, recording why.
llvm::Expected<std::unique_ptr<LoadedModel>> loadModel(llvm::StringRef path,
                                                       bool strict = true);

} // namespace llamac

#endif // LLAMAC_FRONTEND_LOAD_H
