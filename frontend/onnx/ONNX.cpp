//===- ONNX.cpp - The ONNX front end --------------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file reads ONNX models with Protocol Buffers (Debian's libprotobuf and
// the onnx.proto classes of libonnx_proto) and writes their graphs in the
// `onnx` dialect. Every size the file states is checked before it is used:
// tensor dimensions and their product, raw data lengths, external data
// ranges against their files.
//
//===----------------------------------------------------------------------===//

#include "frontend/onnx/ONNX.h"

#include "dialects/ONNX/ONNXDialect.h"
#include "dialects/ONNX/ONNXEval.h"
#include "frontend/common/WeightsWriter.h"
#include "frontend/tokenizer/TokenizerImport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

// Debian's libonnx_proto is built with ONNX_ML (onnx-ml.proto).
#define ONNX_ML 1
#include "onnx/onnx_pb.h"
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <climits>

using namespace mlir;
using namespace llamac;
using llvm::createStringError;

namespace {

/// Float scalar and 1-D initializers of up to this many values also carry
/// them in the IR (the `value` attribute of onnx.initializer).
constexpr int64_t kSmallInitializer = 1024;

/// The parsed model, kept alive with the LoadedModel (inline initializer
/// data is read in place).
struct ONNXData {
  ::onnx::ModelProto proto;
  std::string path;
  int64_t opset = 0;
  /// Non-float initializers, read when the graph is imported (from the
  /// external data file when `external` is set).
  struct Constant {
    const ::onnx::TensorProto *proto = nullptr;
    const uint8_t *external = nullptr;
  };
  llvm::StringMap<Constant> constants;
};

/// One row of ONNXOpTable.inc.
struct OpInfo {
  llvm::StringRef domain, type, mlirName;
  int inputs, outputs, variadicInput, variadicOutput;
  /// The oldest ai.onnx opset whose definition of the operator llamac reads
  /// (unchanged since then).
  int64_t oldestOpset;
  /// Bit i: input i must be given (neither optional nor variadic).
  uint64_t requiredInputs;
};

const OpInfo kOps[] = {
#define ONNX_OP(domain, type, name, in, out, vin, vout, oldest, required)      \
  {domain, type, name, in, out, vin, vout, oldest, required},
#include "dialects/ONNX/ONNXOpTable.inc"
#undef ONNX_OP
};

llvm::StringRef canonicalDomain(llvm::StringRef domain) {
  return domain == "ai.onnx" ? "" : domain;
}

const OpInfo *findOp(llvm::StringRef domain, llvm::StringRef type) {
  for (const OpInfo &info : kOps)
    if (info.domain == canonicalDomain(domain) && info.type == type)
      return &info;
  return nullptr;
}

llvm::StringRef elementTypeName(int type) {
  return ::onnx::TensorProto_DataType_IsValid(type)
             ? llvm::StringRef(::onnx::TensorProto_DataType_Name(
                   static_cast<::onnx::TensorProto_DataType>(type)))
             : llvm::StringRef("unknown");
}

/// Bytes of one element of an ONNX tensor type, 0 for types without a fixed
/// size (strings) or unknown ones.
int64_t elementBytes(int type) {
  switch (type) {
  case ::onnx::TensorProto::FLOAT:
  case ::onnx::TensorProto::INT32:
  case ::onnx::TensorProto::UINT32:
    return 4;
  case ::onnx::TensorProto::FLOAT16:
  case ::onnx::TensorProto::BFLOAT16:
  case ::onnx::TensorProto::INT16:
  case ::onnx::TensorProto::UINT16:
    return 2;
  case ::onnx::TensorProto::DOUBLE:
  case ::onnx::TensorProto::INT64:
  case ::onnx::TensorProto::UINT64:
    return 8;
  case ::onnx::TensorProto::UINT8:
  case ::onnx::TensorProto::INT8:
  case ::onnx::TensorProto::BOOL:
    return 1;
  default:
    return 0;
  }
}

Type mlirElementType(Builder &b, int type) {
  switch (type) {
  case ::onnx::TensorProto::FLOAT:
    return b.getF32Type();
  case ::onnx::TensorProto::FLOAT16:
    return b.getF16Type();
  case ::onnx::TensorProto::BFLOAT16:
    return b.getBF16Type();
  case ::onnx::TensorProto::DOUBLE:
    return b.getF64Type();
  case ::onnx::TensorProto::INT64:
    return b.getIntegerType(64);
  case ::onnx::TensorProto::INT32:
    return b.getIntegerType(32);
  case ::onnx::TensorProto::INT16:
    return b.getIntegerType(16);
  case ::onnx::TensorProto::INT8:
    return b.getIntegerType(8);
  case ::onnx::TensorProto::UINT64:
    return b.getIntegerType(64, /*isSigned=*/false);
  case ::onnx::TensorProto::UINT32:
    return b.getIntegerType(32, false);
  case ::onnx::TensorProto::UINT16:
    return b.getIntegerType(16, false);
  case ::onnx::TensorProto::UINT8:
    return b.getIntegerType(8, false);
  case ::onnx::TensorProto::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

/// Elements of a tensor with these dims, or an error for negative dims or a
/// product beyond 2^40.
llvm::Expected<int64_t> elementCount(const ::onnx::TensorProto &tensor,
                                     const std::string &file) {
  int64_t count = 1;
  for (int64_t dim : tensor.dims()) {
    if (dim < 0 || (dim && count > (int64_t(1) << 40) / dim))
      return createStringError("%s: initializer '%s' has impossible "
                               "dimensions",
                               file.c_str(), tensor.name().c_str());
    count *= dim;
  }
  return count;
}

/// A relative path that stays inside `directory` (external data must not
/// name arbitrary files).
bool isContainedPath(llvm::StringRef location) {
  if (location.empty() || llvm::sys::path::is_absolute(location))
    return false;
  for (auto it = llvm::sys::path::begin(location),
            end = llvm::sys::path::end(location);
       it != end; ++it)
    if (*it == "..")
      return false;
  return true;
}

class Loader {
public:
  Loader(LoadedModel &model, ONNXData &data) : model_(model), data_(data) {}

  llvm::Error loadInitializers() {
    for (const ::onnx::TensorProto &tensor :
         data_.proto.graph().initializer()) {
      if (llvm::Error error = loadInitializer(tensor))
        return error;
    }
    return llvm::Error::success();
  }

private:
  llvm::Error loadInitializer(const ::onnx::TensorProto &tensor) {
    const std::string &file = data_.path;
    llvm::Expected<int64_t> count = elementCount(tensor, file);
    if (!count)
      return count.takeError();
    int type = tensor.data_type();
    std::optional<DType> dtype;
    if (type == ::onnx::TensorProto::FLOAT)
      dtype = DType::F32;
    else if (type == ::onnx::TensorProto::FLOAT16)
      dtype = DType::F16;
    else if (type == ::onnx::TensorProto::BFLOAT16)
      dtype = DType::BF16;
    else if (type == ::onnx::TensorProto::UINT8)
      dtype = DType::U8; // MatMulNBits' packed weights and zero points
    if (!dtype) {
      // Integer and other tensors: shapes, indices, packed int4 blocks. Read
      // into attributes when the graph is imported; keep them small.
      if (elementBytes(type) == 0)
        return createStringError("%s: initializer '%s' has element type %s, "
                                 "which llamac does not read",
                                 file.c_str(), tensor.name().c_str(),
                                 elementTypeName(type).str().c_str());
      if (*count > (int64_t(1) << 24))
        return createStringError("%s: initializer '%s' (%s) has %lld "
                                 "elements; llamac reads non-float "
                                 "initializers of up to 2^24",
                                 file.c_str(), tensor.name().c_str(),
                                 elementTypeName(type).str().c_str(),
                                 static_cast<long long>(*count));
      ONNXData::Constant constant{&tensor};
      if (tensor.data_location() == ::onnx::TensorProto::EXTERNAL) {
        TensorSource ignored;
        llvm::Expected<const uint8_t *> at =
            external(tensor, *count * elementBytes(type), ignored);
        if (!at)
          return at.takeError();
        constant.external = *at;
      }
      data_.constants[tensor.name()] = constant;
      return llvm::Error::success();
    }
    TensorSource source;
    source.name = tensor.name();
    source.dtype = *dtype;
    source.shape.assign(tensor.dims().begin(), tensor.dims().end());
    source.file = file;
    int64_t bytes = *count * elementBytes(type);
    source.bytes = bytes;
    if (tensor.data_location() == ::onnx::TensorProto::EXTERNAL) {
      llvm::Expected<const uint8_t *> at = external(tensor, bytes, source);
      if (!at)
        return at.takeError();
      source.data = *at;
    } else if (tensor.has_raw_data()) {
      if (static_cast<int64_t>(tensor.raw_data().size()) != bytes)
        return createStringError(
            "%s: initializer '%s' has %zu bytes of raw data, its shape "
            "needs %lld",
            file.c_str(), tensor.name().c_str(), tensor.raw_data().size(),
            static_cast<long long>(bytes));
      source.data = reinterpret_cast<const uint8_t *>(tensor.raw_data().data());
    } else {
      // Typed fields: float_data for FLOAT, int32_data holding the 16-bit
      // patterns of FLOAT16/BFLOAT16.
      auto owned = llvm::WritableMemoryBuffer::getNewUninitMemBuffer(
          std::max<int64_t>(bytes, 1), tensor.name());
      if (*dtype == DType::F32) {
        if (tensor.float_data_size() != *count)
          return sizeMismatch(tensor, tensor.float_data_size(), *count);
        if (bytes > 0) // an empty field's data() is null
          std::memcpy(owned->getBufferStart(), tensor.float_data().data(),
                      bytes);
      } else if (*dtype == DType::U8) {
        if (tensor.int32_data_size() != *count)
          return sizeMismatch(tensor, tensor.int32_data_size(), *count);
        auto *out = reinterpret_cast<uint8_t *>(owned->getBufferStart());
        for (int64_t i = 0; i < *count; ++i)
          out[i] = static_cast<uint8_t>(tensor.int32_data(i));
      } else {
        if (tensor.int32_data_size() != *count)
          return sizeMismatch(tensor, tensor.int32_data_size(), *count);
        auto *out = reinterpret_cast<uint16_t *>(owned->getBufferStart());
        for (int64_t i = 0; i < *count; ++i)
          out[i] = static_cast<uint16_t>(tensor.int32_data(i));
      }
      source.data = reinterpret_cast<const uint8_t *>(
          model_.weights.adopt(std::move(owned))->getBufferStart());
    }
    return model_.weights.add(std::move(source));
  }

  llvm::Error sizeMismatch(const ::onnx::TensorProto &tensor, int64_t have,
                           int64_t need) {
    return createStringError("%s: initializer '%s' has %lld values, its "
                             "shape needs %lld",
                             data_.path.c_str(), tensor.name().c_str(),
                             static_cast<long long>(have),
                             static_cast<long long>(need));
  }

  /// Maps the external data file and returns where the tensor's bytes are.
  llvm::Expected<const uint8_t *> external(const ::onnx::TensorProto &tensor,
                                           int64_t bytes,
                                           TensorSource &source) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const ::onnx::StringStringEntryProto &entry : tensor.external_data()) {
      llvm::StringRef key = entry.key(), value = entry.value();
      if (key == "location") {
        location = value.str();
      } else if (key == "offset" || key == "length") {
        long long number;
        if (value.getAsInteger(10, number) || number < 0)
          return createStringError("%s: initializer '%s': external data %s "
                                   "'%s' is not a byte count",
                                   data_.path.c_str(), tensor.name().c_str(),
                                   key.str().c_str(), value.str().c_str());
        (key == "offset" ? offset : length) = number;
      }
    }
    if (!isContainedPath(location))
      return createStringError("%s: initializer '%s': external data location "
                               "'%s' must be a relative path inside the "
                               "model's directory",
                               data_.path.c_str(), tensor.name().c_str(),
                               location.c_str());
    llvm::SmallString<256> path(llvm::sys::path::parent_path(data_.path));
    llvm::sys::path::append(path, location);
    const llvm::MemoryBuffer *buffer;
    auto it = files_.find(path);
    if (it != files_.end()) {
      buffer = it->second;
    } else {
      if (!llvm::sys::fs::exists(path))
        return createStringError(std::errc::no_such_file_or_directory,
                                 "%s: initializer '%s': external data file "
                                 "'%s' does not exist",
                                 data_.path.c_str(), tensor.name().c_str(),
                                 path.c_str());
      llvm::Expected<const llvm::MemoryBuffer *> mapped =
          model_.weights.map(path);
      if (!mapped)
        return mapped.takeError();
      buffer = files_[path] = *mapped;
    }
    if (length < 0)
      length = bytes;
    int64_t size = static_cast<int64_t>(buffer->getBufferSize());
    if (length != bytes)
      return createStringError("%s: initializer '%s': external data length "
                               "%lld, its shape needs %lld bytes",
                               data_.path.c_str(), tensor.name().c_str(),
                               static_cast<long long>(length),
                               static_cast<long long>(bytes));
    if (offset > size || length > size - offset)
      return createStringError(
          "%s: initializer '%s': external data [%lld, %lld) lies beyond the "
          "end of '%s' (%lld bytes)",
          data_.path.c_str(), tensor.name().c_str(),
          static_cast<long long>(offset),
          static_cast<long long>(offset + length), path.c_str(),
          static_cast<long long>(size));
    source.file = path.str().str();
    return reinterpret_cast<const uint8_t *>(buffer->getBufferStart()) + offset;
  }

  LoadedModel &model_;
  ONNXData &data_;
  llvm::StringMap<const llvm::MemoryBuffer *> files_;
};

int64_t intAttribute(const ::onnx::NodeProto &node, llvm::StringRef name,
                     int64_t otherwise) {
  for (const ::onnx::AttributeProto &attribute : node.attribute())
    if (attribute.name() == name &&
        attribute.type() == ::onnx::AttributeProto::INT)
      return attribute.i();
  return otherwise;
}

/// What the graph tells of the model's hyper-parameters, for the driver's
/// messages and the executable's header (the raising pass derives the
/// forward pass itself).
void describe(LoadedModel &model, const ONNXData &data) {
  ModelConfig &config = model.config;
  const ::onnx::GraphProto &graph = data.proto.graph();
  llvm::StringSet<llvm::MallocAllocator> inputs;
  for (const ::onnx::ValueInfoProto &input : graph.input())
    inputs.insert(input.name());
  int64_t softmaxes = 0;
  for (const ::onnx::NodeProto &node : graph.node()) {
    if (node.op_type() == "Gather" && node.input_size() == 2 &&
        inputs.contains(node.input(1)) && !config.vocabSize) {
      if (const TensorSource *table = model.weights.find(node.input(0));
          table && table->shape.size() == 2) {
        config.vocabSize = table->shape[0];
        config.hiddenSize = table->shape[1];
      }
    }
    if (node.op_type() == "GroupQueryAttention") {
      ++config.numLayers;
      config.numHeads = intAttribute(node, "num_heads", 0);
      config.numKVHeads = intAttribute(node, "kv_num_heads", 0);
    } else if (node.op_type() == "Attention" &&
               canonicalDomain(node.domain()).empty()) {
      ++config.numLayers;
      config.numHeads = intAttribute(node, "q_num_heads", 0);
      config.numKVHeads = intAttribute(node, "kv_num_heads", 0);
    } else if (node.op_type() == "Softmax") {
      ++softmaxes;
    }
  }
  // Attention written out in plain operators: a Softmax per layer (the head
  // counts are only known once it is raised).
  if (!config.numLayers)
    config.numLayers = softmaxes;
  if (config.numHeads > 0 && config.hiddenSize % config.numHeads == 0)
    config.headDim = config.hiddenSize / config.numHeads;
  config.maxPositions = 4096;
  // onnxruntime-genai's genai_config.json beside the model.
  llvm::SmallString<256> genai(llvm::sys::path::parent_path(data.path));
  llvm::sys::path::append(genai, "genai_config.json");
  auto text = llvm::MemoryBuffer::getFile(genai);
  if (!text)
    return;
  llvm::Expected<llvm::json::Value> json =
      llvm::json::parse((*text)->getBuffer());
  if (!json) {
    llvm::consumeError(json.takeError());
    return;
  }
  const llvm::json::Object *root = json->getAsObject();
  const llvm::json::Object *m = root ? root->getObject("model") : nullptr;
  if (!m)
    return;
  if (auto bos = m->getInteger("bos_token_id"))
    config.bosTokenId = static_cast<int32_t>(*bos);
  if (auto context = m->getInteger("context_length"))
    config.maxPositions = *context;
  if (const llvm::json::Value *eos = m->get("eos_token_id")) {
    if (auto id = eos->getAsInteger())
      config.eosTokenIds = {static_cast<int32_t>(*id)};
    else if (const llvm::json::Array *ids = eos->getAsArray())
      for (const llvm::json::Value &value : *ids)
        if (auto id = value.getAsInteger())
          config.eosTokenIds.push_back(static_cast<int32_t>(*id));
  }
}

std::string shapeText(const ::onnx::TypeProto &type) {
  if (!type.has_tensor_type())
    return "?";
  const ::onnx::TypeProto_Tensor &tensor = type.tensor_type();
  std::string text = elementTypeName(tensor.elem_type()).str() + "[";
  if (tensor.has_shape()) {
    for (int i = 0; i < tensor.shape().dim_size(); ++i) {
      const ::onnx::TensorShapeProto_Dimension &dim = tensor.shape().dim(i);
      if (i)
        text += ", ";
      text += dim.has_dim_value()
                  ? std::to_string(dim.dim_value())
                  : (dim.dim_param().empty() ? "?" : dim.dim_param());
    }
  }
  return text + "]";
}

} // namespace

