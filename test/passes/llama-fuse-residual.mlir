// RUN: llamac-opt %s --llama-fuse-residual -split-input-file | FileCheck %s

// Either operand order: the product takes the other operand as residual.
// CHECK-LABEL: func.func @residual
// CHECK-SAME: (%[[H:.+]]: tensor<?x64xf32>, %[[O:.+]]: tensor<?x64xf32>, %[[W:.+]]: tensor<64x64xf32>)
// CHECK: %[[H1:.+]] = llama.linear %[[O]], %[[W]] residual %[[H]] : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
// CHECK: %[[H2:.+]] = llama.linear %[[H1]], %[[W]] residual %[[H1]] :
// CHECK-NOT: llama.add
// CHECK: return %[[H2]]
func.func @residual(%h: tensor<?x64xf32>, %o: tensor<?x64xf32>, %w: tensor<64x64xf32>)
    -> tensor<?x64xf32> {
  %a = llama.linear %o, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %h1 = llama.add %h, %a : tensor<?x64xf32>
  %d = llama.linear %h1, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %h2 = llama.add %d, %h1 : tensor<?x64xf32>
  return %h2 : tensor<?x64xf32>
}

// -----

// Two products: the later one takes the earlier as its residual.
// CHECK-LABEL: func.func @two_products
// CHECK: %[[A:.+]] = llama.linear %{{.+}}, %{{.+}} : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
// CHECK: llama.linear %{{.+}}, %{{.+}} residual %[[A]] :
func.func @two_products(%x: tensor<?x64xf32>, %w: tensor<64x64xf32>) -> tensor<?x64xf32> {
  %a = llama.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %b = llama.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %s = llama.add %a, %b : tensor<?x64xf32>
  return %s : tensor<?x64xf32>
}

// -----

// A product read elsewhere too, or that already has a residual, is kept.
// CHECK-LABEL: func.func @kept
// CHECK: llama.add
// CHECK: llama.add
func.func @kept(%h: tensor<?x64xf32>, %x: tensor<?x64xf32>, %w: tensor<64x64xf32>)
    -> (tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  %a = llama.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  %s = llama.add %h, %a : tensor<?x64xf32>
  %r = llama.linear %x, %w residual %h : (tensor<?x64xf32>, tensor<64x64xf32>, tensor<?x64xf32>) -> tensor<?x64xf32>
  %t = llama.add %h, %r : tensor<?x64xf32>
  return %s, %a, %t : tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
