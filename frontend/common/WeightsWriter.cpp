//===- WeightsWriter.cpp - Streaming the weights blob ---------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file writes the weights blob. Conversions go through one row of f32:
// decode the source row (f16, bf16, or a GGML block format), encode it as the
// target type. The GGML encoders follow the reference quantization of the
// GGML format (per block of 32: q8_0 scales by max|x| / 127; q4_0 by the
// signed value of largest magnitude / -8; q4_1 by (max - min) / 15 with min as
// offset), so quantized weights match what llama.cpp would store. A tensor
// already stored in the target encoding is copied byte for byte.
//
//===----------------------------------------------------------------------===//

#include "frontend/common/WeightsWriter.h"

#include "dialects/Llama/LlamaOps.h"
#include "frontend/common/Float16.h"
#include "passes/WeightsLayout.h"

#include "llamac/blob.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>
#include <cstring>

using namespace mlir;
using namespace llamac;
using llvm::createStringError;

namespace {

uint16_t readU16(const uint8_t *p) {
  return llvm::support::endian::read16le(p);
}

void writeU16(std::vector<uint8_t> &out, uint16_t v) {
  out.push_back(static_cast<uint8_t>(v & 0xff));
  out.push_back(static_cast<uint8_t>(v >> 8));
}

void encodeQ8_0(const float *x, int64_t cols, std::vector<uint8_t> &out) {
  for (int64_t b = 0; b < cols; b += 32) {
    float amax = 0;
    for (int i = 0; i < 32; ++i)
      amax = std::max(amax, std::fabs(x[b + i]));
    float d = amax / 127.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    writeU16(out, floatToHalf(d));
    for (int i = 0; i < 32; ++i)
      out.push_back(static_cast<uint8_t>(
          static_cast<int8_t>(std::lround(x[b + i] * id))));
  }
}

void encodeQ4_0(const float *x, int64_t cols, std::vector<uint8_t> &out) {
  for (int64_t b = 0; b < cols; b += 32) {
    float amax = 0, max = 0;
    for (int i = 0; i < 32; ++i)
      if (std::fabs(x[b + i]) > amax) {
        amax = std::fabs(x[b + i]);
        max = x[b + i];
      }
    float d = max / -8.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    writeU16(out, floatToHalf(d));
    for (int i = 0; i < 16; ++i) {
      int lo = std::min(
          15, static_cast<int>(static_cast<int8_t>(x[b + i] * id + 8.5f)));
      int hi = std::min(
          15, static_cast<int>(static_cast<int8_t>(x[b + 16 + i] * id + 8.5f)));
      out.push_back(static_cast<uint8_t>(lo | (hi << 4)));
    }
  }
}

void encodeQ4_1(const float *x, int64_t cols, std::vector<uint8_t> &out) {
  for (int64_t b = 0; b < cols; b += 32) {
    float min = x[b], max = x[b];
    for (int i = 1; i < 32; ++i) {
      min = std::min(min, x[b + i]);
      max = std::max(max, x[b + i]);
    }
    float d = (max - min) / 15.0f;
    float id = d != 0 ? 1.0f / d : 0.0f;
    writeU16(out, floatToHalf(d));
    writeU16(out, floatToHalf(min));
    for (int i = 0; i < 16; ++i) {
      int lo = std::min(15, static_cast<int>(static_cast<int8_t>(
                                (x[b + i] - min) * id + 0.5f)));
      int hi = std::min(15, static_cast<int>(static_cast<int8_t>(
                                (x[b + 16 + i] - min) * id + 0.5f)));
      out.push_back(static_cast<uint8_t>(lo | (hi << 4)));
    }
  }
}

/// How `target` stores values, as the source DType of the same encoding.
std::optional<DType> encodingOf(Type target) {
  if (auto qtensor = dyn_cast<llama::QTensorType>(target)) {
    switch (qtensor.getScheme().getKind()) {
    case llama::QuantKind::Q8_0:
      return DType::Q8_0;
    case llama::QuantKind::Q4_0:
      return DType::Q4_0;
    case llama::QuantKind::Q4_1:
      return DType::Q4_1;
    case llama::QuantKind::Int4:
      return std::nullopt;
    }
  }
  if (target.isF32())
    return DType::F32;
  if (target.isF16())
    return DType::F16;
  if (target.isBF16())
    return DType::BF16;
  return std::nullopt;
}

/// Row `row` of a MatMulNBits weight: its values' 4-bit codes, and per
/// block of 32 the scale and zero point of the MatMulNBits block it is in.
void nbitsRow(const TensorSource &source, int64_t row, int64_t cols,
              uint8_t *codes, float *scales, int *zeroPoints) {
  int64_t block = source.nbitsBlock, blocks = cols / block;
  const uint8_t *packed = source.data + row * (cols / 2);
  for (int64_t k = 0; k < cols; ++k)
    codes[k] = (packed[k / 2] >> (4 * (k % 2))) & 0x0f;
  const TensorSource &s = *source.nbitsScales;
  int64_t zpRowBytes = (blocks + 1) / 2;
  for (int64_t b = 0; b < cols / 32; ++b) {
    int64_t index = row * blocks + b * 32 / block;
    scales[b] = s.dtype == DType::F16
                    ? halfToFloat(readU16(s.data + 2 * index))
                    : llvm::bit_cast<float>(
                          llvm::support::endian::read32le(s.data + 4 * index));
    int64_t blk = b * 32 / block;
    zeroPoints[b] =
        source.nbitsZeroPoints
            ? (source.nbitsZeroPoints->data[row * zpRowBytes + blk / 2] >>
               (4 * (blk % 2))) &
                  0x0f
            : 8;
  }
}

/// Writes rows of a MatMulNBits weight as q4_0 (zero point 8 throughout) or
/// q4_1 blocks of 32: the codes are moved, not recomputed; the scale becomes
/// the block's f16 scale (and -zero_point x scale its f16 minimum). Other
/// targets go through f32.
llvm::Error convertNBitsRows(const TensorSource &source, Type target,
                             int64_t firstRow, int64_t rows, int64_t cols,
                             std::vector<uint8_t> &out) {
  std::optional<DType> encoding = encodingOf(target);
  std::vector<uint8_t> codes(cols);
  std::vector<float> scales(cols / 32), values;
  std::vector<int> zeroPoints(cols / 32);
  for (int64_t r = firstRow; r < firstRow + rows; ++r) {
    nbitsRow(source, r, cols, codes.data(), scales.data(), zeroPoints.data());
    bool symmetric = llvm::all_of(zeroPoints, [](int z) { return z == 8; });
    if (encoding == DType::Q4_1 || (encoding == DType::Q4_0 && symmetric)) {
      for (int64_t b = 0; b < cols / 32; ++b) {
        writeU16(out, floatToHalf(scales[b]));
        if (encoding == DType::Q4_1)
          writeU16(out, floatToHalf(-zeroPoints[b] * scales[b]));
        const uint8_t *q = codes.data() + 32 * b;
        for (int i = 0; i < 16; ++i)
          out.push_back(static_cast<uint8_t>(q[i] | (q[i + 16] << 4)));
      }
      continue;
    }
    values.resize(cols);
    for (int64_t k = 0; k < cols; ++k)
      values[k] = (codes[k] - zeroPoints[k / 32]) * scales[k / 32];
    TensorSource f32;
    f32.name = source.name;
    f32.dtype = DType::F32;
    f32.shape = {1, cols};
    f32.data = reinterpret_cast<const uint8_t *>(values.data());
    f32.bytes = cols * 4;
    if (llvm::Error error = convertRows(f32, target, 0, 1, cols, out))
      return error;
  }
  return llvm::Error::success();
}

} // namespace

