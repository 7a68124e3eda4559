//===- Model.cpp - A model as the front ends read it ----------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the tensor store shared by the front ends and the
// builder of the llama forward pass: one decoder layer after another, every
// weight a `llama.param` named after the checkpoint's tensor.
//
//===----------------------------------------------------------------------===//

#include "frontend/common/Model.h"

#include "dialects/Llama/LlamaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Process.h"

#include <cmath>
#include <sys/mman.h>

using namespace mlir;
using namespace llamac;
using llvm::createStringError;
using llvm::formatv;

StringRef llamac::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::Q8_0:
    return "Q8_0";
  case DType::Q4_0:
    return "Q4_0";
  case DType::Q4_1:
    return "Q4_1";
  case DType::U8:
    return "U8";
  }
  llvm_unreachable("unknown dtype");
}

bool llamac::isBlockQuantized(DType dtype) {
  return dtype == DType::Q8_0 || dtype == DType::Q4_0 || dtype == DType::Q4_1;
}

int64_t llamac::rowBytes(DType dtype, int64_t cols) {
  switch (dtype) {
  case DType::F32:
    return cols * 4;
  case DType::F16:
  case DType::BF16:
    return cols * 2;
  case DType::Q8_0:
    return cols / 32 * 34;
  case DType::Q4_0:
    return cols / 32 * 18;
  case DType::Q4_1:
    return cols / 32 * 20;
  case DType::U8:
    return cols;
  }
  llvm_unreachable("unknown dtype");
}

int64_t TensorSource::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

//===----------------------------------------------------------------------===//
// WeightStore
//===----------------------------------------------------------------------===//

llvm::Expected<const llvm::MemoryBuffer *> WeightStore::map(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read '%s': %s",
                             path.str().c_str(),
                             buffer.getError().message().c_str());
  buffers_.push_back(std::move(*buffer));
  return buffers_.back().get();
}

void WeightStore::release(const TensorSource &tensor) const {
  if (!tensor.data || tensor.bytes == 0)
    return;
  auto begin = reinterpret_cast<uintptr_t>(tensor.data);
  uintptr_t end = begin + tensor.bytes;
  for (const auto &buffer : buffers_) {
    auto start = reinterpret_cast<uintptr_t>(buffer->getBufferStart());
    auto stop = reinterpret_cast<uintptr_t>(buffer->getBufferEnd());
    if (begin < start || end > stop)
      continue;
    // Only file mappings: dropping pages of heap memory would zero them.
    if (buffer->getBufferKind() != llvm::MemoryBuffer::MemoryBuffer_MMap)
      return;
    uintptr_t page = llvm::sys::Process::getPageSizeEstimate();
    uintptr_t first = llvm::alignTo(begin, page);
    uintptr_t last = end / page * page;
    if (last > first)
      ::madvise(reinterpret_cast<void *>(first), last - first, MADV_DONTNEED);
    return;
  }
}

const llvm::MemoryBuffer *
WeightStore::adopt(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  buffers_.push_back(std::move(buffer));
  return buffers_.back().get();
}

llvm::Error WeightStore::add(TensorSource tensor) {
  std::string name = tensor.name;
  auto [it, inserted] = tensors_.try_emplace(name, std::move(tensor));
  if (!inserted)
    return createStringError("tensor '%s' appears twice (in '%s' and '%s')",
                             name.c_str(), it->second.file.c_str(),
                             tensors_[name].file.c_str());
  order_.push_back(name);
  return llvm::Error::success();
}

