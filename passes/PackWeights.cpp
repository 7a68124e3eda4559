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

  void runOnOperation() override {
    SmallVector<ParamOp> params;
    getOperation().walk([&](ParamOp param) { params.push_back(param); });
    for (ParamOp param : params) {
      auto qtensor = dyn_cast<QTensorType>(param.getType());
      if (!qtensor || qtensor.getPacking() == packing ||
          qtensor.getScheme().getKind() == QuantKind::Int4)
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
      auto packed = QTensorType::get(&getContext(), qtensor.getShape(),
                                     qtensor.getScheme(), packing);
      OpBuilder builder(param);
      builder.setInsertionPointAfter(param);
      auto repacked =
          ParamOp::create(builder, param.getLoc(), packed, param.getNameAttr());
      for (OpOperand *use : linearUses)
        use->set(repacked);
      if (param->use_empty())
        param->erase();
    }
  }
};

} // namespace
