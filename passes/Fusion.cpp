//===- Fusion.cpp - Fusions of the llama dialect --------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the fusion passes: sibling products into one
// llama.multi_linear, RMSNorm and SwiGLU into the prologue of the products
// they feed, residual adds into the epilogue of the product before them.
// Each rewrite keeps the computation's values: a backend computes the fused
// form with the same arithmetic, in fewer passes over memory and fewer
// parallel regions.
//
//===----------------------------------------------------------------------===//

#include "passes/Passes.h"

#include "mlir/IR/Builders.h"

#include <map>

namespace llamac {
#define GEN_PASS_DEF_LLAMAFUSEPROJECTIONS
#define GEN_PASS_DEF_LLAMAFUSENORM
#define GEN_PASS_DEF_LLAMAFUSESWIGLU
#define GEN_PASS_DEF_LLAMAFUSERESIDUAL
#define GEN_PASS_DEF_LLAMAFUSEROPE
#include "passes/Passes.h.inc"
} // namespace llamac

using namespace mlir;
using namespace llamac;
using namespace llamac::llama;

namespace {

/// The parts of a llama.linear, to rebuild it with one of them changed.
struct LinearParts {
  Value input, weight, bias, residual, norm, up;
  FloatAttr eps;

  explicit LinearParts(LinearOp op)
      : input(op.getInput()), weight(op.getWeight()), bias(op.getBias()),
        residual(op.getResidual()), norm(op.getNorm()), up(op.getUp()),
        eps(op.getNormEpsAttr()) {}