bool llamac::looksLikeONNX(llvm::StringRef path) {
  return llvm::sys::path::extension(path) == ".onnx";
}

llvm::Expected<std::unique_ptr<LoadedModel>>
llamac::loadONNX(llvm::StringRef path, bool strict) {
  auto model = std::make_unique<LoadedModel>();
  model->path = path.str();
  model->format = "onnx";
  auto data = std::make_shared<ONNXData>();
  data->path = path.str();

  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return createStringError(buffer.getError(), "cannot read '%s': %s",
                             path.str().c_str(),
                             buffer.getError().message().c_str());
  if ((*buffer)->getBufferSize() > static_cast<size_t>(INT_MAX))
    return createStringError("%s: the model is over 2 GB; protobuf cannot "
                             "read it (store its initializers as external "
                             "data)",
                             path.str().c_str());
  {
    google::protobuf::io::ArrayInputStream stream(
        (*buffer)->getBufferStart(),
        static_cast<int>((*buffer)->getBufferSize()));
    google::protobuf::io::CodedInputStream coded(&stream);
    coded.SetTotalBytesLimit(INT_MAX);
    if (!data->proto.ParseFromCodedStream(&coded) ||
        !coded.ConsumedEntireMessage() || !data->proto.has_graph())
      return createStringError("%s: not a valid ONNX model (the protobuf is "
                               "truncated, corrupt, or has no graph)",
                               path.str().c_str());
  }
  for (const ::onnx::OperatorSetIdProto &opset : data->proto.opset_import())
    if (canonicalDomain(opset.domain()).empty())
      data->opset = opset.version();
  // Opsets below kMinONNXOpset are read node by node: an operator whose
  // definition has not changed since the model's opset (Importer::run).
  if (data->opset < 1 || data->opset > kMaxONNXOpset)
    return createStringError(
        "%s: ai.onnx opset %lld is not supported (llamac reads %lld to %lld, "
        "and older opsets' operators that have not changed since)",
        path.str().c_str(), static_cast<long long>(data->opset),
        static_cast<long long>(kMinONNXOpset),
        static_cast<long long>(kMaxONNXOpset));

  Loader loader(*model, *data);
  if (llvm::Error error = loader.loadInitializers())
    return std::move(error);
  describe(*model, *data);

  // Metadata for `llamac inspect --metadata`.
  auto add = [&](std::string key, std::string type, std::string value) {
    model->metadata.push_back(
        {std::move(key), std::move(type), std::move(value)});
  };
  auto quote = [](llvm::StringRef text) {
    std::string out;
    llvm::raw_string_ostream os(out);
    os << llvm::json::Value(text.str());
    return out;
  };
  add("ir_version", "int", std::to_string(data->proto.ir_version()));
  add("producer_name", "string", quote(data->proto.producer_name()));
  for (const ::onnx::OperatorSetIdProto &opset : data->proto.opset_import())
    add("opset." +
            (opset.domain().empty() ? std::string("ai.onnx") : opset.domain()),
        "int", std::to_string(opset.version()));
  for (const ::onnx::ValueInfoProto &input : data->proto.graph().input())
    add("input." + input.name(), "string", quote(shapeText(input.type())));
  for (const ::onnx::ValueInfoProto &output : data->proto.graph().output())
    add("output." + output.name(), "string", quote(shapeText(output.type())));

  // The tokenizer beside the model.
  llvm::SmallString<256> dir(llvm::sys::path::parent_path(path));
  if (dir.empty())
    dir = ".";
  llvm::SmallString<256> tokenizerPath(dir), configPath(dir);
  llvm::sys::path::append(tokenizerPath, "tokenizer.json");
  llvm::sys::path::append(configPath, "tokenizer_config.json");
  if (llvm::sys::fs::exists(tokenizerPath)) {
    auto tokenizer = importTokenizerJSON(tokenizerPath, configPath);
    if (!tokenizer)
      return tokenizer.takeError();
    model->tokenizer = std::move(*tokenizer);
    model->tokenizerSource = tokenizerPath.str().str();
  }
  model->weightName = [](WeightRole, int64_t) { return std::string(); };
  model->frontendData = data;
  (void)strict;
  return model;
}

