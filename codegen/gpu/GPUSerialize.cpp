//===- GPUSerialize.cpp - GPU kernels to device code and runtime data ----===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `llamac-gpu-prepare` and `llamac-gpu-serialize`, the
// two ends of the GPU targets' lowering around the upstream conversions
// (convert-gpu-to-nvvm, convert-gpu-to-spirv): the first adapts the kernels
// to the conversion's expectations, the second turns the converted kernels
// into device code (cubin and PTX through LLVM's NVPTX backend and ptxas;
// SPIR-V and LLVM 15 bitcode) and writes everything the runtime reads as
// LLVM globals of the host object (runtime/include/llamac/rt.h).
//
//===----------------------------------------------------------------------===//

#include "codegen/LLVMEmit.h"
#include "codegen/gpu/Passes.h"
#include "llamac/rt.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "mlir/Target/SPIRV/Serialization.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/IR/Module.h"
#include "llvm/IRReader/IRReader.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/Utils/Cloning.h"

namespace llamac::gpu {
#define GEN_PASS_DEF_LLAMACGPUPREPARE
#define GEN_PASS_DEF_LLAMACGPUSERIALIZE
#include "codegen/gpu/Passes.h.inc"
} // namespace llamac::gpu

using namespace mlir;

void llamac::gpu::registerGPUCodegenDialects(DialectRegistry &registry) {
  registry.insert<mlir::gpu::GPUDialect, NVVM::NVVMDialect, spirv::SPIRVDialect,
                  LLVM::LLVMDialect>();
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
}

namespace {

//===----------------------------------------------------------------------===//
// llamac-gpu-prepare
//===----------------------------------------------------------------------===//

struct GPUPreparePass
    : public llamac::gpu::impl::LlamacGPUPrepareBase<GPUPreparePass> {
  using LlamacGPUPrepareBase::LlamacGPUPrepareBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (api == "cuda")
      return;
    if (api != "opencl") {
      module.emitError("llamac-gpu-prepare: api must be cuda or opencl");
      return signalPassFailure();
    }
    MLIRContext *context = &getContext();
    // OpenCL kernels: physical 64-bit pointers, 8/16-bit integer loads.
    Attribute env = parseAttribute(
        "#spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses, Int64, Int8, "
        "Int16, Linkage], []>, api=OpenCL, #spirv.resource_limits<>>",
        context);
    module->setAttr(spirv::getTargetEnvAttrName(), env);
    module.walk([&](mlir::gpu::GPUFuncOp func) {
      if (!func.isKernel())
        return;
      func->setAttr(spirv::getEntryPointABIAttrName(),
                    spirv::getEntryPointABIAttr(context));
      // Workgroup attributions -> memref.alloc in memory space 3.
      unsigned count = func.getNumWorkgroupAttributions();
      if (!count)
        return;
      unsigned first = func.getFirstWorkgroupAttributionIndex();
      Block &entry = func.getBody().front();
      OpBuilder builder(context);
      builder.setInsertionPointToStart(&entry);
      for (BlockArgument arg : func.getWorkgroupAttributions()) {
        auto type = cast<MemRefType>(arg.getType());
        auto local = MemRefType::get(type.getShape(), type.getElementType(),
                                     MemRefLayoutAttrInterface{},
                                     builder.getI64IntegerAttr(3));
        Value alloc = memref::AllocOp::create(builder, func.getLoc(), local);
        arg.replaceAllUsesWith(alloc);
      }
      llvm::BitVector erase(entry.getNumArguments());
      erase.set(first, first + count);
      entry.eraseArguments(erase);
      func->setAttr(func.getNumWorkgroupAttributionsAttrName(),
                    builder.getI64IntegerAttr(0));
    });
  }
};

//===----------------------------------------------------------------------===//
// llamac-gpu-serialize
//===----------------------------------------------------------------------===//

void append(std::vector<int64_t> &v, std::initializer_list<int64_t> values) {
  v.insert(v.end(), values.begin(), values.end());
}

struct DeviceImage {
  int64_t kind, arch;
  std::string bytes;
};