  /// Replaces `op` by a linear of these parts (same result type).
  void replace(LinearOp op) const {
    OpBuilder builder(op);
    auto fused = LinearOp::create(builder, op.getLoc(), op.getType(), input,
                                  weight, bias, residual, norm, eps, up);
    fused->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    op.getResult().replaceAllUsesWith(fused.getResult());
    op.erase();
  }
};

/// Whether `value` is available at `op`: a block argument of op's block or
/// an ancestor's, or defined before op in its block.
bool availableAt(Value value, Operation *op) {
  Operation *def = value.getDefiningOp();
  if (!def)
    return value.getParentRegion()->isAncestor(op->getParentRegion());
  if (def->getBlock() != op->getBlock())
    return def->getBlock()->findAncestorOpInBlock(*op) != nullptr;
  return def->isBeforeInBlock(op);
}

/// Makes `value` available at `op` if it is a parameter defined later in the
/// same block (parameters have no operands, so they can move up).
bool hoistTo(Value value, Operation *op) {
  if (availableAt(value, op))
    return true;
  auto param = value.getDefiningOp<ParamOp>();
  if (!param || param->getBlock() != op->getBlock())
    return false;
  param->moveBefore(op);
  return true;
}

//===----------------------------------------------------------------------===//
// llama-fuse-projections
//===----------------------------------------------------------------------===//

struct LlamaFuseProjectionsPass
    : public llamac::impl::LlamaFuseProjectionsBase<LlamaFuseProjectionsPass> {
  void runOnOperation() override {
    // Inputs in the order they are first read, so the rewrite is
    // deterministic.
    SmallVector<Value> inputs;
    llvm::DenseSet<Value> seen;
    getOperation()->walk([&](LinearOp linear) {
      if (seen.insert(linear.getInput()).second)
        inputs.push_back(linear.getInput());
    });
    for (Value input : inputs) {
      // Candidates grouped by prologue: (norm weight, epsilon bits).
      std::map<std::pair<void *, uint64_t>, SmallVector<LinearOp>> groups;
      SmallVector<std::pair<void *, uint64_t>> order;
      for (Operation *user : input.getUsers()) {
        auto linear = dyn_cast<LinearOp>(user);
        if (!linear || linear.getInput() != input || linear.getBias() ||
            linear.getResidual() || linear.getUp())
          continue;
        uint64_t eps = 0;
        if (linear.getNorm())
          eps = linear.getNormEpsAttr()
                    .getValue()
                    .bitcastToAPInt()
                    .getZExtValue();
        std::pair<void *, uint64_t> key{linear.getNorm().getAsOpaquePointer(),
                                        eps};
        auto [it, inserted] = groups.try_emplace(key);
        if (inserted)
          order.push_back(key);
        if (!llvm::is_contained(it->second, linear))
          it->second.push_back(linear);
      }
      for (auto key : order)
        fuse(groups[key]);
    }
  }

  void fuse(SmallVector<LinearOp> linears) {
    if (linears.size() < 2 || llvm::any_of(linears, [&](LinearOp op) {
          return op->getBlock() != linears.front()->getBlock();
        }))
      return;
    llvm::sort(linears,
               [](LinearOp a, LinearOp b) { return a->isBeforeInBlock(b); });
    Operation *first = linears.front();
    // Every weight must be available at the first product.
    SmallVector<LinearOp> fusable;
    for (LinearOp linear : linears)
      if (hoistTo(linear.getWeight(), first))
        fusable.push_back(linear);
    if (fusable.size() < 2)
      return;
    SmallVector<Value> weights;
    SmallVector<Type> types;
    for (LinearOp linear : fusable) {
      weights.push_back(linear.getWeight());
      types.push_back(linear.getType());
    }
    LinearOp lead = fusable.front();
    OpBuilder builder(first);
    auto multi =
        MultiLinearOp::create(builder, lead.getLoc(), types, lead.getInput(),
                              weights, lead.getNorm(), lead.getNormEpsAttr());
    for (auto [linear, result] : llvm::zip(fusable, multi.getResults())) {
      linear.getResult().replaceAllUsesWith(result);
      linear.erase();
    }
  }
};

//===----------------------------------------------------------------------===//
// llama-fuse-norm
//===----------------------------------------------------------------------===//

struct LlamaFuseNormPass
    : public llamac::impl::LlamaFuseNormBase<LlamaFuseNormPass> {
  void runOnOperation() override {
    SmallVector<RMSNormOp> norms;
    getOperation()->walk([&](RMSNormOp norm) { norms.push_back(norm); });
    for (RMSNormOp norm : norms) {
      Value normalized = norm.getResult();
      if (normalized.use_empty())
        continue;
      // Every use must be the input of a product with no prologue.
      bool all = llvm::all_of(normalized.getUses(), [](OpOperand &use) {
        if (auto linear = dyn_cast<LinearOp>(use.getOwner()))
          return &use == &linear.getInputMutable() && !linear.hasPrologue();
        if (auto multi = dyn_cast<MultiLinearOp>(use.getOwner()))
          return &use == &multi.getInputMutable() && !multi.getNorm();
        return false;
      });
      if (!all)
        continue;
      SmallVector<Operation *> users(normalized.getUsers());
      for (Operation *user : users) {
        if (auto linear = dyn_cast<LinearOp>(user)) {
          LinearParts parts(linear);
          parts.input = norm.getInput();
          parts.norm = norm.getWeight();
          parts.eps = norm.getEpsilonAttr();
          parts.replace(linear);
          continue;
        }
        auto multi = cast<MultiLinearOp>(user);
        OpBuilder builder(multi);
        auto fused = MultiLinearOp::create(
            builder, multi.getLoc(), multi.getResultTypes(), norm.getInput(),
            multi.getWeights(), norm.getWeight(), norm.getEpsilonAttr());
        multi->replaceAllUsesWith(fused);
        multi.erase();
      }
      norm.erase();
    }
  }
};

//===----------------------------------------------------------------------===//
// llama-fuse-swiglu
//===----------------------------------------------------------------------===//

struct LlamaFuseSwiGLUPass
    : public llamac::impl::LlamaFuseSwiGLUBase<LlamaFuseSwiGLUPass> {
  void runOnOperation() override {
    SmallVector<SwiGLUOp> swiglus;
    getOperation()->walk([&](SwiGLUOp op) { swiglus.push_back(op); });
    for (SwiGLUOp swiglu : swiglus) {
      Value result = swiglu.getResult();
      if (result.use_empty())
        continue;
      bool all = llvm::all_of(result.getUses(), [](OpOperand &use) {
        auto linear = dyn_cast<LinearOp>(use.getOwner());
        return linear && &use == &linear.getInputMutable() &&
               !linear.hasPrologue();
      });
      if (!all)
        continue;
      SmallVector<Operation *> users(result.getUsers());
      for (Operation *user : users) {
        auto linear = cast<LinearOp>(user);
        LinearParts parts(linear);
        parts.input = swiglu.getGate();
        parts.up = swiglu.getUp();
        parts.replace(linear);
      }
      swiglu.erase();
    }
  }
};

//===----------------------------------------------------------------------===//
// llama-fuse-residual
//===----------------------------------------------------------------------===//

struct LlamaFuseRopePass
    : public llamac::impl::LlamaFuseRopeBase<LlamaFuseRopePass> {
  void runOnOperation() override {
    SmallVector<AttentionOp> attentions;
    getOperation()->walk([&](AttentionOp op) { attentions.push_back(op); });
    for (AttentionOp attention : attentions) {
      auto rope = attention.getKey().getDefiningOp<RopeOp>();
      if (!rope || !attention.getKey().hasOneUse() || attention.getKeyRope() ||
          rope.getPosition() != attention.getPosition() ||
          rope.getHeadDim() != attention.getKeyHeadDim())
        continue;
      SmallVector<double> frequencies;
      for (int64_t i = 0, e = rope.getRotaryDimOrHeadDim() / 2; i < e; ++i)
        frequencies.push_back(rope.getFrequency(i));
      OpBuilder builder(attention);
      attention.getKeyMutable().assign(rope.getInput());
      attention.setKeyRopeAttr(builder.getDenseF64ArrayAttr(frequencies));
      if (rope.getInterleaved())
        attention.setKeyRopeInterleavedAttr(builder.getUnitAttr());
      rope.erase();
    }
  }
};

struct LlamaFuseResidualPass
    : public llamac::impl::LlamaFuseResidualBase<LlamaFuseResidualPass> {
  void runOnOperation() override {
    SmallVector<AddOp> adds;
    getOperation()->walk([&](AddOp add) { adds.push_back(add); });
    for (AddOp add : adds) {
      // The later of two fusable products takes the other operand, which
      // is then defined before it.
      LinearOp chosen;
      Value other;
      for (auto [mine, theirs] : {std::pair{add.getLhs(), add.getRhs()},
                                  std::pair{add.getRhs(), add.getLhs()}}) {
        auto linear = mine.getDefiningOp<LinearOp>();
        if (!linear || !mine.hasOneUse() || linear.getResidual() ||
            linear.getType() != add.getType() || !availableAt(theirs, linear))
          continue;
        if (!chosen || chosen->isBeforeInBlock(linear)) {
          chosen = linear;
          other = theirs;
        }
      }
      if (!chosen)
        continue;
      LinearParts parts(chosen);
      parts.residual = other;
      OpBuilder builder(chosen);
      auto fused = LinearOp::create(
          builder, chosen.getLoc(), chosen.getType(), parts.input, parts.weight,
          parts.bias, parts.residual, parts.norm, parts.eps, parts.up);
      add.getResult().replaceAllUsesWith(fused.getResult());
      add.erase();
      chosen.erase();
    }
  }
};

} // namespace
