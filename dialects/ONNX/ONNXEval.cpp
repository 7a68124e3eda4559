//===- ONNXEval.cpp - Shapes and small values of an onnx graph ------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// A reference interpreter over the onnx dialect, one branch per operator
// family, with the ONNX operators' semantics (numpy broadcasting, negative
// axes counted from the end, Slice's clamping). It is deliberately simple:
// elements are doubles, loops are scalar, and a value is only computed when
// every operand's value is known and the result is small; otherwise only
// the shape is (when the operator's shape rule can tell it).
//
//===----------------------------------------------------------------------===//

#include "dialects/ONNX/ONNXEval.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSwitch.h"

#include <cmath>
#include <functional>
#include <limits>
#include <numeric>

using namespace mlir;
using namespace llamac::onnx;

namespace {

/// The element count of a shape, or -1 when a dimension is negative or the
/// count reaches 2^62 (a shape no evaluation keeps).
int64_t countOf(llvm::ArrayRef<int64_t> shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n) || n >= (int64_t(1) << 62))
      return -1;
  }
  return n;
}

} // namespace

int64_t EvalTensor::numElements() const { return countOf(shape); }

namespace {

using Shape = SmallVector<int64_t>;

bool isNoneValue(Value v) { return isa<NoneType>(v.getType()); }

/// A double as an int64 (saturating: Slice's ends are often INT64_MAX).
int64_t toInt(double x) {
  if (std::isnan(x))
    return 0;
  if (x >= 9.2e18)
    return std::numeric_limits<int64_t>::max();
  if (x <= -9.2e18)
    return std::numeric_limits<int64_t>::min();
  return static_cast<int64_t>(x);
}

Shape strides(ArrayRef<int64_t> shape) {
  Shape s(shape.size(), 1);
  for (int64_t i = static_cast<int64_t>(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/// numpy broadcasting of several shapes; nullopt when they do not agree.
std::optional<Shape> broadcast(ArrayRef<Shape> shapes) {
  size_t rank = 0;
  for (const Shape &s : shapes)
    rank = std::max(rank, s.size());
  Shape out(rank, 1);
  for (const Shape &s : shapes) {
    size_t offset = rank - s.size();
    for (size_t i = 0; i < s.size(); ++i) {
      int64_t &o = out[offset + i];
      if (s[i] == o || s[i] == 1)
        continue;
      if (o != 1)
        return std::nullopt;
      o = s[i];
    }
  }
  return out;
}

/// The flat index into `shape` (broadcast to `out`) of out's element at
/// `index`.
int64_t broadcastIndex(ArrayRef<int64_t> index, ArrayRef<int64_t> shape) {
  size_t offset = index.size() - shape.size();
  int64_t flat = 0;
  for (size_t i = 0; i < shape.size(); ++i)
    flat = flat * shape[i] + (shape[i] == 1 ? 0 : index[offset + i]);
  return flat;
}

/// Calls fn(index) for every index of `shape` in row-major order.
void forEachIndex(ArrayRef<int64_t> shape,
                  llvm::function_ref<void(ArrayRef<int64_t>)> fn) {
  for (int64_t d : shape)
    if (d <= 0)
      return;
  Shape index(shape.size(), 0);
  while (true) {
    fn(index);
    int64_t i = static_cast<int64_t>(shape.size()) - 1;
    for (; i >= 0; --i) {
      if (++index[i] < shape[i])
        break;
      index[i] = 0;
    }
    if (i < 0)
      return;
  }
}

std::optional<int64_t> normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < 0)
    axis += rank;
  if (axis < 0 || axis >= rank)
    return std::nullopt;
  return axis;
}

/// The values of a constant attribute, as doubles.
std::optional<std::vector<double>> attributeValues(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense)
    return std::nullopt;
  std::vector<double> out;
  out.reserve(dense.getNumElements());
  Type element = dense.getElementType();
  if (isa<FloatType>(element)) {
    for (APFloat f : dense.getValues<APFloat>()) {
      bool lost = false;
      f.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven, &lost);
      out.push_back(f.convertToDouble());
    }
  } else if (auto integer = dyn_cast<IntegerType>(element)) {
    for (APInt v : dense.getValues<APInt>())
      out.push_back(integer.isUnsigned() || integer.getWidth() == 1
                        ? static_cast<double>(v.getZExtValue())
                        : static_cast<double>(v.getSExtValue()));
  } else {
    return std::nullopt;
  }
  return out;
}

