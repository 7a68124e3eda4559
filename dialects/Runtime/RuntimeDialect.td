//===- RuntimeDialect.td - The lrt dialect -----------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file defines the `lrt` dialect: the calls that generated code makes
// into llamac's runtime. It is small on purpose; today it holds the parallel
// loop through which every kernel reaches the runtime's thread pool.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_DIALECTS_RUNTIME_RUNTIMEDIALECT_TD
#define LLAMAC_DIALECTS_RUNTIME_RUNTIMEDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/SymbolInterfaces.td"

def Runtime_Dialect : Dialect {
  let name = "lrt";
  let cppNamespace = "::llamac::lrt";
  let summary = "Calls from generated code into the llamac runtime";
  let description = [{
    Generated kernels stay single-threaded functions; the runtime owns the
    threads. `lrt` ops are the seam: they are written by the code generators
    and lowered to calls of the runtime's C functions (`runtime/include/
    llamac/rt.h`) by `convert-lrt-to-llvm`.
  }];
}

class Runtime_Op<string mnemonic, list<Trait> traits = []>
    : Op<Runtime_Dialect, mnemonic, traits>;

def Runtime_ParallelForOp : Runtime_Op<"parallel_for",
    [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "Runs a task function over a range on the runtime's threads";
  let description = [{
    Calls `@task(%begin, %end, args...)` for disjoint ranges `[begin, end)`
    that together cover `[0, num_tasks)` exactly once, on the threads of the
    runtime context `runtime`, and returns when all calls have returned. A
    task function must only write memory that no other task index reads or
    writes, so the result does not depend on the number of threads.

    `@task` is a `func.func` taking two `index` arguments followed by the
    types of `args`, and returning nothing.

    ```mlir
    lrt.parallel_for %rt, %c36 tasks @linear_f32_k576_n576(%T, %x, %w, %y)
        : index, memref<?x576xf32>, memref<576x576xf32>, memref<?x576xf32>
    ```
  }];
  let arguments = (ins AnyType:$runtime, Index:$num_tasks,
                       FlatSymbolRefAttr:$task, Variadic<AnyType>:$args);
  let assemblyFormat = [{
    $runtime `,` $num_tasks `tasks` $task `(` $args `)` attr-dict `:`
    type($runtime) (`,` type($args)^)?
  }];
}

#endif // LLAMAC_DIALECTS_RUNTIME_RUNTIMEDIALECT_TD
