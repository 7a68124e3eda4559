//===- PackWeights.cpp - Choose the layout of quantized weights -----------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `llama-pack-weights`: it retypes the quantized weights
// of linear layers to the packed layout a target's kernels read. The weights
// writer rearranges the bytes; see the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

namespace llamac {
#define GEN_PASS_DEF_LLAMAPACKWEIGHTS
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

namespace {

struct LlamaPackWeightsPass
    : public llamac::impl::LlamaPackWeightsBase<LlamaPackWeightsPass> {
  using LlamaPackWeightsBase::LlamaPackWeightsBase;

  /// The packed type of `type`, or null when it stays as it is.
  Type packedType(Type type) {
    if (auto qtensor = dyn_cast<QTensorType>(type)) {
      if (!quantized || qtensor.getPacking() == packing ||
          qtensor.getScheme().getKind() == QuantKind::Int4)
        return {};
      return QTensorType::get(&getContext(), qtensor.getShape(),
                              qtensor.getScheme(), packing);
    }
    auto tensor = dyn_cast<RankedTensorType>(type);
    if (!dense || packing != WeightPacking::R16 || !tensor ||
        tensor.getRank() != 2 || tensor.getEncoding())
      return {};
    return RankedTensorType::get(tensor.getShape(), tensor.getElementType(),
                                 PackedAttr::get(&getContext(), packing));
  }

  void runOnOperation() override {
    SmallVector<ParamOp> params;
    getOperation().walk([&](ParamOp param) { params.push_back(param); });
    for (ParamOp param : params) {
      Type packed = packedType(param.getType());
      if (!packed)
        continue;
      SmallVector<OpOperand *> linearUses;
      for (OpOperand &use : param->getUses()) {
        if (auto linear = dyn_cast<LinearOp>(use.getOwner())) {
          if (&use == &linear.getWeightMutable())
            linearUses.push_back(&use);
        } else if (auto multi = dyn_cast<MultiLinearOp>(use.getOwner())) {
          unsigned first = multi.getWeights().getBeginOperandIndex();
          if (use.getOperandNumber() >= first &&
              use.getOperandNumber() < first + multi.getWeights().size())
            linearUses.push_back(&use);
        }
      }
      if (linearUses.empty())
        continue;
      OpBuilder builder(param);
      builder.setInsertionPointAfter(param);
      auto repacked =
          ParamOp::create(builder, param.getLoc(), packed, param.getNameAttr());
      // Keep what other passes attached (a transposed view, ...).
      repacked->setDiscardableAttrs(param->getDiscardableAttrDictionary());
      for (OpOperand *use : linearUses)
        use->set(repacked);
      if (param->use_empty())
        param->erase();
    }
  }
};

} // namespace
