//===- Link.h - Executables and libraries from objects ----------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares how the driver packages generated code: linking an
// executable with the runtime, appending the weights blob to it, and bundling
// a static library.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_TOOLS_LLAMAC_LINK_H
#define LLAMAC_TOOLS_LLAMAC_LINK_H

#include "codegen/Target.h"

#include "llvm/Support/Error.h"

#include <functional>
#include <string>
#include <vector>

namespace llamac {

/// The directory holding the runtime libraries: $LLAMAC_RUNTIME_DIR, or
/// ../lib next to the llamac executable.
llvm::Expected<std::string> runtimeDirectory(const char *argv0);

/// Links `object` with the target's runtime into the executable `output`;
/// `libraries`, when given, replaces the target's runtime libraries (paths
/// relative to `runtimeDir`).
llvm::Error linkExecutable(const Target &target, llvm::StringRef object,
                           llvm::StringRef runtimeDir, llvm::StringRef output,
                           const std::vector<std::string> &libraries = {});

/// Appends a weights blob to `executable`: page-aligned, written by `write`
/// (which returns the blob's size), followed by the payload trailer.
llvm::Error appendPayload(
    llvm::StringRef executable,
    const std::function<llvm::Expected<uint64_t>(llvm::raw_ostream &)> &write);

/// Writes the static library `output` holding `object` and the runtime's
/// objects for `target` (without main); `libraries`, when given, replaces
/// the target's runtime libraries.
llvm::Error
writeStaticLibrary(const Target &target, llvm::StringRef object,
                   llvm::StringRef runtimeDir, llvm::StringRef output,
                   const std::vector<std::string> *libraries = nullptr);

} // namespace llamac

#endif // LLAMAC_TOOLS_LLAMAC_LINK_H
