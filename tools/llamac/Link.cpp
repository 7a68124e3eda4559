//===- Link.cpp - Executables and libraries from objects ------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file links executables with the system's clang driver (which finds
// lld and the C library), appends the weights payload, and writes static
// libraries with LLVM's archive writer.
//
//===----------------------------------------------------------------------===//

#include "tools/llamac/Link.h"

#include "llamac/blob.h"

#include "llvm/Object/Archive.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace llamac;
using llvm::createStringError;

llvm::Expected<std::string> llamac::runtimeDirectory(const char *argv0) {
  if (std::optional<std::string> env =
          llvm::sys::Process::GetEnv("LLAMAC_RUNTIME_DIR"))
    return *env;
  std::string self = llvm::sys::fs::getMainExecutable(
      argv0, reinterpret_cast<void *>(&runtimeDirectory));
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(self));
  llvm::sys::path::append(dir, "..", "lib");
  llvm::SmallString<256> library(dir);
  llvm::sys::path::append(library, "libllamac_runtime.a");
  if (!llvm::sys::fs::exists(library))
    return createStringError("cannot find the llamac runtime at '%s' (set "
                             "LLAMAC_RUNTIME_DIR)",
                             library.c_str());
  return std::string(dir);
}

namespace {

/// The C/C++ compiler driver used as the linker.
llvm::Expected<std::string> findLinkerDriver() {
  for (const char *name : {"clang++-22", "clang++", "g++", "c++"}) {
    llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName(name);
    if (path)
      return *path;
  }
  if (llvm::sys::fs::exists("/usr/lib/llvm-22/bin/clang++"))
    return std::string("/usr/lib/llvm-22/bin/clang++");
  return createStringError("no C++ compiler driver (clang++-22, clang++, g++) "
                           "found on PATH to link the executable");
}

} // namespace

llvm::Error llamac::linkExecutable(const Target &target, llvm::StringRef object,
                                   llvm::StringRef runtimeDir,
                                   llvm::StringRef output,
                                   const std::vector<std::string> &libraries) {
  llvm::Expected<std::string> driver = findLinkerDriver();
  if (!driver)
    return driver.takeError();
  std::vector<std::string> args = {*driver, "-o", output.str(), object.str()};
  for (const std::string &library :
       libraries.empty() ? target.runtimeLibraries() : libraries) {
    llvm::SmallString<256> path(runtimeDir);
    llvm::sys::path::append(path, library);
    if (!llvm::sys::fs::exists(path))
      return createStringError(
          "target '%s' has no runtime: '%s' is missing%s%s",
          target.name().str().c_str(), path.c_str(),
          target.setupHint().empty() ? "" : "; ", target.setupHint().c_str());
    args.push_back(std::string(path));
  }
  for (const std::string &flag : target.linkFlags())
    args.push_back(flag);
  if (llvm::StringRef(*driver).contains("clang"))
    args.push_back("-fuse-ld=lld");
  args.push_back("-Wl,--gc-sections");
#ifdef LLAMAC_LINK_SANITIZE
  // This llamac was built with sanitizers, its runtime libraries too.
  if (*LLAMAC_LINK_SANITIZE && target.isHost())
    args.push_back(std::string("-fsanitize=") + LLAMAC_LINK_SANITIZE);
#endif

  std::vector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string message;
  int status = llvm::sys::ExecuteAndWait(*driver, argRefs, std::nullopt, {}, 0,
                                         0, &message);
  if (status != 0) {
    std::string command;
    for (const std::string &arg : args)
      command += arg + " ";
    return createStringError(
        "linking '%s' failed (%s%s): %s", output.str().c_str(),
        status < 0 ? "" : "exit status ",
        status < 0 ? message.c_str() : std::to_string(status).c_str(),
        command.c_str());
  }
  return llvm::Error::success();
}

llvm::Error llamac::appendPayload(
    llvm::StringRef executable,
    const std::function<llvm::Expected<uint64_t>(llvm::raw_ostream &)> &write) {
  uint64_t size = 0;
  if (std::error_code error = llvm::sys::fs::file_size(executable, size))
    return createStringError(error, "cannot stat '%s'",
                             executable.str().c_str());
  std::error_code error;
  llvm::raw_fd_ostream out(executable, error, llvm::sys::fs::OF_Append);
  if (error)
    return createStringError(error, "cannot append to '%s': %s",
                             executable.str().c_str(), error.message().c_str());
  uint64_t offset =
      (size + LLAMAC_BLOB_ALIGN - 1) / LLAMAC_BLOB_ALIGN * LLAMAC_BLOB_ALIGN;
  out.write_zeros(offset - size);
  llvm::Expected<uint64_t> bytes = write(out);
  if (!bytes)
    return bytes.takeError();
  llamac_payload_trailer trailer;
  trailer.blob_offset = offset;
  trailer.blob_bytes = *bytes;
  std::memcpy(trailer.magic, LLAMAC_PAYLOAD_MAGIC, 16);
  out.write(reinterpret_cast<const char *>(&trailer), sizeof trailer);
  out.close();
  if (out.has_error())
    return createStringError(out.error(), "writing '%s' failed: %s",
                             executable.str().c_str(),
                             out.error().message().c_str());
  return llvm::Error::success();
}

llvm::Error
llamac::writeStaticLibrary(const Target &target, llvm::StringRef object,
                           llvm::StringRef runtimeDir, llvm::StringRef output,
                           const std::vector<std::string> *libraries) {
  std::vector<llvm::NewArchiveMember> members;
  llvm::Expected<llvm::NewArchiveMember> generated =
      llvm::NewArchiveMember::getFile(object, /*Deterministic=*/true);
  if (!generated)
    return generated.takeError();
  generated->MemberName = "model.o";
  members.push_back(std::move(*generated));

  // The archives' buffers must outlive the members that point into them.
  std::vector<std::unique_ptr<llvm::MemoryBuffer>> buffers;
  std::vector<std::unique_ptr<llvm::object::Archive>> archives;
  for (const std::string &library :
       libraries ? *libraries : target.runtimeLibraries()) {
    if (llvm::StringRef(library).ends_with("libllamac_runtime_main.a"))
      continue; // a library has no main()
    llvm::SmallString<256> runtimePath(runtimeDir);
    llvm::sys::path::append(runtimePath, library);
    auto buffer = llvm::MemoryBuffer::getFile(runtimePath);
    if (!buffer)
      return createStringError(
          buffer.getError(), "cannot read '%s'%s%s", runtimePath.c_str(),
          target.setupHint().empty() ? "" : "; ", target.setupHint().c_str());
    llvm::Expected<std::unique_ptr<llvm::object::Archive>> archive =
        llvm::object::Archive::create((*buffer)->getMemBufferRef());
    if (!archive)
      return archive.takeError();
    buffers.push_back(std::move(*buffer));
    archives.push_back(std::move(*archive));
    llvm::Error childError = llvm::Error::success();
    for (const llvm::object::Archive::Child &child :
         archives.back()->children(childError)) {
      llvm::Expected<llvm::NewArchiveMember> member =
          llvm::NewArchiveMember::getOldMember(child, /*Deterministic=*/true);
      if (!member)
        return member.takeError();
      members.push_back(std::move(*member));
    }
    if (childError)
      return childError;
  }
  return llvm::writeArchive(output, members,
                            llvm::SymtabWritingMode::NormalSymtab,
                            llvm::object::Archive::K_GNU,
                            /*Deterministic=*/true, /*Thin=*/false);
}
