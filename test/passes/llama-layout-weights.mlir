// RUN: llamac-opt %s --llama-layout-weights | FileCheck %s
// RUN: llamac-opt %s --llama-layout-weights=alignment=4096 | FileCheck %s --check-prefix=PAGE

// Each distinct (name, type) gets the next aligned offset, in order of first
// use; repeated params share it; the module records the region's size.

// CHECK: module attributes {llamac.weights_bytes = 1536 : i64}
// PAGE: module attributes {llamac.weights_bytes = 20480 : i64}
// CHECK-LABEL: func.func @params
func.func @params() {
  // 100 x 4 bytes = 400 -> next at 448 (64-byte aligned)
  // CHECK: llama.param "a" {llamac.offset = 0 : i64} : tensor<10x10xf32>
  // PAGE: llama.param "a" {llamac.offset = 0 : i64}
  %a = llama.param "a" : tensor<10x10xf32>
  // 32 x 2 bytes = 64
  // CHECK: llama.param "b" {llamac.offset = 448 : i64} : tensor<32xf16>
  // PAGE: llama.param "b" {llamac.offset = 4096 : i64}
  %b = llama.param "b" : tensor<32xf16>
  // The same tensor again: the same place.
  // CHECK: llama.param "a" {llamac.offset = 0 : i64} : tensor<10x10xf32>
  %a2 = llama.param "a" : tensor<10x10xf32>
  // The same name as another type: a place of its own (q8_0: 2 x 34 bytes).
  // CHECK: llama.param "c" {llamac.offset = 512 : i64} : tensor<2x32xf32>
  // CHECK: llama.param "c" {llamac.offset = 768 : i64} : !llama.qtensor<2x32, q8_0>
  // PAGE: llama.param "c" {llamac.offset = 12288 : i64} : !llama.qtensor<2x32, q8_0>
  %c = llama.param "c" : tensor<2x32xf32>
  %cq = llama.param "c" : !llama.qtensor<2x32, q8_0>
  // q4_1: 20 x 32 rows = 640 bytes, after 768 + 68 rounded up
  // CHECK: llama.param "d" {llamac.offset = 896 : i64} : !llama.qtensor<32x32, q4_1>
  %d = llama.param "d" : !llama.qtensor<32x32, q4_1>
  return
}
