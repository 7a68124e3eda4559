// RUN: llamac-opt %s -split-input-file --onnx-lower-graph -verify-diagnostics

// What onnx-lower-graph refuses, naming the node and, where the user can
// help, the graph input to give with --input-value.

// expected-error @+1 {{graph input 0 has no static shape}}
func.func @main_graph(%x: tensor<?x3xf32> {onnx.name = "x"}) -> tensor<*xf32> {
  %y = onnx.Neg %x : (tensor<?x3xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

func.func @main_graph(%x: tensor<2x3xf32> {onnx.name = "x"}, %s: tensor<2xi64> {onnx.name = "shape"}) -> tensor<*xf32> {
  // expected-error @+1 {{(Reshape): the shape must be known when compiling (--input-value shape=FILE)}}
  %y = onnx.Reshape %x, %s : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}

// -----

func.func @main_graph(%x: tensor<2x3xf32> {onnx.name = "x"}, %y: tensor<4xf32> {onnx.name = "y"}) -> tensor<*xf32> {
  // expected-error @+1 {{(Add): input shapes do not broadcast}}
  %z = onnx.Add %x, %y : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<*xf32>
  return %z : tensor<*xf32>
}

// -----

func.func @main_graph(%x: tensor<2x3xf32> {onnx.name = "x"}) -> tensor<*xf32> {
  %c = onnx.Constant {value = dense<[0, 1, 2]> : tensor<3xi64>} : () -> tensor<3xi64>
  // expected-error @+1 {{(Transpose): perm has 3 entries for rank 2}}
  %y = onnx.Transpose %x {perm = [0, 1, 2]} : (tensor<2x3xf32>) -> tensor<*xf32>
  return %y : tensor<*xf32>
}