//===----------------------------------------------------------------------===//
// Import into the onnx dialect
//===----------------------------------------------------------------------===//

namespace {

class Importer {
public:
  Importer(MLIRContext &context, const LoadedModel &model, const ONNXData &data,
           const ONNXImportOptions &options)
      : model_(model), data_(data), options_(options), b_(&context) {}

  llvm::Expected<OwningOpRef<ModuleOp>> run() {
    const ::onnx::GraphProto &graph = data_.proto.graph();
    // Rotary cos/sin tables are read at compile time: they become
    // onnx.Constant values (the raising derives the frequencies from them).
    for (const ::onnx::NodeProto &node : graph.node()) {
      llvm::StringRef type = node.op_type();
      std::pair<int, int> tables{-1, -1};
      if (type == "GroupQueryAttention")
        tables = {7, 8};
      else if (type == "RotaryEmbedding")
        tables = canonicalDomain(node.domain()).empty() ? std::pair{1, 2}
                                                        : std::pair{2, 3};
      for (int i : {tables.first, tables.second})
        if (i >= 0 && i < node.input_size() && !node.input(i).empty())
          embedded_.insert(node.input(i));
    }
    for (const ::onnx::ValueInfoProto &info : graph.value_info())
      infos_[info.name()] = &info;
    for (const ::onnx::ValueInfoProto &info : graph.output())
      infos_[info.name()] = &info;

    // Every operator must be known before anything is built.
    std::vector<std::string> unsupported;
    for (const ::onnx::NodeProto &node : graph.node()) {
      const OpInfo *info = findOp(node.domain(), node.op_type());
      int64_t opset = opsetOf(node.domain());
      if (!info)
        unsupported.push_back(llvm::formatv(
            "{0} (domain {1}, opset {2}, node '{3}')", node.op_type(),
            node.domain().empty() ? "ai.onnx" : node.domain(), opset,
            node.name()));
      else if (canonicalDomain(node.domain()).empty() &&
               opset < info->oldestOpset)
        unsupported.push_back(llvm::formatv(
            "{0} (domain ai.onnx, opset {1}, node '{2}'): opset {1} is not "
            "supported for {0}, llamac reads its definition of opset {3} "
            "onward",
            node.op_type(), opset, node.name(), info->oldestOpset));
    }
    if (!unsupported.empty()) {
      std::string list;
      for (const std::string &op : unsupported)
        list += "\n  " + op;
      return createStringError("%s: %zu node(s) use operators llamac does "
                               "not support:%s",
                               data_.path.c_str(), unsupported.size(),
                               list.c_str());
    }

    OwningOpRef<ModuleOp> module = ModuleOp::create(loc(graph.name()));
    b_.setInsertionPointToEnd(module->getBody());
    llvm::StringSet<llvm::MallocAllocator> initialized;
    for (const ::onnx::TensorProto &tensor : graph.initializer())
      initialized.insert(tensor.name());
    SmallVector<Type> inputTypes;
    SmallVector<const ::onnx::ValueInfoProto *> inputs;
    SmallVector<const ::onnx::ValueInfoProto *> bound;
    // Every input an option names must be one of the graph's.
    auto unknownInput = [&](const char *option,
                            const auto &byName) -> llvm::Error {
      for (const auto &entry : byName)
        if (!llvm::any_of(graph.input(), [&](const ::onnx::ValueInfoProto &in) {
              return in.name() == entry.first;
            }))
          return createStringError("%s: %s names '%s', which is not an "
                                   "input of the graph",
                                   data_.path.c_str(), option,
                                   entry.first.c_str());
      return llvm::Error::success();
    };
    if (llvm::Error e = unknownInput("--input-shape", options_.inputShapes))
      return std::move(e);
    if (llvm::Error e = unknownInput("--input-value", options_.inputValues))
      return std::move(e);
    for (const ::onnx::ValueInfoProto &input : graph.input()) {
      if (initialized.contains(input.name()))
        continue; // an input with a default value: the initializer
      if (options_.inputValues.count(input.name())) {
        bound.push_back(&input);
        continue;
      }
      Type type = typeOf(input.type(), input.name());
      if (!type)
        return createStringError("%s: graph input '%s' is not a tensor of a "
                                 "supported element type",
                                 data_.path.c_str(), input.name().c_str());
      if (auto it = options_.inputShapes.find(input.name());
          it != options_.inputShapes.end()) {
        auto declared = dyn_cast<RankedTensorType>(type);
        const std::vector<int64_t> &given = it->second;
        bool fits = declared &&
                    declared.getRank() == static_cast<int64_t>(given.size());
        for (size_t d = 0; fits && d < given.size(); ++d)
          fits = declared.isDynamicDim(d) || declared.getDimSize(d) == given[d];
        if (!fits) {
          std::string text;
          llvm::raw_string_ostream(text) << type;
          return createStringError("%s: --input-shape for '%s' does not fit "
                                   "its declared type %s",
                                   data_.path.c_str(), input.name().c_str(),
                                   text.c_str());
        }
        type = RankedTensorType::get(given, declared.getElementType());
      }
      inputTypes.push_back(type);
      inputs.push_back(&input);
    }
    auto func = func::FuncOp::create(b_, loc(graph.name()), "main_graph",
                                     b_.getFunctionType(inputTypes, {}));
    Block *entry = func.addEntryBlock();
    for (auto [input, argument] : llvm::zip(inputs, entry->getArguments())) {
      values_[input->name()] = argument;
      func.setArgAttr(argument.getArgNumber(), "onnx.name",
                      b_.getStringAttr(input->name()));
    }
    b_.setInsertionPointToStart(entry);
    for (const ::onnx::ValueInfoProto *input : bound)
      if (llvm::Error error = bindInput(*input))
        return std::move(error);

    for (const ::onnx::NodeProto &node : graph.node())
      if (llvm::Error error = importNode(node))
        return std::move(error);
    if (llvm::Error error = inferShapes(func, inputs))
      return std::move(error);

    SmallVector<Value> results;
    SmallVector<Type> resultTypes;
    for (const ::onnx::ValueInfoProto &output : graph.output()) {
      llvm::Expected<Value> value = lookup(output.name(), "the graph output");
      if (!value)
        return value.takeError();
      results.push_back(*value);
      resultTypes.push_back(value->getType());
    }
    func::ReturnOp::create(b_, loc(graph.name()), results);
    func.setFunctionType(b_.getFunctionType(inputTypes, resultTypes));
    for (auto [i, output] : llvm::enumerate(graph.output()))
      func.setResultAttr(i, "onnx.name", b_.getStringAttr(output.name()));
    if (failed(verify(*module)))
      return createStringError("%s: the imported graph does not verify (see "
                               "the diagnostics above)",
                               data_.path.c_str());
    return module;
  }

private:
  /// Shape inference: the graph is evaluated (onnx::GraphEvaluator) with
  /// its dynamic input dimensions at two sets of sizes (dimensions of one
  /// dim_param share a size); a result dimension that comes out the same
  /// in both is static, else dynamic. Results get the ranked types this
  /// infers; operands whose shapes break their operator's rules in both
  /// runs are an error naming the node.
  llvm::Error inferShapes(func::FuncOp func,
                          ArrayRef<const ::onnx::ValueInfoProto *> inputs) {
    static constexpr int64_t kSizes[2][8] = {{3, 5, 7, 11, 13, 17, 19, 23},
                                             {29, 31, 37, 41, 43, 47, 53, 59}};
    llvm::StringMap<int64_t> symbols; // dim_param -> index into kSizes
    SmallVector<std::unique_ptr<llamac::onnx::GraphEvaluator>, 2> evals;
    for (int set = 0; set < 2; ++set) {
      auto eval = std::make_unique<llamac::onnx::GraphEvaluator>(func);
      for (auto [input, arg] :
           llvm::zip(inputs, func.getBody().front().getArguments())) {
        auto type = dyn_cast<RankedTensorType>(arg.getType());
        if (!type)
          continue;
        llamac::onnx::EvalTensor t;
        t.isFloat = isa<FloatType>(type.getElementType());
        bool bound = true;
        for (int64_t d = 0; d < type.getRank(); ++d) {
          if (!type.isDynamicDim(d)) {
            t.shape.push_back(type.getDimSize(d));
            continue;
          }
          std::string symbol =
              d < input->type().tensor_type().shape().dim_size()
                  ? input->type().tensor_type().shape().dim(d).dim_param()
                  : std::string();
          if (symbol.empty())
            symbol = llvm::formatv("{0}#{1}", input->name(), d).str();
          auto [it, inserted] = symbols.try_emplace(symbol, symbols.size());
          if (it->second >= 8) {
            bound = false; // more symbols than sizes: leave it unknown
            break;
          }
          t.shape.push_back(kSizes[set][it->second]);
        }
        if (bound)
          eval->bind(arg, std::move(t));
      }
      eval->run();
      evals.push_back(std::move(eval));
    }
    // Shapes that break an operator's rules in both runs do so whatever the
    // dynamic sizes are.
    for (Operation &op : func.getBody().front()) {
      auto a = evals[0]->problems().find(&op);
      auto b = evals[1]->problems().find(&op);
      if (a == evals[0]->problems().end() || b == evals[1]->problems().end() ||
          a->second != b->second)
        continue;
      std::string node = "graph";
      if (auto name = dyn_cast<NameLoc>(op.getLoc()))
        node = name.getName().str();
      return createStringError(
          "%s: node '%s' (%s): %s", data_.path.c_str(), node.c_str(),
          op.getName().getStringRef().drop_front(5).str().c_str(),
          a->second.c_str());
    }
    // Where the runs tell a result's shape, it replaces the declared one
    // (value infos of real exports are not always right: onnxruntime, too,
    // falls back to the inferred shape).
    func.walk([&](Operation *op) {
      for (OpResult result : op->getResults()) {
        auto declared = dyn_cast<TensorType>(result.getType());
        const llamac::onnx::EvalTensor *a = evals[0]->lookup(result);
        const llamac::onnx::EvalTensor *b = evals[1]->lookup(result);
        if (!declared || !a || !b || a->shape.size() != b->shape.size())
          continue;
        SmallVector<int64_t> dims;
        for (auto [x, y] : llvm::zip(a->shape, b->shape))
          dims.push_back(x == y ? x : ShapedType::kDynamic);
        result.setType(RankedTensorType::get(dims, declared.getElementType()));
      }
    });
    return llvm::Error::success();
  }

