//===- Load.cpp - Reading a model in any supported format -----------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file detects a model's format: a directory with config.json is a
// Hugging Face checkpoint; a file is recognised by its first bytes.
//
//===----------------------------------------------------------------------===//

#include "frontend/Load.h"
#include "frontend/gguf/GGUF.h"
#include "frontend/onnx/ONNX.h"
#include "frontend/safetensors/Safetensors.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace llamac;
using llvm::createStringError;

llvm::Expected<std::unique_ptr<LoadedModel>>
llamac::loadModel(llvm::StringRef path, bool strict) {
  std::string name = path.str();
  if (!llvm::sys::fs::exists(path))
    return createStringError(std::errc::no_such_file_or_directory,
                             "'%s' does not exist", name.c_str());
  if (llvm::sys::fs::is_directory(path)) {
    if (isHuggingFaceDirectory(path))
      return loadHuggingFace(path);
    return createStringError("'%s' is a directory without config.json (a "
                             "Hugging Face checkpoint directory needs one)",
                             name.c_str());
  }

  // Files: look at the first bytes.
  char magic[8] = {};
  {
    int fd;
    if (std::error_code error = llvm::sys::fs::openFileForRead(path, fd))
      return createStringError(error, "cannot read '%s': %s", name.c_str(),
                               error.message().c_str());
    llvm::Expected<size_t> read = llvm::sys::fs::readNativeFileSlice(
        fd, llvm::MutableArrayRef<char>(magic, sizeof magic), 0);
    llvm::sys::fs::closeFile(fd);
    if (!read)
      return read.takeError();
  }
  llvm::StringRef file = llvm::sys::path::filename(path);
  // A .gguf file with the wrong magic goes to the GGUF reader, which says so.
  if (std::string(magic, 4) == "GGUF" || file.ends_with(".gguf"))
    return loadGGUF(path, strict);
  if (looksLikeONNX(path))
    return loadONNX(path, strict);
  if (file == "config.json" || file.ends_with(".safetensors"))
    return loadHuggingFace(llvm::sys::path::parent_path(path).empty()
                               ? "."
                               : llvm::sys::path::parent_path(path));
  return createStringError("cannot tell the format of '%s' (expected a "
                           "Hugging Face directory, a .safetensors file in "
                           "one, a GGUF file or a .onnx file)",
                           name.c_str());
}