void llamac::interleaveR16(const std::vector<uint8_t> &rows,
                           llama::QuantKind kind, int64_t cols,
                           std::vector<uint8_t> &out) {
  // See !llama.qtensor's description: per block, the 16 rows' scales (and
  // q4_1 minimums), then 16 rows x 4 values per 64 bytes.
  int64_t blockBytes = kind == llama::QuantKind::Q8_0   ? 34
                       : kind == llama::QuantKind::Q4_0 ? 18
                                                        : 20;
  int64_t header = kind == llama::QuantKind::Q4_1 ? 4 : 2;
  int64_t rowBytes = cols / 32 * blockBytes;
  out.clear();
  out.reserve(rows.size());
  for (int64_t b = 0; b < cols / 32; ++b) {
    auto block = [&](int r) {
      return rows.data() + r * rowBytes + b * blockBytes;
    };
    for (int r = 0; r < 16; ++r) // scales
      out.insert(out.end(), block(r), block(r) + 2);
    if (kind == llama::QuantKind::Q4_1)
      for (int r = 0; r < 16; ++r) // minimums
        out.insert(out.end(), block(r) + 2, block(r) + 4);
    int groups = kind == llama::QuantKind::Q8_0 ? 8 : 4;
    for (int j = 0; j < groups; ++j)
      for (int r = 0; r < 16; ++r)
        for (int i = 0; i < 4; ++i) {
          uint8_t byte = block(r)[header + 4 * j + i];
          // q8_0 values biased to unsigned for u8 x s8 dot products; q4
          // bytes already hold values 4j+i (low) and 16+4j+i (high).
          out.push_back(kind == llama::QuantKind::Q8_0 ? byte ^ 0x80 : byte);
        }
  }
}

