// RUN: llamac-opt %s --llama-fuse-rope -split-input-file | FileCheck %s

// The keys' rope folds into the attention: its frequencies (theta^(-2i/R),
// here R = 8 rotated of 16 features) and pair convention; the query's rope
// stays.
// CHECK-LABEL: func.func @fused
// CHECK-SAME: (%[[Q:.+]]: tensor<?x64xf32>, %[[K:.+]]: tensor<?x32xf32>, %[[V:.+]]: tensor<?x32xf32>
// CHECK: %[[QR:.+]] = llama.rope %[[Q]]
// CHECK-NOT: llama.rope
// CHECK: llama.attention %[[QR]], %[[K]], %[[V]], %{{.+}}, %{{.+}} at %{{.+}} layer = 0 heads = 4 kv_heads = 2
// CHECK-SAME: {key_rope = array<f64: 1.000000e+00, 1.000000e-01, 1.000000e-02, 1.000000e-03>, key_rope_interleaved}
func.func @fused(%q: tensor<?x64xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                 %kc: tensor<1x2x64x16xf32>, %vc: tensor<1x2x64x16xf32>, %pos: index)
    -> (tensor<?x64xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>) {
  %qr = llama.rope %q at %pos head_dim = 16 rotary_dim = 8 theta = 1.000000e+04 interleaved : tensor<?x64xf32>
  %kr = llama.rope %k at %pos head_dim = 16 rotary_dim = 8 theta = 1.000000e+04 interleaved : tensor<?x32xf32>
  %o, %kc1, %vc1 = llama.attention %qr, %kr, %v, %kc, %vc at %pos layer = 0 heads = 4 kv_heads = 2
      : tensor<?x64xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32> -> tensor<?x64xf32>
  return %o, %kc1, %vc1 : tensor<?x64xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>
}

// -----

// A rotated key used elsewhere too, or rotated at another position, stays.
// CHECK-LABEL: func.func @kept
// CHECK: %[[KR:.+]] = llama.rope
// CHECK: llama.attention %{{.+}}, %[[KR]],
// CHECK-NOT: key_rope
// CHECK: %[[KR2:.+]] = llama.rope
// CHECK: llama.attention %{{.+}}, %[[KR2]],
// CHECK-NOT: key_rope
func.func @kept(%q: tensor<?x32xf32>, %k: tensor<?x32xf32>, %v: tensor<?x32xf32>,
                %kc: tensor<2x2x64x16xf32>, %vc: tensor<2x2x64x16xf32>, %pos: index, %other: index)
    -> (tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>) {
  %kr = llama.rope %k at %pos head_dim = 16 theta = 1.000000e+04 : tensor<?x32xf32>
  %o, %kc1, %vc1 = llama.attention %q, %kr, %v, %kc, %vc at %pos layer = 0 heads = 2 kv_heads = 2
      : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32> -> tensor<?x32xf32>
  %kr2 = llama.rope %k at %other head_dim = 16 theta = 1.000000e+04 : tensor<?x32xf32>
  %o2, %kc2, %vc2 = llama.attention %q, %kr2, %v, %kc1, %vc1 at %pos layer = 1 heads = 2 kv_heads = 2
      : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>, tensor<2x2x64x16xf32>, tensor<2x2x64x16xf32> -> tensor<?x32xf32>
  return %o, %o2, %kr : tensor<?x32xf32>, tensor<?x32xf32>, tensor<?x32xf32>
}
