//===- ONNXEval.h - Shapes and small values of an onnx graph ----*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares GraphEvaluator: it runs an imported ONNX graph (the
// `onnx` dialect's @main_graph) at concrete input shapes, computing the
// shape of every value it can and the values of the small tensors that do
// not depend on the inputs' data - shape arithmetic, position tables,
// attention masks. The raising uses it to read what an exporter computed
// with operators (a reshape's target, a rotary table, a causal mask) at a
// few sequence lengths.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_ONNX_ONNXEVAL_H
#define LLAMAC_DIALECTS_ONNX_ONNXEVAL_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <optional>
#include <string>
#include <vector>

namespace llamac::onnx {

/// A value's shape and, when known while compiling, its elements (row-major,
/// as doubles: integers exactly up to 2^53, booleans as 0 and 1).
struct EvalTensor {
  llvm::SmallVector<int64_t> shape;
  std::optional<std::vector<double>> values;
  bool isFloat = true;

  int64_t numElements() const;
};

class GraphEvaluator {
public:
  /// Values are computed for results of up to this many elements.
  static constexpr int64_t kMaxElements = int64_t(1) << 16;

  explicit GraphEvaluator(mlir::func::FuncOp graph) : graph_(graph) {}

  /// Gives a graph input its shape (and maybe its values) for this run.
  void bind(mlir::Value input, EvalTensor tensor) {
    values_[input] = std::move(tensor);
  }
  /// Walks the graph once. What it cannot tell stays unknown (no error).
  void run();

  const EvalTensor *lookup(mlir::Value v) const {
    auto it = values_.find(v);
    return it == values_.end() ? nullptr : &it->second;
  }
  /// The values of `v`, when they are known.
  const std::vector<double> *valuesOf(mlir::Value v) const {
    const EvalTensor *t = lookup(v);
    return t && t->values ? &*t->values : nullptr;
  }
  /// The value of a known one-element tensor.
  std::optional<double> scalar(mlir::Value v) const {
    const std::vector<double> *values = valuesOf(v);
    if (!values || values->size() != 1)
      return std::nullopt;
    return values->front();
  }

  /// Operators whose operands' shapes break the operator's rules (do not
  /// broadcast, disagree on a MatMul's inner dimension or a Concat's other
  /// dimensions, a Reshape to another element count), with what is wrong.
  const llvm::DenseMap<mlir::Operation *, std::string> &problems() const {
    return problems_;
  }

private:
  void evaluate(mlir::Operation *op);

  mlir::func::FuncOp graph_;
  llvm::DenseMap<mlir::Value, EvalTensor> values_;
  llvm::DenseMap<mlir::Operation *, std::string> problems_;
};

} // namespace llamac::onnx

#endif // LLAMAC_DIALECTS_ONNX_ONNXEVAL_H