void llamac::decodeRow(DType dtype, const uint8_t *row, int64_t cols,
                       float *out) {
  switch (dtype) {
  case DType::F32:
    std::memcpy(out, row, cols * 4);
    return;
  case DType::F16:
    for (int64_t i = 0; i < cols; ++i)
      out[i] = halfToFloat(readU16(row + 2 * i));
    return;
  case DType::BF16:
    for (int64_t i = 0; i < cols; ++i)
      out[i] = bf16ToFloat(readU16(row + 2 * i));
    return;
  case DType::Q8_0:
    for (int64_t b = 0; b < cols / 32; ++b) {
      const uint8_t *block = row + b * 34;
      float d = halfToFloat(readU16(block));
      for (int i = 0; i < 32; ++i)
        out[b * 32 + i] = d * static_cast<int8_t>(block[2 + i]);
    }
    return;
  case DType::Q4_0:
    for (int64_t b = 0; b < cols / 32; ++b) {
      const uint8_t *block = row + b * 18;
      float d = halfToFloat(readU16(block));
      for (int i = 0; i < 16; ++i) {
        out[b * 32 + i] = d * ((block[2 + i] & 0x0f) - 8);
        out[b * 32 + 16 + i] = d * ((block[2 + i] >> 4) - 8);
      }
    }
    return;
  case DType::U8:
    for (int64_t i = 0; i < cols; ++i)
      out[i] = row[i];
    return;
  case DType::Q4_1:
    for (int64_t b = 0; b < cols / 32; ++b) {
      const uint8_t *block = row + b * 20;
      float d = halfToFloat(readU16(block));
      float m = halfToFloat(readU16(block + 2));
      for (int i = 0; i < 16; ++i) {
        out[b * 32 + i] = d * (block[4 + i] & 0x0f) + m;
        out[b * 32 + 16 + i] = d * (block[4 + i] >> 4) + m;
      }
    }
    return;
  }
}

