// RUN: llamac-opt %s --llama-pack-weights=packing=r16 | FileCheck %s

// Quantized linear weights take the packed layout; embedding tables keep
// rows; float weights and int4 weights are left alone.

// CHECK-LABEL: func.func @pack
func.func @pack(%tokens: tensor<?xi32>, %x: tensor<?x64xf32>)
    -> (tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>) {
  // CHECK-DAG: %[[UP:.+]] = llama.param "up" : !llama.qtensor<128x64, q4_0, packed = r16>
  // CHECK-DAG: %[[EMB:.+]] = llama.param "tied" : !llama.qtensor<100x64, q8_0>
  // CHECK-DAG: %[[OUT:.+]] = llama.param "tied" : !llama.qtensor<100x64, q8_0, packed = r16>
  // CHECK-DAG: %[[F:.+]] = llama.param "float" : tensor<64x64xf32>
  // CHECK-DAG: %[[I4:.+]] = llama.param "int4" : !llama.qtensor<64x64, int4<block = 32>>
  // CHECK-DAG: %[[Q41:.+]] = llama.param "q41" : !llama.qtensor<64x64, q4_1, packed = r16>
  %up = llama.param "up" : !llama.qtensor<128x64, q4_0>
  %tied = llama.param "tied" : !llama.qtensor<100x64, q8_0>
  %float = llama.param "float" : tensor<64x64xf32>
  %int4 = llama.param "int4" : !llama.qtensor<64x64, int4<block = 32>>
  %q41 = llama.param "q41" : !llama.qtensor<64x64, q4_1>
  // CHECK: llama.linear %{{.+}}, %[[UP]]
  %y = llama.linear %x, %up : (tensor<?x64xf32>, !llama.qtensor<128x64, q4_0>) -> tensor<?x128xf32>
  // CHECK: llama.embedding %[[EMB]]
  %e = llama.embedding %tied[%tokens] : !llama.qtensor<100x64, q8_0>, tensor<?xi32> -> tensor<?x64xf32>
  // CHECK: llama.linear %{{.+}}, %[[OUT]]
  %l = llama.linear %e, %tied : (tensor<?x64xf32>, !llama.qtensor<100x64, q8_0>) -> tensor<?x100xf32>
  // CHECK: llama.linear %{{.+}}, %[[F]]
  %f = llama.linear %x, %float : (tensor<?x64xf32>, tensor<64x64xf32>) -> tensor<?x64xf32>
  // CHECK: llama.linear %{{.+}}, %[[I4]]
  %i = llama.linear %x, %int4 : (tensor<?x64xf32>, !llama.qtensor<64x64, int4<block = 32>>) -> tensor<?x64xf32>
  // CHECK: llama.linear %{{.+}}, %[[Q41]]
  %q = llama.linear %x, %q41 : (tensor<?x64xf32>, !llama.qtensor<64x64, q4_1>) -> tensor<?x64xf32>
  return %y, %f, %i, %q : tensor<?x128xf32>, tensor<?x64xf32>, tensor<?x64xf32>, tensor<?x64xf32>
}
