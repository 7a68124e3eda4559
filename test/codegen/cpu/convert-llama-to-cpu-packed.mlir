// RUN: llamac-opt %s --llama-layout-weights --convert-llama-to-cpu=vector-width=8 --canonicalize --cse | FileCheck %s

// A float weight packed r16 (#llama.packed) is a flat view of its groups
// (40 rows pad to 48: 48 x 64 f16), one task per group of 16 rows, the 16
// outputs in lanes (two 8-lane vectors here), bias and residual added as
// the outputs are stored, the last group's rows past 40 masked.

// CHECK-LABEL: func.func @llamac_forward(
// CHECK: %[[W:.+]] = memref.view %{{.+}}[%{{.+}}][] : memref<?xi8> to memref<3072xf16>
// CHECK: lrt.parallel_for %{{.+}}, %c3 tasks @linear_f16_r16_40x64_bias_residual(%{{.+}}, %{{.+}}, %[[W]],

// CHECK-LABEL: func.func private @linear_f16_r16_40x64_bias_residual(
// Four accumulator sets over k for one token (decode).
// CHECK: scf.for
// CHECK: vector.load %{{.+}} : memref<3072xf16>, vector<8xf16>
// CHECK: arith.extf {{.+}} : vector<8xf16> to vector<8xf32>
// CHECK: vector.broadcast
// CHECK: vector.fma
// CHECK: vector.maskedload
// CHECK: vector.maskedstore

func.func @forward(%tokens: tensor<?xi32>, %pos: index,
                   %kc: tensor<1x1x16x32xf32>, %vc: tensor<1x1x16x32xf32>)
    -> (tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>) {
  %emb = llama.param "embed" : tensor<40x64xf32>
  %w = llama.param "w" : tensor<40x64xf16, #llama.packed<r16>>
  %b = llama.param "b" : tensor<40xf32>
  %h = llama.embedding %emb[%tokens] : tensor<40x64xf32>, tensor<?xi32> -> tensor<?x64xf32>
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = tensor.dim %h, %c0 : tensor<?x64xf32>
  %last = arith.subi %n, %c1 : index
  %hl = tensor.extract_slice %h[%last, 0] [1, 64] [1, 1] : tensor<?x64xf32> to tensor<1x64xf32>
  %v = llama.param "v" : tensor<40x64xf32>
  %r = llama.linear %hl, %v : (tensor<1x64xf32>, tensor<40x64xf32>) -> tensor<1x40xf32>
  %logits = llama.linear %hl, %w bias %b residual %r
      : (tensor<1x64xf32>, tensor<40x64xf16, #llama.packed<r16>>, tensor<40xf32>, tensor<1x40xf32>) -> tensor<1x40xf32>
  return %logits, %kc, %vc : tensor<1x40xf32>, tensor<1x1x16x32xf32>, tensor<1x1x16x32xf32>
}
