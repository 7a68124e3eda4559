//===- LlamaTypes.cpp - Types of the llama dialect ------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `!llama.qtensor`: its syntax, verifier and size.
//
//===----------------------------------------------------------------------===//

#include "dialects/Llama/LlamaOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace llamac::llama;

#define GET_TYPEDEF_CLASSES
#include "dialects/Llama/LlamaTypes.cpp.inc"

void LlamaDialect::registerTypes() {
  addTypes<
#define GET_TYPEDEF_LIST
#include "dialects/Llama/LlamaTypes.cpp.inc"
      >();
}

LogicalResult QTensorType::verify(function_ref<InFlightDiagnostic()> emitError,
                                  ArrayRef<int64_t> shape,
                                  QuantSchemeAttr scheme,
                                  WeightPacking packing) {
  if (packing == WeightPacking::R16 && scheme &&
      scheme.getKind() == QuantKind::Int4)
    return emitError() << "r16 packing is for q8_0, q4_0 and q4_1 weights";
  if (shape.size() != 2)
    return emitError() << "quantized tensor must be a 2-D matrix, got rank "
                       << shape.size();
  for (int64_t dim : shape)
    if (dim <= 0)
      return emitError() << "quantized tensor dimensions must be static and "
                            "positive";
  if (!scheme)
    return emitError() << "quantized tensor needs a quantization scheme";
  if (shape[1] % scheme.getBlockSize() != 0)
    return emitError() << "quantized dimension " << shape[1]
                       << " is not a multiple of the block size "
                       << scheme.getBlockSize();
  return success();
}

Type QTensorType::parse(AsmParser &parser) {
  SMLoc loc = parser.getCurrentLocation();
  SmallVector<int64_t> shape;
  if (parser.parseLess() ||
      parser.parseDimensionList(shape, /*allowDynamic=*/false,
                                /*withTrailingX=*/false) ||
      parser.parseComma())
    return {};
  QuantSchemeAttr scheme = QuantSchemeAttr::parseBody(parser);
  if (!scheme)
    return {};
  WeightPacking packing = WeightPacking::Rows;
  if (succeeded(parser.parseOptionalComma())) {
    StringRef keyword;
    SMLoc at = parser.getCurrentLocation();
    if (parser.parseKeyword("packed") || parser.parseEqual() ||
        parser.parseKeyword(&keyword))
      return {};
    std::optional<WeightPacking> parsed = symbolizeWeightPacking(keyword);
    if (!parsed) {
      parser.emitError(at) << "unknown packing '" << keyword
                           << "' (expected rows or r16)";
      return {};
    }
    packing = *parsed;
  }
  if (parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    shape, scheme, packing);
}

void QTensorType::print(AsmPrinter &printer) const {
  printer << "<";
  llvm::interleave(getShape(), printer, "x");
  printer << ", ";
  getScheme().printBody(printer);
  if (getPacking() != WeightPacking::Rows)
    printer << ", packed = " << stringifyWeightPacking(getPacking());
  printer << ">";
}

int64_t QTensorType::getStoredRows() const {
  if (getPacking() == WeightPacking::R16)
    return (getRows() + 15) / 16 * 16;
  return getRows();
}

int64_t QTensorType::getStorageBytes() const {
  return getStoredRows() * getScheme().getRowBytes(getCols());
}
