//===- Quantize.cpp - Quantize linear weights -----------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `llama-quantize`: it retypes the float weights of
// linear layers to `!llama.qtensor` in a GGML block format. The weights'
// values are converted later, by the parameter store, as the weights blob is
// written; see the pass description in Passes.td.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace llamac {
#define GEN_PASS_DEF_LLAMAQUANTIZE
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

namespace {

/// The output layer produces the logits: its result is returned or fed to
/// argmax. Its precision decides the quality of sampling more than any other
/// layer's, which is why it is kept unless asked.
bool isOutputLayer(LinearOp linear) {
  return llvm::any_of(linear->getUsers(), [](Operation *user) {
    return isa<func::ReturnOp, ArgmaxOp>(user);
  });
}

struct LlamaQuantizePass
    : public llamac::impl::LlamaQuantizeBase<LlamaQuantizePass> {
  using LlamaQuantizeBase::LlamaQuantizeBase;

  /// Whether `use` of a float matrix may read it quantized.
  bool canQuantize(OpOperand &use) const {
    Operation *user = use.getOwner();
    if (auto linear = dyn_cast<LinearOp>(user))
      return &use == &linear.getWeightMutable() &&
             (quantizeOutput || !isOutputLayer(linear));
    if (auto multi = dyn_cast<MultiLinearOp>(user))
      return use.getOperandNumber() >=
                 multi.getWeights().getBeginOperandIndex() &&
             use.getOperandNumber() <
                 multi.getWeights().getBeginOperandIndex() +
                     multi.getWeights().size();
    if (auto embedding = dyn_cast<EmbeddingOp>(user))
      return quantizeOutput && use.get() == embedding.getTable();
    return false;
  }

  void runOnOperation() override {
    MLIRContext *context = &getContext();
    auto scheme = QuantSchemeAttr::getGGML(context, this->scheme);

    SmallVector<ParamOp> params;
    getOperation().walk([&](ParamOp param) { params.push_back(param); });

    for (ParamOp param : params) {
      auto dense = dyn_cast<RankedTensorType>(param.getType());
      if (!dense || dense.getRank() != 2 ||
          dense.getDimSize(1) % scheme.getBlockSize() != 0)
        continue;
      SmallVector<OpOperand *> quantizable;
      for (OpOperand &use : param->getUses())
        if (canQuantize(use))
          quantizable.push_back(&use);
      if (quantizable.empty())
        continue;

      auto qtensor = QTensorType::get(context, dense.getShape(), scheme);
      OpBuilder builder(param);
      builder.setInsertionPointAfter(param);
      auto quantized = ParamOp::create(builder, param.getLoc(), qtensor,
                                       param.getNameAttr());
      quantized->setDiscardableAttrs(param->getDiscardableAttrDictionary());
      for (OpOperand *use : quantizable)
        use->set(quantized);
      if (param->use_empty())
        param->erase();
    }
  }
};

} // namespace
