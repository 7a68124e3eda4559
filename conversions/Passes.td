//===- Passes.td - llamac's dialect conversions ------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the conversions of llamac's dialects into upstream ones.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CONVERSIONS_PASSES_TD
#define LLAMAC_CONVERSIONS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertRuntimeToLLVM : Pass<"convert-lrt-to-llvm", "mlir::ModuleOp"> {
  let summary = "Lower lrt ops to calls of the llamac runtime";
  let description = [{
    Lowers `lrt.parallel_for` to a call of `llamac_rt_parallel_for`. The
    arguments are stored in a stack struct; a generated trampoline
    `<task>.trampoline(ctx, begin, end)` loads them back, unpacks memref
    descriptors, and calls the task function. Runs after the task functions
    and their callers have been converted to the LLVM dialect (after
    convert-func-to-llvm), before reconcile-unrealized-casts.

    Before:
    ```mlir
    lrt.parallel_for %rt, %n tasks @task(%x) : !llvm.ptr, memref<?x8xf32>
    ```
    After:
    ```mlir
    %ctx = llvm.alloca %c1 x !llvm.struct<(struct<(ptr, ptr, i64, ...)>)>
    llvm.store %x_descriptor, %field0 : ...
    %fn = llvm.mlir.addressof @task.trampoline : !llvm.ptr
    llvm.call @llamac_rt_parallel_for(%rt, %n, %fn, %ctx)
    ```
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // LLAMAC_CONVERSIONS_PASSES_TD
