// RUN: llamac-opt %s --llama-pack-weights="packing=r16 dense=true quantized=false" | FileCheck %s

// dense=true gives float linear weights the #llama.packed<r16> encoding;
// quantized=false leaves qtensors in rows; embeddings and norms are left
// alone, and a float matrix read both ways is split.
// CHECK-LABEL: func.func @dense
// CHECK-DAG: %[[W:.+]] = llama.param "w" : tensor<40x64xf16, #llama.packed<r16>>
// CHECK-DAG: %[[Q:.+]] = llama.param "q" : !llama.qtensor<64x64, q8_0>
// CHECK-DAG: %[[E:.+]] = llama.param "tied" : tensor<100x64xf32>
// CHECK-DAG: %[[T:.+]] = llama.param "tied" : tensor<100x64xf32, #llama.packed<r16>>
// CHECK: llama.linear %{{.+}}, %[[W]]
// CHECK: llama.linear %{{.+}}, %[[Q]]
// CHECK: llama.embedding %[[E]]
// CHECK: llama.linear %{{.+}}, %[[T]]
func.func @dense(%tokens: tensor<?xi32>, %x: tensor<?x64xf32>)
    -> (tensor<?x40xf32>, tensor<?x64xf32>, tensor<?x100xf32>) {
  %w = llama.param "w" : tensor<40x64xf16>
  %q = llama.param "q" : !llama.qtensor<64x64, q8_0>
  %tied = llama.param "tied" : tensor<100x64xf32>
  %a = llama.linear %x, %w : (tensor<?x64xf32>, tensor<40x64xf16>) -> tensor<?x40xf32>
  %b = llama.linear %x, %q : (tensor<?x64xf32>, !llama.qtensor<64x64, q8_0>) -> tensor<?x64xf32>
  %e = llama.embedding %tied[%tokens] : tensor<100x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %l = llama.linear %e, %tied : (tensor<?x64xf32>, tensor<100x64xf32>) -> tensor<?x100xf32>
  return %a, %b, %l : tensor<?x40xf32>, tensor<?x64xf32>, tensor<?x100xf32>
}
