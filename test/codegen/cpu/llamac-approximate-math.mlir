// RUN: llamac-opt %s --llamac-approximate-math | FileCheck %s

// f32 exponentials become polynomial arithmetic that stays vectorized.
// CHECK-LABEL: func.func @exp_f32
// CHECK-NOT: math.exp
// CHECK: math.fma
// CHECK: return
func.func @exp_f32(%x: vector<16xf32>) -> vector<16xf32> {
  %0 = math.exp %x : vector<16xf32>
  return %0 : vector<16xf32>
}

// f64 (the rotary angles' cos and sin) is left to libm.
// CHECK-LABEL: func.func @cos_f64
// CHECK: math.cos %{{.+}} : f64
func.func @cos_f64(%x: f64) -> f64 {
  %0 = math.cos %x : f64
  return %0 : f64
}
