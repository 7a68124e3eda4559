// RUN: llamac-opt %s | llamac-opt | FileCheck %s

func.func private @task(%begin: index, %end: index, %n: index, %x: memref<?x8xf32>)
func.func private @no_args(%begin: index, %end: index)

// CHECK-LABEL: func.func @calls
// CHECK-SAME: (%[[RT:.+]]: !llvm.ptr, %[[N:.+]]: index, %[[X:.+]]: memref<?x8xf32>)
func.func @calls(%rt: !llvm.ptr, %n: index, %x: memref<?x8xf32>) {
  // CHECK: lrt.parallel_for %[[RT]], %[[N]] tasks @task(%[[N]], %[[X]]) : !llvm.ptr, index, memref<?x8xf32>
  lrt.parallel_for %rt, %n tasks @task(%n, %x) : !llvm.ptr, index, memref<?x8xf32>
  // CHECK: lrt.parallel_for %[[RT]], %[[N]] tasks @no_args() : !llvm.ptr
  lrt.parallel_for %rt, %n tasks @no_args() : !llvm.ptr
  return
}