llvm::Error llamac::convertRows(const TensorSource &source, Type target,
                                int64_t firstRow, int64_t rows, int64_t cols,
                                std::vector<uint8_t> &out) {
  std::optional<DType> encoding = encodingOf(target);
  if (!encoding)
    return createStringError("tensor '%s': llamac cannot yet write weights "
                             "of this type",
                             source.name.c_str());
  if (source.nbitsBlock)
    return convertNBitsRows(source, target, firstRow, rows, cols, out);
  if (source.dtype == DType::U8)
    return createStringError("tensor '%s' holds raw bytes, not weights",
                             source.name.c_str());
  if (source.storedColumns) {
    // A transposed window: gather the rows from the stored matrix's columns,
    // one stored row (a run of `rows` values) at a time.
    if (isBlockQuantized(source.dtype))
      return createStringError("tensor '%s': a transposed view of a block "
                               "quantized tensor",
                               source.name.c_str());
    std::vector<float> block(static_cast<size_t>(rows * cols)), run(rows);
    int64_t element = rowBytes(source.dtype, 1);
    for (int64_t k = 0; k < cols; ++k) {
      const uint8_t *at =
          source.data +
          (k * source.storedColumns + source.firstColumn + firstRow) * element;
      decodeRow(source.dtype, at, rows, run.data());
      for (int64_t r = 0; r < rows; ++r)
        block[r * cols + k] = run[r];
    }
    TensorSource f32 = source;
    f32.storedColumns = 0;
    f32.dtype = DType::F32;
    f32.data = reinterpret_cast<const uint8_t *>(block.data());
    return convertRows(f32, target, 0, rows, cols, out);
  }
  int64_t sourceRowBytes = rowBytes(source.dtype, cols);
  const uint8_t *base = source.data + firstRow * sourceRowBytes;
  if (*encoding == source.dtype) {
    out.insert(out.end(), base, base + rows * sourceRowBytes);
    return llvm::Error::success();
  }
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    decodeRow(source.dtype, base + r * sourceRowBytes, cols, row.data());
    switch (*encoding) {
    case DType::F32: {
      const uint8_t *bytes = reinterpret_cast<const uint8_t *>(row.data());
      out.insert(out.end(), bytes, bytes + cols * 4);
      break;
    }
    case DType::F16:
      for (float v : row)
        writeU16(out, floatToHalf(v));
      break;
    case DType::BF16:
      for (float v : row)
        writeU16(out, floatToBf16(v));
      break;
    case DType::Q8_0:
      encodeQ8_0(row.data(), cols, out);
      break;
    case DType::Q4_0:
      encodeQ4_0(row.data(), cols, out);
      break;
    case DType::Q4_1:
      encodeQ4_1(row.data(), cols, out);
      break;
    case DType::U8:
      llvm_unreachable("no parameter is stored as raw bytes");
    }
  }
  return llvm::Error::success();
}

namespace {

/// The rows of a MatMulNBits weight a param reads (see kMatMulNBitsAttr),
/// with its scales and zero points, checked against each other.
llvm::Error nbitsView(const LoadedModel &model, llama::ParamOp param,
                      const TensorSource &b, DictionaryAttr attr,
                      TensorSource &view, TensorSource &scales,
                      TensorSource &zeroPoints) {
  auto fail = [&](const llvm::Twine &what) {
    return createStringError("%s: MatMulNBits weight '%s': %s", b.file.c_str(),
                             b.name.c_str(), what.str().c_str());
  };
  auto qtensor = dyn_cast<llama::QTensorType>(param.getType());
  auto scalesName = attr.getAs<StringAttr>("scales");
  auto zeroName = attr.getAs<StringAttr>("zero_points");
  auto blockAttr = attr.getAs<IntegerAttr>("block_size");
  if (!qtensor || !scalesName || !blockAttr)
    return fail("internal error: malformed llamac.matmul_nbits");
  int64_t block = blockAttr.getInt(), rows = qtensor.getRows(),
          cols = qtensor.getCols();
  int64_t first = 0;
  if (auto from = param->getAttrOfType<IntegerAttr>(kRowsFromAttr))
    first = from.getInt();
  if (b.dtype != DType::U8 || b.shape.size() != 3 || block < 32 ||
      cols % block != 0 || b.shape[1] != cols / block ||
      b.shape[2] != block / 2 || first < 0 || first + rows > b.shape[0])
    return fail(llvm::formatv("shape [{0}] does not hold rows [{1}, {2}) of "
                              "{3} values in blocks of {4}",
                              llvm::make_range(b.shape.begin(), b.shape.end()),
                              first, first + rows, cols, block)
                    .str());
  int64_t n = b.shape[0], blocks = cols / block;
  const TensorSource *s = model.weights.find(scalesName.getValue());
  if (!s || (s->dtype != DType::F32 && s->dtype != DType::F16) ||
      s->numElements() != n * blocks)
    return fail(llvm::formatv("scales '{0}' must be {1} f32 or f16 values",
                              scalesName.getValue(), n * blocks)
                    .str());
  scales = *s;
  view = b;
  view.shape = {rows, cols};
  view.bytes = rows * cols / 2;
  view.data = b.data + first * (cols / 2);
  view.nbitsBlock = block;
  view.nbitsScales = &scales;
  scales.data = s->data + first * blocks * (s->dtype == DType::F16 ? 2 : 4);
  if (zeroName) {
    const TensorSource *z = model.weights.find(zeroName.getValue());
    int64_t rowBytes = (blocks + 1) / 2;
    if (!z || z->dtype != DType::U8 || z->numElements() != n * rowBytes)
      return fail(llvm::formatv("zero points '{0}' must be {1} bytes of "
                                "4-bit values",
                                zeroName.getValue(), n * rowBytes)
                      .str());
    zeroPoints = *z;
    zeroPoints.data = z->data + first * rowBytes;
    view.nbitsZeroPoints = &zeroPoints;
  }
  return llvm::Error::success();
}

} // namespace

