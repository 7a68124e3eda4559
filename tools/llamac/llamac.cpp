//===- llamac.cpp - The llamac driver -------------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file is the `llamac` command:
//
//   llamac compile MODEL -o OUT [--target T] [--emit E] [--max-context N]
//                        [--weights embedded|external] [--quantize Q]
//   llamac inspect MODEL
//   llamac targets
//
// `compile` reads the model, builds the llama forward pass, runs the passes,
// writes the weights blob, lowers to the target and packages the result. It
// can stop at every level (--emit llama|kernels|llvm-mlir|llvm|asm|obj|lib|
// exe) so each stage's output can be read.
//
//===----------------------------------------------------------------------===//

#include "codegen/LLVMEmit.h"
#include "codegen/Target.h"
#include "codegen/cpu/CPUTarget.h"
#include "codegen/cpu/Passes.h"
#include "codegen/gpu/Passes.h"
#include "conversions/Passes.h"
#include "dialects/Llama/LlamaOps.h"
#include "dialects/ONNX/ONNXDialect.h"
#include "dialects/Runtime/RuntimeDialect.h"
#include "frontend/Load.h"
#include "frontend/common/WeightsWriter.h"
#include "frontend/onnx/ONNX.h"
#include "frontend/tokenizer/TokenizerImport.h"
#include "passes/Passes.h"
#include "passes/WeightsLayout.h"
#include "tools/llamac/Link.h"

#include "llamac/rt.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/GlobalVariable.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/xxhash.h"

#include <chrono>

using namespace mlir;
using namespace llamac;
namespace cl = llvm::cl;

