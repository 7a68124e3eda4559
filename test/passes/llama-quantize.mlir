// RUN: llamac-opt %s --split-input-file --llama-quantize=scheme=q4_0 | FileCheck %s
// RUN: llamac-opt %s --split-input-file --llama-quantize="scheme=q8_0 quantize-output=true" | FileCheck %s --check-prefix=OUTPUT

// Hidden layers are quantized; the output layer, the embedding table and
// rows that do not split into 32-value blocks stay as they are.

// CHECK-LABEL: func.func @block
// OUTPUT-LABEL: func.func @block
func.func @block(%tokens: tensor<?xi32>) -> (tensor<?x100xf32>, tensor<?x48xf32>) {
  // CHECK-DAG: %[[EMB:.+]] = llama.param "embed" : tensor<100x64xf32>
  // CHECK-DAG: %[[UP:.+]] = llama.param "up" : !llama.qtensor<128x64, q4_0>
  // CHECK-DAG: %[[DOWN:.+]] = llama.param "down" : !llama.qtensor<64x128, q4_0>
  // CHECK-DAG: %[[ODD:.+]] = llama.param "odd" : tensor<48x48xf32>
  // CHECK-DAG: %[[HEAD:.+]] = llama.param "head" : tensor<100x64xf32>
  // OUTPUT-DAG: llama.param "embed" : !llama.qtensor<100x64, q8_0>
  // OUTPUT-DAG: llama.param "up" : !llama.qtensor<128x64, q8_0>
  // OUTPUT-DAG: llama.param "down" : !llama.qtensor<64x128, q8_0>
  // OUTPUT-DAG: llama.param "odd" : tensor<48x48xf32>
  // OUTPUT-DAG: llama.param "head" : !llama.qtensor<100x64, q8_0>
  %embed = llama.param "embed" : tensor<100x64xf32>
  %up = llama.param "up" : tensor<128x64xf32>
  %down = llama.param "down" : tensor<64x128xf32>
  %odd = llama.param "odd" : tensor<48x48xf32>
  %head = llama.param "head" : tensor<100x64xf32>
  // CHECK: %[[X:.+]] = llama.embedding %[[EMB]]
  %x = llama.embedding %embed[%tokens] : tensor<100x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: %[[H:.+]] = llama.linear %[[X]], %[[UP]] : (tensor<?x64xf32>, !llama.qtensor<128x64, q4_0>)
  %h = llama.linear %x, %up : (tensor<?x64xf32>, tensor<128x64xf32>) -> tensor<?x128xf32>
  // CHECK: %[[Y:.+]] = llama.linear %[[H]], %[[DOWN]] : (tensor<?x128xf32>, !llama.qtensor<64x128, q4_0>)
  %y = llama.linear %h, %down : (tensor<?x128xf32>, tensor<64x128xf32>) -> tensor<?x64xf32>
  %c0 = arith.constant 0 : index
  %n = tensor.dim %y, %c0 : tensor<?x64xf32>
  %z = tensor.extract_slice %y[0, 0] [%n, 48] [1, 1] : tensor<?x64xf32> to tensor<?x48xf32>
  // CHECK: llama.linear %{{.+}}, %[[ODD]] : (tensor<?x48xf32>, tensor<48x48xf32>)
  %w = llama.linear %z, %odd : (tensor<?x48xf32>, tensor<48x48xf32>) -> tensor<?x48xf32>
  // CHECK: %[[LOGITS:.+]] = llama.linear %[[Y]], %[[HEAD]] : (tensor<?x64xf32>, tensor<100x64xf32>)
  %logits = llama.linear %y, %head : (tensor<?x64xf32>, tensor<100x64xf32>) -> tensor<?x100xf32>
  // CHECK: return %[[LOGITS]]
  return %logits, %w : tensor<?x100xf32>, tensor<?x48xf32>
}

// -----

// Tied embeddings: one checkpoint tensor read both as the embedding table and
// as the output layer. Quantizing only the hidden-layer uses splits nothing
// here; with quantize-output both uses share one quantized param.

// CHECK-LABEL: func.func @tied
// OUTPUT-LABEL: func.func @tied
func.func @tied(%tokens: tensor<?xi32>) -> tensor<?xi32> {
  // CHECK: %[[EMB:.+]] = llama.param "embed" : tensor<100x64xf32>
  // CHECK-NOT: llama.param
  // OUTPUT: %[[EMB:.+]] = llama.param "embed" : !llama.qtensor<100x64, q8_0>
  // OUTPUT-NOT: llama.param
  %embed = llama.param "embed" : tensor<100x64xf32>
  // CHECK: llama.embedding %[[EMB]]
  // OUTPUT: llama.embedding %[[EMB]]
  %x = llama.embedding %embed[%tokens] : tensor<100x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: llama.linear %{{.+}}, %[[EMB]]
  // OUTPUT: llama.linear %{{.+}}, %[[EMB]]
  %logits = llama.linear %x, %embed : (tensor<?x64xf32>, tensor<100x64xf32>) -> tensor<?x100xf32>
  %next = llama.argmax %logits : tensor<?x100xf32> -> tensor<?xi32>
  return %next : tensor<?xi32>
}

// -----

// A matrix read by a hidden layer and by the output layer is split: the
// hidden layer reads it quantized, the output layer as stored.

// CHECK-LABEL: func.func @split
func.func @split(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  // CHECK-DAG: %[[DENSE:.+]] = llama.param "shared" : tensor<64x64xf32>
  // CHECK-DAG: %[[QUANT:.+]] = llama.param "shared" : !llama.qtensor<64x64, q4_0>
  %w = llama.param "shared" : tensor<64x64xf32>
  // CHECK: %[[H:.+]] = llama.linear %{{.+}}, %[[QUANT]]
  %h = llama.linear %x, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  // CHECK: llama.linear %[[H]], %[[DENSE]]
  %y = llama.linear %h, %w : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  return %y : tensor<?x64xf32>
}

// -----

// Weights that arrive quantized are never requantized.

// CHECK-LABEL: func.func @prequantized
func.func @prequantized(%x: tensor<?x64xf32>) -> tensor<?x128xf32> {
  // CHECK: llama.param "gguf" : !llama.qtensor<128x64, q4_1>
  %w = llama.param "gguf" : !llama.qtensor<128x64, q4_1>
  %h = llama.linear %x, %w : (tensor<?x64xf32>, !llama.qtensor<128x64, q4_1>) -> tensor<?x128xf32>
  %y = llama.swiglu %h, %h : tensor<?x128xf32>
  return %y : tensor<?x128xf32>
}