/// Runs `program` with `args`; returns its exit code and output (stdout and
/// stderr together).
int runTool(llvm::StringRef program, llvm::ArrayRef<llvm::StringRef> args,
            std::string *output) {
  llvm::SmallString<128> log;
  llvm::sys::fs::createTemporaryFile("llamac-tool", "log", log);
  llvm::FileRemover removeLog(log);
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(),
                                                log.str()};
  std::string error;
  int code = llvm::sys::ExecuteAndWait(program, args, std::nullopt, redirects,
                                       /*SecondsToWait=*/600, 0, &error);
  if (auto buffer = llvm::MemoryBuffer::getFile(log))
    *output = (*buffer)->getBuffer().str();
  if (code < 0)
    *output += error;
  return code;
}

llvm::Expected<std::string> readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(buffer.getError(), "cannot read '%s'",
                                   path.str().c_str());
  return (*buffer)->getBuffer().str();
}

/// Runs `tool` on `input` written to a temporary file: `args` with "IN" and
/// "OUT" standing for the input's and a temporary output's paths. Returns
/// the output's bytes; *log gets what the tool printed.
llvm::Expected<std::string>
runOnFile(llvm::StringRef tool, llvm::ArrayRef<llvm::StringRef> args,
          llvm::StringRef input, llvm::StringRef inSuffix,
          llvm::StringRef outSuffix, std::string *log) {
  llvm::SmallString<128> in, out;
  llvm::sys::fs::createTemporaryFile("llamac-kernels", inSuffix, in);
  llvm::sys::fs::createTemporaryFile("llamac-kernels", outSuffix, out);
  llvm::FileRemover removeIn(in), removeOut(out);
  {
    std::error_code ec;
    llvm::raw_fd_ostream file(in, ec);
    file << input;
  }
  llvm::SmallVector<llvm::StringRef> argv = {tool};
  for (llvm::StringRef arg : args)
    argv.push_back(arg == "IN" ? in.str() : arg == "OUT" ? out.str() : arg);
  int code = runTool(tool, argv, log);
  if (code != 0)
    return llvm::createStringError(
        llvm::formatv("{0} failed (exit {1}):\n{2}", tool, code, *log).str());
  return readFile(out);
}

struct GPUSerializePass
    : public llamac::gpu::impl::LlamacGPUSerializeBase<GPUSerializePass> {
  using LlamacGPUSerializeBase::LlamacGPUSerializeBase;

  void runOnOperation() override;

private:
  LogicalResult compileCUDA(ModuleOp device, std::vector<DeviceImage> &images);
  LogicalResult compileSPIRV(spirv::ModuleOp device,
                             std::vector<DeviceImage> &images);
  std::string toolkitDir() const;
  void fail(const llvm::Twine &message) {
    getOperation().emitError(message);
    signalPassFailure();
  }
};

std::string GPUSerializePass::toolkitDir() const {
  if (!toolkit.empty())
    return toolkit;
  if (const char *home = getenv("CUDA_HOME"); home && *home)
    return home;
  return "/usr/local/cuda";
}

