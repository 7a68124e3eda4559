//===- TokenizerImport.h - Tokenizers from model files ----------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the readers that reduce a model's tokenizer to the
// runtime's TokenizerSpec: a Hugging Face tokenizer.json (with the chat
// template of tokenizer_config.json), or a GGUF file's tokenizer.ggml.*
// metadata. Anything the runtime would not reproduce exactly (an unknown
// split pattern, normalizer or flag) is an error naming the file and the
// setting, never a silently different tokenizer.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_TOKENIZER_TOKENIZERIMPORT_H
#define LLAMAC_FRONTEND_TOKENIZER_TOKENIZERIMPORT_H

#include "runtime/src/tokenizer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

namespace llamac {

struct GGUFFile;

/// Reads `path` (a tokenizer.json) and, when `configPath` exists, the chat
/// template of tokenizer_config.json.
llvm::Expected<runtime::TokenizerSpec>
importTokenizerJSON(llvm::StringRef path, llvm::StringRef configPath = "");

/// Reads the tokenizer of a GGUF file.
llvm::Expected<runtime::TokenizerSpec>
importGGUFTokenizer(const GGUFFile &file);

/// Which chat template family `text` (a Jinja template) is, and the system
/// prompt it inserts by default, if it has one as a literal.
runtime::ChatTemplate detectChatTemplate(llvm::StringRef text,
                                         std::string *outDefaultSystem);

} // namespace llamac

#endif // LLAMAC_FRONTEND_TOKENIZER_TOKENIZERIMPORT_H
