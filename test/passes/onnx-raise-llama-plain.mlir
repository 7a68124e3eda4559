// RUN: llamac-opt %s --onnx-raise-llama | FileCheck %s

// A graph without past inputs that returns its keys and values as presents
// (the first call of an exporter's cached pair of graphs) returns the cache:
// RUN: sed -e 's/^func.func @main_graph(%%ids: tensor<?x?xi64>) -> tensor<\*xf32> {/func.func @main_graph(%%ids: tensor<?x?xi64>) -> (tensor<*xf32>, tensor<*xf32>, tensor<*xf32>) {/' -e 's/  return %%logits : tensor<\*xf32>/  return %%logits, %%kr, %%v : tensor<*xf32>, tensor<*xf32>, tensor<*xf32>/' %s | llamac-opt --onnx-raise-llama | FileCheck %s --check-prefix=PRESENTS
// PRESENTS: %{{.+}}, %[[KC:[^,]+]], %[[VC:[^ ]+]] = llama.attention
// PRESENTS: return %{{.+}}, %[[KC]], %[[VC]] :

// What is not a causal decoder is refused, naming the node. The same graph,
// one line edited:
// keys after the query,
// RUN: sed -e 's/LessOrEqual %%keys/GreaterOrEqual %%keys/' %s | not llamac-opt --onnx-raise-llama 2>&1 | FileCheck %s --check-prefix=ANTICAUSAL
// ANTICAUSAL: error: the attention mask is not causal (sequence length 11 after 0 cached, query 0, key 1)
// no mask,
// RUN: sed -e 's/onnx.Softmax %%sc /onnx.Softmax %%sc1 /' %s | not llamac-opt --onnx-raise-llama 2>&1 | FileCheck %s --check-prefix=NOMASK
// NOMASK: error: attention scores without a causal mask
// a "cos" table that is a sine,
// RUN: sed -e 's/%%cos = onnx.Cos/%%cos = onnx.Sin/' %s | not llamac-opt --onnx-raise-llama 2>&1 | FileCheck %s --check-prefix=NOTROPE
// NOTROPE: error: the rotary tables are not cos/sin of position x frequency
// the heads split across the tokens,
// RUN: sed -e 's/dense<\[1, -1, 2, 8\]>/dense<[1, 2, -1, 8]>/' %s | not llamac-opt --onnx-raise-llama 2>&1 | FileCheck %s --check-prefix=RESHAPE
// RESHAPE: error: this reshape does not keep tokens apart from features
// a mask that hides nothing.
// RUN: sed -e 's/%%mask = onnx.Where %%visible, %%zero, %%ninf/%%mask = onnx.Where %%visible, %%zero, %%zero/' %s | not llamac-opt --onnx-raise-llama 2>&1 | FileCheck %s --check-prefix=ZEROMASK
// ZEROMASK: error: the attention mask is not causal

// Attention written out in plain operators, as torch.onnx exports it: RMSNorm
// as Pow/ReduceMean/Add/Sqrt/Reciprocal/Mul/Mul; heads as Reshape/Transpose
// of the projections; rotary as x cos + rotate_half(x) sin with the tables
// computed from the sequence length (Range x inv_freq, Cos/Sin); one
// key/value head repeated for two query heads by Unsqueeze/Expand/Reshape;
// the scores as a MatMul with the keys transposed, scaled, plus a causal
// mask built from the positions (Where(key <= query, 0, -inf)); Softmax;
// the product with the values; the heads merged back. The shape and
// position arithmetic is evaluated while compiling: the tables give the
// frequencies (1, 0.1, 0.01, 0.001), the mask is checked causal.