LogicalResult GPUSerializePass::compileCUDA(ModuleOp device,
                                            std::vector<DeviceImage> &images) {
  std::string cuda = toolkitDir();
  llvm::SmallString<256> libdevice(cuda), ptxas(cuda);
  llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  for (llvm::StringRef path : {libdevice.str(), ptxas.str()})
    if (!llvm::sys::fs::exists(path)) {
      fail(llvm::formatv("CUDA toolkit: '{0}' not found; the CUDA targets "
                         "need a CUDA toolkit (12.0 or newer: PTX ISA 8.0) at "
                         "$CUDA_HOME or /usr/local/cuda (not a Debian package)",
                         path));
      return failure();
    }

  llamac::initializeLLVMTargets();

  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> module =
      translateModuleToLLVMIR(device, llvmContext, "llamac_kernels");
  if (!module) {
    fail("GPU kernels: translation to LLVM IR failed");
    return failure();
  }
  llvm::Triple triple("nvptx64-nvidia-cuda");
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target) {
    fail("this LLVM has no NVPTX backend: " + error);
    return failure();
  }
  auto machineFor = [&](int64_t chip) {
    return std::unique_ptr<llvm::TargetMachine>(target->createTargetMachine(
        triple, llvm::formatv("sm_{0}", chip).str(), "+ptx80",
        llvm::TargetOptions(), std::nullopt, std::nullopt,
        llvm::CodeGenOptLevel::Aggressive));
  };
  std::unique_ptr<llvm::TargetMachine> first = machineFor(chips.front());
  module->setTargetTriple(triple);
  module->setDataLayout(first->createDataLayout());

  // libdevice supplies the math functions (__nv_expf, __nv_sqrtf) the NVVM
  // conversion calls; only what is used is linked.
  llvm::SMDiagnostic diagnostic;
  std::unique_ptr<llvm::Module> library =
      llvm::parseIRFile(libdevice, diagnostic, llvmContext);
  if (!library) {
    fail(llvm::formatv("cannot read '{0}': {1}", libdevice,
                       diagnostic.getMessage()));
    return failure();
  }
  library->setTargetTriple(triple);
  library->setDataLayout(module->getDataLayout());
  if (llvm::Linker::linkModules(*module, std::move(library),
                                llvm::Linker::Flags::LinkOnlyNeeded)) {
    fail("linking libdevice failed");
    return failure();
  }
  module->addModuleFlag(llvm::Module::Override, "nvvm-reflect-ftz",
                        static_cast<uint32_t>(0));
  for (llvm::Function &function : *module)
    if (!function.isDeclaration() &&
        function.getCallingConv() != llvm::CallingConv::PTX_Kernel)
      function.setLinkage(llvm::GlobalValue::InternalLinkage);

  llamac::optimizeLLVMIR(*module, *first);

  std::string spills;
  for (int64_t chip : chips) {
    std::unique_ptr<llvm::TargetMachine> machine = machineFor(chip);
    std::unique_ptr<llvm::Module> copy = llvm::CloneModule(*module);
    llvm::SmallString<0> text;
    llvm::raw_svector_ostream out(text);
    if (llvm::Error e = llamac::emitMachineCode(
            *copy, *machine, llvm::CodeGenFileType::AssemblyFile, out)) {
      fail("the NVPTX backend cannot emit PTX: " +
           llvm::toString(std::move(e)));
      return failure();
    }
    std::string ptx = text.str().str();
    if (chip == chips.front())
      images.push_back({LLAMAC_GPU_IMAGE_PTX, chip, ptx + '\0'});

    std::string arch = llvm::formatv("-arch=sm_{0}", chip).str();
    std::string output;
    llvm::Expected<std::string> cubin = runOnFile(
        ptxas, {arch, "-O3", "-v", "--warn-on-spills", "IN", "-o", "OUT"}, ptx,
        "ptx", "cubin", &output);
    if (!cubin) {
      fail(llvm::toString(cubin.takeError()));
      return failure();
    }
    // "N bytes spill stores, M bytes spill loads" for each kernel.
    llvm::SmallVector<llvm::StringRef> lines;
    llvm::StringRef(output).split(lines, '\n');
    for (llvm::StringRef line : lines)
      if (line.contains("spill") && !line.contains(" 0 bytes spill stores, 0 "
                                                   "bytes spill loads"))
        spills += (line.trim() + "\n").str();
    images.push_back({LLAMAC_GPU_IMAGE_CUBIN, chip, std::move(*cubin)});
  }
  if (!spills.empty())
    getOperation().emitWarning("ptxas reports register spills:\n") << spills;
  return success();
}

LogicalResult GPUSerializePass::compileSPIRV(spirv::ModuleOp device,
                                             std::vector<DeviceImage> &images) {
  SmallVector<uint32_t> words;
  if (failed(spirv::serialize(device, words))) {
    fail("GPU kernels: SPIR-V serialization failed");
    return failure();
  }
  std::string spirv(reinterpret_cast<const char *>(words.data()),
                    words.size() * 4);
  images.push_back({LLAMAC_GPU_IMAGE_SPIRV, 0, spirv});

  // LLVM 15 bitcode, for OpenCL implementations that take no SPIR-V.
  llvm::ErrorOr<std::string> translator =
      llvm::sys::findProgramByName(spirvTranslator);
  if (!translator) {
    fail(llvm::formatv("'{0}' not found: the opencl-spirv target needs it "
                       "(install Debian's llvm-spirv-15; "
                       "scripts/install-deps.sh does)",
                       spirvTranslator.getValue()));
    return failure();
  }
  std::string output;
  llvm::Expected<std::string> bitcode = runOnFile(
      *translator, {"-r", "IN", "-o", "OUT"}, spirv, "spv", "bc", &output);
  if (!bitcode) {
    fail(llvm::toString(bitcode.takeError()));
    return failure();
  }
  images.push_back({LLAMAC_GPU_IMAGE_LLVM_BC, 0, std::move(*bitcode)});
  return success();
}