llvm::Expected<uint64_t> llamac::writeWeightsBlob(ModuleOp module,
                                                  const LoadedModel &model,
                                                  const BlobInfo &info,
                                                  llvm::raw_ostream &out) {
  struct Entry {
    int64_t offset;
    llama::ParamOp param;
  };
  std::vector<Entry> entries;
  llvm::DenseSet<int64_t> seen;
  module.walk([&](llama::ParamOp param) {
    auto offset = param->getAttrOfType<IntegerAttr>(kOffsetAttr);
    if (offset && seen.insert(offset.getInt()).second)
      entries.push_back({offset.getInt(), param});
  });
  std::sort(entries.begin(), entries.end(),
            [](const Entry &a, const Entry &b) { return a.offset < b.offset; });
  auto weightsAttr = module->getAttrOfType<IntegerAttr>(kWeightsBytesAttr);
  if (!weightsAttr)
    return createStringError("internal error: weights are not laid out");
  uint64_t weightsBytes = weightsAttr.getInt();

  llamac_blob_header header;
  std::memset(&header, 0, sizeof header);
  std::memcpy(header.magic, LLAMAC_BLOB_MAGIC, 8);
  header.version = LLAMAC_BLOB_VERSION;
  header.header_bytes = sizeof header;
  header.fingerprint = info.fingerprint;
  header.vocab_size = info.vocabSize;
  header.bos_token = info.bosToken;
  header.add_bos = info.addBos ? 1 : 0;
  header.n_eos = static_cast<int32_t>(
      std::min<size_t>(info.eosTokens.size(), LLAMAC_BLOB_MAX_EOS));
  for (int32_t i = 0; i < header.n_eos; ++i)
    header.eos_tokens[i] = info.eosTokens[i];
  header.tokenizer_offset = info.tokenizer.empty() ? 0 : sizeof header;
  header.tokenizer_bytes = info.tokenizer.size();
  header.weights_offset =
      llvm::alignTo(sizeof header + info.tokenizer.size(), LLAMAC_BLOB_ALIGN);
  header.weights_bytes = weightsBytes;
  header.total_bytes = header.weights_offset + weightsBytes;

  out.write(reinterpret_cast<const char *>(&header), sizeof header);
  out << info.tokenizer;
  out.write_zeros(header.weights_offset - sizeof header -
                  info.tokenizer.size());

  uint64_t cursor = 0;
  std::vector<uint8_t> chunk;
  for (const Entry &entry : entries) {
    llama::ParamOp param = entry.param;
    const TensorSource *source = model.weights.find(param.getName());
    if (!source)
      return createStringError("%s: the model has no tensor '%s'",
                               model.path.c_str(),
                               param.getName().str().c_str());
    TensorSource view;
    if (auto first = param->getAttrOfType<IntegerAttr>(kTransposeFromAttr)) {
      // Rows of this param are columns [first, first + rows) of the stored
      // [cols, N] matrix.
      auto shaped = isa<llama::QTensorType>(param.getType())
                        ? cast<llama::QTensorType>(param.getType()).getShape()
                        : cast<RankedTensorType>(param.getType()).getShape();
      if (source->shape.size() != 2 || source->shape[0] != shaped[1] ||
          first.getInt() < 0 || first.getInt() + shaped[0] > source->shape[1] ||
          isBlockQuantized(source->dtype))
        return createStringError(
            "%s: tensor '%s' cannot be read as the transposed window "
            "[%lld, %lld) of its columns",
            source->file.c_str(), source->name.c_str(),
            static_cast<long long>(first.getInt()),
            static_cast<long long>(first.getInt() + shaped[0]));
      view = *source;
      view.storedColumns = source->shape[1];
      view.firstColumn = first.getInt();
      view.shape = {shaped[0], shaped[1]};
      source = &view;
    }
    TensorSource nbits, nbitsScales, nbitsZeroPoints;
    if (auto attr = param->getAttrOfType<DictionaryAttr>(kMatMulNBitsAttr)) {
      llvm::Error error = nbitsView(model, param, *source, attr, nbits,
                                    nbitsScales, nbitsZeroPoints);
      if (error)
        return std::move(error);
      source = &nbits;
    }
    out.write_zeros(entry.offset - cursor);
    cursor = entry.offset;
    // Whatever way the rows are written below, the source's pages are not
    // needed once they are: a model streams through a tensor's worth of
    // memory.
    llvm::scope_exit release([&, name = source->name] {
      if (const TensorSource *s = model.weights.find(name))
        model.weights.release(*s);
    });

    Type type = param.getType();
    int64_t rows, cols;
    Type target;
    if (auto qtensor = dyn_cast<llama::QTensorType>(type)) {
      rows = qtensor.getRows();
      cols = qtensor.getCols();
      target = qtensor;
    } else {
      auto tensor = cast<RankedTensorType>(type);
      cols = tensor.getShape().back();
      rows = tensor.getNumElements() / cols;
      target = tensor.getElementType();
    }
    if (source->numElements() != rows * cols)
      return createStringError("%s: tensor '%s' has %lld values, expected "
                               "%lld",
                               source->file.c_str(), source->name.c_str(),
                               static_cast<long long>(source->numElements()),
                               static_cast<long long>(rows * cols));
    if (auto tensor = dyn_cast<RankedTensorType>(type);
        tensor && isa_and_nonnull<llama::PackedAttr>(tensor.getEncoding())) {
      // Float r16: per group of 16 rows, column k's 16 values together.
      int64_t element = tensor.getElementTypeBitWidth() / 8;
      std::vector<uint8_t> canonical, interleaved(16 * cols * element);
      for (int64_t r = 0; r < rows; r += 16) {
        canonical.clear();
        int64_t n = std::min<int64_t>(16, rows - r);
        if (llvm::Error error =
                convertRows(*source, target, r, n, cols, canonical))
          return std::move(error);
        canonical.resize(16 * cols * element, 0); // zero rows pad the group
        for (int64_t row = 0; row < 16; ++row)
          for (int64_t k = 0; k < cols; ++k)
            std::memcpy(&interleaved[(k * 16 + row) * element],
                        &canonical[(row * cols + k) * element], element);
        out.write(reinterpret_cast<const char *>(interleaved.data()),
                  interleaved.size());
        cursor += interleaved.size();
      }
      continue;
    }
    auto packed = dyn_cast<llama::QTensorType>(type);
    if (packed && packed.getPacking() == llama::WeightPacking::R16) {
      // Canonical blocks for 16 rows at a time, then interleaved.
      llama::QTensorType rowsType = llama::QTensorType::get(
          type.getContext(), packed.getShape(), packed.getScheme());
      std::vector<uint8_t> canonical, interleaved;
      int64_t rowBytes = packed.getScheme().getRowBytes(cols);
      for (int64_t r = 0; r < rows; r += 16) {
        canonical.clear();
        int64_t n = std::min<int64_t>(16, rows - r);
        if (llvm::Error error =
                convertRows(*source, rowsType, r, n, cols, canonical))
          return std::move(error);
        canonical.resize(16 * rowBytes, 0); // zero rows pad the last group
        interleaveR16(canonical, packed.getScheme().getKind(), cols,
                      interleaved);
        out.write(reinterpret_cast<const char *>(interleaved.data()),
                  interleaved.size());
        cursor += interleaved.size();
      }
      continue;
    }
    // Convert in chunks of rows to bound memory.
    int64_t rowsPerChunk =
        std::max<int64_t>(1, (4 << 20) / std::max<int64_t>(1, cols * 4));
    for (int64_t r = 0; r < rows; r += rowsPerChunk) {
      chunk.clear();
      int64_t n = std::min(rowsPerChunk, rows - r);
      if (llvm::Error error = convertRows(*source, target, r, n, cols, chunk))
        return std::move(error);
      out.write(reinterpret_cast<const char *>(chunk.data()), chunk.size());
      cursor += chunk.size();
    }
  }
  out.write_zeros(weightsBytes - cursor);
  // The caller checks its stream for write errors.
  return header.total_bytes;
}
