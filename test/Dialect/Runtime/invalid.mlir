// RUN: llamac-opt %s -split-input-file -verify-diagnostics

func.func @missing(%rt: !llvm.ptr, %n: index) {
  // expected-error @+1 {{task @nowhere is not a function in scope}}
  lrt.parallel_for %rt, %n tasks @nowhere() : !llvm.ptr
  return
}

// -----

func.func private @returns(%begin: index, %end: index) -> i32
func.func @result(%rt: !llvm.ptr, %n: index) {
  // expected-error @+1 {{task function must not return values}}
  lrt.parallel_for %rt, %n tasks @returns() : !llvm.ptr
  return
}

// -----

func.func private @range_f32(%begin: f32, %end: index)
func.func @range(%rt: !llvm.ptr, %n: index) {
  // expected-error @+1 {{task function must take (index, index) followed by the types of the arguments}}
  lrt.parallel_for %rt, %n tasks @range_f32() : !llvm.ptr
  return
}

// -----

func.func private @count(%begin: index, %end: index, %x: memref<8xf32>)
func.func @arity(%rt: !llvm.ptr, %n: index) {
  // expected-error @+1 {{task function must take (index, index) followed by the types of the arguments}}
  lrt.parallel_for %rt, %n tasks @count() : !llvm.ptr
  return
}

// -----

func.func private @typed(%begin: index, %end: index, %x: memref<8xf32>)
func.func @types(%rt: !llvm.ptr, %n: index, %y: memref<4xf32>) {
  // expected-error @+1 {{argument 0 has type 'memref<4xf32>' but the task expects 'memref<8xf32>'}}
  lrt.parallel_for %rt, %n tasks @typed(%y) : !llvm.ptr, memref<4xf32>
  return
}
