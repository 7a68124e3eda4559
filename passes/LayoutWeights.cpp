//===- LayoutWeights.cpp - Place weights in the weights blob --------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `llama-layout-weights`: every distinct parameter gets
// an aligned byte offset in the weights region, in order of first use, which
// is also the order in which a forward pass reads them.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"
#include "passes/WeightsLayout.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MathExtras.h"

namespace llamac {
#define GEN_PASS_DEF_LLAMALAYOUTWEIGHTS
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

int64_t llamac::getParamBytes(Type type) {
  if (auto qtensor = dyn_cast<QTensorType>(type))
    return qtensor.getStorageBytes();
  auto tensor = cast<RankedTensorType>(type);
  if (isa_and_nonnull<llama::PackedAttr>(tensor.getEncoding()))
    return llama::PackedAttr::storedRows(tensor.getDimSize(0)) *
           tensor.getDimSize(1) * tensor.getElementTypeBitWidth() / 8;
  return tensor.getNumElements() * tensor.getElementTypeBitWidth() / 8;
}

namespace {

struct LlamaLayoutWeightsPass
    : public llamac::impl::LlamaLayoutWeightsBase<LlamaLayoutWeightsPass> {
  using LlamaLayoutWeightsBase::LlamaLayoutWeightsBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (alignment < 1 || !llvm::isPowerOf2_64(alignment)) {
      module.emitError() << "llama-layout-weights: alignment " << alignment
                         << " is not a power of two";
      return signalPassFailure();
    }
    Builder builder(&getContext());
    // Key: name and printed type, so one tensor read as two types gets two
    // places (e.g. a tied embedding kept dense and a quantized copy).
    llvm::StringMap<int64_t> offsets;
    int64_t cursor = 0;
    module.walk([&](ParamOp param) {
      std::string key;
      llvm::raw_string_ostream os(key);
      os << param.getName() << '\0' << param.getType();
      for (StringRef name : {kTransposeFromAttr, kRowsFromAttr})
        if (Attribute view = param->getAttr(name))
          os << '\0' << name << view;
      auto [it, inserted] = offsets.try_emplace(key, 0);
      if (inserted) {
        cursor = llvm::alignTo(cursor, alignment);
        it->second = cursor;
        cursor += getParamBytes(param.getType());
      }
      param->setAttr(kOffsetAttr, builder.getI64IntegerAttr(it->second));
    });
    module->setAttr(kWeightsBytesAttr, builder.getI64IntegerAttr(
                                           llvm::alignTo(cursor, alignment)));
  }
};

} // namespace
