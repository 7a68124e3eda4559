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
                                  QuantSchemeAttr scheme) {
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
  if (!scheme || parser.parseGreater())
    return {};
  return getChecked([&] { return parser.emitError(loc); }, parser.getContext(),
                    shape, scheme);
}

void QTensorType::print(AsmPrinter &printer) const {
  printer << "<";
  llvm::interleave(getShape(), printer, "x");
  printer << ", ";
  getScheme().printBody(printer);
  printer << ">";
}

int64_t QTensorType::getStorageBytes() const {
  return getRows() * getScheme().getRowBytes(getCols());
}
