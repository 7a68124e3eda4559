// RUN: llamac-opt %s --llama-fuse-norm -split-input-file | FileCheck %s

// A norm read only by products becomes their prologue and disappears.
// CHECK-LABEL: func.func @into_products
// CHECK-SAME: (%[[H:.+]]: tensor<?x64xf32>, %[[G:.+]]: tensor<64xf32>, %[[W:.+]]: tensor<128x64xf32>
// CHECK-NOT: llama.rms_norm
// CHECK: llama.linear %[[H]], %[[W]] norm %[[G]] eps = 1.000000e-05 : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<64xf32>) -> tensor<?x128xf32>
// CHECK: llama.multi_linear %[[H]], [%[[W]], %[[W]]] norm %[[G]] eps = 1.000000e-05
func.func @into_products(%h: tensor<?x64xf32>, %g: tensor<64xf32>, %w: tensor<128x64xf32>)
    -> (tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>) {
  %n = llama.rms_norm %h, %g eps = 1.0e-5 : tensor<?x64xf32>, tensor<64xf32>
  %y = llama.linear %n, %w : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  %a, %b = llama.multi_linear %n, [%w, %w] : (tensor<?x64xf32>, tensor<128x64xf32>, tensor<128x64xf32>) -> (tensor<?x128xf32>, tensor<?x128xf32>)
  return %y, %a, %b : tensor<?x128xf32>, tensor<?x128xf32>, tensor<?x128xf32>
}

// -----

// A norm with any other use (here returned, and a residual) stays.
// CHECK-LABEL: func.func @other_uses
// CHECK: %[[N:.+]] = llama.rms_norm
// CHECK: llama.linear %[[N]], %{{.+}} :
// CHECK: %[[M:.+]] = llama.rms_norm
// CHECK: llama.linear %{{.+}}, %{{.+}} residual %[[M]] :
func.func @other_uses(%h: tensor<?x64xf32>, %g: tensor<64xf32>, %w: tensor<64x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %n = llama.rms_norm %h, %g eps = 1.0e-5 : tensor<?x64xf32>, tensor<64xf32>
  %y = llama.linear %n, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %m = llama.rms_norm %h, %g eps = 1.0e-6 : tensor<?x64xf32>, tensor<64xf32>
  %z = llama.linear %h, %w residual %m : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %n, %y, %z : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}

// -----

// A product that already has a prologue is not given a second one.
// CHECK-LABEL: func.func @has_prologue
// CHECK: %[[S:.+]] = llama.rms_norm
// CHECK: llama.linear %[[S]], %{{.+}} swiglu
func.func @has_prologue(%h: tensor<?x64xf32>, %g: tensor<64xf32>, %w: tensor<64x64xf32>)
    -> tensor<?x64xf32> {
  %n = llama.rms_norm %h, %g eps = 1.0e-5 : tensor<?x64xf32>, tensor<64xf32>
  %y = llama.linear %n, %w swiglu %h : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}
