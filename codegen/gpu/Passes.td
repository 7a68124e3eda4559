//===- Passes.td - Passes of the GPU targets ---------------*- tablegen -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the passes shared by the GPU targets (cuda-sm80,
// cuda-sm90, opencl-spirv): the lowering of `llama` ops to gpu-dialect
// kernels and a launch program, and the serialization of those kernels.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_GPU_PASSES_TD
#define LLAMAC_CODEGEN_GPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLlamaToGPU : Pass<"convert-llama-to-gpu", "mlir::ModuleOp"> {
  let summary = "Lower the llama forward pass to gpu-dialect kernels and a "
                "launch program";
  let description = [{
    Replaces `func.func @forward` by `gpu.module @llamac_kernels`, one
    `gpu.func` kernel per distinct op and shape, and the module attribute
    `llamac.gpu_program`: the launches of one forward call in order, each
    with its kernel, grid (`ceil((c0 + cT * T) / div)` workgroups in x and
    y for a call of T tokens), workgroup size and arguments. An argument is
    a buffer of the runtime (`"tokens"`, `"k_cache"`, `"v_cache"`,
    `"logits"`, `"weights"`, `"arena"`) or an integer `c0 + cT * T + cP *
    pos` (`array<i64: c0, cT, cP>`), usually an element offset into the
    buffer before it. `llamac.gpu_rope_tables` lists the rotary tables the
    runtime fills in the arena before the launches (cos then sin of
    `(pos + t) * f_i` for every token t, computed in f64).

    Kernels use only the gpu dialect's ids, workgroup attributions and
    barriers over scf/arith/math/memref, so the same body becomes NVVM for
    CUDA and SPIR-V for OpenCL. Matrix products give each weight row one
    workgroup and `token-tile` tokens; attention gives each (head, token) one
    workgroup, one thread per feature, and makes one pass over the cache with
    an online softmax.

    Before:
    ```mlir
    %y = llama.rms_norm %x, %g eps = 1.0e-05 : (tensor<?x64xf32>,
        tensor<64xf32>) -> tensor<?x64xf32>
    ```
    After:
    ```mlir
    gpu.module @llamac_kernels {
      gpu.func @rms_norm_f32_64_...(%T: index, %x: memref<?xf32>,
          %xoff: index, %g: memref<?xf32>, %goff: index,
          %y: memref<?xf32>, %yoff: index)
          workgroup(%scratch : memref<256xf32, #gpu.address_space<workgroup>>)
          kernel { ... }
    }
    // on the module:
    llamac.gpu_program = [
      {kernel = "rms_norm_f32_64_...", grid = array<i64: 0, 1, 1, 1, 0, 1>,
       block = 256, args = [array<i64: 0, 1, 0>, "arena",
                            array<i64: 0, 16, 0>, ...]
      }
    ]
    ```
  }];
  let options = [
    Option<"tokenTile", "token-tile", "int64_t", /*default=*/"4",
           "Tokens per workgroup of a matrix product (each weight row is "
           "read once per tile)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
    "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def LlamacGPUPrepare : Pass<"llamac-gpu-prepare", "mlir::ModuleOp"> {
  let summary = "Adapt the gpu-dialect kernels to the target API's lowering";
  let description = [{
    For `api=opencl`: sets the SPIR-V target environment (OpenCL kernel
    capabilities, 64-bit addressing, 8/16-bit integers) on the module and
    marks every kernel an entry point; replaces workgroup attributions by
    `memref.alloc` in memory space 3, the form the SPIR-V conversion
    legalizes. For `api=cuda` nothing changes (NVVM takes workgroup
    attributions as they are).
  }];
  let options = [
    Option<"api", "api", "std::string", /*default=*/"\"cuda\"",
           "cuda or opencl">
  ];
  let dependentDialects = [
    "::mlir::memref::MemRefDialect", "::mlir::spirv::SPIRVDialect"
  ];
}

def LlamacGPUSerialize : Pass<"llamac-gpu-serialize", "mlir::ModuleOp"> {
  let summary = "Compile the lowered kernels and write the launch program "
                "as globals for the runtime";
  let description = [{
    Takes the module after the NVVM or SPIR-V conversion of
    `gpu.module @llamac_kernels` and replaces it by LLVM globals the runtime
    reads (runtime/include/llamac/rt.h): `llamac_gpu_program` (the launch
    program, flattened), `llamac_gpu_rope_frequencies`,
    `llamac_gpu_kernel_names`, `llamac_gpu_images` and
    `llamac_gpu_image_data`.

    - `api=cuda`: the NVVM module is translated to LLVM IR, linked with the
      toolkit's libdevice, optimized, compiled to PTX by LLVM's NVPTX
      backend for each of `chips`, and assembled to a cubin by the toolkit's
      `ptxas`; the images are the cubins and the PTX of the first chip
      (which the driver JIT-compiles on newer GPUs).
    - `api=opencl`: the `spirv.module` is serialized to SPIR-V, and also
      translated by `llvm-spirv-15 -r` to LLVM 15 bitcode for OpenCL
      implementations without SPIR-V intake (Debian 12's PoCL).
  }];
  let options = [
    Option<"api", "api", "std::string", /*default=*/"\"cuda\"",
           "cuda or opencl">,
    ListOption<"chips", "chips", "int64_t",
               "CUDA SM versions to build cubins for (80, 90)">,
    Option<"toolkit", "toolkit", "std::string", /*default=*/"\"\"",
           "CUDA toolkit directory (default: $CUDA_HOME, /usr/local/cuda)">,
    Option<"spirvTranslator", "spirv-translator", "std::string",
           /*default=*/"\"llvm-spirv-15\"",
           "The SPIR-V to LLVM bitcode translator (Debian's llvm-spirv-15)">
  ];
}

#endif // LLAMAC_CODEGEN_GPU_PASSES_TD