void GPUSerializePass::runOnOperation() {
  ModuleOp module = getOperation();
  MLIRContext *context = &getContext();
  auto kernels = module.lookupSymbol<mlir::gpu::GPUModuleOp>("llamac_kernels");
  auto program = module->getAttrOfType<ArrayAttr>("llamac.gpu_program");
  auto tables = module->getAttrOfType<ArrayAttr>("llamac.gpu_rope_tables");
  if (!kernels || !program || !tables)
    return fail("llamac-gpu-serialize: no gpu.module @llamac_kernels and "
                "launch program (run convert-llama-to-gpu first)");
  if (api == "cuda" && chips.empty())
    return fail("llamac-gpu-serialize: api=cuda needs chips");

  // The program, flattened (rt.h). Kernels are numbered by first launch.
  auto argmax = module->getAttrOfType<IntegerAttr>("llamac.gpu_argmax_launch");
  std::vector<int64_t> flat = {
      LLAMAC_GPU_PROGRAM_VERSION, 0, static_cast<int64_t>(program.size()),
      static_cast<int64_t>(tables.size()), argmax ? argmax.getInt() : -1};
  llvm::StringMap<int64_t> kernelIndex;
  std::string names;
  static const llvm::StringMap<int64_t> buffers = {
      {"tokens", LLAMAC_GPU_BUF_TOKENS},   {"k_cache", LLAMAC_GPU_BUF_K_CACHE},
      {"v_cache", LLAMAC_GPU_BUF_V_CACHE}, {"logits", LLAMAC_GPU_BUF_LOGITS},
      {"weights", LLAMAC_GPU_BUF_WEIGHTS}, {"arena", LLAMAC_GPU_BUF_ARENA},
      {"sampled", LLAMAC_GPU_BUF_SAMPLED}};
  for (Attribute entry : program) {
    auto launch = cast<DictionaryAttr>(entry);
    StringRef kernel = launch.getAs<StringAttr>("kernel").getValue();
    auto [it, inserted] = kernelIndex.try_emplace(
        kernel, static_cast<int64_t>(kernelIndex.size()));
    if (inserted)
      names += kernel.str() + '\0';
    flat.push_back(it->second);
    for (int64_t v : launch.getAs<DenseI64ArrayAttr>("grid").asArrayRef())
      flat.push_back(v);
    flat.push_back(launch.getAs<IntegerAttr>("block").getInt());
    auto args = launch.getAs<ArrayAttr>("args");
    flat.push_back(static_cast<int64_t>(args.size()));
    for (Attribute arg : args) {
      if (auto name = dyn_cast<StringAttr>(arg)) {
        append(flat, {buffers.lookup(name.getValue()), 0, 0, 0});
      } else {
        ArrayRef<int64_t> v = cast<DenseI64ArrayAttr>(arg).asArrayRef();
        append(flat, {LLAMAC_GPU_ARG_INT, v[0], v[1], v[2]});
      }
    }
  }
  flat[1] = static_cast<int64_t>(kernelIndex.size());
  std::vector<double> frequencies;
  for (Attribute entry : tables) {
    auto table = cast<DictionaryAttr>(entry);
    ArrayRef<int64_t> offset =
        table.getAs<DenseI64ArrayAttr>("offset").asArrayRef();
    ArrayRef<double> f =
        table.getAs<DenseF64ArrayAttr>("frequencies").asArrayRef();
    append(flat, {offset[0], offset[1], static_cast<int64_t>(f.size()),
                  static_cast<int64_t>(frequencies.size())});
    frequencies.insert(frequencies.end(), f.begin(), f.end());
  }

  // Device code.
  std::vector<DeviceImage> images;
  if (api == "cuda") {
    OwningOpRef<ModuleOp> device = ModuleOp::create(kernels.getLoc());
    OpBuilder builder(context);
    builder.setInsertionPointToEnd(device->getBody());
    for (Operation &op : kernels.getBody()->getOperations())
      if (!op.hasTrait<OpTrait::IsTerminator>())
        builder.clone(op);
    if (failed(compileCUDA(*device, images)))
      return;
  } else if (api == "opencl") {
    spirv::ModuleOp device;
    kernels.walk([&](spirv::ModuleOp m) { device = m; });
    if (!device)
      return fail("llamac-gpu-serialize: no spirv.module in @llamac_kernels "
                  "(run convert-gpu-to-spirv first)");
    if (failed(compileSPIRV(device, images)))
      return;
  } else {
    return fail("llamac-gpu-serialize: api must be cuda or opencl");
  }

  std::vector<int64_t> index = {static_cast<int64_t>(images.size())};
  std::string data;
  for (const DeviceImage &image : images) {
    while (data.size() % 16)
      data.push_back('\0');
    append(index, {image.kind, image.arch, static_cast<int64_t>(data.size()),
                   static_cast<int64_t>(image.bytes.size())});
    data += image.bytes;
  }

  // The globals.
  kernels.erase();
  OpBuilder builder(context);
  builder.setInsertionPointToEnd(module.getBody());
  Location loc = module.getLoc();
  auto i64 = builder.getI64Type();
  auto addInts = [&](StringRef name, const std::vector<int64_t> &values) {
    auto type =
        RankedTensorType::get({static_cast<int64_t>(values.size())}, i64);
    LLVM::GlobalOp::create(
        builder, loc, LLVM::LLVMArrayType::get(i64, values.size()),
        /*isConstant=*/true, LLVM::Linkage::External, name,
        DenseElementsAttr::get(type, llvm::ArrayRef(values)), /*alignment=*/8);
  };
  auto addBytes = [&](StringRef name, const std::string &bytes) {
    LLVM::GlobalOp::create(
        builder, loc,
        LLVM::LLVMArrayType::get(builder.getI8Type(), bytes.size()),
        /*isConstant=*/true, LLVM::Linkage::External, name,
        builder.getStringAttr(bytes), /*alignment=*/16);
  };
  addInts("llamac_gpu_program", flat);
  if (frequencies.empty())
    frequencies.push_back(0.0);
  auto f64 = builder.getF64Type();
  LLVM::GlobalOp::create(
      builder, loc, LLVM::LLVMArrayType::get(f64, frequencies.size()),
      /*isConstant=*/true, LLVM::Linkage::External,
      "llamac_gpu_rope_frequencies",
      DenseElementsAttr::get(
          RankedTensorType::get({static_cast<int64_t>(frequencies.size())},
                                f64),
          llvm::ArrayRef(frequencies)),
      /*alignment=*/8);
  addBytes("llamac_gpu_kernel_names", names);
  addInts("llamac_gpu_images", index);
  addBytes("llamac_gpu_image_data", data);
  // A reference to the runtime's GPU executor, so that linking this object
  // with the runtime's archives (an executable, or a user's program linking
  // `--emit lib`) pulls the executor in; the runtime's own references to it
  // are weak.
  auto i32 = builder.getI32Type();
  LLVM::GlobalOp::create(builder, loc, i32, /*isConstant=*/true,
                         LLVM::Linkage::External, "llamac_gpu_executor_anchor",
                         Attribute());
  auto ptr = LLVM::LLVMPointerType::get(context);
  auto uses = LLVM::GlobalOp::create(builder, loc, ptr, /*isConstant=*/true,
                                     LLVM::Linkage::External,
                                     "llamac_gpu_uses_executor", Attribute());
  {
    OpBuilder::InsertionGuard guard(builder);
    Block *init = builder.createBlock(&uses.getInitializerRegion());
    builder.setInsertionPointToStart(init);
    Value address = LLVM::AddressOfOp::create(builder, loc, ptr,
                                              "llamac_gpu_executor_anchor");
    LLVM::ReturnOp::create(builder, loc, address);
  }
  for (StringRef attr :
       {"llamac.gpu_program", "llamac.gpu_argmax_launch",
        "llamac.gpu_rope_tables", "gpu.container_module", "spirv.target_env"})
    module->removeAttr(attr);
}

} // namespace
