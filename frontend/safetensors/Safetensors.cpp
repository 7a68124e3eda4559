//===- Safetensors.cpp - Hugging Face checkpoints -------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file reads a Hugging Face model directory. config.json is parsed with
// LLVM's JSON parser into a ModelConfig; each .safetensors file is memory-
// mapped and its header (an 8-byte little-endian length, then JSON naming
// each tensor's dtype, shape and byte range) is checked against the file
// before any tensor is registered: offsets inside the data, sizes matching
// the shape, no overflow.
//
//===----------------------------------------------------------------------===//

#include "frontend/safetensors/Safetensors.h"
#include "frontend/tokenizer/TokenizerImport.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"

#include <cmath>

using namespace llamac;
using llvm::createStringError;
using llvm::StringRef;
namespace json = llvm::json;

namespace {

/// Safetensors headers are JSON a few hundred bytes per tensor; 100 MB is far
/// beyond any real one and bounds what a corrupt length can make us read.
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

std::string join(StringRef dir, StringRef file) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, file);
  return std::string(path);
}

/// Typed access to config.json keys, with messages naming file and key.
class ConfigReader {
public:
  ConfigReader(const json::Object &object, StringRef file)
      : object_(object), file_(file) {}

  llvm::Expected<int64_t> integer(StringRef key) const {
    const json::Value *value = object_.get(key);
    if (!value || value->kind() == json::Value::Null)
      return createStringError("%s: missing required key '%s'",
                               file_.str().c_str(), key.str().c_str());
    return integerValue(*value, key);
  }
  llvm::Expected<int64_t> integer(StringRef key, int64_t fallback) const {
    const json::Value *value = object_.get(key);
    if (!value || value->kind() == json::Value::Null)
      return fallback;
    return integerValue(*value, key);
  }
  llvm::Expected<double> number(StringRef key, double fallback) const {
    return numberIn(object_, key, fallback);
  }
  llvm::Expected<double> numberIn(const json::Object &object, StringRef key,
                                  double fallback) const {
    const json::Value *value = object.get(key);
    if (!value || value->kind() == json::Value::Null)
      return fallback;
    std::optional<double> number = value->getAsNumber();
    if (!number || !std::isfinite(*number))
      return createStringError("%s: '%s' must be a number", file_.str().c_str(),
                               key.str().c_str());
    return *number;
  }
  llvm::Expected<bool> boolean(StringRef key, bool fallback) const {
    const json::Value *value = object_.get(key);
    if (!value || value->kind() == json::Value::Null)
      return fallback;
    std::optional<bool> b = value->getAsBoolean();
    if (!b)
      return createStringError("%s: '%s' must be true or false",
                               file_.str().c_str(), key.str().c_str());
    return *b;
  }
  llvm::Expected<int64_t> integerValue(const json::Value &value,
                                       StringRef key) const {
    std::optional<int64_t> integer = value.getAsInteger();
    if (!integer)
      return createStringError("%s: '%s' must be an integer",
                               file_.str().c_str(), key.str().c_str());
    return *integer;
  }
  StringRef file() const { return file_; }

private:
  const json::Object &object_;
  StringRef file_;
};