  Location loc(llvm::StringRef name) {
    return NameLoc::get(b_.getStringAttr(name.empty() ? "graph" : name));
  }

  int64_t opsetOf(llvm::StringRef domain) {
    for (const ::onnx::OperatorSetIdProto &opset : data_.proto.opset_import())
      if (canonicalDomain(opset.domain()) == canonicalDomain(domain))
        return opset.version();
    return 0;
  }

  Type typeOf(const ::onnx::TypeProto &type, llvm::StringRef name) {
    if (!type.has_tensor_type())
      return {};
    Type element = mlirElementType(b_, type.tensor_type().elem_type());
    if (!element)
      return {};
    if (!type.tensor_type().has_shape())
      return UnrankedTensorType::get(element);
    SmallVector<int64_t> shape;
    for (const ::onnx::TensorShapeProto_Dimension &dim :
         type.tensor_type().shape().dim())
      shape.push_back(dim.has_dim_value() && dim.dim_value() >= 0
                          ? dim.dim_value()
                          : ShapedType::kDynamic);
    return RankedTensorType::get(shape, element);
  }

  /// A graph input given a value when compiling: a constant read from its
  /// TensorProto file, checked against the input's declared type.
  llvm::Error bindInput(const ::onnx::ValueInfoProto &input) {
    const std::string &file = options_.inputValues.at(input.name());
    auto buffer = llvm::MemoryBuffer::getFile(file);
    if (!buffer)
      return createStringError("%s: cannot read '%s': %s", file.c_str(),
                               file.c_str(),
                               buffer.getError().message().c_str());
    ::onnx::TensorProto tensor;
    if (!tensor.ParseFromArray((*buffer)->getBufferStart(),
                               static_cast<int>((*buffer)->getBufferSize())))
      return createStringError("%s: not a TensorProto (the value of input "
                               "'%s')",
                               file.c_str(), input.name().c_str());
    llvm::Expected<ElementsAttr> value = elements(tensor);
    if (!value)
      return value.takeError();
    if (Type declared = typeOf(input.type(), input.name())) {
      auto shaped = cast<ShapedType>(declared);
      auto given = cast<ShapedType>(value->getType());
      bool fits =
          shaped.getElementType() == given.getElementType() &&
          (!shaped.hasRank() ||
           (shaped.getRank() == given.getRank() &&
            llvm::all_of(llvm::zip(shaped.getShape(), given.getShape()),
                         [](auto p) {
                           return std::get<0>(p) == ShapedType::kDynamic ||
                                  std::get<0>(p) == std::get<1>(p);
                         })));
      if (!fits) {
        std::string want, have;
        llvm::raw_string_ostream(want) << declared;
        llvm::raw_string_ostream(have) << value->getType();
        return createStringError("%s: input '%s' is %s, the value given is "
                                 "%s",
                                 file.c_str(), input.name().c_str(),
                                 want.c_str(), have.c_str());
      }
    }
    OperationState state(loc(input.name()), "onnx.Constant");
    state.addAttribute("value", *value);
    state.addTypes(cast<TypedAttr>(*value).getType());
    values_[input.name()] = b_.create(state)->getResult(0);
    return llvm::Error::success();
  }

