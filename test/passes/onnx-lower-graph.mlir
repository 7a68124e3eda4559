// RUN: llamac-opt %s -split-input-file --onnx-lower-graph | FileCheck %s
// RUN: llamac-opt %s -split-input-file --onnx-lower-graph --canonicalize 2>&1 | FileCheck %s --check-prefix=FOLD
// RUN: llamac-opt %s -split-input-file --onnx-lower-graph --mlir-print-local-scope | FileCheck %s --check-prefix=LOCAL

// Elementwise ops: one linalg.generic each, numpy broadcasting in the maps
// (the [3] operand is read at the last loop index, the [2, 1] one at the
// first with the size-1 dimension pinned to 0).
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[LAST:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// The graph becomes a function of buffers: inputs, then the output.
// CHECK-LABEL: func.func @llamac_graph(
// CHECK-SAME: %[[X:.+]]: memref<2x3xf32> {onnx.name = "x"}, %[[Y:.+]]: memref<3xf32> {onnx.name = "y"}, %[[Z:.+]]: memref<2x1xf32> {onnx.name = "z"}, %[[OUT:.+]]: memref<2x3xi1> {onnx.name = "out"})
// CHECK: %[[XT:.+]] = bufferization.to_tensor %[[X]] restrict
// CHECK: %[[YT:.+]] = bufferization.to_tensor %[[Y]] restrict
// CHECK: %[[ZT:.+]] = bufferization.to_tensor %[[Z]] restrict
// CHECK: %[[SUM:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[LAST]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[XT]], %[[YT]] : tensor<2x3xf32>, tensor<3xf32>)
// CHECK: arith.addf
// CHECK: %[[LT:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[COL]], #[[ID]]], {{.*}}} ins(%[[SUM]], %[[ZT]] : tensor<2x3xf32>, tensor<2x1xf32>) outs(%{{.+}} : tensor<2x3xi1>)
// CHECK: arith.cmpf olt
// CHECK: bufferization.materialize_in_destination %[[LT]] in writable %[[OUT]]
// CHECK-NOT: main_graph
func.func @main_graph(%x: tensor<2x3xf32> {onnx.name = "x"}, %y: tensor<3xf32> {onnx.name = "y"},
                      %z: tensor<2x1xf32> {onnx.name = "z"}) -> (tensor<*xi1> {onnx.name = "out"}) {
  %s = onnx.Add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<*xf32>
  %l = onnx.Less %s, %z : (tensor<*xf32>, tensor<2x1xf32>) -> tensor<*xi1>
  return %l : tensor<*xi1>
}

// -----

// A shape computed from Shape, Gather and Concat is folded while compiling:
// the reshape's target is a constant.
// FOLD-LABEL: func.func @llamac_graph(
// FOLD: %[[SHAPE:.+]] = arith.constant dense<[3, 8]> : tensor<2xindex>
// FOLD: tensor.reshape %{{.+}}(%[[SHAPE]]) : (tensor<3x2x4xf32>, tensor<2xindex>) -> tensor<3x8xf32>
func.func @main_graph(%x: tensor<3x2x4xf32> {onnx.name = "x"}) -> (tensor<*xf32> {onnx.name = "y"}) {
  %s = onnx.Shape %x : (tensor<3x2x4xf32>) -> tensor<*xi64>
  %i = onnx.Constant {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %rest = onnx.Constant {value = dense<[-1]> : tensor<1xi64>} : () -> tensor<1xi64>
  %b = onnx.Gather %s, %i : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %t = onnx.Concat %b, %rest {axis = 0 : i64} : (tensor<*xi64>, tensor<1xi64>) -> tensor<*xi64>
  %y = onnx.Reshape %x, %t : (tensor<3x2x4xf32>, tensor<*xi64>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

// MatMul with batch broadcasting: loops (batch, m, n, k), k a reduction;
// the [4, 5] operand is shared by every batch.
// LOCAL-LABEL: func.func @llamac_graph(%{{.+}}: memref<2x3x4xf32> {onnx.name = "a"}
// LOCAL: linalg.fill
// LOCAL: linalg.generic {indexing_maps = [affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>, affine_map<(d0, d1, d2, d3) -> (d3, d2)>, affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// LOCAL: arith.mulf
// LOCAL: arith.addf
func.func @main_graph(%a: tensor<2x3x4xf32> {onnx.name = "a"}, %b: tensor<4x5xf32> {onnx.name = "b"})
    -> (tensor<*xf32> {onnx.name = "c"}) {
  %c = onnx.MatMul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<*xf32>
  return %c : tensor<*xf32>
}