llvm::Error parseRopeScaling(const ConfigReader &reader,
                             const json::Object &scaling, bool v5,
                             ModelConfig &config) {
  StringRef file = reader.file();
  std::optional<StringRef> type = scaling.getString("rope_type");
  if (!type)
    type = scaling.getString("type");
  if (!type)
    return createStringError("%s: rope scaling has no 'rope_type'",
                             file.str().c_str());
  if (v5) {
    auto theta = reader.numberIn(scaling, "rope_theta", config.ropeTheta);
    if (!theta)
      return theta.takeError();
    config.ropeTheta = *theta;
  }
  if (*type == "default")
    return llvm::Error::success();
  RopeScaling result;
  if (*type == "linear")
    result.kind = RopeScaling::Kind::Linear;
  else if (*type == "llama3")
    result.kind = RopeScaling::Kind::Llama3;
  else
    return createStringError("%s: rope scaling type '%s' is not supported "
                             "(llamac supports default, linear and llama3)",
                             file.str().c_str(), type->str().c_str());
  auto factor = reader.numberIn(scaling, "factor", 1.0);
  auto low = reader.numberIn(scaling, "low_freq_factor", 1.0);
  auto high = reader.numberIn(scaling, "high_freq_factor", 4.0);
  auto original =
      reader.numberIn(scaling, "original_max_position_embeddings", 8192);
  for (llvm::Expected<double> *v : {&factor, &low, &high, &original})
    if (!*v)
      return v->takeError();
  result.factor = *factor;
  result.lowFreqFactor = *low;
  result.highFreqFactor = *high;
  result.originalMaxPosition = static_cast<int64_t>(*original);
  config.ropeScaling = result;
  return llvm::Error::success();
}

llvm::Expected<DType> parseDType(StringRef name) {
  if (name == "F32")
    return DType::F32;
  if (name == "F16")
    return DType::F16;
  if (name == "BF16")
    return DType::BF16;
  return createStringError("unsupported");
}