  /// The value named `name`, creating an initializer's op on first use.
  llvm::Expected<Value> lookup(const std::string &name, llvm::StringRef user) {
    if (Value value = values_.lookup(name))
      return value;
    OpBuilder::InsertionGuard guard(b_);
    b_.setInsertionPointToStart(b_.getInsertionBlock());
    if (const TensorSource *source = model_.weights.find(name);
        source && embedded_.contains(name)) {
      int64_t count = source->numElements();
      if (count > (int64_t(1) << 22))
        return createStringError("%s: rotary table '%s' has %lld values; "
                                 "llamac reads tables of up to 2^22",
                                 data_.path.c_str(), name.c_str(),
                                 static_cast<long long>(count));
      std::vector<float> values(static_cast<size_t>(count));
      decodeRow(source->dtype, source->data, count, values.data());
      auto type = RankedTensorType::get(source->shape, b_.getF32Type());
      OperationState state(loc(name), "onnx.Constant");
      state.addAttribute("value",
                         DenseElementsAttr::get(type, ArrayRef<float>(values)));
      state.addTypes(type);
      return values_[name] = b_.create(state)->getResult(0);
    }
    if (const TensorSource *source = model_.weights.find(name);
        source && options_.embedInitializers) {
      Type element = source->dtype == DType::F16    ? b_.getF16Type()
                     : source->dtype == DType::BF16 ? b_.getBF16Type()
                     : source->dtype == DType::F32  ? b_.getF32Type()
                                                    : Type();
      if (!element || source->storedColumns)
        return createStringError("%s: initializer '%s' (%s) cannot be "
                                 "embedded in a graph",
                                 data_.path.c_str(), name.c_str(),
                                 dtypeName(source->dtype).str().c_str());
      auto type = RankedTensorType::get(source->shape, element);
      ArrayRef<char> raw(reinterpret_cast<const char *>(source->data),
                         source->bytes);
      bool splat = false;
      if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
        return createStringError("%s: initializer '%s' has malformed data",
                                 data_.path.c_str(), name.c_str());
      OperationState state(loc(name), "onnx.Constant");
      state.addAttribute("value",
                         DenseElementsAttr::getFromRawBuffer(type, raw));
      state.addTypes(type);
      return values_[name] = b_.create(state)->getResult(0);
    }
    if (const TensorSource *source = model_.weights.find(name)) {
      Type element = source->dtype == DType::F16    ? b_.getF16Type()
                     : source->dtype == DType::BF16 ? b_.getBF16Type()
                     : source->dtype == DType::U8
                         ? Type(b_.getIntegerType(8, /*isSigned=*/false))
                         : b_.getF32Type();
      auto init = llamac::onnx::InitializerOp::create(
          b_, loc(name), RankedTensorType::get(source->shape, element),
          b_.getStringAttr(name));
      // Small float scalars and vectors (an epsilon, a scale, rotary
      // inverse frequencies) also carry their values, for the passes that
      // evaluate shape and position arithmetic while compiling.
      int64_t count = source->numElements();
      if (isa<FloatType>(element) && !source->storedColumns &&
          source->shape.size() <= 1 && count <= kSmallInitializer) {
        std::vector<float> values(static_cast<size_t>(count));
        decodeRow(source->dtype, source->data, count, values.data());
        init->setAttr("value",
                      DenseElementsAttr::get(
                          RankedTensorType::get(source->shape, b_.getF32Type()),
                          ArrayRef<float>(values)));
      }
      return values_[name] = init.getResult();
    }
    if (auto it = data_.constants.find(name); it != data_.constants.end()) {
      llvm::Expected<ElementsAttr> attr =
          elements(*it->second.proto, it->second.external);
      if (!attr)
        return attr.takeError();
      OperationState state(loc(name), "onnx.Constant");
      state.addAttribute("value", *attr);
      state.addTypes(cast<TypedAttr>(*attr).getType());
      return values_[name] = b_.create(state)->getResult(0);
    }
    return createStringError("%s: %s reads '%s', which no node, input or "
                             "initializer defines before it",
                             data_.path.c_str(), user.str().c_str(),
                             name.c_str());
  }

