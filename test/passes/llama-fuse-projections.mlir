// RUN: llamac-opt %s --llama-fuse-projections -split-input-file | FileCheck %s

// Q, K and V read one input: one multi_linear, results in weight order; the
// weights keep their own types (a float V beside quantized Q and K).
// CHECK-LABEL: func.func @qkv
// CHECK-SAME: (%[[X:.+]]: tensor<?x64xf32>)
// CHECK-DAG: %[[WQ:.+]] = llama.param "wq"
// CHECK-DAG: %[[WK:.+]] = llama.param "wk"
// CHECK-DAG: %[[WV:.+]] = llama.param "wv"
// CHECK: %[[R:.+]]:3 = llama.multi_linear %[[X]], [%[[WQ]], %[[WK]], %[[WV]]] : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>, !llama.qtensor<32x64, q4_0>, tensor<32x64xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>)
// CHECK-NOT: llama.linear
// CHECK: return %[[R]]#0, %[[R]]#1, %[[R]]#2
func.func @qkv(%x: tensor<?x64xf32>) -> (tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %wq = llama.param "wq" : !llama.qtensor<64x64, q8_0>
  %q = llama.linear %x, %wq : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>) -> tensor<?x64xf32>
  // A parameter defined after the first product moves up to it.
  %wk = llama.param "wk" : !llama.qtensor<32x64, q4_0>
  %k = llama.linear %x, %wk : (tensor<?x64xf32>, !llama.qtensor<32x64, q4_0>) -> tensor<?x32xf32>
  %wv = llama.param "wv" : tensor<32x64xf32>
  %v = llama.linear %x, %wv : (tensor<?x64xf32>, tensor<32x64xf32>) -> tensor<?x32xf32>
  return %q, %k, %v : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}

// -----

// A product with a bias or a residual stays alone; products with different
// norm prologues form separate groups; one product alone is left as it is.
// CHECK-LABEL: func.func @groups
// CHECK: %[[B:.+]] = llama.linear %{{.+}}, %{{.+}} bias
// CHECK: %[[N:.+]]:2 = llama.multi_linear %{{.+}}, [%{{.+}}, %{{.+}}] norm %{{.+}} eps = 1.000000e-05
// CHECK: %[[P:.+]]:2 = llama.multi_linear %{{.+}}, [%{{.+}}, %{{.+}}] :
// CHECK: %[[M:.+]] = llama.linear %{{.+}}, %{{.+}} norm %{{.+}} eps = 9.9999999999999995E-7
// CHECK-NOT: llama.multi_linear
func.func @groups(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>, %b: tensor<64xf32>,
                  %g: tensor<64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>,
        tensor<?x64xf32>, tensor<?x64xf32>) {
  %0 = llama.linear %x, %w bias %b : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %1 = llama.linear %x, %w norm %g eps = 1.0e-5 : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %2 = llama.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %3 = llama.linear %x, %w norm %g eps = 1.0e-5 : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  %4 = llama.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %5 = llama.linear %x, %w norm %g eps = 1.0e-6 : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
