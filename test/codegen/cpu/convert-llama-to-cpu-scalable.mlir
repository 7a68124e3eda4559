// RUN: llamac-opt %s --llama-layout-weights --convert-llama-to-cpu="vector-width=4 scalable=true" --canonicalize --cse | FileCheck %s
// RUN: llamac-opt %s --llama-layout-weights --convert-llama-to-cpu="vector-width=4 scalable=true scalable-half=false" --canonicalize --cse | FileCheck %s --check-prefix=NOHALF

// Vector-length-agnostic kernels (SVE, RVV): the streaming kernels work on
// vector<[4]xf32> and step by 4 x vscale, with one masked vector for the
// remainder, whose size is known only at run time: 96 mod (4 x vscale) is 0
// lanes for SVE of 128 to 1024 bits, 32 lanes for 2048 bits.
// Hidden 96, one head of 96, context 16, vocabulary 32.

// f16 rows stream with scalable vectors where the ISA has them (SVE)...
// CHECK-LABEL: func.func private @embedding_f16_32x96(
// CHECK: vector.load {{.+}} : memref<32x96xf16>, vector<[4]xf16>
// CHECK: arith.extf {{.+}} : vector<[4]xf16> to vector<[4]xf32>
// ...and with fixed lanes where it has none (RVV without Zvfhmin).
// NOHALF-LABEL: func.func private @embedding_f16_32x96(
// NOHALF: vector.load {{.+}} : memref<32x96xf16>, vector<4xf16>
// NOHALF-NOT: vector<[4]xf16>
// NOHALF: return

// CHECK-LABEL: func.func private @rms_norm_96(
// CHECK: vector.fma {{.+}} : vector<[4]xf32>
// CHECK: vector.maskedstore {{.+}} : memref<?x96xf32>, vector<[4]xi1>, vector<[4]xf32>

// A dense product: row-wise dot products along K with scalable vectors.
// CHECK-LABEL: func.func private @linear_f32_96x96(
// CHECK-SAME: %[[X:[^:]+]]: memref<?x96xf32>, %[[W:[^:]+]]: memref<96x96xf32>
// CHECK-DAG: %[[VS:.+]] = vector.vscale
// CHECK-DAG: %[[STEP:.+]] = arith.muli %[[VS]], %c4
// CHECK: %[[REM:.+]] = arith.remui %c96, %[[STEP]]
// CHECK: %[[FULL:.+]] = arith.subi %c96, %[[REM]]
// CHECK: scf.for %{{.+}} = %c0 to %[[FULL]] step %[[STEP]] iter_args(
// CHECK: vector.load %[[X]][{{.+}}] : memref<?x96xf32>, vector<[4]xf32>
// CHECK: vector.load %[[W]][{{.+}}] : memref<96x96xf32>, vector<[4]xf32>
// CHECK: vector.fma {{.+}} : vector<[4]xf32>
// The remainder: a mask of 96 - full lanes (none when 4 x vscale divides 96).
// CHECK: %[[MASK:.+]] = vector.create_mask %[[REM]] : vector<[4]xi1>
// CHECK: vector.maskedload %[[X]][{{.+}}], %[[MASK]], {{.+}} : memref<?x96xf32>, vector<[4]xi1>, vector<[4]xf32> into vector<[4]xf32>
// CHECK: vector.reduction <add>, %{{.+}} fastmath<reassoc> : vector<[4]xf32> into f32

// The softmax over the row of scores is scalable; the key tiles are not.
// CHECK-LABEL: func.func private @attention_h1_g1_d96_c16(
// CHECK: vector<4xf32>
// CHECK: math.exp {{.+}} : vector<[4]xf32>

// CHECK-LABEL: func.func private @add_96(
// CHECK: arith.addf {{.+}} : vector<[4]xf32>

// Quantized blocks decode into fixed lanes: 32 values per block, 4 lanes
// at a time, which every vector length holds.
// CHECK-LABEL: func.func private @linear_q8_0_32x96(
// CHECK: vector.load {{.+}} : memref<32x102xi8>, vector<32xi8>
// CHECK: vector.fma {{.+}} : vector<4xf32>
// CHECK-NOT: vector<[4]xf32>
// CHECK: return

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x96xf32>, %vc: tensor<1x1x16x96xf32>)
    -> (tensor<1x32xf32>, tensor<1x1x16x96xf32>, tensor<1x1x16x96xf32>) {
  %emb = llama.param "embed" : tensor<32x96xf16>
  %n1 = llama.param "n1" : tensor<96xf32>
  %wq = llama.param "wq" : tensor<96x96xf32>
  %wk = llama.param "wk" : tensor<96x96xf32>
  %wv = llama.param "wv" : tensor<96x96xf32>
  %wo = llama.param "wo" : tensor<96x96xf32>
  %head = llama.param "head" : !llama.qtensor<32x96, q8_0>
  %h = llama.embedding %emb[%tokens] : tensor<32x96xf16>, tensor<?xi32> -> tensor<?x96xf32>
  %x = llama.rms_norm %h, %n1 eps = 1.0e-5 : tensor<?x96xf32>, tensor<96xf32>
  %q = llama.linear %x, %wq : (tensor<?x96xf32>, tensor<96x96xf32>) -> tensor<?x96xf32>
  %k = llama.linear %x, %wk : (tensor<?x96xf32>, tensor<96x96xf32>) -> tensor<?x96xf32>
  %v = llama.linear %x, %wv : (tensor<?x96xf32>, tensor<96x96xf32>) -> tensor<?x96xf32>
  %o, %kc1, %vc1 = llama.attention %q, %k, %v, %kc, %vc at %pos layer = 0 heads = 1 kv_heads = 1
      : tensor<?x96xf32>, tensor<?x96xf32>, tensor<?x96xf32>, tensor<1x1x16x96xf32>, tensor<1x1x16x96xf32> -> tensor<?x96xf32>
  %a = llama.linear %o, %wo : (tensor<?x96xf32>, tensor<96x96xf32>) -> tensor<?x96xf32>
  %h1 = llama.add %h, %a : tensor<?x96xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %h1, %c0 : tensor<?x96xf32>
  %last = arith.subi %n, %c1 : index
  %hl = tensor.extract_slice %h1[%last, 0] [1, 96] [1, 1] : tensor<?x96xf32> to tensor<1x96xf32>
  %logits = llama.linear %hl, %head : (tensor<1x96xf32>, !llama.qtensor<32x96, q8_0>) -> tensor<1x32xf32>
  return %logits, %kc1, %vc1 : tensor<1x32xf32>, tensor<1x1x16x96xf32>, tensor<1x1x16x96xf32>
}