  /// A small tensor (Constant values, integer initializers) as an attribute.
  llvm::Expected<ElementsAttr> elements(const ::onnx::TensorProto &tensor,
                                        const uint8_t *external = nullptr) {
    Type element = mlirElementType(b_, tensor.data_type());
    int64_t bytes = elementBytes(tensor.data_type());
    llvm::Expected<int64_t> count = elementCount(tensor, data_.path);
    if (!count)
      return count.takeError();
    if (!element || !bytes)
      return createStringError(
          "%s: tensor '%s' has element type %s, which "
          "llamac does not read",
          data_.path.c_str(), tensor.name().c_str(),
          elementTypeName(tensor.data_type()).str().c_str());
    if (tensor.data_location() == ::onnx::TensorProto::EXTERNAL && !external)
      return createStringError("%s: tensor '%s': external data is only read "
                               "for initializers",
                               data_.path.c_str(), tensor.name().c_str());
    auto type = RankedTensorType::get(
        SmallVector<int64_t>(tensor.dims().begin(), tensor.dims().end()),
        element);
    std::vector<char> raw(static_cast<size_t>(*count * bytes));
    auto mismatch = [&](int64_t have) {
      return createStringError("%s: tensor '%s' has %lld values, its shape "
                               "needs %lld",
                               data_.path.c_str(), tensor.name().c_str(),
                               static_cast<long long>(have),
                               static_cast<long long>(*count));
    };
    // An empty field's data() may be null: memcpy only what there is.
    if (external) {
      if (!raw.empty())
        std::memcpy(raw.data(), external, raw.size());
    } else if (tensor.has_raw_data()) {
      if (tensor.raw_data().size() != raw.size())
        return mismatch(static_cast<int64_t>(tensor.raw_data().size() / bytes));
      if (!raw.empty())
        std::memcpy(raw.data(), tensor.raw_data().data(), raw.size());
    } else {
      switch (tensor.data_type()) {
      case ::onnx::TensorProto::FLOAT:
        if (tensor.float_data_size() != *count)
          return mismatch(tensor.float_data_size());
        if (!raw.empty())
          std::memcpy(raw.data(), tensor.float_data().data(), raw.size());
        break;
      case ::onnx::TensorProto::DOUBLE:
        if (tensor.double_data_size() != *count)
          return mismatch(tensor.double_data_size());
        if (!raw.empty())
          std::memcpy(raw.data(), tensor.double_data().data(), raw.size());
        break;
      case ::onnx::TensorProto::INT64:
        if (tensor.int64_data_size() != *count)
          return mismatch(tensor.int64_data_size());
        if (!raw.empty())
          std::memcpy(raw.data(), tensor.int64_data().data(), raw.size());
        break;
      case ::onnx::TensorProto::UINT64:
        if (tensor.uint64_data_size() != *count)
          return mismatch(tensor.uint64_data_size());
        if (!raw.empty())
          std::memcpy(raw.data(), tensor.uint64_data().data(), raw.size());
        break;
      default: // the 32-bit and narrower types live in int32_data
        if (tensor.int32_data_size() != *count)
          return mismatch(tensor.int32_data_size());
        for (int64_t i = 0; i < *count; ++i) {
          int32_t v = tensor.int32_data(i);
          std::memcpy(raw.data() + i * bytes, &v, bytes);
        }
      }
    }
    if (element.isInteger(1)) {
      // DenseElementsAttr packs booleans as bits.
      SmallVector<bool> bits;
      for (char c : raw)
        bits.push_back(c != 0);
      return cast<ElementsAttr>(DenseElementsAttr::get(type, bits));
    }
    bool splat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
      return createStringError("%s: tensor '%s' has malformed data",
                               data_.path.c_str(), tensor.name().c_str());
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, raw));
  }

  llvm::Expected<Attribute> attribute(const ::onnx::AttributeProto &attribute,
                                      const ::onnx::NodeProto &node) {
    switch (attribute.type()) {
    case ::onnx::AttributeProto::INT:
      return b_.getI64IntegerAttr(attribute.i());
    case ::onnx::AttributeProto::FLOAT:
      return b_.getF32FloatAttr(attribute.f());
    case ::onnx::AttributeProto::STRING:
      return b_.getStringAttr(attribute.s());
    case ::onnx::AttributeProto::INTS:
      return b_.getI64ArrayAttr(SmallVector<int64_t>(attribute.ints().begin(),
                                                     attribute.ints().end()));
    case ::onnx::AttributeProto::FLOATS: {
      SmallVector<Attribute> values;
      for (float f : attribute.floats())
        values.push_back(b_.getF32FloatAttr(f));
      return b_.getArrayAttr(values);
    }
    case ::onnx::AttributeProto::STRINGS: {
      SmallVector<Attribute> values;
      for (const std::string &s : attribute.strings())
        values.push_back(b_.getStringAttr(s));
      return b_.getArrayAttr(values);
    }
    case ::onnx::AttributeProto::TENSOR: {
      llvm::Expected<ElementsAttr> value = elements(attribute.t());
      if (!value)
        return value.takeError();
      return Attribute(*value);
    }
    default:
      return createStringError("%s: node '%s' (%s): attribute '%s' is of a "
                               "kind llamac does not support (graphs, "
                               "sparse tensors, types)",
                               data_.path.c_str(), node.name().c_str(),
                               node.op_type().c_str(),
                               attribute.name().c_str());
    }
  }

  /// The element type of a result with no declared type: most operators
  /// keep their first input's.
  Type resultElement(const ::onnx::NodeProto &node, ArrayRef<Value> operands,
                     ArrayRef<NamedAttribute> attributes) {
    llvm::StringRef type = node.op_type();
    if (type == "Shape")
      return b_.getIntegerType(64);
    if (type == "Equal" || type == "Less" || type == "Greater" ||
        type == "LessOrEqual" || type == "GreaterOrEqual" || type == "And" ||
        type == "Or" || type == "Xor" || type == "Not" || type == "IsNaN")
      return b_.getI1Type();
    if (type == "Cast")
      return mlirElementType(b_, static_cast<int>(intAttribute(node, "to", 1)));
    for (const NamedAttribute &attr : attributes)
      if (attr.getName() == "value")
        if (auto elements = dyn_cast<ElementsAttr>(attr.getValue()))
          return elements.getElementType();
    if (type == "ConstantOfShape")
      return b_.getF32Type();
    for (Value operand : operands)
      if (auto tensor = dyn_cast<TensorType>(operand.getType()))
        return tensor.getElementType();
    return b_.getF32Type();
  }

  llvm::Error importNode(const ::onnx::NodeProto &node) {
    const OpInfo *info = findOp(node.domain(), node.op_type());
    std::string user =
        llvm::formatv("node '{0}' ({1})", node.name(), node.op_type());
    SmallVector<Value> operands;
    for (const std::string &input : node.input()) {
      if (input.empty()) {
        operands.push_back(none());
        continue;
      }
      llvm::Expected<Value> value = lookup(input, user);
      if (!value)
        return value.takeError();
      operands.push_back(*value);
    }
    if (info->variadicInput < 0) {
      if (static_cast<int>(operands.size()) > info->inputs)
        return createStringError("%s: %s has %zu inputs; the operator takes "
                                 "at most %d",
                                 data_.path.c_str(), user.c_str(),
                                 operands.size(), info->inputs);
      while (static_cast<int>(operands.size()) < info->inputs)
        operands.push_back(none());
    }
    int fixed = info->variadicInput < 0 ? info->inputs : info->variadicInput;
    for (int i = 0; i < fixed && i < 64; ++i)
      if ((info->requiredInputs >> i & 1) &&
          (i >= static_cast<int>(operands.size()) ||
           isa<NoneType>(operands[i].getType())))
        return createStringError("%s: %s gives no value for its input #%d, "
                                 "which the operator requires",
                                 data_.path.c_str(), user.c_str(), i);
    SmallVector<NamedAttribute> attributes;
    for (const ::onnx::AttributeProto &proto : node.attribute()) {
      llvm::Expected<Attribute> value = attribute(proto, node);
      if (!value)
        return value.takeError();
      attributes.push_back(b_.getNamedAttr(proto.name(), *value));
    }
    int outputs = info->variadicOutput < 0 ? info->outputs : node.output_size();
    if (node.output_size() > outputs)
      return createStringError("%s: %s has %d outputs; the operator has at "
                               "most %d",
                               data_.path.c_str(), user.c_str(),
                               node.output_size(), outputs);
    SmallVector<Type> types;
    for (int i = 0; i < outputs; ++i) {
      if (i >= node.output_size() || node.output(i).empty()) {
        types.push_back(b_.getNoneType());
        continue;
      }
      Type type;
      if (auto it = infos_.find(node.output(i)); it != infos_.end())
        type = typeOf(it->second->type(), node.output(i));
      if (!type) {
        Type element = resultElement(node, operands, attributes);
        if (!element) // e.g. a Cast to a type number ONNX does not define
          return createStringError("%s: %s produces an element type llamac "
                                   "does not know",
                                   data_.path.c_str(), user.c_str());
        type = UnrankedTensorType::get(element);
      }
      types.push_back(type);
    }
    OperationState state(loc(node.name()), info->mlirName);
    state.addOperands(operands);
    state.addTypes(types);
    state.addAttributes(attributes);
    Operation *op = b_.create(state);
    for (int i = 0; i < node.output_size(); ++i)
      if (!node.output(i).empty())
        values_[node.output(i)] = op->getResult(i);
    return llvm::Error::success();
  }

  Value none() {
    if (!none_) {
      OpBuilder::InsertionGuard guard(b_);
      b_.setInsertionPointToStart(b_.getInsertionBlock());
      none_ = llamac::onnx::NoneOp::create(b_, loc("none"), b_.getNoneType());
    }
    return none_;
  }

  const LoadedModel &model_;
  const ONNXData &data_;
  const ONNXImportOptions &options_;
  OpBuilder b_;
  llvm::StringMap<Value> values_;
  llvm::StringMap<const ::onnx::ValueInfoProto *> infos_;
  llvm::StringSet<llvm::MallocAllocator> embedded_;
  Value none_;
};

} // namespace

llvm::Expected<OwningOpRef<ModuleOp>>
llamac::importONNX(MLIRContext &context, const LoadedModel &model,
                   const ONNXImportOptions &options) {
  auto data = std::static_pointer_cast<ONNXData>(model.frontendData);
  if (!data)
    return createStringError("%s: not loaded by the ONNX front end",
                             model.path.c_str());
  context.getOrLoadDialect<llamac::onnx::ONNXDialect>();
  context.getOrLoadDialect<func::FuncDialect>();
  return Importer(context, model, *data, options).run();
}