/// An int64 list attribute.
std::optional<Shape> intsAttr(Operation *op, StringRef name) {
  auto attr = op->getAttrOfType<ArrayAttr>(name);
  if (!attr)
    return std::nullopt;
  Shape out;
  for (Attribute a : attr) {
    auto i = dyn_cast<IntegerAttr>(a);
    if (!i)
      return std::nullopt;
    out.push_back(i.getInt());
  }
  return out;
}

int64_t intAttr(Operation *op, StringRef name, int64_t otherwise) {
  if (auto attr = op->getAttrOfType<IntegerAttr>(name))
    return attr.getInt();
  return otherwise;
}

/// Rounds a computed element to what the result's element type holds.
double roundTo(Type element, double x) {
  if (element.isF32())
    return static_cast<double>(static_cast<float>(x));
  if (auto integer = dyn_cast<IntegerType>(element)) {
    if (integer.getWidth() == 1)
      return x != 0 ? 1 : 0;
    return static_cast<double>(toInt(x));
  }
  return x;
}

} // namespace

void GraphEvaluator::run() {
  for (Operation &op : graph_.getBody().front())
    evaluate(&op);
}

void GraphEvaluator::evaluate(Operation *op) {
  if (op->getNumResults() == 0)
    return;
  StringRef name = op->getName().getStringRef();
  if (!name.consume_front("onnx."))
    return;
  Value result = op->getResult(0);
  auto resultType = dyn_cast<RankedTensorType>(result.getType());
  auto tensorType = dyn_cast<TensorType>(result.getType());
  Type element = tensorType ? tensorType.getElementType() : Type();
  auto set = [&](Shape shape, std::optional<std::vector<double>> values) {
    if (countOf(shape) < 0)
      return; // negative or absurdly large: left unknown
    EvalTensor t;
    t.shape = std::move(shape);
    t.isFloat = element && isa<FloatType>(element);
    if (values && static_cast<int64_t>(values->size()) == t.numElements()) {
      if (element)
        for (double &x : *values)
          x = roundTo(element, x);
      t.values = std::move(values);
    }
    values_[result] = std::move(t);
  };
  SmallVector<const EvalTensor *> in;
  for (Value v : op->getOperands())
    in.push_back(isNoneValue(v) ? nullptr : lookup(v));
  // A problem's message names only the sizes that conflict: a caller
  // running the graph at several input sizes compares them.
  auto problem = [&](const Twine &what) { problems_[op] = what.str(); };
  auto known = [&](unsigned i) -> const std::vector<double> * {
    return i < in.size() && in[i] && in[i]->values ? &*in[i]->values : nullptr;
  };
  // A shape given as the values of operand i (Expand's, ConstantOfShape's).
  auto knownShape = [&](unsigned i) -> std::optional<Shape> {
    const std::vector<double> *values = known(i);
    if (!values)
      return std::nullopt;
    Shape shape;
    for (double d : *values)
      shape.push_back(toInt(d));
    return shape;
  };
  auto small = [](ArrayRef<int64_t> shape) {
    int64_t n = countOf(shape);
    return n >= 0 && n <= kMaxElements;
  };

  if (name == "Constant") {
    auto attr = op->getAttr("value");
    auto typed = dyn_cast_or_null<TypedAttr>(attr);
    auto type = typed ? dyn_cast<RankedTensorType>(typed.getType()) : nullptr;
    if (!type)
      return;
    set(Shape(type.getShape()), attributeValues(attr));
    return;
  }
  if (name == "initializer") {
    if (!resultType)
      return;
    set(Shape(resultType.getShape()), attributeValues(op->getAttr("value")));
    return;
  }
  if (name == "none")
    return;

  // Every other operator needs its first operand's shape.
  if (in.empty() || !in[0])
    return;
  const Shape &x = in[0]->shape;
  int64_t rank = static_cast<int64_t>(x.size());

  if (name == "Shape" || name == "Size") {
    if (name == "Size") {
      set({}, std::vector<double>{static_cast<double>(in[0]->numElements())});
      return;
    }
    int64_t start = intAttr(op, "start", 0), end = intAttr(op, "end", rank);
    start = std::clamp(start < 0 ? start + rank : start, int64_t(0), rank);
    end = std::clamp(end < 0 ? end + rank : end, int64_t(0), rank);
    std::vector<double> dims;
    for (int64_t i = start; i < end; ++i)
      dims.push_back(static_cast<double>(x[i]));
    set({static_cast<int64_t>(dims.size())}, dims);
    return;
  }

  // Elementwise operators, with numpy broadcasting.
  using Fn = std::function<double(ArrayRef<double>)>;
  bool floatIn = in[0]->isFloat;
  auto isNaN = [](double a) { return std::isnan(a) ? 1.0 : 0.0; };
  std::optional<Fn> fn =
      llvm::StringSwitch<std::optional<Fn>>(name)
          .Case("Identity", Fn([](ArrayRef<double> a) { return a[0]; }))
          .Case("Cast", Fn([](ArrayRef<double> a) { return a[0]; }))
          .Case("Neg", Fn([](ArrayRef<double> a) { return -a[0]; }))
          .Case("Not", Fn([](ArrayRef<double> a) { return a[0] ? 0.0 : 1.0; }))
          .Case("Abs", Fn([](ArrayRef<double> a) { return std::abs(a[0]); }))
          .Case("Sqrt", Fn([](ArrayRef<double> a) { return std::sqrt(a[0]); }))
          .Case("Reciprocal", Fn([](ArrayRef<double> a) { return 1 / a[0]; }))
          .Case("Cos", Fn([](ArrayRef<double> a) { return std::cos(a[0]); }))
          .Case("Sin", Fn([](ArrayRef<double> a) { return std::sin(a[0]); }))
          .Case("Exp", Fn([](ArrayRef<double> a) { return std::exp(a[0]); }))
          .Case("Log", Fn([](ArrayRef<double> a) { return std::log(a[0]); }))
          .Case("Tanh", Fn([](ArrayRef<double> a) { return std::tanh(a[0]); }))
          .Case("Floor",
                Fn([](ArrayRef<double> a) { return std::floor(a[0]); }))
          .Case("Ceil", Fn([](ArrayRef<double> a) { return std::ceil(a[0]); }))
          .Case("Relu",
                Fn([](ArrayRef<double> a) { return a[0] > 0 ? a[0] : 0.0; }))
          .Case("Sigmoid", Fn([](ArrayRef<double> a) {
                  return 1 / (1 + std::exp(-a[0]));
                }))
          .Case("IsNaN", Fn([=](ArrayRef<double> a) { return isNaN(a[0]); }))
          .Case("Add", Fn([](ArrayRef<double> a) { return a[0] + a[1]; }))
          .Case("Sub", Fn([](ArrayRef<double> a) { return a[0] - a[1]; }))
          .Case("Mul", Fn([](ArrayRef<double> a) { return a[0] * a[1]; }))
          .Case("Div", Fn([=](ArrayRef<double> a) {
                  if (floatIn)
                    return a[0] / a[1];
                  return a[1] == 0 ? 0.0 : std::trunc(a[0] / a[1]);
                }))
          .Case("Pow",
                Fn([](ArrayRef<double> a) { return std::pow(a[0], a[1]); }))
          .Case("Equal",
                Fn([](ArrayRef<double> a) { return a[0] == a[1] ? 1.0 : 0.0; }))
          .Case("Less",
                Fn([](ArrayRef<double> a) { return a[0] < a[1] ? 1.0 : 0.0; }))
          .Case("LessOrEqual",
                Fn([](ArrayRef<double> a) { return a[0] <= a[1] ? 1.0 : 0.0; }))
          .Case("Greater",
                Fn([](ArrayRef<double> a) { return a[0] > a[1] ? 1.0 : 0.0; }))
          .Case("GreaterOrEqual",
                Fn([](ArrayRef<double> a) { return a[0] >= a[1] ? 1.0 : 0.0; }))
          .Case("And", Fn([](ArrayRef<double> a) {
                  return a[0] != 0 && a[1] != 0 ? 1.0 : 0.0;
                }))
          .Case("Or", Fn([](ArrayRef<double> a) {
                  return a[0] != 0 || a[1] != 0 ? 1.0 : 0.0;
                }))
          .Case("Xor", Fn([](ArrayRef<double> a) {
                  return (a[0] != 0) != (a[1] != 0) ? 1.0 : 0.0;
                }))
          .Case("Where",
                Fn([](ArrayRef<double> a) { return a[0] != 0 ? a[1] : a[2]; }))
          .Case("Max", Fn([](ArrayRef<double> a) {
                  return *std::max_element(a.begin(), a.end());
                }))
          .Case("Min", Fn([](ArrayRef<double> a) {
                  return *std::min_element(a.begin(), a.end());
                }))
          .Default(std::nullopt);
  if (fn) {
    // Cast's and Where's operand counts are fixed; the rest take what the
    // node has (Max/Min are variadic).
    SmallVector<Shape> shapes;
    for (const EvalTensor *t : in) {
      if (!t)
        return;
      shapes.push_back(t->shape);
    }
    std::optional<Shape> out = broadcast(shapes);
    if (!out) {
      // The first dimension (from the end) on which two operands conflict.
      for (size_t back = 1;; ++back) {
        int64_t seen = 1;
        for (const Shape &shape : shapes) {
          if (shape.size() < back)
            continue;
          int64_t d = shape[shape.size() - back];
          if (d != 1 && seen != 1 && d != seen) {
            problem("the operands do not broadcast: dimension -" + Twine(back) +
                    " is " + Twine(seen) + " in one and " + Twine(d) +
                    " in another");
            return;
          }
          if (d != 1)
            seen = d;
        }
      }
    }
    bool allKnown = llvm::all_of(
        in, [](const EvalTensor *t) { return t->values.has_value(); });
    if (!allKnown || !small(*out)) {
      set(*out, std::nullopt);
      return;
    }
    std::vector<double> values;
    values.reserve(EvalTensor{*out, {}, true}.numElements());
    SmallVector<double> args(in.size());
    forEachIndex(*out, [&](ArrayRef<int64_t> index) {
      for (size_t i = 0; i < in.size(); ++i)
        args[i] = (*in[i]->values)[broadcastIndex(index, in[i]->shape)];
      values.push_back((*fn)(args));
    });
    set(*out, std::move(values));
    return;
  }

  // Copies of elements in a new arrangement: out[i] = x[source(i)].
  auto gatherFrom = [&](const Shape &out,
                        llvm::function_ref<int64_t(ArrayRef<int64_t>)> source) {
    if (!known(0) || !small(out)) {
      set(out, std::nullopt);
      return;
    }
    std::vector<double> values;
    forEachIndex(out, [&](ArrayRef<int64_t> index) {
      values.push_back((*known(0))[source(index)]);
    });
    set(out, std::move(values));
  };

  if (name == "Reshape") {
    const std::vector<double> *target = known(1);
    if (!target)
      return;
    bool allowZero = intAttr(op, "allowzero", 0) != 0;
    Shape out;
    int64_t product = 1, inferred = -1;
    for (size_t i = 0; i < target->size(); ++i) {
      int64_t d = toInt((*target)[i]);
      if (d == 0 && !allowZero) {
        if (i >= x.size())
          return;
        d = x[i];
      }
      if (d == -1) {
        if (inferred >= 0)
          return;
        inferred = static_cast<int64_t>(i);
        out.push_back(1);
        continue;
      }
      if (d < 0 || __builtin_mul_overflow(product, d, &product))
        return;
      out.push_back(d);
    }
    int64_t total = in[0]->numElements();
    if (inferred >= 0) {
      if (product == 0 || total % product) {
        problem("cannot reshape " + Twine(total) + " elements into parts of " +
                Twine(product));
        return;
      }
      out[inferred] = total / product;
    } else if (product != total) {
      problem("cannot reshape " + Twine(total) + " elements to " +
              Twine(product));
      return;
    }
    set(out, in[0]->values);
    return;
  }
  if (name == "Flatten") {
    int64_t axis = intAttr(op, "axis", 1);
    if (axis < 0)
      axis += rank;
    if (axis < 0 || axis > rank)
      return;
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i)
      (i < axis ? outer : inner) *= x[i];
    set({outer, inner}, in[0]->values);
    return;
  }
  if (name == "Squeeze" || name == "Unsqueeze") {
    std::optional<Shape> axes;
    if (const std::vector<double> *a = known(1)) {
      axes.emplace();
      for (double v : *a)
        axes->push_back(toInt(v));
    } else if (in.size() < 2) {
      axes = intsAttr(op, "axes");
    } else if (!isNoneValue(op->getOperand(1))) {
      return;
    }
    Shape out;
    if (name == "Squeeze") {
      for (int64_t i = 0; i < rank; ++i) {
        bool drop = axes ? llvm::any_of(*axes,
                                        [&](int64_t a) {
                                          return normalizeAxis(a, rank) == i;
                                        })
                         : x[i] == 1;
        if (!drop)
          out.push_back(x[i]);
      }
    } else {
      if (!axes)
        return;
      int64_t outRank = rank + static_cast<int64_t>(axes->size());
      SmallVector<bool> inserted(outRank, false);
      for (int64_t a : *axes) {
        std::optional<int64_t> axis = normalizeAxis(a, outRank);
        if (!axis || inserted[*axis])
          return;
        inserted[*axis] = true;
      }
      for (int64_t i = 0, j = 0; i < outRank; ++i)
        out.push_back(inserted[i] ? 1 : x[j++]);
    }
    set(out, in[0]->values);
    return;
  }
  if (name == "Expand") {
    std::optional<Shape> t = knownShape(1);
    if (!t)
      return;
    std::optional<Shape> out = broadcast({x, *t});
    if (!out)
      return;
    gatherFrom(*out, [&](ArrayRef<int64_t> index) {
      return broadcastIndex(index, x);
    });
    return;
  }
  if (name == "Transpose") {
    Shape perm;
    if (std::optional<Shape> p = intsAttr(op, "perm"))
      perm = *p;
    else
      for (int64_t i = rank - 1; i >= 0; --i)
        perm.push_back(i);
    if (static_cast<int64_t>(perm.size()) != rank)
      return;
    Shape out;
    for (int64_t p : perm) {
      if (p < 0 || p >= rank)
        return;
      out.push_back(x[p]);
    }
    Shape xs = strides(x);
    gatherFrom(out, [&](ArrayRef<int64_t> index) {
      int64_t flat = 0;
      for (int64_t i = 0; i < rank; ++i)
        flat += index[i] * xs[perm[i]];
      return flat;
    });
    return;
  }
  if (name == "Concat") {
    std::optional<int64_t> axis = normalizeAxis(intAttr(op, "axis", 0), rank);
    if (!axis)
      return;
    Shape out = x;
    out[*axis] = 0;
    for (const EvalTensor *t : in) {
      if (!t)
        return;
      if (t->shape.size() != x.size()) {
        problem("the inputs differ in rank (" + Twine(x.size()) + " and " +
                Twine(t->shape.size()) + ")");
        return;
      }
      for (int64_t i = 0; i < rank; ++i)
        if (i != *axis && t->shape[i] != x[i]) {
          problem("the inputs differ in dimension " + Twine(i) + " (" +
                  Twine(x[i]) + " and " + Twine(t->shape[i]) +
                  "), outside the concatenation axis " + Twine(*axis));
          return;
        }
      if (__builtin_add_overflow(out[*axis], t->shape[*axis], &out[*axis]))
        return;
    }
    bool allKnown =
        llvm::all_of(in, [](const EvalTensor *t) { return !!t->values; });
    if (!allKnown || !small(out)) {
      set(out, std::nullopt);
      return;
    }
    std::vector<double> values;
    forEachIndex(out, [&](ArrayRef<int64_t> index) {
      Shape local(index);
      for (const EvalTensor *t : in) {
        if (local[*axis] < t->shape[*axis]) {
          Shape s = strides(t->shape);
          int64_t flat = 0;
          for (int64_t i = 0; i < rank; ++i)
            flat += local[i] * s[i];
          values.push_back((*t->values)[flat]);
          return;
        }
        local[*axis] -= t->shape[*axis];
      }
    });
    set(out, std::move(values));
    return;
  }
  if (name == "Slice") {
    const std::vector<double> *starts = known(1), *ends = known(2);
    if (!starts || !ends || starts->size() != ends->size())
      return;
    size_t n = starts->size();
    Shape axes, steps(n, 1);
    if (const std::vector<double> *a = known(3)) {
      for (double v : *a)
        axes.push_back(toInt(v));
    } else if (in.size() > 3 && in[3] == nullptr &&
               !isNoneValue(op->getOperand(3))) {
      return;
    } else {
      for (size_t i = 0; i < n; ++i)
        axes.push_back(static_cast<int64_t>(i));
    }
    if (const std::vector<double> *s = known(4)) {
      if (s->size() != n)
        return;
      for (size_t i = 0; i < n; ++i)
        steps[i] = toInt((*s)[i]);
    } else if (in.size() > 4 && !isNoneValue(op->getOperand(4))) {
      return;
    }
    if (axes.size() != n)
      return;
    Shape first(rank, 0), step(rank, 1), out = x;
    for (size_t i = 0; i < n; ++i) {
      std::optional<int64_t> axis = normalizeAxis(axes[i], rank);
      if (!axis || steps[i] == 0)
        return;
      int64_t dim = x[*axis];
      int64_t s = toInt((*starts)[i]), e = toInt((*ends)[i]);
      if (s < 0)
        s += dim;
      if (e < 0 && e != std::numeric_limits<int64_t>::min())
        e += dim;
      int64_t count;
      if (steps[i] > 0) {
        s = std::clamp(s, int64_t(0), dim);
        e = std::clamp(e, int64_t(0), dim);
        count = e > s ? (e - s + steps[i] - 1) / steps[i] : 0;
      } else {
        s = std::clamp(s, int64_t(0), dim - 1);
        e = std::clamp(e, int64_t(-1), dim - 1);
        count = s > e ? (s - e - steps[i] - 1) / -steps[i] : 0;
      }
      first[*axis] = s;
      step[*axis] = steps[i];
      out[*axis] = count;
    }
    Shape xs = strides(x);
    gatherFrom(out, [&](ArrayRef<int64_t> index) {
      int64_t flat = 0;
      for (int64_t i = 0; i < rank; ++i)
        flat += (first[i] + index[i] * step[i]) * xs[i];
      return flat;
    });
    return;
  }
  if (name == "Gather") {
    if (in.size() < 2 || !in[1])
      return;
    std::optional<int64_t> axis = normalizeAxis(intAttr(op, "axis", 0), rank);
    if (!axis)
      return;
    const Shape &ix = in[1]->shape;
    Shape out(x.begin(), x.begin() + *axis);
    out.append(ix.begin(), ix.end());
    out.append(x.begin() + *axis + 1, x.end());
    const std::vector<double> *indices = known(1);
    if (!indices) {
      set(out, std::nullopt);
      return;
    }
    Shape xs = strides(x);
    int64_t ir = static_cast<int64_t>(ix.size());
    bool inRange = true;
    gatherFrom(out, [&](ArrayRef<int64_t> index) {
      int64_t flatIx = 0;
      for (int64_t i = 0; i < ir; ++i)
        flatIx = flatIx * ix[i] + index[*axis + i];
      int64_t j = toInt((*indices)[flatIx]);
      if (j < 0)
        j += x[*axis];
      if (j < 0 || j >= x[*axis]) {
        inRange = false;
        j = 0;
      }
      int64_t flat = j * xs[*axis];
      for (int64_t i = 0; i < *axis; ++i)
        flat += index[i] * xs[i];
      for (int64_t i = *axis + 1; i < rank; ++i)
        flat += index[i + ir - 1] * xs[i];
      return flat;
    });
    if (!inRange)
      values_[result].values.reset();
    return;
  }
  if (name == "GatherND") {
    if (in.size() < 2 || !in[1] || intAttr(op, "batch_dims", 0) != 0)
      return;
    const Shape &ix = in[1]->shape;
    if (ix.empty())
      return;
    int64_t depth = ix.back();
    if (depth > rank)
      return;
    Shape out(ix.begin(), ix.end() - 1);
    out.append(x.begin() + depth, x.end());
    const std::vector<double> *indices = known(1);
    if (!indices) {
      set(out, std::nullopt);
      return;
    }
    Shape xs = strides(x);
    int64_t lead = static_cast<int64_t>(ix.size()) - 1;
    bool inRange = true;
    gatherFrom(out, [&](ArrayRef<int64_t> index) {
      int64_t tuple = 0;
      for (int64_t i = 0; i < lead; ++i)
        tuple = tuple * ix[i] + index[i];
      int64_t flat = 0;
      for (int64_t d = 0; d < depth; ++d) {
        int64_t j = toInt((*indices)[tuple * depth + d]);
        if (j < 0)
          j += x[d];
        if (j < 0 || j >= x[d]) {
          inRange = false;
          j = 0;
        }
        flat += j * xs[d];
      }
      for (int64_t i = depth; i < rank; ++i)
        flat += index[lead + i - depth] * xs[i];
      return flat;
    });
    if (!inRange)
      values_[result].values.reset();
    return;
  }
  if (name == "Range") {
    const std::vector<double> *start = known(0), *limit = known(1),
                              *delta = known(2);
    if (!start || !limit || !delta || start->size() != 1 ||
        limit->size() != 1 || delta->size() != 1 || delta->front() == 0)
      return;
    double count =
        std::ceil((limit->front() - start->front()) / delta->front());
    int64_t n = std::max<int64_t>(0, toInt(count));
    if (n > kMaxElements) {
      set({n}, std::nullopt);
      return;
    }
    std::vector<double> values;
    for (int64_t i = 0; i < n; ++i)
      values.push_back(start->front() +
                       static_cast<double>(i) * delta->front());
    set({n}, std::move(values));
    return;
  }
  if (name == "ConstantOfShape") {
    std::optional<Shape> target = knownShape(0);
    if (!target)
      return;
    Shape out = *target;
    double fill = 0;
    if (std::optional<std::vector<double>> v =
            attributeValues(op->getAttr("value")))
      if (v->size() == 1)
        fill = v->front();
    if (!small(out)) {
      set(out, std::nullopt);
      return;
    }
    set(out,
        std::vector<double>(EvalTensor{out, {}, true}.numElements(), fill));
    return;
  }
  if (name == "CumSum") {
    const std::vector<double> *axisValue = known(1);
    if (!axisValue || axisValue->size() != 1)
      return;
    std::optional<int64_t> axis =
        normalizeAxis(toInt(axisValue->front()), rank);
    if (!axis)
      return;
    if (!known(0) || !small(x)) {
      set(x, std::nullopt);
      return;
    }
    bool exclusive = intAttr(op, "exclusive", 0) != 0;
    bool reverse = intAttr(op, "reverse", 0) != 0;
    Shape xs = strides(x);
    std::vector<double> values(known(0)->size());
    forEachIndex(x, [&](ArrayRef<int64_t> index) {
      int64_t base = 0;
      for (int64_t i = 0; i < rank; ++i)
        base += index[i] * xs[i];
      double sum = 0;
      int64_t k = index[*axis], n = x[*axis];
      for (int64_t j = 0; j < n; ++j) {
        bool take = reverse ? (exclusive ? j > k : j >= k)
                            : (exclusive ? j < k : j <= k);
        if (take)
          sum += (*known(0))[base + (j - k) * xs[*axis]];
      }
      values[base] = sum;
    });
    set(x, std::move(values));
    return;
  }
  if (name == "Trilu") {
    if (rank < 2)
      return;
    int64_t k = 0;
    if (const std::vector<double> *kv = known(1)) {
      if (kv->size() != 1)
        return;
      k = toInt(kv->front());
    } else if (in.size() > 1 && !isNoneValue(op->getOperand(1))) {
      return;
    }
    bool upper = intAttr(op, "upper", 1) != 0;
    if (!known(0) || !small(x)) {
      set(x, std::nullopt);
      return;
    }
    std::vector<double> values;
    Shape xs = strides(x);
    forEachIndex(x, [&](ArrayRef<int64_t> index) {
      int64_t i = index[rank - 2], j = index[rank - 1];
      int64_t flat = 0;
      for (int64_t d = 0; d < rank; ++d)
        flat += index[d] * xs[d];
      bool keep = upper ? j - i >= k : j - i <= k;
      values.push_back(keep ? (*known(0))[flat] : 0.0);
    });
    set(x, std::move(values));
    return;
  }
  if (name == "MatMul") {
    if (in.size() < 2 || !in[1] || x.empty() || in[1]->shape.empty())
      return;
    Shape a = x, b = in[1]->shape;
    bool vecA = a.size() == 1, vecB = b.size() == 1;
    if (vecA)
      a.insert(a.begin(), 1);
    if (vecB)
      b.push_back(1);
    int64_t m = a[a.size() - 2], k = a.back(), n = b.back();
    if (b[b.size() - 2] != k) {
      problem("the operands disagree on the inner dimension of the product "
              "(" +
              Twine(k) + " and " + Twine(b[b.size() - 2]) + ")");
      return;
    }
    std::optional<Shape> batch = broadcast(
        {Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2)});
    if (!batch)
      return;
    Shape out = *batch;
    if (!vecA)
      out.push_back(m);
    if (!vecB)
      out.push_back(n);
    if (!known(0) || !known(1) || !small(out) ||
        k > kMaxElements * 64 / std::max<int64_t>(1, countOf(out))) {
      set(out, std::nullopt);
      return;
    }
    Shape batchA(a.begin(), a.end() - 2), batchB(b.begin(), b.end() - 2);
    std::vector<double> values;
    Shape full = *batch;
    full.push_back(m);
    full.push_back(n);
    forEachIndex(full, [&](ArrayRef<int64_t> index) {
      ArrayRef<int64_t> bi = index.drop_back(2);
      int64_t i = index[index.size() - 2], j = index.back();
      int64_t baseA = broadcastIndex(bi, batchA) * m * k;
      int64_t baseB = broadcastIndex(bi, batchB) * k * n;
      double sum = 0;
      for (int64_t t = 0; t < k; ++t)
        sum += (*known(0))[baseA + i * k + t] * (*known(1))[baseB + t * n + j];
      values.push_back(sum);
    });
    set(out, std::move(values));
    return;
  }
  // Operators whose (first) result has their first operand's shape.
  if (llvm::is_contained(
          {"Softmax", "LogSoftmax", "RMSNormalization", "LayerNormalization",
           "SimplifiedLayerNormalization", "ms.SimplifiedLayerNormalization",
           "ms.SkipSimplifiedLayerNormalization", "RotaryEmbedding",
           "ms.RotaryEmbedding", "Dropout", "Gelu", "Erf", "HardSigmoid", "Elu",
           "Selu", "LeakyRelu", "Softplus"},
          name)) {
    set(x, std::nullopt);
    return;
  }
  // com.microsoft's GroupQueryAttention: [batch, tokens, num_heads x head
  // size], the head size from the (maybe packed) query's width.
  if (name == "ms.GroupQueryAttention" && x.size() == 3) {
    int64_t heads = intAttr(op, "num_heads", 0);
    int64_t kvHeads = intAttr(op, "kv_num_heads", 0);
    bool packed = in.size() < 2 || !in[1];
    int64_t parts = packed ? heads + 2 * kvHeads : heads;
    if (heads <= 0 || kvHeads <= 0 || x.back() % parts)
      return;
    set({x[0], x[1], heads * (x.back() / parts)}, std::nullopt);
    return;
  }
  if (name == "ms.MatMulNBits") {
    int64_t n = intAttr(op, "N", 0);
    if (n <= 0)
      return;
    Shape out = x;
    out.back() = n;
    set(out, std::nullopt);
    return;
  }
  // Attention of 4-D (or 3-D) Q, K, V: the query's shape with the values'
  // last dimension.
  if (name == "Attention" && in.size() > 2 && in[2] && !x.empty() &&
      !in[2]->shape.empty()) {
    Shape out = x;
    if (out.size() == 4) {
      out.back() = in[2]->shape.back();
    } else {
      // 3-D: [batch, tokens, q_num_heads x the values' head size].
      int64_t heads = intAttr(op, "q_num_heads", 0);
      int64_t kvHeads = intAttr(op, "kv_num_heads", 0);
      if (out.size() != 3 || heads <= 0 || kvHeads <= 0 ||
          in[2]->shape.back() % kvHeads)
        return;
      out.back() = heads * (in[2]->shape.back() / kvHeads);
    }
    set(out, std::nullopt);
    return;
  }
  if (name.starts_with("Reduce")) {
    std::optional<Shape> axes;
    if (const std::vector<double> *a = known(1)) {
      axes.emplace();
      for (double v : *a)
        axes->push_back(toInt(v));
    } else if (in.size() > 1 && !isNoneValue(op->getOperand(1))) {
      return;
    } else {
      axes = intsAttr(op, "axes");
    }
    bool keep = intAttr(op, "keepdims", 1) != 0;
    if (!axes || axes->empty()) {
      if (intAttr(op, "noop_with_empty_axes", 0)) {
        set(x, in[0]->values);
        return;
      }
      axes.emplace();
      for (int64_t i = 0; i < rank; ++i)
        axes->push_back(i);
    }
    SmallVector<bool> reduced(rank, false);
    for (int64_t a : *axes) {
      std::optional<int64_t> axis = normalizeAxis(a, rank);
      if (!axis)
        return;
      reduced[*axis] = true;
    }
    Shape out;
    for (int64_t i = 0; i < rank; ++i)
      if (!reduced[i] || keep)
        out.push_back(reduced[i] ? 1 : x[i]);
    set(out, std::nullopt);
    return;
  }
}
