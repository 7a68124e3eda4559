//===- FuzzCommon.cpp - Shared pieces of the libFuzzer harnesses ----------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/FuzzCommon.h"

#include "codegen/Target.h"
#include "dialects/Llama/LlamaOps.h"
#include "dialects/ONNX/ONNXDialect.h"
#include "dialects/Runtime/RuntimeDialect.h"
#include "frontend/Load.h"
#include "frontend/common/WeightsWriter.h"
#include "frontend/onnx/ONNX.h"
#include "passes/Passes.h"
#include "passes/WeightsLayout.h"
#include "tokenizer.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

using namespace mlir;

namespace llamac {
namespace fuzz {

std::vector<std::string_view> splitInput(const uint8_t *data, size_t size,
                                         size_t max) {
  std::string_view rest(reinterpret_cast<const char *>(data), size);
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max) {
    size_t at = rest.find(kSplit);
    if (at == std::string_view::npos)
      break;
    parts.push_back(rest.substr(0, at));
    rest.remove_prefix(at + kSplit.size());
  }
  parts.push_back(rest);
  return parts;
}

const std::string &scratchDir() {
  static const std::string dir = [] {
    const char *base = getenv("TMPDIR");
    std::string pattern =
        std::string(base && *base ? base : "/tmp") + "/llamac-fuzz-XXXXXX";
    if (!mkdtemp(pattern.data())) {
      perror("mkdtemp");
      abort();
    }
    return pattern;
  }();
  return dir;
}

std::string putFile(const std::string &name, std::string_view bytes,
                    bool present) {
  std::string path = scratchDir() + "/" + name;
  if (!present) {
    unlink(path.c_str());
    return path;
  }
  FILE *file = fopen(path.c_str(), "wb");
  if (!file || fwrite(bytes.data(), 1, bytes.size(), file) != bytes.size()) {
    perror(path.c_str());
    abort();
  }
  fclose(file);
  return path;
}

namespace {

/// Weights are written (to nowhere) only below this size, so that an input
/// declaring a large but valid model is not an hour of conversion.
constexpr int64_t kMaxWeightBytes = 64 << 20;

MLIRContext &context() {
  static MLIRContext *ctx = [] {
    DialectRegistry registry;
    registry.insert<llama::LlamaDialect, lrt::RuntimeDialect,
                    arith::ArithDialect, func::FuncDialect, math::MathDialect,
                    tensor::TensorDialect, onnx::ONNXDialect>();
    auto *c = new MLIRContext(registry);
    c->loadAllAvailableDialects();
    // Diagnostics are the expected result of most inputs: keep them quiet.
    c->getDiagEngine().registerHandler([](Diagnostic &) { return success(); });
    return c;
  }();
  return *ctx;
}

} // namespace

void compileFrontHalf(const std::string &path) {
  llvm::Expected<std::unique_ptr<LoadedModel>> model = loadModel(path);
  if (!model) {
    llvm::consumeError(model.takeError());
    return;
  }
  if ((*model)->tokenizer) {
    runtime::Tokenizer tokenizer;
    if (tokenizer.build(*(*model)->tokenizer).empty()) {
      std::vector<int32_t> ids = tokenizer.encode(
          "Hello, world! <|im_start|> 123 \xc3\xa9", true, true);
      (void)tokenizer.decode(ids, false);
    }
  }
  BuildOptions options;
  options.maxContext = 16;
  OwningOpRef<ModuleOp> module;
  if ((*model)->format == "onnx") {
    // The generic path first (--graph): import with embedded initializers,
    // then onnx-lower-graph; errors are the expected result.
    ONNXImportOptions graphOptions;
    graphOptions.embedInitializers = true;
    if (auto graph = importONNX(context(), **model, graphOptions)) {
      PassManager lower(&context());
      lower.addPass(createONNXLowerGraph());
      (void)lower.run(**graph);
    } else {
      llvm::consumeError(graph.takeError());
    }
    auto imported = importONNX(context(), **model);
    if (!imported) {
      llvm::consumeError(imported.takeError());
      return;
    }
    module = std::move(*imported);
    PassManager raise(&context());
    ONNXRaiseLlamaOptions raiseOptions;
    raiseOptions.maxContext = contextLength((*model)->config, options);
    raise.addPass(createONNXRaiseLlama(raiseOptions));
    if (failed(raise.run(*module)))
      return;
  } else {
    auto built = buildForward(context(), **model, options);
    if (!built) {
      llvm::consumeError(built.takeError());
      return;
    }
    module = std::move(*built);
  }
  // The model-level passes of a compile for the host CPU: quantization of
  // the output layer is not asked for, packing is the target's.
  static const Target *target = [] {
    registerAllTargets();
    return TargetRegistry::get().lookup("cpu");
  }();
  PassManager layout(&context());
  layout.addPass(createLlamaFuseProjections());
  layout.addPass(createLlamaFuseNorm());
  layout.addPass(createLlamaFuseSwiGLU());
  layout.addPass(createLlamaFuseResidual());
  layout.addPass(createLlamaFuseRope());
  target->buildModelPipeline(layout, CodegenOptions());
  layout.addPass(createLlamaLayoutWeights());
  if (failed(layout.run(*module)))
    return;
  auto bytes = (*module)->getAttrOfType<IntegerAttr>(kWeightsBytesAttr);
  if (!bytes || bytes.getInt() > kMaxWeightBytes)
    return;
  BlobInfo info;
  info.vocabSize = static_cast<int32_t>((*model)->config.vocabSize);
  llvm::raw_null_ostream out;
  llvm::Expected<uint64_t> written =
      writeWeightsBlob(*module, **model, info, out);
  if (!written)
    llvm::consumeError(written.takeError());
}

} // namespace fuzz
} // namespace llamac