// CHECK-LABEL: func.func @forward
// CHECK-SAME: %[[POS:[^:]+]]: index, %{{.+}}: tensor<1x1x4096x8xf32>
// CHECK: %[[X:.+]] = llama.embedding
// CHECK: %[[N:.+]] = llama.rms_norm %[[X]], %{{.+}} eps = 9.99999{{.+}}E-6
// CHECK: %[[Q:.+]] = llama.linear %[[N]], %{{.+}} -> tensor<?x16xf32>
// CHECK: %[[K:.+]] = llama.linear %[[N]], %{{.+}} -> tensor<?x8xf32>
// CHECK: %[[V:.+]] = llama.linear %[[N]], %{{.+}} -> tensor<?x8xf32>
// CHECK: %[[QR:.+]] = llama.rope %[[Q]] at %[[POS]] head_dim = 8 {{.+}}frequencies = array<f64: 1.0000{{[0-9]+}}, 0.1000{{[0-9]+}}, 0.0099{{[0-9]+}}, 0.0010{{[0-9]+}}>
// CHECK: %[[KR:.+]] = llama.rope %[[K]] at %[[POS]] head_dim = 8
// CHECK: %[[O:[^,]+]], {{.+}} = llama.attention %[[QR]], %[[KR]], %[[V]], %{{.+}}, %{{.+}} at %[[POS]] layer = 0 heads = 2 kv_heads = 1 :
// CHECK: llama.linear %[[O]]
// CHECK-NOT: onnx.
func.func @main_graph(%ids: tensor<?x?xi64>) -> tensor<*xf32> {
  %table = onnx.initializer "embed" : tensor<10x16xf32>
  %norm = onnx.initializer "norm" : tensor<16xf32>
  %two = onnx.initializer "two" {value = dense<2.0> : tensor<f32>} : tensor<f32>
  %eps = onnx.initializer "eps" {value = dense<1.0e-5> : tensor<f32>} : tensor<f32>
  %scale = onnx.initializer "scale" {value = dense<0.353553385> : tensor<f32>} : tensor<f32>
  %invf = onnx.initializer "inv_freq" {value = dense<[1.0, 0.1, 0.01, 0.001]> : tensor<4xf32>} : tensor<4xf32>
  %wq = onnx.initializer "wq" : tensor<16x16xf32>
  %wk = onnx.initializer "wk" : tensor<16x8xf32>
  %wv = onnx.initializer "wv" : tensor<16x8xf32>
  %wo = onnx.initializer "wo" : tensor<16x16xf32>
  %head = onnx.initializer "head" : tensor<16x10xf32>
  %c0 = onnx.Constant {value = dense<0> : tensor<i64>} : () -> tensor<i64>
  %c1 = onnx.Constant {value = dense<1> : tensor<i64>} : () -> tensor<i64>
  %none = onnx.none
  %zero = onnx.Constant {value = dense<0.0> : tensor<f32>} : () -> tensor<f32>
  %ninf = onnx.Constant {value = dense<0xFF800000> : tensor<f32>} : () -> tensor<f32>
  %ax0 = onnx.Constant {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax1 = onnx.Constant {value = dense<[1]> : tensor<1xi64>} : () -> tensor<1xi64>
  %ax2 = onnx.Constant {value = dense<[2]> : tensor<1xi64>} : () -> tensor<1xi64>
  %axl = onnx.Constant {value = dense<[-1]> : tensor<1xi64>} : () -> tensor<1xi64>
  %h0 = onnx.Constant {value = dense<[0]> : tensor<1xi64>} : () -> tensor<1xi64>
  %h4 = onnx.Constant {value = dense<[4]> : tensor<1xi64>} : () -> tensor<1xi64>
  %h8 = onnx.Constant {value = dense<[8]> : tensor<1xi64>} : () -> tensor<1xi64>
  %qshape = onnx.Constant {value = dense<[1, -1, 2, 8]> : tensor<4xi64>} : () -> tensor<4xi64>
  %kshape = onnx.Constant {value = dense<[1, -1, 1, 8]> : tensor<4xi64>} : () -> tensor<4xi64>
  %rep = onnx.Constant {value = dense<[1, 1, 2, 1, 1]> : tensor<5xi64>} : () -> tensor<5xi64>
  %rshape = onnx.Constant {value = dense<[1, 2, -1, 8]> : tensor<4xi64>} : () -> tensor<4xi64>
  %oshape = onnx.Constant {value = dense<[1, -1, 16]> : tensor<3xi64>} : () -> tensor<3xi64>

  // Positions, rotary tables and the causal mask from the sequence length.
  %s1 = onnx.Shape %ids {start = 1 : i64, end = 2 : i64} : (tensor<?x?xi64>) -> tensor<1xi64>
  %s = onnx.Squeeze %s1, %ax0 : (tensor<1xi64>, tensor<1xi64>) -> tensor<i64>
  %pos = onnx.Range %c0, %s, %c1 : (tensor<i64>, tensor<i64>, tensor<i64>) -> tensor<?xi64>
  %posf = onnx.Cast %pos {to = 1 : i64} : (tensor<?xi64>) -> tensor<?xf32>
  %posc = onnx.Unsqueeze %posf, %axl : (tensor<?xf32>, tensor<1xi64>) -> tensor<?x1xf32>
  %ang = onnx.Mul %posc, %invf : (tensor<?x1xf32>, tensor<4xf32>) -> tensor<?x4xf32>
  %emb = onnx.Concat %ang, %ang {axis = -1 : i64} : (tensor<?x4xf32>, tensor<?x4xf32>) -> tensor<?x8xf32>
  %cos = onnx.Cos %emb : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %sin = onnx.Sin %emb : (tensor<?x8xf32>) -> tensor<?x8xf32>
  %keys = onnx.Unsqueeze %pos, %ax0 : (tensor<?xi64>, tensor<1xi64>) -> tensor<1x?xi64>
  %queries = onnx.Unsqueeze %pos, %ax1 : (tensor<?xi64>, tensor<1xi64>) -> tensor<?x1xi64>
  %visible = onnx.LessOrEqual %keys, %queries : (tensor<1x?xi64>, tensor<?x1xi64>) -> tensor<?x?xi1>
  %mask = onnx.Where %visible, %zero, %ninf : (tensor<?x?xi1>, tensor<f32>, tensor<f32>) -> tensor<?x?xf32>

  // RMSNorm.
  %x = onnx.Gather %table, %ids : (tensor<10x16xf32>, tensor<?x?xi64>) -> tensor<*xf32>
  %sq = onnx.Pow %x, %two : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %ms = onnx.ReduceMean %sq, %axl {keepdims = 1 : i64} : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  %mse = onnx.Add %ms, %eps : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %rms = onnx.Sqrt %mse : (tensor<*xf32>) -> tensor<*xf32>
  %inv = onnx.Reciprocal %rms : (tensor<*xf32>) -> tensor<*xf32>
  %xn = onnx.Mul %x, %inv : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %n = onnx.Mul %norm, %xn : (tensor<16xf32>, tensor<*xf32>) -> tensor<*xf32>

  // Heads.
  %q0 = onnx.MatMul %n, %wq : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %q1 = onnx.Reshape %q0, %qshape : (tensor<*xf32>, tensor<4xi64>) -> tensor<*xf32>
  %q = onnx.Transpose %q1 {perm = [0, 2, 1, 3]} : (tensor<*xf32>) -> tensor<*xf32>
  %k0 = onnx.MatMul %n, %wk : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %k1 = onnx.Reshape %k0, %kshape : (tensor<*xf32>, tensor<4xi64>) -> tensor<*xf32>
  %k = onnx.Transpose %k1 {perm = [0, 2, 1, 3]} : (tensor<*xf32>) -> tensor<*xf32>
  %v0 = onnx.MatMul %n, %wv : (tensor<*xf32>, tensor<16x8xf32>) -> tensor<*xf32>
  %v1 = onnx.Reshape %v0, %kshape : (tensor<*xf32>, tensor<4xi64>) -> tensor<*xf32>
  %v = onnx.Transpose %v1 {perm = [0, 2, 1, 3]} : (tensor<*xf32>) -> tensor<*xf32>

  // Rotary: x cos + rotate_half(x) sin.
  %qc = onnx.Mul %q, %cos : (tensor<*xf32>, tensor<?x8xf32>) -> tensor<*xf32>
  %qlo = onnx.Slice %q, %h0, %h4, %axl, %none : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<*xf32>
  %qhi = onnx.Slice %q, %h4, %h8, %axl, %none : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<*xf32>
  %qhn = onnx.Neg %qhi : (tensor<*xf32>) -> tensor<*xf32>
  %qrh = onnx.Concat %qhn, %qlo {axis = -1 : i64} : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %qs = onnx.Mul %qrh, %sin : (tensor<*xf32>, tensor<?x8xf32>) -> tensor<*xf32>
  %qr = onnx.Add %qc, %qs : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %kc = onnx.Mul %k, %cos : (tensor<*xf32>, tensor<?x8xf32>) -> tensor<*xf32>
  %klo = onnx.Slice %k, %h0, %h4, %axl, %none : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<*xf32>
  %khi = onnx.Slice %k, %h4, %h8, %axl, %none : (tensor<*xf32>, tensor<1xi64>, tensor<1xi64>, tensor<1xi64>, none) -> tensor<*xf32>
  %khn = onnx.Neg %khi : (tensor<*xf32>) -> tensor<*xf32>
  %krh = onnx.Concat %khn, %klo {axis = -1 : i64} : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %ks = onnx.Mul %krh, %sin : (tensor<*xf32>, tensor<?x8xf32>) -> tensor<*xf32>
  %kr = onnx.Add %kc, %ks : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>

  // One key/value head for two query heads.
  %ku = onnx.Unsqueeze %kr, %ax2 : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  %ke = onnx.Expand %ku, %rep : (tensor<*xf32>, tensor<5xi64>) -> tensor<*xf32>
  %kk = onnx.Reshape %ke, %rshape : (tensor<*xf32>, tensor<4xi64>) -> tensor<*xf32>
  %vu = onnx.Unsqueeze %v, %ax2 : (tensor<*xf32>, tensor<1xi64>) -> tensor<*xf32>
  %ve = onnx.Expand %vu, %rep : (tensor<*xf32>, tensor<5xi64>) -> tensor<*xf32>
  %vv = onnx.Reshape %ve, %rshape : (tensor<*xf32>, tensor<4xi64>) -> tensor<*xf32>

  // Causal attention.
  %kt = onnx.Transpose %kk {perm = [0, 1, 3, 2]} : (tensor<*xf32>) -> tensor<*xf32>
  %sc0 = onnx.MatMul %qr, %kt : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %sc1 = onnx.Mul %sc0, %scale : (tensor<*xf32>, tensor<f32>) -> tensor<*xf32>
  %sc = onnx.Add %sc1, %mask : (tensor<*xf32>, tensor<?x?xf32>) -> tensor<*xf32>
  %p = onnx.Softmax %sc {axis = -1 : i64} : (tensor<*xf32>) -> tensor<*xf32>
  %a0 = onnx.MatMul %p, %vv : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %a1 = onnx.Transpose %a0 {perm = [0, 2, 1, 3]} : (tensor<*xf32>) -> tensor<*xf32>
  %a = onnx.Reshape %a1, %oshape : (tensor<*xf32>, tensor<3xi64>) -> tensor<*xf32>
  %o = onnx.MatMul %a, %wo : (tensor<*xf32>, tensor<16x16xf32>) -> tensor<*xf32>
  %h = onnx.Add %x, %o : (tensor<*xf32>, tensor<*xf32>) -> tensor<*xf32>
  %logits = onnx.MatMul %h, %head : (tensor<*xf32>, tensor<16x10xf32>) -> tensor<*xf32>
  return %logits : tensor<*xf32>
}