namespace {

//===----------------------------------------------------------------------===//
// Command line
//===----------------------------------------------------------------------===//

cl::SubCommand compileCommand("compile",
                              "Compile a model into an executable, a library, "
                              "an object file or IR");
cl::SubCommand inspectCommand("inspect",
                              "Print a model's configuration and weights");
cl::SubCommand targetsCommand("targets", "List the code generation targets");
cl::SubCommand tokenizeCommand("tokenize",
                               "Print the token ids of a text with a model's "
                               "tokenizer");

cl::OptionCategory compileCategory("Compile options");

cl::opt<std::string> compileModel(cl::Positional, cl::Required,
                                  cl::desc("<model>"), cl::sub(compileCommand));
cl::opt<std::string> outputPath("o", cl::Required, cl::desc("Output file"),
                                cl::value_desc("file"), cl::sub(compileCommand),
                                cl::cat(compileCategory));
cl::opt<std::string> targetName("target", cl::init("cpu"),
                                cl::desc("Code generation target (see "
                                         "`llamac targets`)"),
                                cl::sub(compileCommand),
                                cl::cat(compileCategory));

enum class Emit {
  ONNX,
  Llama,
  Weights,
  Kernels,
  LLVMMLIR,
  LLVM,
  Asm,
  Obj,
  Lib,
  Exe
};
cl::opt<Emit> emit(
    "emit", cl::init(Emit::Exe), cl::desc("What to produce"),
    cl::values(clEnumValN(Emit::ONNX, "onnx",
                          "an ONNX model's graph as imported (the onnx "
                          "dialect)"),
               clEnumValN(Emit::Llama, "llama", "the llama dialect module"),
               clEnumValN(Emit::Llama, "mlir", "same as llama"),
               clEnumValN(Emit::Weights, "weights",
                          "the weights blob alone (what --weights external "
                          "writes)"),
               clEnumValN(Emit::Kernels, "kernels",
                          "the target's kernels (memref/vector/scf/lrt)"),
               clEnumValN(Emit::LLVMMLIR, "llvm-mlir",
                          "the LLVM dialect module"),
               clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR"),
               clEnumValN(Emit::Asm, "asm", "assembly"),
               clEnumValN(Emit::Obj, "obj", "an object file"),
               clEnumValN(Emit::Lib, "lib",
                          "a static library, its C header (OUT.h) and weights "
                          "(OUT.weights)"),
               clEnumValN(Emit::Exe, "exe", "an executable (the default)")),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<int64_t> maxContext(
    "max-context", cl::init(0),
    cl::desc("Context length (default: the model's, capped at 4096)"),
    cl::sub(compileCommand), cl::cat(compileCategory));

enum class WeightsMode { Embedded, External };
cl::opt<WeightsMode>
    weightsMode("weights", cl::init(WeightsMode::Embedded),
                cl::desc("Where an executable's weights go"),
                cl::values(clEnumValN(WeightsMode::Embedded, "embedded",
                                      "inside the executable (the default)"),
                           clEnumValN(WeightsMode::External, "external",
                                      "in OUT.weights beside it")),
                cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<std::string> quantize(
    "quantize", cl::init("none"),
    cl::desc("Quantize float weights of linear layers: none, q8_0, q4_0, "
             "q4_1"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<bool> quantizeOutput(
    "quantize-output",
    cl::desc("With --quantize, also quantize the token embedding table and "
             "the output layer (kept in their float type otherwise)"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<bool> noFusion(
    "no-fusion",
    cl::desc(
        "Skip the fusion passes (llama-fuse-projections, -norm, "
        "-swiglu, -residual, -rope); the results are the same, bit for bit"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<std::string> activationPrecision(
    "activation-precision", cl::init("int8"),
    cl::desc("How quantized weights meet activations: int8 (quantized per "
             "block of 32, 8-bit dot products, where the target has them; "
             "the default) or f32"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<std::string> floatPrecision(
    "float-precision", cl::init("f32"),
    cl::desc("How float weights (f32, f16, bf16) meet a prompt's "
             "activations: f32 (the default) or bf16 (both rounded to bf16, "
             "sums in f32, on AMX or AVX-512 BF16; needs --target cpu-amx or "
             "cpu-avx512-bf16, or cpu on such a CPU). "
             "Decode stays f32"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<int64_t> maxChunk(
    "max-chunk", cl::init(256),
    cl::desc("Most tokens per forward call; longer prompts are processed in "
             "chunks"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<bool> quiet("quiet", cl::desc("Do not print progress"),
                    cl::sub(compileCommand), cl::cat(compileCategory));

cl::opt<bool> graphMode(
    "graph",
    cl::desc("Compile an ONNX graph that is not a Llama decoder as a tensor "
             "function (onnx-lower-graph): an executable reading and writing "
             "TensorProto files, or with --emit lib a C library "
             "(llamac_graph.h)"),
    cl::sub(compileCommand), cl::cat(compileCategory));

cl::list<std::string> inputValues(
    "input-value",
    cl::desc("With --graph: give graph input NAME its value when compiling, "
             "from a TensorProto file (for inputs that decide shapes: "
             "Reshape's shape, axes, Slice's starts)"),
    cl::value_desc("NAME=FILE"), cl::sub(compileCommand),
    cl::cat(compileCategory));

cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("With --graph: the shape of graph input NAME, for its dynamic "
             "dimensions (e.g. input_ids=1x7)"),
    cl::value_desc("NAME=D0xD1..."), cl::sub(compileCommand),
    cl::cat(compileCategory));

cl::opt<std::string> tokenizerPath(
    "tokenizer",
    cl::desc("A tokenizer.json to use instead of the model's own (needed "
             "for ONNX models)"),
    cl::value_desc("file"), cl::sub(compileCommand), cl::sub(tokenizeCommand),
    cl::cat(compileCategory));

cl::opt<std::string> tokenizeModel(cl::Positional, cl::Optional,
                                   cl::desc("<model>"),
                                   cl::sub(tokenizeCommand));
cl::opt<std::string> tokenizeText("text", cl::desc("The text to tokenize"),
                                  cl::sub(tokenizeCommand));
cl::opt<std::string> tokenizeFile(
    "file", cl::desc("Tokenize each line of this file (one ids: line each)"),
    cl::value_desc("file"), cl::sub(tokenizeCommand));
cl::opt<bool> tokenizeAddSpecial(
    "add-special", cl::init(true),
    cl::desc("Add the model's bos/eos tokens (default true)"),
    cl::sub(tokenizeCommand));
cl::opt<bool> tokenizeParseSpecial(
    "parse-special", cl::init(true),
    cl::desc("Turn special-token strings in the text into their tokens "
             "(default true)"),
    cl::sub(tokenizeCommand));
cl::opt<bool>
    tokenizeDecode("decode",
                   cl::desc("Also print the decoded text after each ids: line"),
                   cl::sub(tokenizeCommand));
cl::opt<unsigned> tokenizeRepeat(
    "benchmark",
    cl::desc("Encode --file N times and print the throughput in MB/s"),
    cl::init(0), cl::sub(tokenizeCommand));

cl::opt<std::string> inspectModel(cl::Positional, cl::Required,
                                  cl::desc("<model>"), cl::sub(inspectCommand));
cl::opt<bool> inspectMetadata(
    "metadata", cl::desc("Print the file's metadata, one JSON object per line"),
    cl::sub(inspectCommand));
cl::opt<std::string>
    inspectTensor("tensor",
                  cl::desc("Print the values of one tensor, decoded to floats"),
                  cl::value_desc("name"), cl::sub(inspectCommand));

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "llamac") << message << "\n";
  return 1;
}

int fail(llvm::Error error) { return fail(llvm::toString(std::move(error))); }

/// Prints "llamac: <stage> (<seconds> s)" lines unless --quiet.
class Progress {
public:
  void done(const llvm::Twine &stage) {
    auto now = std::chrono::steady_clock::now();
    double seconds = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    if (!quiet)
      llvm::errs() << llvm::formatv("llamac: {0} ({1:f2} s)\n", stage.str(),
                                    seconds);
  }

private:
  std::chrono::steady_clock::time_point last_ =
      std::chrono::steady_clock::now();
};

void registerDialects(DialectRegistry &registry) {
  registry.insert<llama::LlamaDialect, lrt::RuntimeDialect, arith::ArithDialect,
                  func::FuncDialect, LLVM::LLVMDialect, math::MathDialect,
                  memref::MemRefDialect, scf::SCFDialect, tensor::TensorDialect,
                  vector::VectorDialect, onnx::ONNXDialect>();
  llamac::gpu::registerGPUCodegenDialects(registry);
  registry.insert<bufferization::BufferizationDialect, linalg::LinalgDialect>();
  llamac::cpu::registerGraphInterfaces(registry);
  registerAllExtensions(registry);
}

/// Binds generated code to its weights: a hash of every parameter's name,
/// type and offset, and of the shapes the code was generated for.
uint64_t fingerprint(ModuleOp module) {
  std::string text;
  llvm::raw_string_ostream os(text);
  module.walk([&](llama::ParamOp param) {
    os << param.getName() << ':' << param.getType() << '@'
       << param->getAttrOfType<IntegerAttr>(kOffsetAttr).getInt() << ';';
  });
  if (auto forward = module.lookupSymbol<func::FuncOp>("forward"))
    os << forward.getFunctionType();
  return llvm::xxh3_64bits(llvm::StringRef(text));
}

/// --emit llvm: the module as LLVM IR text.
int writeLLVMText(llvm::Module &module, llvm::StringRef path) {
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file)
    return fail(error);
  module.print(file->os(), nullptr);
  file->keep();
  return 0;
}

/// --emit asm/obj, and the object of an executable or library: machine
/// code for `module` written to `path`.
int writeMachineCode(llvm::Module &module, llvm::TargetMachine &machine,
                     llvm::CodeGenFileType type, llvm::StringRef path) {
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file)
    return fail(error);
  if (llvm::Error e = emitMachineCode(module, machine, type, file->os()))
    return fail(std::move(e));
  file->keep();
  return 0;
}

LogicalResult writeModule(ModuleOp module, llvm::StringRef path) {
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file) {
    fail(error);
    return failure();
  }
  module.print(file->os());
  file->keep();
  return success();
}

/// Adds `const int64_t llamac_model_info[]` (runtime/include/llamac/rt.h).
void addModelInfo(llvm::Module &module, llvm::ArrayRef<int64_t> values) {
  auto *type = llvm::ArrayType::get(llvm::Type::getInt64Ty(module.getContext()),
                                    values.size());
  llvm::SmallVector<uint64_t> data(values.begin(), values.end());
  auto *init = llvm::ConstantDataArray::get(module.getContext(), data);
  new llvm::GlobalVariable(module, type, /*isConstant=*/true,
                           llvm::GlobalValue::ExternalLinkage, init,
                           "llamac_model_info");
}

std::string formatBytes(uint64_t bytes) {
  if (bytes >= (1ull << 30))
    return llvm::formatv("{0:f2} GiB", bytes / double(1ull << 30));
  if (bytes >= (1ull << 20))
    return llvm::formatv("{0:f1} MiB", bytes / double(1ull << 20));
  return llvm::formatv("{0} KiB", (bytes + 1023) / 1024);
}

/// The tokenizer to embed: --tokenizer, else the model's own (or none).
llvm::Expected<std::optional<runtime::TokenizerSpec>>
resolveTokenizer(const LoadedModel &model, std::string *outSource) {
  if (!tokenizerPath.empty()) {
    llvm::SmallString<256> config(llvm::sys::path::parent_path(tokenizerPath));
    llvm::sys::path::append(config, "tokenizer_config.json");
    auto spec = importTokenizerJSON(tokenizerPath, config);
    if (!spec)
      return spec.takeError();
    *outSource = tokenizerPath;
    return std::optional<runtime::TokenizerSpec>(std::move(*spec));
  }
  *outSource = model.tokenizerSource;
  return model.tokenizer;
}

//===----------------------------------------------------------------------===//
// compile
//===----------------------------------------------------------------------===//

int compileGraph(const char *argv0, const Target &target);

/// The target-independent choices of the command line.
CodegenOptions codegenOptionsFromFlags() {
  CodegenOptions options;
  options.int8Activations = activationPrecision == "int8";
  options.bf16FloatProducts = floatPrecision == "bf16";
  return options;
}

int compile(const char *argv0) {
  Progress progress;
  registerAllTargets();
  const Target *target = TargetRegistry::get().lookup(targetName);
  if (!target) {
    std::string names;
    for (const auto &t : TargetRegistry::get().targets())
      names += (names.empty() ? "" : ", ") + t->name().str();
    return fail(llvm::formatv("unknown target '{0}' (available: {1})",
                              targetName.getValue(), names));
  }
  if (maxContext < 0)
    return fail(llvm::formatv("--max-context {0} must be positive",
                              maxContext.getValue()));
  if (activationPrecision != "int8" && activationPrecision != "f32")
    return fail(llvm::formatv("--activation-precision '{0}' is not int8 or "
                              "f32",
                              activationPrecision.getValue()));
  if (floatPrecision != "f32" && floatPrecision != "bf16")
    return fail(llvm::formatv("--float-precision '{0}' is not f32 or bf16",
                              floatPrecision.getValue()));
  if (maxChunk < 1)
    return fail(llvm::formatv("--max-chunk {0} must be at least 1",
                              maxChunk.getValue()));
  if (graphMode)
    return compileGraph(argv0, *target);
  if (std::string why = target->unsupported(codegenOptionsFromFlags());
      !why.empty())
    return fail(why);
  if (!inputValues.empty() || !inputShapes.empty())
    return fail("--input-value and --input-shape need --graph");
  std::optional<llama::QuantKind> quantKind;
  if (quantize != "none") {
    quantKind = llama::symbolizeQuantKind(quantize);
    if (!quantKind || *quantKind == llama::QuantKind::Int4)
      return fail(llvm::formatv("--quantize '{0}' is not one of none, q8_0, "
                                "q4_0, q4_1",
                                quantize.getValue()));
  }
  if (quantizeOutput && !quantKind)
    return fail("--quantize-output needs --quantize q8_0, q4_0 or q4_1");
  std::string runtimeDir;
  if (emit == Emit::Exe || emit == Emit::Lib) {
    llvm::Expected<std::string> dir = runtimeDirectory(argv0);
    if (!dir)
      return fail(dir.takeError());
    runtimeDir = *dir;
  }

  // Front end.
  llvm::Expected<std::unique_ptr<LoadedModel>> model = loadModel(compileModel);
  if (!model)
    return fail(model.takeError());
  DialectRegistry registry;
  registerDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  BuildOptions buildOptions;
  buildOptions.maxContext = maxContext;
  OwningOpRef<ModuleOp> module;
  if ((*model)->format == "onnx") {
    // The graph in the onnx dialect, then raised into @forward.
    auto imported = importONNX(context, **model);
    if (!imported)
      return fail(imported.takeError());
    module = std::move(*imported);
    if (emit == Emit::ONNX)
      return failed(writeModule(*module, outputPath)) ? 1 : 0;
    PassManager raise(&context);
    ONNXRaiseLlamaOptions raiseOptions;
    raiseOptions.maxContext = contextLength((*model)->config, buildOptions);
    raise.addPass(createONNXRaiseLlama(raiseOptions));
    if (failed(raise.run(*module)))
      return fail(llvm::formatv("{0}: the ONNX graph could not be raised "
                                "into a Llama forward pass (see above; a "
                                "graph that is not a Llama decoder compiles "
                                "with --graph)",
                                compileModel.getValue()));
  } else {
    if (emit == Emit::ONNX)
      return fail("--emit onnx needs an ONNX model");
    auto built = buildForward(context, **model, buildOptions);
    if (!built)
      return fail(built.takeError());
    module = std::move(*built);
  }
  const ModelConfig &config = (*model)->config;
  std::string tokenizerSource;
  auto tokenizer = resolveTokenizer(**model, &tokenizerSource);
  if (!tokenizer)
    return fail(tokenizer.takeError());
  std::string serializedTokenizer;
  if (*tokenizer) {
    runtime::Tokenizer check;
    std::string problem = check.build(**tokenizer);
    if (!problem.empty())
      return fail(llvm::formatv("{0}: {1}", tokenizerSource, problem));
    if (check.size() > config.vocabSize)
      return fail(llvm::formatv("{0}: the tokenizer has {1} tokens but the "
                                "model's vocabulary is {2}",
                                tokenizerSource, check.size(),
                                config.vocabSize));
    serializedTokenizer = runtime::serialize_tokenizer(**tokenizer);
  } else if (!quiet) {
    llvm::errs() << "llamac: note: " << compileModel
                 << " has no tokenizer; the executable takes --tokens only\n";
  }
  progress.done(llvm::formatv("read {0} model '{1}': {2} layers, hidden {3}, "
                              "vocab {4}",
                              (*model)->format, compileModel.getValue(),
                              config.numLayers, config.hiddenSize,
                              config.vocabSize));

  // Model-level passes.
  PassManager modelPasses(&context);
  if (quantKind) {
    LlamaQuantizeOptions options;
    options.scheme = *quantKind;
    options.quantizeOutput = quantizeOutput;
    modelPasses.addPass(createLlamaQuantize(options));
  }
  if (!noFusion) {
    std::pair<llvm::StringRef, std::unique_ptr<Pass> (*)()> fusions[] = {
        {"llama-fuse-projections", createLlamaFuseProjections},
        {"llama-fuse-norm", createLlamaFuseNorm},
        {"llama-fuse-swiglu", createLlamaFuseSwiGLU},
        {"llama-fuse-residual", createLlamaFuseResidual},
        {"llama-fuse-rope", createLlamaFuseRope}};
    for (auto &[name, create] : fusions)
      if (target->supportsFusion(name))
        modelPasses.addPass(create());
  }
  CodegenOptions codegenOptions = codegenOptionsFromFlags();
  target->buildModelPipeline(modelPasses, codegenOptions);
  modelPasses.addPass(createLlamaLayoutWeights());
  if (failed(modelPasses.run(*module)))
    return fail("the model-level passes failed");
  if (emit == Emit::Llama)
    return failed(writeModule(*module, outputPath)) ? 1 : 0;
  if (emit == Emit::Weights) {
    BlobInfo info;
    info.tokenizer = serializedTokenizer;
    info.fingerprint = fingerprint(*module);
    info.vocabSize = static_cast<int32_t>(config.vocabSize);
    info.bosToken = config.bosTokenId;
    info.eosTokens = config.eosTokenIds;
    info.addBos = config.addBos;
    std::error_code error;
    llvm::raw_fd_ostream out(outputPath, error);
    if (error)
      return fail(llvm::formatv("cannot write '{0}': {1}",
                                outputPath.getValue(), error.message()));
    if (llvm::Expected<uint64_t> bytes =
            writeWeightsBlob(*module, **model, info, out);
        !bytes)
      return fail(bytes.takeError());
    return 0;
  }
  // Lowering replaces the parameters by views; the weights writer reads them
  // from this copy.
  OwningOpRef<ModuleOp> laidOut = module->clone();

  uint64_t modelFingerprint = fingerprint(*module);
  int64_t weightsBytes =
      (*module)->getAttrOfType<IntegerAttr>(kWeightsBytesAttr).getInt();
  auto forwardType =
      module->lookupSymbol<func::FuncOp>("forward").getFunctionType();
  auto cacheType = cast<RankedTensorType>(forwardType.getInput(2));

  // Target lowering.
  PassManager kernelPasses(&context);
  target->buildKernelPipeline(kernelPasses, codegenOptions);
  if (failed(kernelPasses.run(*module)))
    return fail("lowering to target kernels failed");
  if (emit == Emit::Kernels)
    return failed(writeModule(*module, outputPath)) ? 1 : 0;
  int64_t arenaFixed =
      (*module)
          ->getAttrOfType<IntegerAttr>("llamac.arena_fixed_bytes")
          .getInt();
  int64_t arenaPerToken =
      (*module)
          ->getAttrOfType<IntegerAttr>("llamac.arena_per_token_bytes")
          .getInt();

  PassManager llvmPasses(&context);
  target->buildLLVMPipeline(llvmPasses);
  if (failed(llvmPasses.run(*module)))
    return fail("lowering to the LLVM dialect failed");
  if (emit == Emit::LLVMMLIR)
    return failed(writeModule(*module, outputPath)) ? 1 : 0;
  progress.done(llvm::formatv("lowered to {0}", target->name()));

  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      createTargetMachine(*target);
  if (!machine)
    return fail(machine.takeError());
  llvm::LLVMContext llvmContext;
  std::vector<std::string> exportedNames = target->exportedSymbols();
  llvm::SmallVector<llvm::StringRef> exported(exportedNames.begin(),
                                              exportedNames.end());
  auto llvmModule = translateToLLVMIR(*module, llvmContext, **machine, exported,
                                      target->fixedVScale());
  if (!llvmModule)
    return fail(llvmModule.takeError());
  int64_t info[LLAMAC_INFO_COUNT] = {};
  info[LLAMAC_INFO_ABI_VERSION] = LLAMAC_RT_ABI_VERSION;
  info[LLAMAC_INFO_FINGERPRINT] = static_cast<int64_t>(modelFingerprint);
  info[LLAMAC_INFO_VOCAB] = config.vocabSize;
  info[LLAMAC_INFO_LAYERS] = cacheType.getDimSize(0);
  info[LLAMAC_INFO_KV_HEADS] = cacheType.getDimSize(1);
  info[LLAMAC_INFO_CONTEXT] = cacheType.getDimSize(2);
  info[LLAMAC_INFO_K_HEAD_DIM] = cacheType.getDimSize(3);
  info[LLAMAC_INFO_V_HEAD_DIM] = cacheType.getDimSize(3);
  info[LLAMAC_INFO_MAX_CHUNK] = maxChunk;
  info[LLAMAC_INFO_ARENA_STATIC] = arenaFixed;
  info[LLAMAC_INFO_ARENA_PER_TOKEN] = arenaPerToken;
  info[LLAMAC_INFO_CACHE_ELEMENT_BYTES] =
      cacheType.getElementTypeBitWidth() / 8;
  info[LLAMAC_INFO_WEIGHTS_BYTES] = weightsBytes;
  info[LLAMAC_INFO_REQUIRED_ISA] = target->requiredISA(codegenOptions);
  // Vector-length-specific SVE code: vscale x 128 bits.
  info[LLAMAC_INFO_VECTOR_BYTES] = target->fixedVScale() * 16;
  info[LLAMAC_INFO_DEVICE] = target->device();
  addModelInfo(**llvmModule, info);
  optimizeLLVMIR(**llvmModule, **machine);
  progress.done("optimized LLVM IR");

  if (emit == Emit::LLVM)
    return writeLLVMText(**llvmModule, outputPath);
  if (emit == Emit::Asm || emit == Emit::Obj) {
    if (writeMachineCode(**llvmModule, **machine,
                         emit == Emit::Asm ? llvm::CodeGenFileType::AssemblyFile
                                           : llvm::CodeGenFileType::ObjectFile,
                         outputPath))
      return 1;
    progress.done(llvm::formatv("wrote {0}", outputPath.getValue()));
    return 0;
  }

  // Executables and libraries: an object file first.
  llvm::SmallString<128> objectPath;
  if (std::error_code error =
          llvm::sys::fs::createTemporaryFile("llamac-model", "o", objectPath))
    return fail(
        llvm::formatv("cannot create a temporary file: {0}", error.message()));
  llvm::FileRemover removeObject(objectPath);
  if (writeMachineCode(**llvmModule, **machine,
                       llvm::CodeGenFileType::ObjectFile, objectPath))
    return 1;
  progress.done("generated machine code");

  BlobInfo blobInfo;
  blobInfo.tokenizer = serializedTokenizer;
  blobInfo.fingerprint = modelFingerprint;
  blobInfo.vocabSize = static_cast<int32_t>(config.vocabSize);
  blobInfo.bosToken = config.bosTokenId;
  blobInfo.eosTokens = config.eosTokenIds;
  blobInfo.addBos = config.addBos;
  // The weights are written from the laid-out llama module: the parameters
  // and their offsets, as the code reads them.
  auto writeLaidOut = [&](llvm::raw_ostream &out) {
    return writeWeightsBlob(*laidOut, **model, blobInfo, out);
  };

  auto writeWeightsFile = [&](llvm::StringRef path) -> llvm::Error {
    std::error_code error;
    llvm::raw_fd_ostream out(path, error);
    if (error)
      return llvm::createStringError(error, "cannot write '%s': %s",
                                     path.str().c_str(),
                                     error.message().c_str());
    llvm::Expected<uint64_t> bytes = writeLaidOut(out);
    if (!bytes)
      return bytes.takeError();
    out.close();
    if (out.has_error())
      return llvm::createStringError(out.error(), "writing '%s' failed",
                                     path.str().c_str());
    return llvm::Error::success();
  };

  if (emit == Emit::Lib) {
    if (llvm::Error e =
            writeStaticLibrary(*target, objectPath, runtimeDir, outputPath))
      return fail(std::move(e));
    llvm::SmallString<256> base(outputPath);
    llvm::sys::path::replace_extension(base, "");
    llvm::SmallString<256> header(base), weights(base);
    header += ".h";
    weights += ".weights";
    llvm::SmallString<256> sourceHeader(runtimeDir);
    llvm::sys::path::append(sourceHeader, "..", "include", "llamac",
                            "llamac.h");
    if (!llvm::sys::fs::exists(sourceHeader)) {
      sourceHeader = runtimeDir;
      llvm::sys::path::append(sourceHeader, "llamac.h");
    }
    if (std::error_code error = llvm::sys::fs::copy_file(sourceHeader, header))
      return fail(llvm::formatv("cannot copy the C header '{0}' to '{1}': {2}",
                                sourceHeader, header, error.message()));
    if (llvm::Error e = writeWeightsFile(weights))
      return fail(std::move(e));
    progress.done(llvm::formatv("wrote {0}, {1} and {2} ({3} of weights)",
                                outputPath.getValue(), header, weights,
                                formatBytes(weightsBytes)));
    return 0;
  }

  if (llvm::Error e =
          linkExecutable(*target, objectPath, runtimeDir, outputPath))
    return fail(std::move(e));
  if (weightsMode == WeightsMode::External) {
    std::string weights = outputPath + ".weights";
    if (llvm::Error e = writeWeightsFile(weights))
      return fail(std::move(e));
    progress.done(llvm::formatv("wrote {0} and {1} ({2} of weights)",
                                outputPath.getValue(), weights,
                                formatBytes(weightsBytes)));
  } else {
    if (llvm::Error e = appendPayload(outputPath, writeLaidOut))
      return fail(std::move(e));
    progress.done(llvm::formatv("wrote {0} ({1} of weights embedded)",
                                outputPath.getValue(),
                                formatBytes(weightsBytes)));
  }
  return 0;
}

//===----------------------------------------------------------------------===//
// compile --graph
//===----------------------------------------------------------------------===//

/// ONNX TensorProto element type numbers, for the graph interface.
int onnxElementType(Type type) {
  if (type.isF32())
    return 1;
  if (type.isInteger(8))
    return 3;
  if (type.isInteger(16))
    return 5;
  if (type.isInteger(32))
    return 6;
  if (type.isInteger(64))
    return 7;
  if (type.isInteger(1))
    return 9;
  if (type.isF16())
    return 10;
  if (type.isF64())
    return 11;
  if (type.isBF16())
    return 16;
  return 0;
}

/// Adds `llamac_graph_run(void **buffers)` (inputs then outputs, each the
/// data of a dense row-major tensor) around the bare-pointer
/// `llamac_graph`, and `llamac_graph_info`, the text that describes them.
llvm::Error addGraphInterface(llvm::Module &module, llvm::StringRef info,
                              unsigned buffers) {
  llvm::LLVMContext &context = module.getContext();
  llvm::Function *graph = module.getFunction("llamac_graph");
  if (!graph || graph->arg_size() != buffers)
    return llvm::createStringError("the lowered graph has no llamac_graph "
                                   "with %u buffer arguments",
                                   buffers);
  graph->setLinkage(llvm::GlobalValue::InternalLinkage);
  auto *ptr = llvm::PointerType::get(context, 0);
  auto *run = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr}, false),
      llvm::GlobalValue::ExternalLinkage, "llamac_graph_run", module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", run));
  std::vector<llvm::Value *> args;
  for (unsigned i = 0; i < buffers; ++i)
    args.push_back(
        b.CreateLoad(ptr, b.CreateConstGEP1_64(ptr, run->getArg(0), i)));
  b.CreateCall(graph, args);
  b.CreateRetVoid();
  llvm::Constant *text =
      llvm::ConstantDataArray::getString(context, info, /*AddNull=*/true);
  auto *global = new llvm::GlobalVariable(
      module, text->getType(), /*isConstant=*/true,
      llvm::GlobalValue::ExternalLinkage, text, "llamac_graph_info");
  global->setAlignment(llvm::Align(8));
  return llvm::Error::success();
}

int compileGraph(const char *argv0, const Target &target) {
  Progress progress;
  if (!target.isHost() || target.device() != LLAMAC_DEVICE_CPU)
    return fail(llvm::formatv("--graph compiles for this machine's CPU "
                              "targets, not '{0}'",
                              target.name()));
  // Options of the Llama path have no meaning for a tensor function.
  for (auto [given, option] :
       {std::pair{quantize != "none", "--quantize"},
        {quantizeOutput.getValue(), "--quantize-output"},
        {weightsMode != WeightsMode::Embedded, "--weights"},
        {!tokenizerPath.empty(), "--tokenizer"},
        {maxContext != 0, "--max-context"},
        {activationPrecision != "int8", "--activation-precision"},
        {floatPrecision != "f32", "--float-precision"},
        {maxChunk != 256, "--max-chunk"},
        {noFusion.getValue(), "--no-fusion"}})
    if (given)
      return fail(llvm::formatv("{0} does not apply to --graph (a tensor "
                                "function, not a Llama decoder)",
                                option));
  ONNXImportOptions importOptions;
  importOptions.embedInitializers = true;
  for (const std::string &binding : inputValues) {
    auto [name, file] = llvm::StringRef(binding).split('=');
    if (name.empty() || file.empty())
      return fail(
          llvm::formatv("--input-value '{0}' is not NAME=FILE", binding));
    if (!llvm::sys::fs::exists(file))
      return fail(
          llvm::formatv("--input-value {0}: '{1}' does not exist", name, file));
    importOptions.inputValues[name.str()] = file.str();
  }
  for (const std::string &binding : inputShapes) {
    auto [name, dims] = llvm::StringRef(binding).split('=');
    std::vector<int64_t> shape;
    llvm::SmallVector<llvm::StringRef> parts;
    dims.split(parts, 'x');
    bool ok = !name.empty() && !dims.empty();
    for (llvm::StringRef part : parts) {
      int64_t d = 0;
      ok = ok && !part.getAsInteger(10, d) && d > 0;
      shape.push_back(d);
    }
    if (!ok)
      return fail(llvm::formatv("--input-shape '{0}' is not NAME=D0xD1... "
                                "with positive sizes",
                                binding));
    importOptions.inputShapes[name.str()] = shape;
  }
  std::string runtimeDir;
  if (emit == Emit::Exe || emit == Emit::Lib) {
    llvm::Expected<std::string> dir = runtimeDirectory(argv0);
    if (!dir)
      return fail(dir.takeError());
    runtimeDir = *dir;
  }
  llvm::Expected<std::unique_ptr<LoadedModel>> model =
      loadModel(compileModel, /*strict=*/false);
  if (!model)
    return fail(model.takeError());
  if ((*model)->format != "onnx")
    return fail(llvm::formatv("{0}: --graph needs an ONNX model",
                              compileModel.getValue()));
  DialectRegistry registry;
  registerDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  auto imported = importONNX(context, **model, importOptions);
  if (!imported)
    return fail(imported.takeError());
  OwningOpRef<ModuleOp> module = std::move(*imported);
  if (emit == Emit::ONNX)
    return failed(writeModule(*module, outputPath)) ? 1 : 0;

  PassManager lower(&context);
  lower.addPass(createONNXLowerGraph());
  lower.addPass(createCanonicalizerPass());
  lower.addPass(createCSEPass());
  if (failed(lower.run(*module)))
    return fail(llvm::formatv("{0}: the graph could not be lowered (see "
                              "above)",
                              compileModel.getValue()));
  progress.done("lowered the graph to linalg");
  // The interface, from the lowered function's buffers.
  auto function = module->lookupSymbol<func::FuncOp>("llamac_graph");
  int64_t outputs =
      function->getAttrOfType<IntegerAttr>("onnx.outputs").getInt();
  unsigned buffers = function.getNumArguments();
  std::string info = "llamac-graph 1\n";
  for (unsigned i = 0; i < buffers; ++i) {
    auto type = cast<MemRefType>(function.getArgumentTypes()[i]);
    auto name = function.getArgAttrOfType<StringAttr>(i, "onnx.name");
    int code = onnxElementType(type.getElementType());
    if (function.getArgAttr(i, "onnx.unsigned"))
      code = type.getElementType().isInteger(8)    ? 2
             : type.getElementType().isInteger(16) ? 4
             : type.getElementType().isInteger(32) ? 12
             : type.getElementType().isInteger(64) ? 13
                                                   : 0;
    if (!code)
      return fail(llvm::formatv(
          "{0}: graph {1} '{2}' has element type {3}, "
          "which the graph interface does not pass",
          compileModel.getValue(), i + outputs >= buffers ? "output" : "input",
          name ? name.getValue() : "?", type.getElementType()));
    // One word per name: whitespace in an ONNX name becomes '_'.
    std::string word = name && !name.getValue().empty() ? name.str() : "-";
    for (char &c : word)
      if (llvm::isSpace(c))
        c = '_';
    info += llvm::formatv("{0} {1} {2} {3}",
                          i + outputs >= buffers ? "output" : "input", word,
                          code, type.getRank());
    for (int64_t d : type.getShape())
      info += " " + std::to_string(d);
    info += "\n";
  }
  if (emit == Emit::Llama || emit == Emit::Kernels)
    return failed(writeModule(*module, outputPath)) ? 1 : 0;

  PassManager llvmPasses(&context);
  cpu::buildGraphLLVMPipeline(llvmPasses);
  if (failed(llvmPasses.run(*module)))
    return fail("lowering the graph to the LLVM dialect failed");
  // A conversion that did not apply leaves its op behind, silently.
  std::string left;
  module->walk([&](Operation *op) {
    if (left.empty() && !isa<ModuleOp>(op) &&
        op->getDialect()->getNamespace() != "llvm")
      left = op->getName().getStringRef().str();
  });
  if (!left.empty())
    return fail(llvm::formatv("{0}: the graph's '{1}' was not lowered to "
                              "LLVM",
                              compileModel.getValue(), left));
  if (emit == Emit::LLVMMLIR)
    return failed(writeModule(*module, outputPath)) ? 1 : 0;
  progress.done("lowered to the LLVM dialect");

  llvm::Expected<std::unique_ptr<llvm::TargetMachine>> machine =
      createTargetMachine(target);
  if (!machine)
    return fail(machine.takeError());
  llvm::LLVMContext llvmContext;
  llvm::SmallVector<llvm::StringRef> exported = {"llamac_graph"};
  auto llvmModule =
      translateToLLVMIR(*module, llvmContext, **machine, exported, 0);
  if (!llvmModule)
    return fail(llvmModule.takeError());
  if (llvm::Error e = addGraphInterface(**llvmModule, info, buffers))
    return fail(std::move(e));
  optimizeLLVMIR(**llvmModule, **machine);
  progress.done("optimized LLVM IR");
  if (emit == Emit::LLVM)
    return writeLLVMText(**llvmModule, outputPath);
  if (emit == Emit::Asm || emit == Emit::Obj)
    return writeMachineCode(**llvmModule, **machine,
                            emit == Emit::Asm
                                ? llvm::CodeGenFileType::AssemblyFile
                                : llvm::CodeGenFileType::ObjectFile,
                            outputPath);
  if (emit == Emit::Weights)
    return fail("--emit weights: a graph's initializers are embedded in its "
                "code");
  llvm::SmallString<128> objectPath;
  if (std::error_code error =
          llvm::sys::fs::createTemporaryFile("llamac-graph", "o", objectPath))
    return fail(
        llvm::formatv("cannot create a temporary file: {0}", error.message()));
  llvm::FileRemover removeObject(objectPath);
  if (writeMachineCode(**llvmModule, **machine,
                       llvm::CodeGenFileType::ObjectFile, objectPath))
    return 1;
  progress.done("generated machine code");
  if (emit == Emit::Lib) {
    std::vector<std::string> none;
    if (llvm::Error e = writeStaticLibrary(target, objectPath, runtimeDir,
                                           outputPath, &none))
      return fail(std::move(e));
    llvm::SmallString<256> header(outputPath);
    llvm::sys::path::replace_extension(header, ".h");
    llvm::SmallString<256> sourceHeader(runtimeDir);
    llvm::sys::path::append(sourceHeader, "..", "include", "llamac",
                            "llamac_graph.h");
    if (std::error_code error = llvm::sys::fs::copy_file(sourceHeader, header))
      return fail(llvm::formatv("cannot copy the C header '{0}' to '{1}': {2}",
                                sourceHeader, header, error.message()));
    progress.done(
        llvm::formatv("wrote {0} and {1}", outputPath.getValue(), header));
    return 0;
  }
  if (llvm::Error e = linkExecutable(target, objectPath, runtimeDir, outputPath,
                                     {"libllamac_graph_main.a"}))
    return fail(std::move(e));
  progress.done(llvm::formatv("wrote {0}", outputPath.getValue()));
  return 0;
}

//===----------------------------------------------------------------------===//
// inspect, targets
//===----------------------------------------------------------------------===//

int inspect() {
  llvm::Expected<std::unique_ptr<LoadedModel>> model =
      loadModel(inspectModel, /*strict=*/false);
  if (!model)
    return fail(model.takeError());
  const ModelConfig &c = (*model)->config;
  llvm::raw_ostream &os = llvm::outs();
  if (inspectMetadata) {
    for (const MetadataEntry &entry : (*model)->metadata) {
      llvm::json::OStream json(os);
      json.object([&] {
        json.attribute("key", entry.key);
        json.attribute("type", entry.type);
        json.attributeBegin("value");
        json.rawValue(entry.value);
        json.attributeEnd();
      });
      os << "\n";
    }
    return 0;
  }
  if (!inspectTensor.empty()) {
    const TensorSource *t = (*model)->weights.find(inspectTensor);
    if (!t)
      return fail(llvm::formatv("{0} has no tensor '{1}'", inspectModel,
                                inspectTensor));
    if (!t->unsupportedType.empty())
      return fail(llvm::formatv("tensor '{0}' is stored as {1}, which llamac "
                                "cannot decode",
                                inspectTensor, t->unsupportedType));
    int64_t cols = t->shape.empty() ? 1 : t->shape.back();
    int64_t rows = cols ? t->numElements() / cols : 0;
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      decodeRow(t->dtype, t->data + r * rowBytes(t->dtype, cols), cols,
                row.data());
      for (int64_t i = 0; i < cols; ++i)
        os << llvm::formatv("{0}", llvm::format("%.9g", row[i]))
           << (i + 1 == cols ? "\n" : " ");
    }
    return 0;
  }
  os << "model:              " << inspectModel << " (" << (*model)->format
     << ")\n";
  if (!(*model)->configProblem.empty())
    os << "not compilable:     " << (*model)->configProblem << "\n";
  os << "architecture:       " << c.architecture << "\n";
  os << "vocab_size:         " << c.vocabSize << "\n";
  os << "hidden_size:        " << c.hiddenSize << "\n";
  os << "intermediate_size:  " << c.intermediateSize << "\n";
  os << "layers:             " << c.numLayers << "\n";
  os << "heads:              " << c.numHeads << " (kv " << c.numKVHeads
     << ", head_dim " << c.headDim << ")\n";
  os << "context:            " << c.maxPositions << "\n";
  os << "rms_norm_eps:       " << c.rmsNormEps << "\n";
  os << "rope_theta:         " << c.ropeTheta
     << (c.ropeInterleaved ? " (interleaved pairs)" : "") << "\n";
  if (c.ropeScaling)
    os << "rope_scaling:       "
       << (c.ropeScaling->kind == RopeScaling::Kind::Llama3 ? "llama3"
                                                            : "linear")
       << ", factor " << c.ropeScaling->factor << "\n";
  os << "tied embeddings:    " << (c.tieWordEmbeddings ? "yes" : "no") << "\n";
  os << "bos / eos:          " << c.bosTokenId << " / ";
  for (size_t i = 0; i < c.eosTokenIds.size(); ++i)
    os << (i ? "," : "") << c.eosTokenIds[i];
  os << "\n";

  llvm::StringMap<std::pair<uint64_t, uint64_t>> byType; // count, bytes
  uint64_t parameters = 0, bytes = 0;
  for (const std::string &name : (*model)->weights.names()) {
    const TensorSource *t = (*model)->weights.find(name);
    std::string type = t->unsupportedType.empty() ? dtypeName(t->dtype).str()
                                                  : t->unsupportedType;
    byType[type].first++;
    byType[type].second += t->bytes;
    parameters += t->numElements();
    bytes += t->bytes;
  }
  os << "weights:            " << (*model)->weights.names().size()
     << " tensors, " << parameters << " parameters, " << formatBytes(bytes)
     << "\n";
  for (const auto &entry : byType)
    os << "  " << entry.getKey() << ": " << entry.getValue().first
       << " tensors, " << formatBytes(entry.getValue().second) << "\n";
  for (const std::string &name : (*model)->weights.names()) {
    const TensorSource *t = (*model)->weights.find(name);
    os << "  " << name << " "
       << (t->unsupportedType.empty() ? dtypeName(t->dtype).str()
                                      : t->unsupportedType)
       << " [";
    for (size_t i = 0; i < t->shape.size(); ++i)
      os << (i ? ", " : "") << t->shape[i];
    os << "]\n";
  }
  return 0;
}

int tokenize() {
  if (tokenizeModel.empty() && tokenizerPath.empty())
    return fail("give a model, or --tokenizer FILE");
  std::unique_ptr<LoadedModel> model = std::make_unique<LoadedModel>();
  if (!tokenizeModel.empty()) {
    llvm::Expected<std::unique_ptr<LoadedModel>> loaded =
        loadModel(tokenizeModel, /*strict=*/false);
    if (!loaded)
      return fail(loaded.takeError());
    model = std::move(*loaded);
  }
  std::string source;
  auto spec = resolveTokenizer(*model, &source);
  if (!spec)
    return fail(spec.takeError());
  if (!*spec)
    return fail(llvm::formatv("{0} has no tokenizer (give --tokenizer FILE)",
                              tokenizeModel));
  runtime::Tokenizer tokenizer;
  std::string problem = tokenizer.build(std::move(**spec));
  if (!problem.empty())
    return fail(llvm::formatv("{0}: {1}", source, problem));
  bool addSpecial = tokenizeAddSpecial, parseSpecial = tokenizeParseSpecial;
  auto encodeOne = [&](llvm::StringRef text) {
    std::vector<int32_t> ids = tokenizer.encode(
        std::string_view(text.data(), text.size()), addSpecial, parseSpecial);
    llvm::outs() << "ids:";
    for (int32_t id : ids)
      llvm::outs() << " " << id;
    llvm::outs() << "\n";
    if (tokenizeDecode) {
      llvm::json::OStream json(llvm::outs());
      json.value(llvm::json::fixUTF8(tokenizer.decode(ids, false)));
      llvm::outs() << "\n";
    }
  };
  if (!tokenizeFile.empty()) {
    auto buffer = llvm::MemoryBuffer::getFile(tokenizeFile, /*IsText=*/false);
    if (!buffer)
      return fail(llvm::formatv("cannot read '{0}': {1}", tokenizeFile,
                                buffer.getError().message()));
    llvm::SmallVector<llvm::StringRef> lines;
    (*buffer)->getBuffer().split(lines, '\n');
    if (tokenizeRepeat > 0) {
      // Encode every line, N times, and report bytes per second.
      size_t bytes = 0, tokens = 0;
      auto start = std::chrono::steady_clock::now();
      for (unsigned r = 0; r < tokenizeRepeat; ++r)
        for (llvm::StringRef line : lines) {
          tokens += tokenizer
                        .encode(std::string_view(line.data(), line.size()),
                                addSpecial, parseSpecial)
                        .size();
          bytes += line.size();
        }
      double seconds = std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count();
      llvm::outs() << llvm::formatv(
          "encoded {0} bytes into {1} tokens in {2:f3} s: {3:f2} MB/s\n", bytes,
          tokens, seconds, bytes / seconds / 1e6);
      return 0;
    }
    for (llvm::StringRef line : lines)
      encodeOne(line);
    return 0;
  }
  encodeOne(tokenizeText);
  return 0;
}

int listTargets() {
  registerAllTargets();
  for (const auto &target : TargetRegistry::get().targets())
    llvm::outs() << llvm::formatv("{0,-16} {1}\n", target->name(),
                                  target->description());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions({&compileCategory, &cl::getGeneralCategory()});
  cl::ParseCommandLineOptions(
      argc, argv,
      "llamac: an ahead-of-time compiler for Llama-family language models\n\n"
      "  llamac compile MODEL -o OUT   compile a model (see llamac compile "
      "--help)\n"
      "  llamac inspect MODEL          print a model's configuration and "
      "weights\n"
      "  llamac targets                list the code generation targets\n"
      "  llamac tokenize MODEL --text T  print the token ids of a text\n");
  if (compileCommand)
    return compile(argv[0]);
  if (inspectCommand)
    return inspect();
  if (targetsCommand)
    return listTargets();
  if (tokenizeCommand)
    return tokenize();
  llvm::errs() << "llamac: give a command: compile, inspect, tokenize or "
                  "targets (see llamac --help)\n";
  return 1;
}
