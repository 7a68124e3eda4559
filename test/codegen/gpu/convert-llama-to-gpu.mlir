// RUN: llamac-opt %s --llama-layout-weights --convert-llama-to-gpu --canonicalize --cse | FileCheck %s
// RUN: llamac-opt %s --llama-layout-weights --convert-llama-to-gpu --canonicalize --cse --llamac-gpu-prepare=api=opencl | FileCheck %s --check-prefix=OPENCL

// A one-layer model: hidden 8, 2 query heads and 1 key/value head of 4,
// context 16, vocabulary 32. Weights at the offsets llama-layout-weights
// gives them: embed (f16, 512 bytes) at 0, n1 at 512, wq at 576, wk at 832,
// wv at 960, wo at 1088, nf at 1344, head at 1408.

// The arena: a fixed pool of 64 bytes (the last row's norm, 8 floats), then
// 384 bytes per token. Offsets in the program are in elements of the
// kernel's view: 16 + 16 T floats is byte 64 + T x 64.
// CHECK: module attributes {gpu.container_module, llamac.arena_fixed_bytes = 64 : i64, llamac.arena_per_token_bytes = 384 : i64,
// The program: each launch's arguments are buffers or (c0, cT, cP)
// integers; row-wise kernels get T workgroups (grid x = T), products one
// workgroup per weight row and per 4 tokens (grid y = ceil(T / 4)).
// The greedy token's argmax is the last launch (14), run only on demand.
// CHECK-SAME: llamac.gpu_argmax_launch = 14 : i64,
// CHECK-SAME: llamac.gpu_program = [
// f16 embedding rows read as i16 from the weights' start.
// CHECK-SAME: {args = [array<i64: 0, 1, 0>, "tokens", array<i64: 0, 0, 0>, "weights", array<i64: 0, 0, 0>, "arena", array<i64: 16, 16, 0>], block = 256 : i64, grid = array<i64: 0, 1, 1, 1, 0, 1>, kernel = "embedding_f16_8"}
// n1 is f32 at byte 512: element 128.
// CHECK-SAME: {args = [array<i64: 0, 1, 0>, "arena", array<i64: 16, 16, 0>, "weights", array<i64: 128, 0, 0>, "arena", array<i64: 16, 32, 0>], block = 256 : i64, grid = array<i64: 0, 1, 1, 1, 0, 1>, kernel = "rms_norm_f32_8_
// wq (byte 576 = element 144): 8 rows, ceil(T / 4) token tiles.
// CHECK-SAME: {args = [array<i64: 0, 1, 0>, "arena", array<i64: 16, 32, 0>, "weights", array<i64: 144, 0, 0>, "arena", array<i64: 16, 48, 0>], block = 128 : i64, grid = array<i64: 8, 0, 1, 0, 1, 4>, kernel = "linear_f32_8x8_t4"}
// wk and wv share one kernel.
// CHECK-SAME: grid = array<i64: 4, 0, 1, 0, 1, 4>, kernel = "linear_f32_4x8_t4"}
// CHECK-SAME: grid = array<i64: 4, 0, 1, 0, 1, 4>, kernel = "linear_f32_4x8_t4"}
// Both ropes read the one rotary table, which the host fills before the
// first launch, so it is never placed over a value computed before them:
// at 16 + 0 T, 4 floats per token (cos, cos, sin, sin).
// CHECK-SAME: {args = [array<i64: 0, 1, 0>, "arena", array<i64: 16, 48, 0>, "arena", array<i64: 16, 0, 0>, "arena", array<i64: 16, 32, 0>], block = 256 : i64, grid = array<i64: 0, 1, 1, 1, 0, 1>, kernel = "rope_8_4_4"}
// CHECK-SAME: "arena", array<i64: 16, 0, 0>, {{.*}}kernel = "rope_4_4_4"}
// The caches are written at pos + t (the second integer is pos).
// CHECK-SAME: {args = [array<i64: 0, 1, 0>, array<i64: 0, 0, 1>, "arena", array<i64: 16, 48, 0>, "k_cache", array<i64: 0, 0, 0>], block = 256 : i64, grid = array<i64: 0, 1, 1, 1, 0, 1>, kernel = "cache_write_1x4_c16"}
// CHECK-SAME: "v_cache", array<i64: 0, 0, 0>], block = 256 : i64, grid = array<i64: 0, 1, 1, 1, 0, 1>, kernel = "cache_write_1x4_c16"}
// Attention: one workgroup of 128 threads per (head, token).
// CHECK-SAME: {args = [array<i64: 0, 1, 0>, array<i64: 0, 0, 1>, "arena", array<i64: 16, 32, 0>, "k_cache", array<i64: 0, 0, 0>, "v_cache", array<i64: 0, 0, 0>, "arena", array<i64: 16, 0, 0>], block = 128 : i64, grid = array<i64: 2, 0, 1, 0, 1, 1>, kernel = "attention_h2_g1_k4_v4_c16_
// CHECK-SAME: kernel = "linear_f32_8x8_t4"}
// CHECK-SAME: kernel = "add_8"}
// The last row (T - 1) of the residual at 16 + 0 T: 8 + 8 T; one row, so
// one workgroup and an integer row count of 1.
// CHECK-SAME: {args = [array<i64: 1, 0, 0>, "arena", array<i64: 8, 8, 0>, "weights", array<i64: 336, 0, 0>, "arena", array<i64: 0, 0, 0>], block = 256 : i64, grid = array<i64: 1, 0, 1, 1, 0, 1>, kernel = "rms_norm_f32_8_
// The output layer writes the logits buffer.
// CHECK-SAME: {args = [array<i64: 1, 0, 0>, "arena", array<i64: 0, 0, 0>, "weights", array<i64: 352, 0, 0>, "logits", array<i64: 0, 0, 0>], block = 128 : i64, grid = array<i64: 32, 0, 1, 1, 0, 4>, kernel = "linear_f32_32x8_t4"},
// CHECK-SAME: {args = ["logits", "sampled"], block = 256 : i64, grid = array<i64: 1, 0, 1, 1, 0, 1>, kernel = "argmax_32"}]
// CHECK-SAME: llamac.gpu_rope_tables = [{frequencies = array<f64: 1.000000e+00, 1.000000e-02>, offset = array<i64: 16, 0, 0>}]
// No host function is left.
// CHECK-NOT: func.func