int64_t elementBytes(StringRef dtype) {
  static const llvm::StringMap<int64_t> sizes = {
      {"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U64", 8},     {"U32", 4},
      {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  auto it = sizes.find(dtype);
  return it == sizes.end() ? 0 : it->second;
}

} // namespace

bool llamac::isHuggingFaceDirectory(StringRef path) {
  return llvm::sys::fs::is_directory(path) &&
         llvm::sys::fs::exists(join(path, "config.json"));
}

llvm::Expected<ModelConfig> llamac::parseLlamaConfig(StringRef text,
                                                     StringRef file) {
  llvm::Expected<json::Value> root = json::parse(text);
  if (!root)
    return createStringError("%s: invalid JSON: %s", file.str().c_str(),
                             llvm::toString(root.takeError()).c_str());
  const json::Object *object = root->getAsObject();
  if (!object)
    return createStringError("%s: expected a JSON object", file.str().c_str());
  ConfigReader reader(*object, file);

  // Architecture: Llama, and checkpoints that are Llama under another name.
  std::string architecture;
  if (const json::Array *list = object->getArray("architectures"))
    if (!list->empty())
      if (std::optional<StringRef> name = (*list)[0].getAsString())
        architecture = name->str();
  std::optional<StringRef> modelType = object->getString("model_type");
  bool llama = architecture == "LlamaForCausalLM" ||
               (architecture.empty() && modelType && *modelType == "llama");
  if (!llama)
    return createStringError(
        "%s: architecture '%s' is not supported (llamac compiles "
        "LlamaForCausalLM checkpoints)",
        file.str().c_str(),
        architecture.empty()
            ? (modelType ? modelType->str().c_str() : "unknown")
            : architecture.c_str());

  ModelConfig config;
  auto hidden = reader.integer("hidden_size");
  auto intermediate = reader.integer("intermediate_size");
  auto layers = reader.integer("num_hidden_layers");
  auto heads = reader.integer("num_attention_heads");
  auto vocab = reader.integer("vocab_size");
  for (llvm::Expected<int64_t> *v :
       {&hidden, &intermediate, &layers, &heads, &vocab})
    if (!*v)
      return v->takeError();
  config.hiddenSize = *hidden;
  config.intermediateSize = *intermediate;
  config.numLayers = *layers;
  config.numHeads = *heads;
  config.vocabSize = *vocab;
  if (config.numHeads <= 0)
    return createStringError("%s: num_attention_heads must be positive",
                             file.str().c_str());

  auto kvHeads = reader.integer("num_key_value_heads", config.numHeads);
  auto headDim =
      reader.integer("head_dim", config.hiddenSize / config.numHeads);
  auto positions = reader.integer("max_position_embeddings", 2048);
  auto eps = reader.number("rms_norm_eps", 1e-6);
  auto theta = reader.number("rope_theta", 10000.0);
  auto tie = reader.boolean("tie_word_embeddings", false);
  auto attentionBias = reader.boolean("attention_bias", false);
  auto mlpBias = reader.boolean("mlp_bias", false);
  auto bos = reader.integer("bos_token_id", -1);
  for (llvm::Expected<int64_t> *v : {&kvHeads, &headDim, &positions, &bos})
    if (!*v)
      return v->takeError();
  for (llvm::Expected<double> *v : {&eps, &theta})
    if (!*v)
      return v->takeError();
  for (llvm::Expected<bool> *v : {&tie, &attentionBias, &mlpBias})
    if (!*v)
      return v->takeError();
  if (!object->get("head_dim") && config.hiddenSize % config.numHeads != 0)
    return createStringError(
        "%s: hidden_size %lld is not a multiple of "
        "num_attention_heads %lld and no head_dim is given",
        file.str().c_str(), static_cast<long long>(config.hiddenSize),
        static_cast<long long>(config.numHeads));
  config.numKVHeads = *kvHeads;
  config.headDim = *headDim;
  config.maxPositions = *positions;
  config.rmsNormEps = *eps;
  config.ropeTheta = *theta;
  config.tieWordEmbeddings = *tie;
  config.attentionBias = *attentionBias;
  config.mlpBias = *mlpBias;
  if (config.mlpBias)
    return createStringError("%s: mlp_bias is not supported",
                             file.str().c_str());
  config.bosTokenId = static_cast<int32_t>(*bos);

  if (const json::Value *eos = object->get("eos_token_id")) {
    if (const json::Array *list = eos->getAsArray()) {
      for (const json::Value &item : *list) {
        auto id = reader.integerValue(item, "eos_token_id");
        if (!id)
          return id.takeError();
        config.eosTokenIds.push_back(static_cast<int32_t>(*id));
      }
    } else if (eos->kind() != json::Value::Null) {
      auto id = reader.integerValue(*eos, "eos_token_id");
      if (!id)
        return id.takeError();
      config.eosTokenIds.push_back(static_cast<int32_t>(*id));
    }
  }

  // rope_scaling (transformers 4.x: "type" or "rope_type") and transformers
  // v5's rope_parameters, which also carries rope_theta.
  if (const json::Object *scaling = object->getObject("rope_scaling"))
    if (llvm::Error error = parseRopeScaling(reader, *scaling, false, config))
      return std::move(error);
  if (const json::Object *parameters = object->getObject("rope_parameters"))
    if (llvm::Error error = parseRopeScaling(reader, *parameters, true, config))
      return std::move(error);

  if (llvm::Error error = config.validate())
    return createStringError("%s: %s", file.str().c_str(),
                             llvm::toString(std::move(error)).c_str());
  return config;
}

llvm::Error llamac::readSafetensors(WeightStore &store, StringRef path) {
  llvm::Expected<const llvm::MemoryBuffer *> mapped = store.map(path);
  if (!mapped)
    return mapped.takeError();
  StringRef file = (*mapped)->getBuffer();
  std::string name = path.str();
  auto fail = [&](const llvm::Twine &what) {
    return createStringError("%s: %s", name.c_str(), what.str().c_str());
  };
  if (file.size() < 8)
    return fail(llvm::formatv("truncated: {0} bytes, too short for a "
                              "safetensors header",
                              file.size()));
  uint64_t headerBytes = llvm::support::endian::read64le(file.data());
  if (headerBytes > kMaxHeaderBytes || headerBytes > file.size() - 8)
    return fail(llvm::formatv("header length {0} exceeds the file's {1} bytes",
                              headerBytes, file.size()));
  StringRef header = file.substr(8, headerBytes);
  const uint8_t *data =
      reinterpret_cast<const uint8_t *>(file.data()) + 8 + headerBytes;
  uint64_t dataBytes = file.size() - 8 - headerBytes;

  llvm::Expected<json::Value> root = json::parse(header);
  if (!root)
    return fail("invalid JSON header: " + llvm::toString(root.takeError()));
  const json::Object *object = root->getAsObject();
  if (!object)
    return fail("the header is not a JSON object");

  // JSON objects do not keep their order; register tensors in file order.
  std::vector<std::pair<int64_t, StringRef>> entries;
  for (const auto &[key, value] : *object) {
    int64_t begin = 0;
    if (const json::Object *entry = value.getAsObject())
      if (const json::Array *offsets = entry->getArray("data_offsets"))
        if (!offsets->empty())
          begin = (*offsets)[0].getAsInteger().value_or(0);
    entries.push_back({begin, StringRef(key)});
  }
  llvm::sort(entries);
  for (const auto &[unused, key] : entries) {
    const json::Value &value = *object->get(key);
    StringRef tensorName = key;
    if (tensorName == "__metadata__")
      continue;
    const json::Object *entry = value.getAsObject();
    if (!entry)
      return fail("entry '" + tensorName + "' is not an object");
    std::optional<StringRef> dtype = entry->getString("dtype");
    const json::Array *shape = entry->getArray("shape");
    const json::Array *offsets = entry->getArray("data_offsets");
    if (!dtype || !shape || !offsets || offsets->size() != 2)
      return fail("entry '" + tensorName +
                  "' needs dtype, shape and data_offsets [begin, end]");

    TensorSource tensor;
    tensor.name = tensorName.str();
    tensor.file = name;
    uint64_t elements = 1;
    for (const json::Value &dim : *shape) {
      std::optional<int64_t> size = dim.getAsInteger();
      if (!size || *size < 0)
        return fail("tensor '" + tensorName + "' has an invalid shape");
      tensor.shape.push_back(*size);
      bool overflow = false;
      elements = llvm::SaturatingMultiply(
          elements, static_cast<uint64_t>(*size), &overflow);
      if (overflow || elements > (1ull << 48))
        return fail("tensor '" + tensorName + "' has an impossible size");
    }
    std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
    std::optional<int64_t> end = (*offsets)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin ||
        static_cast<uint64_t>(*end) > dataBytes)
      return fail(llvm::formatv("tensor '{0}' has data_offsets outside the "
                                "file's {1} bytes of data",
                                tensorName, dataBytes));
    int64_t element = elementBytes(*dtype);
    if (element == 0)
      return fail("tensor '" + tensorName + "' has unknown dtype '" + *dtype +
                  "'");
    uint64_t bytes = static_cast<uint64_t>(*end - *begin);
    if (bytes != elements * static_cast<uint64_t>(element))
      return fail(llvm::formatv("tensor '{0}' holds {1} bytes but its shape "
                                "and dtype need {2}",
                                tensorName, bytes, elements * element));
    llvm::Expected<DType> parsed = parseDType(*dtype);
    if (parsed) {
      tensor.dtype = *parsed;
    } else {
      llvm::consumeError(parsed.takeError());
      tensor.unsupportedType = dtype->str();
    }
    tensor.data = data + *begin;
    tensor.bytes = bytes;
    if (llvm::Error error = store.add(std::move(tensor)))
      return error;
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<LoadedModel>>
llamac::loadHuggingFace(StringRef dir) {
  auto model = std::make_unique<LoadedModel>();
  model->path = dir.str();
  model->format = "safetensors";

  std::string configPath = join(dir, "config.json");
  auto configText = llvm::MemoryBuffer::getFile(configPath, /*IsText=*/true);
  if (!configText)
    return createStringError(configText.getError(), "cannot read '%s': %s",
                             configPath.c_str(),
                             configText.getError().message().c_str());
  auto config = parseLlamaConfig((*configText)->getBuffer(), configPath);
  if (!config)
    return config.takeError();
  model->config = std::move(*config);

  std::string single = join(dir, "model.safetensors");
  std::string index = join(dir, "model.safetensors.index.json");
  if (llvm::sys::fs::exists(index)) {
    auto text = llvm::MemoryBuffer::getFile(index, /*IsText=*/true);
    if (!text)
      return createStringError(text.getError(), "cannot read '%s'",
                               index.c_str());
    llvm::Expected<json::Value> root = json::parse((*text)->getBuffer());
    if (!root)
      return createStringError("%s: invalid JSON: %s", index.c_str(),
                               llvm::toString(root.takeError()).c_str());
    const json::Object *object = root->getAsObject();
    const json::Object *map =
        object ? object->getObject("weight_map") : nullptr;
    if (!map)
      return createStringError("%s: no 'weight_map' object", index.c_str());
    std::vector<std::string> shards;
    llvm::StringSet<> seen;
    for (const auto &[tensor, value] : *map) {
      std::optional<StringRef> shard = value.getAsString();
      if (!shard || shard->contains('/') || shard->contains('\\'))
        return createStringError("%s: tensor '%s' names an invalid shard",
                                 index.c_str(), tensor.str().c_str());
      if (seen.insert(*shard).second)
        shards.push_back(shard->str());
    }
    std::sort(shards.begin(), shards.end());
    for (const std::string &shard : shards)
      if (llvm::Error error = readSafetensors(model->weights, join(dir, shard)))
        return std::move(error);
    for (const auto &[tensor, value] : *map)
      if (!model->weights.find(tensor))
        return createStringError("%s: tensor '%s' is not in its shard '%s'",
                                 index.c_str(), tensor.str().c_str(),
                                 value.getAsString()->str().c_str());
  } else if (llvm::sys::fs::exists(single)) {
    if (llvm::Error error = readSafetensors(model->weights, single))
      return std::move(error);
  } else {
    return createStringError("%s: no model.safetensors or "
                             "model.safetensors.index.json",
                             dir.str().c_str());
  }

  std::string tokenizerPath = join(dir, "tokenizer.json");
  if (llvm::sys::fs::exists(tokenizerPath)) {
    auto tokenizer =
        importTokenizerJSON(tokenizerPath, join(dir, "tokenizer_config.json"));
    if (!tokenizer)
      return tokenizer.takeError();
    model->tokenizer = std::move(*tokenizer);
    model->tokenizerSource = tokenizerPath;
  }

  model->weightName = [](WeightRole role, int64_t layer) -> std::string {
    std::string prefix = llvm::formatv("model.layers.{0}.", layer).str();
    switch (role) {
    case WeightRole::TokenEmbedding:
      return "model.embed_tokens.weight";
    case WeightRole::OutputNorm:
      return "model.norm.weight";
    case WeightRole::Output:
      return "lm_head.weight";
    case WeightRole::AttentionNorm:
      return prefix + "input_layernorm.weight";
    case WeightRole::Query:
      return prefix + "self_attn.q_proj.weight";
    case WeightRole::Key:
      return prefix + "self_attn.k_proj.weight";
    case WeightRole::Value:
      return prefix + "self_attn.v_proj.weight";
    case WeightRole::AttentionOutput:
      return prefix + "self_attn.o_proj.weight";
    case WeightRole::QueryBias:
      return prefix + "self_attn.q_proj.bias";
    case WeightRole::KeyBias:
      return prefix + "self_attn.k_proj.bias";
    case WeightRole::ValueBias:
      return prefix + "self_attn.v_proj.bias";
    case WeightRole::AttentionOutputBias:
      return prefix + "self_attn.o_proj.bias";
    case WeightRole::FFNNorm:
      return prefix + "post_attention_layernorm.weight";
    case WeightRole::Gate:
      return prefix + "mlp.gate_proj.weight";
    case WeightRole::Up:
      return prefix + "mlp.up_proj.weight";
    case WeightRole::Down:
      return prefix + "mlp.down_proj.weight";
    }
    return "";
  };
  return model;
}