const TensorSource *WeightStore::find(StringRef name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

//===----------------------------------------------------------------------===//
// ModelConfig
//===----------------------------------------------------------------------===//

namespace {
constexpr int64_t kMaxDimension = int64_t(1) << 24;
constexpr int64_t kMaxLayers = 4096;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxHeadDim = 16384;
} // namespace

llvm::Error ModelConfig::validate() const {
  auto positive = [](int64_t v, const char *key) -> llvm::Error {
    if (v <= 0)
      return createStringError("%s must be positive, got %lld", key,
                               static_cast<long long>(v));
    return llvm::Error::success();
  };
  for (auto [value, key] : {std::pair{vocabSize, "vocab_size"},
                            {hiddenSize, "hidden_size"},
                            {intermediateSize, "intermediate_size"},
                            {numLayers, "num_hidden_layers"},
                            {numHeads, "num_attention_heads"},
                            {numKVHeads, "num_key_value_heads"},
                            {headDim, "head_dim"}})
    if (llvm::Error error = positive(value, key))
      return error;
  // Limits far above any Llama-family model, so that sizes computed from
  // these numbers (weights, caches, activations) cannot overflow 64 bits.
  for (auto [value, key, limit] :
       {std::tuple{vocabSize, "vocab_size", kMaxDimension},
        {hiddenSize, "hidden_size", kMaxDimension},
        {intermediateSize, "intermediate_size", kMaxDimension},
        {numLayers, "num_hidden_layers", kMaxLayers},
        {numHeads, "num_attention_heads", kMaxHeads},
        {numKVHeads, "num_key_value_heads", kMaxHeads},
        {headDim, "head_dim", kMaxHeadDim},
        {maxPositions, "max_position_embeddings", kMaxDimension}})
    if (value > limit)
      return createStringError("%s is %lld, above llamac's limit of %lld", key,
                               static_cast<long long>(value),
                               static_cast<long long>(limit));
  if (numHeads % numKVHeads != 0)
    return createStringError(
        "num_attention_heads (%lld) is not a multiple of num_key_value_heads "
        "(%lld)",
        static_cast<long long>(numHeads), static_cast<long long>(numKVHeads));
  int64_t rotary = rotaryDim ? rotaryDim : headDim;
  if (rotary % 2 != 0 || rotary > headDim || rotary <= 0)
    return createStringError("rotary dimension %lld must be even and at most "
                             "head_dim %lld",
                             static_cast<long long>(rotary),
                             static_cast<long long>(headDim));
  if (!(rmsNormEps > 0) || !std::isfinite(rmsNormEps))
    return createStringError("rms_norm_eps must be positive");
  if (!(ropeTheta > 0) || !std::isfinite(ropeTheta))
    return createStringError("rope_theta must be positive");
  if (ropeScaling) {
    if (!(ropeScaling->factor > 0))
      return createStringError("rope_scaling factor must be positive");
    if (ropeScaling->kind == RopeScaling::Kind::Llama3 &&
        (!(ropeScaling->lowFreqFactor > 0) ||
         !(ropeScaling->highFreqFactor > ropeScaling->lowFreqFactor) ||
         ropeScaling->originalMaxPosition <= 0))
      return createStringError(
          "rope_scaling of type llama3 needs 0 < low_freq_factor < "
          "high_freq_factor and original_max_position_embeddings > 0");
  }
  if (bosTokenId >= vocabSize)
    return createStringError(
        "bos_token_id %d is outside the vocabulary of %lld", bosTokenId,
        static_cast<long long>(vocabSize));
  for (int32_t eos : eosTokenIds)
    if (eos < 0 || eos >= vocabSize)
      return createStringError(
          "eos_token_id %d is outside the vocabulary of %lld", eos,
          static_cast<long long>(vocabSize));
  return llvm::Error::success();
}

int64_t llamac::contextLength(const ModelConfig &config,
                              const BuildOptions &options) {
  if (options.maxContext > 0)
    return options.maxContext;
  int64_t model = config.maxPositions > 0 ? config.maxPositions : 4096;
  return std::min<int64_t>(model, 4096);
}

//===----------------------------------------------------------------------===//
// buildForward
//===----------------------------------------------------------------------===//

namespace {

std::string roleName(WeightRole role) {
  switch (role) {
  case WeightRole::TokenEmbedding:
    return "token embedding";
  case WeightRole::OutputNorm:
    return "final norm";
  case WeightRole::Output:
    return "output projection";
  case WeightRole::AttentionNorm:
    return "attention norm";
  case WeightRole::Query:
    return "query projection";
  case WeightRole::Key:
    return "key projection";
  case WeightRole::Value:
    return "value projection";
  case WeightRole::AttentionOutput:
    return "attention output projection";
  case WeightRole::QueryBias:
    return "query bias";
  case WeightRole::KeyBias:
    return "key bias";
  case WeightRole::ValueBias:
    return "value bias";
  case WeightRole::AttentionOutputBias:
    return "attention output bias";
  case WeightRole::FFNNorm:
    return "feed-forward norm";
  case WeightRole::Gate:
    return "gate projection";
  case WeightRole::Up:
    return "up projection";
  case WeightRole::Down:
    return "down projection";
  }
  llvm_unreachable("unknown role");
}

std::string shapeString(ArrayRef<int64_t> shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

class ForwardBuilder {
public:
  ForwardBuilder(MLIRContext &context, const LoadedModel &model,
                 const BuildOptions &options)
      : context_(context), model_(model), config_(model.config),
        options_(options), b_(UnknownLoc::get(&context), &context) {}

  llvm::Expected<OwningOpRef<ModuleOp>> build();

private:
  /// The param for `role`, checked against `shape`. Vectors (norms, biases)
  /// are read as f32; matrices keep their stored element type.
  llvm::Expected<Value> param(WeightRole role, int64_t layer,
                              ArrayRef<int64_t> shape);
  Value linear(Value x, Value weight, Value bias, int64_t outFeatures);

  MLIRContext &context_;
  const LoadedModel &model_;
  const ModelConfig &config_;
  const BuildOptions &options_;
  ImplicitLocOpBuilder b_;
};

llvm::Expected<Value> ForwardBuilder::param(WeightRole role, int64_t layer,
                                            ArrayRef<int64_t> shape) {
  std::string name = model_.weightName(role, layer);
  std::string where =
      layer >= 0 ? formatv("layer {0}'s {1}", layer, roleName(role)).str()
                 : roleName(role);
  const TensorSource *tensor =
      name.empty() ? nullptr : model_.weights.find(name);
  if (!tensor)
    return createStringError("%s: the model has no tensor '%s' (the %s)",
                             model_.path.c_str(), name.c_str(), where.c_str());
  if (!tensor->unsupportedType.empty())
    return createStringError(
        "%s: tensor '%s' (the %s) is stored as %s; llamac reads F32, F16, "
        "BF16, Q8_0, Q4_0 and Q4_1",
        tensor->file.c_str(), name.c_str(), where.c_str(),
        tensor->unsupportedType.c_str());
  if (ArrayRef<int64_t>(tensor->shape) != shape)
    return createStringError(
        "%s: tensor '%s' (the %s) has shape %s but the config implies %s",
        tensor->file.c_str(), name.c_str(), where.c_str(),
        shapeString(tensor->shape).c_str(), shapeString(shape).c_str());

  Type type;
  if (shape.size() == 1) {
    type = RankedTensorType::get(shape, b_.getF32Type());
  } else if (isBlockQuantized(tensor->dtype)) {
    if (shape[1] % 32 != 0)
      return createStringError("%s: tensor '%s' is block-quantized but its "
                               "rows of %lld values are not whole blocks",
                               tensor->file.c_str(), name.c_str(),
                               static_cast<long long>(shape[1]));
    llama::QuantKind kind =
        tensor->dtype == DType::Q8_0   ? llama::QuantKind::Q8_0
        : tensor->dtype == DType::Q4_0 ? llama::QuantKind::Q4_0
                                       : llama::QuantKind::Q4_1;
    type = llama::QTensorType::get(
        &context_, shape, llama::QuantSchemeAttr::getGGML(&context_, kind));
  } else {
    Type element = tensor->dtype == DType::F16    ? b_.getF16Type()
                   : tensor->dtype == DType::BF16 ? b_.getBF16Type()
                                                  : b_.getF32Type();
    type = RankedTensorType::get(shape, element);
  }
  return llama::ParamOp::create(b_, type, b_.getStringAttr(name)).getResult();
}

Value ForwardBuilder::linear(Value x, Value weight, Value bias,
                             int64_t outFeatures) {
  auto xType = cast<RankedTensorType>(x.getType());
  auto type = RankedTensorType::get({xType.getDimSize(0), outFeatures},
                                    b_.getF32Type());
  return llama::LinearOp::create(b_, type, x, weight, bias);
}

llvm::Expected<OwningOpRef<ModuleOp>> ForwardBuilder::build() {
  context_.loadDialect<llama::LlamaDialect, func::FuncDialect,
                       arith::ArithDialect, tensor::TensorDialect>();
  const ModelConfig &c = config_;
  int64_t hidden = c.hiddenSize, heads = c.numHeads, kvHeads = c.numKVHeads,
          headDim = c.headDim, ffn = c.intermediateSize, vocab = c.vocabSize;
  int64_t contextLen = contextLength(c, options_);
  if (contextLen <= 0)
    return createStringError("the context length must be positive");
  if (c.maxPositions > 0 && contextLen > c.maxPositions)
    return createStringError("--max-context %lld exceeds the %lld positions "
                             "the model was trained for",
                             static_cast<long long>(contextLen),
                             static_cast<long long>(c.maxPositions));

  OwningOpRef<ModuleOp> module = ModuleOp::create(b_.getLoc());
  b_.setInsertionPointToEnd(module->getBody());
  Type f32 = b_.getF32Type();
  auto dynamic = ShapedType::kDynamic;
  auto tokensType = RankedTensorType::get({dynamic}, b_.getI32Type());
  auto cacheType =
      RankedTensorType::get({c.numLayers, kvHeads, contextLen, headDim}, f32);
  auto logitsType = RankedTensorType::get({1, vocab}, f32);
  auto func = func::FuncOp::create(
      b_, "forward",
      b_.getFunctionType({tokensType, b_.getIndexType(), cacheType, cacheType},
                         {logitsType, cacheType, cacheType}));
  Block *entry = func.addEntryBlock();
  b_.setInsertionPointToStart(entry);
  Value tokens = entry->getArgument(0), pos = entry->getArgument(1);
  Value kCache = entry->getArgument(2), vCache = entry->getArgument(3);
  auto rows = [&](int64_t features) {
    return RankedTensorType::get({dynamic, features}, f32);
  };

  llama::RopeScalingAttr scaling;
  if (c.ropeScaling) {
    const RopeScaling &s = *c.ropeScaling;
    scaling = llama::RopeScalingAttr::get(
        &context_,
        s.kind == RopeScaling::Kind::Llama3 ? llama::RopeScalingKind::Llama3
                                            : llama::RopeScalingKind::Linear,
        APFloat(s.factor), APFloat(s.lowFreqFactor), APFloat(s.highFreqFactor),
        s.originalMaxPosition);
  }
  IntegerAttr rotaryDim = c.rotaryDim && c.rotaryDim != headDim
                              ? b_.getI64IntegerAttr(c.rotaryDim)
                              : IntegerAttr();
  auto rope = [&](Value x) {
    return llama::RopeOp::create(
        b_, x.getType(), x, pos, b_.getI64IntegerAttr(headDim), rotaryDim,
        b_.getF64FloatAttr(c.ropeTheta),
        c.ropeInterleaved ? b_.getUnitAttr() : UnitAttr(), scaling,
        DenseF64ArrayAttr());
  };
  auto norm = [&](Value x, Value weight) {
    return llama::RMSNormOp::create(b_, x.getType(), x, weight,
                                    b_.getF64FloatAttr(c.rmsNormEps));
  };
  auto optionalBias = [&](bool present, WeightRole role, int64_t layer,
                          int64_t size) -> llvm::Expected<Value> {
    if (!present)
      return Value();
    return param(role, layer, {size});
  };

  b_.setLoc(NameLoc::get(b_.getStringAttr("embedding")));
  auto embeddingTable = param(WeightRole::TokenEmbedding, -1, {vocab, hidden});
  if (!embeddingTable)
    return embeddingTable.takeError();
  Value h =
      llama::EmbeddingOp::create(b_, rows(hidden), *embeddingTable, tokens);

  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    b_.setLoc(NameLoc::get(b_.getStringAttr(formatv("layer {0}", layer))));
    auto attnNorm = param(WeightRole::AttentionNorm, layer, {hidden});
    auto wq = param(WeightRole::Query, layer, {heads * headDim, hidden});
    auto wk = param(WeightRole::Key, layer, {kvHeads * headDim, hidden});
    auto wv = param(WeightRole::Value, layer, {kvHeads * headDim, hidden});
    auto wo =
        param(WeightRole::AttentionOutput, layer, {hidden, heads * headDim});
    auto bq = optionalBias(c.attentionBias, WeightRole::QueryBias, layer,
                           heads * headDim);
    auto bk = optionalBias(c.attentionBias, WeightRole::KeyBias, layer,
                           kvHeads * headDim);
    auto bv = optionalBias(c.attentionBias, WeightRole::ValueBias, layer,
                           kvHeads * headDim);
    // Llama's attention_bias also biases the output projection; Qwen-style
    // checkpoints bias only q, k and v.
    std::string outputBias =
        model_.weightName(WeightRole::AttentionOutputBias, layer);
    auto bo = optionalBias(c.attentionBias && !outputBias.empty() &&
                               model_.weights.find(outputBias),
                           WeightRole::AttentionOutputBias, layer, hidden);
    auto ffnNorm = param(WeightRole::FFNNorm, layer, {hidden});
    auto wg = param(WeightRole::Gate, layer, {ffn, hidden});
    auto wu = param(WeightRole::Up, layer, {ffn, hidden});
    auto wd = param(WeightRole::Down, layer, {hidden, ffn});
    for (llvm::Expected<Value> *p : {&attnNorm, &wq, &wk, &wv, &wo, &bq, &bk,
                                     &bv, &bo, &ffnNorm, &wg, &wu, &wd})
      if (!*p)
        return p->takeError();

    Value x = norm(h, *attnNorm);
    Value q = rope(linear(x, *wq, *bq, heads * headDim));
    Value k = rope(linear(x, *wk, *bk, kvHeads * headDim));
    Value v = linear(x, *wv, *bv, kvHeads * headDim);
    auto attention = llama::AttentionOp::create(
        b_, rows(heads * headDim), cacheType, cacheType, q, k, v, kCache,
        vCache, pos, b_.getI64IntegerAttr(layer), b_.getI64IntegerAttr(heads),
        b_.getI64IntegerAttr(kvHeads), FloatAttr(), DenseF64ArrayAttr(),
        UnitAttr());
    kCache = attention.getKCacheOut();
    vCache = attention.getVCacheOut();
    h = llama::AddOp::create(b_, h,
                             linear(attention.getOutput(), *wo, *bo, hidden));

    Value y = norm(h, *ffnNorm);
    Value gate = linear(y, *wg, Value(), ffn);
    Value up = linear(y, *wu, Value(), ffn);
    Value act = llama::SwiGLUOp::create(b_, gate, up);
    h = llama::AddOp::create(b_, h, linear(act, *wd, Value(), hidden));
  }

  // Only the last token's logits are needed.
  b_.setLoc(NameLoc::get(b_.getStringAttr("output")));
  Value zero = arith::ConstantIndexOp::create(b_, 0);
  Value one = arith::ConstantIndexOp::create(b_, 1);
  Value count = tensor::DimOp::create(b_, h, zero);
  Value last = arith::SubIOp::create(b_, count, one);
  SmallVector<OpFoldResult> offsets = {last, b_.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b_.getIndexAttr(1),
                                     b_.getIndexAttr(hidden)};
  SmallVector<OpFoldResult> strides = {b_.getIndexAttr(1), b_.getIndexAttr(1)};
  Value lastRow = tensor::ExtractSliceOp::create(
      b_, RankedTensorType::get({1, hidden}, f32), h, offsets, sizes, strides);
  auto outputNorm = param(WeightRole::OutputNorm, -1, {hidden});
  if (!outputNorm)
    return outputNorm.takeError();
  Value y = norm(lastRow, *outputNorm);
  std::string outputName = model_.weightName(WeightRole::Output, -1);
  bool tied = c.tieWordEmbeddings || outputName.empty();
  llvm::Expected<Value> output =
      tied ? llvm::Expected<Value>(*embeddingTable)
           : param(WeightRole::Output, -1, {vocab, hidden});
  if (!output)
    return output.takeError();
  Value logits = llama::LinearOp::create(b_, logitsType, y, *output, Value());
  func::ReturnOp::create(b_, ValueRange{logits, kCache, vCache});

  if (failed(verify(*module)))
    return createStringError("internal error: the generated llama IR does not "
                             "verify");
  return module;
}

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
llamac::buildForward(MLIRContext &context, const LoadedModel &model,
                     const BuildOptions &options) {
  if (llvm::Error error = model.config.validate())
    return createStringError("%s: %s", model.path.c_str(),
                             llvm::toString(std::move(error)).c_str());
  return ForwardBuilder(context, model, options).build();
}
