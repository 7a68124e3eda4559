// RUN: llamac-opt %s --llama-fuse-swiglu -split-input-file | FileCheck %s

// CHECK-LABEL: func.func @down
// CHECK-SAME: (%[[G:.+]]: tensor<?x128xf32>, %[[U:.+]]: tensor<?x128xf32>, %[[W:.+]]: tensor<64x128xf32>, %[[B:.+]]: tensor<64xf32>)
// CHECK-NOT: llama.swiglu
// CHECK: llama.linear %[[G]], %[[W]] bias %[[B]] swiglu %[[U]] : (tensor<?x128xf32>, tensor<64x128xf32>, tensor<64xf32>, tensor<?x128xf32>) -> tensor<?x64xf32>
func.func @down(%gate: tensor<?x128xf32>, %up: tensor<?x128xf32>, %w: tensor<64x128xf32>,
                %b: tensor<64xf32>) -> tensor<?x64xf32> {
  %s = llama.swiglu %gate, %up : tensor<?x128xf32>
  %y = llama.linear %s, %w bias %b : (tensor<?x128xf32>, tensor<64x128xf32>, tensor<64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Read by something else too: kept.
// CHECK-LABEL: func.func @also_returned
// CHECK: %[[S:.+]] = llama.swiglu
// CHECK: llama.linear %[[S]],
func.func @also_returned(%gate: tensor<?x128xf32>, %up: tensor<?x128xf32>,
                         %w: tensor<64x128xf32>) -> (tensor<?x64xf32>, tensor<?x128xf32>) {
  %s = llama.swiglu %gate, %up : tensor<?x128xf32>
  %y = llama.linear %s, %w : (tensor<?x128xf32>, tensor<64x128xf32>) -> tensor<?x64xf32>
  return %y, %s : tensor<?x64xf32>, tensor<?x128xf32>
}
