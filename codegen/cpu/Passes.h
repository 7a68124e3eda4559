//===- Passes.h - Passes of the CPU target ----------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the passes of the CPU code generator (Passes.td).
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_CPU_PASSES_H
#define LLAMAC_CODEGEN_CPU_PASSES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

#include <memory>

namespace mlir {
namespace amx {
class AMXDialect;
}
namespace arith {
class ArithDialect;
}
namespace func {
class FuncDialect;
}
namespace LLVM {
class LLVMDialect;
}
namespace math {
class MathDialect;
}
namespace memref {
class MemRefDialect;
}
namespace scf {
class SCFDialect;
}
namespace vector {
class VectorDialect;
}
} // namespace mlir

namespace llamac::lrt {
class RuntimeDialect;
}

namespace llamac::cpu {

#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

} // namespace llamac::cpu

#endif // LLAMAC_CODEGEN_CPU_PASSES_H