// Kernels take whole buffers and element offsets; the f16 table is read as
// i16 and widened in integer arithmetic.
// CHECK-LABEL: gpu.module @llamac_kernels
// CHECK: gpu.func @embedding_f16_8(%{{.+}}: index, %{{.+}}: memref<?xi32>, %{{.+}}: index, %[[TABLE:.+]]: memref<?xi16>, %{{.+}}: index, %{{.+}}: memref<?xf32>, %{{.+}}: index) kernel attributes {known_block_size = array<i32: 256, 1, 1>}
// CHECK: memref.load %[[TABLE]]
// CHECK: arith.extui %{{.+}} : i16 to i32
// CHECK: arith.bitcast %{{.+}} : i32 to f32
// Reductions go through workgroup memory, with barriers.
// CHECK: gpu.func @rms_norm_f32_8_{{.+}} workgroup(%[[SCRATCH:.+]] : memref<256xf32, #gpu.address_space<workgroup>>) kernel
// CHECK: memref.store %{{.+}}, %[[SCRATCH]]
// CHECK: gpu.barrier
// CHECK: math.sqrt
// A product sums a tile of 4 tokens per thread (K = 8 is one masked trip
// of the strided loop, folded away), reduced through 4 x 128 floats.
// CHECK: gpu.func @linear_f32_8x8_t4({{.+}}) workgroup(%{{.+}} : memref<512xf32, #gpu.address_space<workgroup>>) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// CHECK-COUNT-4: arith.mulf
// CHECK: gpu.barrier
// Attention: the query in workgroup memory, then chunks of 128 positions
// with a running maximum and sum (online softmax): a score per thread, the
// chunk's maximum, the rescaled sum, then the weighted values per feature.
// CHECK: gpu.func @attention_h2_g1_k4_v4_c16_{{.+}} workgroup(%{{.+}} : memref<128xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<4xf32, #gpu.address_space<workgroup>>, %{{.+}} : memref<128xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for {{.+}} -> (f32, f32, f32)
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: math.exp

// For OpenCL the kernels become SPIR-V entry points and their workgroup
// memory an allocation in memory space 3.
// OPENCL: spirv.target_env = #spirv.target_env<#spirv.vce<v1.0, [Kernel, Addresses, Int64, Int8, Int16, Linkage], []>, api=OpenCL, #spirv.resource_limits<>>
// OPENCL: gpu.func @rms_norm_f32_8_{{[^(]+}}({{[^)]+}}) kernel attributes {known_block_size = array<i32: 256, 1, 1>, spirv.entry_point_abi = #spirv.entry_point_abi<>}
// OPENCL-NEXT: memref.alloc() : memref<256xf32, 3>

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
