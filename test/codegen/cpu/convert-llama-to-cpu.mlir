// RUN: llamac-opt %s --llama-layout-weights --convert-llama-to-cpu=vector-width=8 --canonicalize --cse | FileCheck %s

// A one-layer model: hidden 8, 2 query heads and 1 key/value head of 4,
// context 16, vocabulary 32.

// The entry point takes the runtime's buffers; weights are views of the blob
// at the offsets llama-layout-weights assigned.
// CHECK-LABEL: func.func @llamac_forward(
// CHECK-SAME: %[[RT:.+]]: !llvm.ptr {llamac.name = "runtime"}, %[[TOKENS:.+]]: memref<?xi32> {llamac.name = "tokens"}, %[[POS:.+]]: index {llamac.name = "pos"}
// CHECK-SAME: %[[KC:.+]]: memref<1x1x16x4xf32> {llamac.name = "k_cache"}, %[[VC:.+]]: memref<1x1x16x4xf32> {llamac.name = "v_cache"}
// CHECK-SAME: %[[LOGITS:.+]]: memref<1x32xf32> {llamac.name = "logits"}, %[[WEIGHTS:.+]]: memref<?xi8> {llamac.name = "weights"}, %[[ARENA:.+]]: memref<?xi8> {llamac.name = "arena"})
// CHECK-SAME: attributes {llvm.emit_c_interface}
// CHECK: %[[T:.+]] = memref.dim %[[TOKENS]]
// Activations are arena views sized by the token count.
// CHECK: %[[H:.+]] = memref.view %[[ARENA]][%{{.+}}][%[[T]]] : memref<?xi8> to memref<?x8xf32>
// CHECK: %[[EMB:.+]] = memref.view %[[WEIGHTS]][%{{.+}}][] : memref<?xi8> to memref<32x8xf16>
// One task per token for row-wise ops...
// CHECK: lrt.parallel_for %[[RT]], %[[T]] tasks @embedding_f16_32x8(%[[T]], %[[TOKENS]], %[[EMB]], %[[H]])
// CHECK: lrt.parallel_for %[[RT]], %[[T]] tasks @rms_norm_8(
// ...one per tile of 4 weight rows for matrix products.
// CHECK: lrt.parallel_for %[[RT]], %[[C2:.+]] tasks @linear_f32_8x8(
// The key and value projections share one kernel.
// CHECK: lrt.parallel_for %[[RT]], %{{.+}} tasks @linear_f32_4x8(
// CHECK: lrt.parallel_for %[[RT]], %{{.+}} tasks @linear_f32_4x8(
// Rotary tables once, then both ropes.
// CHECK: lrt.parallel_for %[[RT]], %[[T]] tasks @rope_table_4(%[[T]], %[[POS]], %[[TABLE:.+]]) :
// CHECK: tasks @rope_neox_8_h4_r4(%{{.+}}, %{{.+}}, %[[TABLE]], %{{.+}})
// CHECK: tasks @rope_neox_4_h4_r4(%{{.+}}, %{{.+}}, %[[TABLE]], %{{.+}})
// The caches are written in place, then attention runs over (token, head).
// The key cache's buffer is used as [layer, group, slot / 8, dim, 8]: tiles
// of 8 keys (the vector width), dimension-major, so that one vector load
// holds one dimension of 8 keys. The value cache is used as it comes.
// CHECK: %[[FLAT:.+]] = memref.collapse_shape %[[KC]] {{\[\[}}0, 1, 2, 3]] : memref<1x1x16x4xf32> into memref<64xf32>
// CHECK: %[[KT:.+]] = memref.expand_shape %[[FLAT]] {{\[\[}}0, 1, 2, 3, 4]] output_shape [1, 1, 2, 4, 8] : memref<64xf32> into memref<1x1x2x4x8xf32>
// CHECK: tasks @key_cache_write_1x1x2x4x8(%[[T]], %[[POS]], %{{.+}}, %{{.+}}, %[[KT]])
// CHECK: tasks @cache_write_1x1x16x4(%[[T]], %[[POS]], %{{.+}}, %{{.+}}, %[[VC]])
// CHECK: %[[PAIRS:.+]] = arith.muli %[[T]], %[[C2]]
// CHECK: lrt.parallel_for %[[RT]], %[[PAIRS]] tasks @attention_h2_g1_d4_c16(%[[T]], %[[POS]], %{{.+}}, %{{.+}}, %[[KT]], %[[VC]], %{{.+}})
// CHECK: tasks @add_8(
// The last row is a view; the output layer writes the logits buffer.
// CHECK: %[[LAST:.+]] = memref.view %[[ARENA]]{{.*}} to memref<1x8xf32>
// CHECK: %[[LASTDYN:.+]] = memref.cast %[[LAST]] : memref<1x8xf32> to memref<?x8xf32>
// CHECK: tasks @rms_norm_8(%{{.+}}, %[[LASTDYN]],
// CHECK: %[[LOGITSDYN:.+]] = memref.cast %[[LOGITS]] : memref<1x32xf32> to memref<?x32xf32>
// CHECK: tasks @linear_f32_32x8(%{{.+}}, %{{.+}}, %{{.+}}, %[[LOGITSDYN]])
// CHECK-NEXT: return

