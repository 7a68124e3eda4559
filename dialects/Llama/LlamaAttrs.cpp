//===- LlamaAttrs.cpp - Attributes of the llama dialect -------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the enums and attributes of the `llama` dialect: the
// custom syntax and verifier of `#llama.quant`, its storage sizes, and the
// frequency rule of `#llama.rope_scaling`.
//
//===----------------------------------------------------------------------===//

#include "dialects/Llama/LlamaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/MathExtras.h"

#include <cmath>

using namespace mlir;
using namespace llamac::llama;

#include "dialects/Llama/LlamaEnums.cpp.inc"

#define GET_ATTRDEF_CLASSES
#include "dialects/Llama/LlamaAttrs.cpp.inc"

void LlamaDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "dialects/Llama/LlamaAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// QuantSchemeAttr
//===----------------------------------------------------------------------===//

namespace {
/// The GGML block formats all use blocks of 32 values.
constexpr int64_t kGGMLBlockSize = 32;

bool isGGML(QuantKind kind) { return kind != QuantKind::Int4; }
} // namespace

QuantSchemeAttr QuantSchemeAttr::getGGML(MLIRContext *context, QuantKind kind) {
  assert(isGGML(kind) && "not a GGML block format");
  return get(context, kind, kGGMLBlockSize, /*zeroPoints=*/false);
}

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        QuantKind kind, int64_t blockSize, bool zeroPoints) {
  if (isGGML(kind)) {
    if (blockSize != kGGMLBlockSize)
      return emitError() << stringifyQuantKind(kind)
                         << " uses blocks of 32 values, not " << blockSize;
    if (zeroPoints)
      return emitError() << stringifyQuantKind(kind) << " has no zero points";
    return success();
  }
  if (blockSize < 16 || !llvm::isPowerOf2_64(blockSize))
    return emitError() << "int4 block size must be a power of two >= 16, got "
                       << blockSize;
  return success();
}

void QuantSchemeAttr::printBody(AsmPrinter &printer) const {
  printer << stringifyQuantKind(getKind());
  if (isGGML(getKind()))
    return;
  printer << "<block = " << getBlockSize();
  if (getZeroPoints())
    printer << ", zero_points";
  printer << ">";
}

QuantSchemeAttr QuantSchemeAttr::parseBody(AsmParser &parser) {
  MLIRContext *context = parser.getContext();
  SMLoc loc = parser.getCurrentLocation();
  StringRef keyword;
  if (parser.parseKeyword(&keyword))
    return {};
  std::optional<QuantKind> kind = symbolizeQuantKind(keyword);
  if (!kind) {
    parser.emitError(loc) << "unknown quantization scheme '" << keyword
                          << "' (expected q8_0, q4_0, q4_1 or int4)";
    return {};
  }
  auto emitError = [&] { return parser.emitError(loc); };
  if (isGGML(*kind))
    return getChecked(emitError, context, *kind, kGGMLBlockSize, false);

  int64_t blockSize = 0;
  bool zeroPoints = false;
  if (parser.parseLess() || parser.parseKeyword("block") ||
      parser.parseEqual() || parser.parseInteger(blockSize))
    return {};
  if (succeeded(parser.parseOptionalComma())) {
    if (parser.parseKeyword("zero_points"))
      return {};
    zeroPoints = true;
  }
  if (parser.parseGreater())
    return {};
  return getChecked(emitError, context, *kind, blockSize, zeroPoints);
}

Attribute QuantSchemeAttr::parse(AsmParser &parser, Type) {
  if (parser.parseLess())
    return {};
  QuantSchemeAttr scheme = parseBody(parser);
  if (!scheme || parser.parseGreater())
    return {};
  return scheme;
}

void QuantSchemeAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printBody(printer);
  printer << ">";
}

int64_t QuantSchemeAttr::getRowBytes(int64_t cols) const {
  int64_t blocks = cols / getBlockSize();
  switch (getKind()) {
  case QuantKind::Q8_0: // f16 scale + 32 x i8
    return blocks * (2 + 32);
  case QuantKind::Q4_0: // f16 scale + 32 x u4
    return blocks * (2 + 16);
  case QuantKind::Q4_1: // f16 scale + f16 min + 32 x u4
    return blocks * (2 + 2 + 16);
  case QuantKind::Int4: // f32 scale (+ u8 zero point) + block x u4
    return blocks * (4 + (getZeroPoints() ? 1 : 0) + getBlockSize() / 2);
  }
  llvm_unreachable("unknown quantization kind");
}

//===----------------------------------------------------------------------===//
// RopeScalingAttr
//===----------------------------------------------------------------------===//

LogicalResult
RopeScalingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        RopeScalingKind kind, APFloat factorValue,
                        APFloat lowFreqValue, APFloat highFreqValue,
                        int64_t originalMaxPosition) {
  double factor = factorValue.convertToDouble();
  double lowFreqFactor = lowFreqValue.convertToDouble();
  double highFreqFactor = highFreqValue.convertToDouble();
  if (!(factor > 0))
    return emitError() << "rope scaling factor must be positive, got "
                       << factor;
  if (kind != RopeScalingKind::Llama3)
    return success();
  if (!(lowFreqFactor > 0))
    return emitError() << "low_freq_factor must be positive, got "
                       << lowFreqFactor;
  if (!(highFreqFactor > lowFreqFactor))
    return emitError() << "high_freq_factor (" << highFreqFactor
                       << ") must be greater than low_freq_factor ("
                       << lowFreqFactor << ")";
  if (originalMaxPosition <= 0)
    return emitError() << "original_max_position must be positive, got "
                       << originalMaxPosition;
  return success();
}

double RopeScalingAttr::scaleFrequency(double frequency) const {
  double factor = getFactor().convertToDouble();
  double lowFreqFactor = getLowFreqFactor().convertToDouble();
  double highFreqFactor = getHighFreqFactor().convertToDouble();
  if (getKind() == RopeScalingKind::Linear)
    return frequency / factor;

  // Llama 3.1: keep high frequencies, divide low ones by `factor`, and blend
  // linearly in wavelength space between the two thresholds.
  double context = static_cast<double>(getOriginalMaxPosition());
  double wavelength = 2 * llvm::numbers::pi / frequency;
  double lowFreqWavelength = context / lowFreqFactor;
  double highFreqWavelength = context / highFreqFactor;
  if (wavelength < highFreqWavelength)
    return frequency;
  if (wavelength > lowFreqWavelength)
    return frequency / factor;
  double smooth =
      (context / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
  return (1 - smooth) * frequency / factor + smooth * frequency;
}
