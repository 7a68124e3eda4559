//===- ApproximateMath.cpp - Vectorizable math functions ------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements `llamac-approximate-math`: MLIR's polynomial
// approximations of f32 transcendental functions, applied as a pass.
//
//===----------------------------------------------------------------------===//

#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace llamac::cpu {
#define GEN_PASS_DEF_LLAMACAPPROXIMATEMATH
#include "codegen/cpu/Passes.h.inc"
} // namespace llamac::cpu

using namespace mlir;

namespace {
struct ApproximateMathPass
    : public llamac::cpu::impl::LlamacApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    MathPolynomialApproximationOptions options;
    options.enableAvx2 = false;
    populateMathPolynomialApproximationPatterns(patterns, options);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
