// RUN: llamac-opt %s --finalize-memref-to-llvm --convert-func-to-llvm --convert-lrt-to-llvm --reconcile-unrealized-casts | FileCheck %s

// The runtime function is declared once.
// CHECK: llvm.func @llamac_rt_parallel_for(!llvm.ptr, i64, !llvm.ptr, !llvm.ptr)

// The task function, after func-to-llvm, takes the range and each memref
// descriptor's fields.
func.func private @task(%begin: index, %end: index, %n: index, %x: memref<?x8xf32>) {
  return
}

// The arguments go into a stack struct (allocated in the entry block), the
// runtime gets the trampoline's address and the struct.
// CHECK-LABEL: llvm.func @caller(
// CHECK: %[[ONE:.+]] = llvm.mlir.constant(1 : i64) : i64
// CHECK: %[[CTX:.+]] = llvm.alloca %[[ONE]] x !llvm.struct<(i64, struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>)> {alignment = 16 : i64}
// CHECK: %[[F0:.+]] = llvm.getelementptr %[[CTX]][0, 0]
// CHECK: llvm.store %{{.+}}, %[[F0]] : i64, !llvm.ptr
// CHECK: %[[F1:.+]] = llvm.getelementptr %[[CTX]][0, 1]
// CHECK: llvm.store %{{.+}}, %[[F1]] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>, !llvm.ptr
// CHECK: %[[FN:.+]] = llvm.mlir.addressof @task.trampoline : !llvm.ptr
// CHECK: llvm.call @llamac_rt_parallel_for(%{{.+}}, %{{.+}}, %[[FN]], %[[CTX]]) : (!llvm.ptr, i64, !llvm.ptr, !llvm.ptr) -> ()
func.func @caller(%rt: !llvm.ptr, %n: index, %x: memref<?x8xf32>) {
  lrt.parallel_for %rt, %n tasks @task(%n, %x) : !llvm.ptr, index, memref<?x8xf32>
  return
}

// The trampoline loads the fields back and unpacks the descriptor.
// CHECK-LABEL: llvm.func internal @task.trampoline(
// CHECK-SAME: %[[C:.+]]: !llvm.ptr, %[[B:.+]]: i64, %[[E:.+]]: i64)
// CHECK: %[[N:.+]] = llvm.load %{{.+}} : !llvm.ptr -> i64
// CHECK: %[[D:.+]] = llvm.load %{{.+}} : !llvm.ptr -> !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK-COUNT-7: llvm.extractvalue %[[D]]
// CHECK: llvm.call @task(%[[B]], %[[E]], %[[N]], %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}, %{{.+}}) : (i64, i64, i64, !llvm.ptr, !llvm.ptr, i64, i64, i64, i64, i64) -> ()
// CHECK-NEXT: llvm.return