// A matrix product keeps a 4 x 4 tile of accumulators over the reduction.
// CHECK-LABEL: func.func private @linear_f32_8x8(
// CHECK-SAME: %[[BEGIN:.+]]: index, %[[END:.+]]: index, %[[ROWS:.+]]: index, %[[X:.+]]: memref<?x8xf32>, %[[W:.+]]: memref<8x8xf32>, %[[Y:.+]]: memref<?x8xf32>)
// CHECK: scf.for %[[N:.+]] = {{.+}} step %[[C4:.+]] {
// CHECK: scf.for %[[TOK:.+]] = {{.+}} step %[[C4]] {
// CHECK-COUNT-4: vector.load %[[X]]
// CHECK-COUNT-4: vector.load %[[W]]
// CHECK-COUNT-16: vector.fma
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<8xf32> into f32
// CHECK: memref.store %{{.+}}, %[[Y]][%[[TOK]], %[[N]]]

// Attention keeps one row of scores per task, never a tokens x tokens matrix.
// CHECK-LABEL: func.func private @attention_h2_g1_d4_c16(
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<16xf32>
// CHECK: math.exp

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x4xf32>, %vc: tensor<1x1x16x4xf32>)
    -> (tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>) {
  %emb = llama.param "embed" : tensor<32x8xf16>
  %n1 = llama.param "n1" : tensor<8xf32>
  %wq = llama.param "wq" : tensor<8x8xf32>
  %wk = llama.param "wk" : tensor<4x8xf32>
  %wv = llama.param "wv" : tensor<4x8xf32>
  %wo = llama.param "wo" : tensor<8x8xf32>
  %nf = llama.param "nf" : tensor<8xf32>
  %head = llama.param "head" : tensor<32x8xf32>
  %h = llama.embedding %emb[%tokens] : tensor<32x8xf16>, tensor<?xi32> -> tensor<?x8xf32>
  %x = llama.rms_norm %h, %n1 eps = 1.0e-5 : tensor<?x8xf32>, tensor<8xf32>
  %q = llama.linear %x, %wq : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %k = llama.linear %x, %wk : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %v = llama.linear %x, %wv : (tensor<?x8xf32>, tensor<4x8xf32>) -> tensor<?x4xf32>
  %qr = llama.rope %q at %pos head_dim = 4 theta = 10000.0 : tensor<?x8xf32>
  %kr = llama.rope %k at %pos head_dim = 4 theta = 10000.0 : tensor<?x4xf32>
  %o, %kc1, %vc1 = llama.attention %qr, %kr, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 1
      : tensor<?x8xf32>, tensor<?x4xf32>, tensor<?x4xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32> -> tensor<?x8xf32>
  %a = llama.linear %o, %wo : (tensor<?x8xf32>, tensor<8x8xf32>) -> tensor<?x8xf32>
  %h1 = llama.add %h, %a : tensor<?x8xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %h1, %c0 : tensor<?x8xf32>
  %last = arith.subi %n, %c1 : index
  %hl = tensor.extract_slice %h1[%last, 0] [1, 8] [1, 1] : tensor<?x8xf32> to tensor<1x8xf32>
  %y = llama.rms_norm %hl, %nf eps = 1.0e-5 : tensor<1x8xf32>, tensor<8xf32>
  %logits = llama.linear %y, %head : (tensor<1x8xf32>, tensor<32x8xf32>) -> tensor<1x32xf32>
  return %logits, %kc1, %vc1 : tensor<1x32xf32>, tensor<1x1x16x4xf32>, tensor<1x1x16x4xf32>
}
