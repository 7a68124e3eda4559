/*===- rt.h - What generated code and the runtime share -----------*- C -*-===*\
|*                                                                            *|
|* Part of llamac, under the Apache License v2.0.                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * This file is the contract between the code llamac generates for a model
 * and the runtime linked with it: the symbols the generated object exports,
 * the runtime functions it calls, and the model description it carries. The
 * compiler's code generators produce exactly these symbols; keep both sides
 * in step when changing it (LLAMAC_RT_ABI_VERSION).
 */

#ifndef LLAMAC_RT_H
#define LLAMAC_RT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LLAMAC_RT_ABI_VERSION 3

/*===--------------------------------------------------------------------===*/
/* Called by generated code                                                 */
/*===--------------------------------------------------------------------===*/

/* A task function: processes task indices [begin, end). */
typedef void (*llamac_rt_task_fn)(void *ctx, int64_t begin, int64_t end);

/* Runs `task` over [0, n_tasks) on the threads of `runtime` (the pointer the
 * runtime passed to llamac_forward_impl) and returns when all are done.
 * Ranges are split statically by thread, so results never depend on timing. */
void llamac_rt_parallel_for(void *runtime, int64_t n_tasks,
                            llamac_rt_task_fn task, void *ctx);

/*===--------------------------------------------------------------------===*/
/* Exported by generated code                                               */
/*===--------------------------------------------------------------------===*/

/* MLIR's ranked memref descriptors, as the forward function takes them. */
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} llamac_memref1d;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} llamac_memref2d;
typedef struct {
  void *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];
} llamac_memref4d;

/* The model's forward pass over tokens->sizes[0] tokens (at most
 * info[LLAMAC_INFO_MAX_CHUNK]) at positions pos, pos+1, ...:
 *   tokens  [T] int32
 *   k_cache, v_cache [layers, kv_heads, context, head_dim], updated in place
 *   logits  [1, vocab] float, the last token's
 *   weights [weights_bytes] bytes, the weights region of the blob
 *   arena   [static + T * per_token] bytes of scratch */
void _mlir_ciface_llamac_forward(void *runtime, llamac_memref1d *tokens,
                                 int64_t pos, llamac_memref4d *k_cache,
                                 llamac_memref4d *v_cache,
                                 llamac_memref2d *logits,
                                 llamac_memref1d *weights,
                                 llamac_memref1d *arena);

/* Indices into llamac_model_info, an int64 array the generated object
 * exports. */
enum {
  LLAMAC_INFO_ABI_VERSION = 0,
  LLAMAC_INFO_FINGERPRINT = 1, /* must equal the weights blob's */
  LLAMAC_INFO_VOCAB = 2,
  LLAMAC_INFO_LAYERS = 3,
  LLAMAC_INFO_KV_HEADS = 4,
  LLAMAC_INFO_CONTEXT = 5,
  LLAMAC_INFO_K_HEAD_DIM = 6,
  LLAMAC_INFO_V_HEAD_DIM = 7,
  LLAMAC_INFO_MAX_CHUNK = 8, /* most tokens per forward call */
  LLAMAC_INFO_ARENA_STATIC = 9,
  LLAMAC_INFO_ARENA_PER_TOKEN = 10,
  LLAMAC_INFO_CACHE_ELEMENT_BYTES = 11,
  LLAMAC_INFO_WEIGHTS_BYTES = 12,
  LLAMAC_INFO_REQUIRED_ISA = 13, /* LLAMAC_ISA_* bits the code needs */
  LLAMAC_INFO_VECTOR_BYTES = 14, /* SVE length the code assumes; 0: any */
  LLAMAC_INFO_DEVICE = 15,       /* LLAMAC_DEVICE_*: where the code runs */
  LLAMAC_INFO_COUNT = 16,
};

/* Where the compiled forward pass runs. */
enum {
  LLAMAC_DEVICE_CPU = 0,    /* _mlir_ciface_llamac_forward */
  LLAMAC_DEVICE_CUDA = 1,   /* the GPU program below, CUDA driver API */
  LLAMAC_DEVICE_OPENCL = 2, /* the GPU program below, OpenCL */
};

/* Instruction set extensions generated code may need; llamac_open checks
 * the machine has them (instead of an illegal instruction, or wrong results
 * from vector-length-specific SVE code on another vector length). */
enum {
  LLAMAC_ISA_AVX2 = 1,
  LLAMAC_ISA_AVX512 = 2,
  LLAMAC_ISA_AVX512_VNNI = 4,
  LLAMAC_ISA_SVE = 8,
  LLAMAC_ISA_RVV = 16,
  LLAMAC_ISA_AMX_INT8 = 32, /* AMX-TILE + AMX-INT8, and the kernel's leave */
  LLAMAC_ISA_AMX_BF16 = 64, /* AMX-TILE + AMX-BF16, and the kernel's leave */
  LLAMAC_ISA_AVX512_BF16 = 128,
};
extern const int64_t llamac_model_info[LLAMAC_INFO_COUNT];

/*===--------------------------------------------------------------------===*/
/* GPU targets                                                              */
/*===--------------------------------------------------------------------===*/

/* A GPU model exports no forward function but a launch program that the
 * runtime (libllamac_gpu.a) replays on every call, with the kernels'
 * images:
 *
 *   llamac_gpu_program, int64:
 *     [0] LLAMAC_GPU_PROGRAM_VERSION, [1] kernels, [2] launches,
 *     [3] rotary tables, [4] the index of the argmax launch (or -1): the
 *     last launch, run only for a greedy token (it writes the lowest id of
 *     the largest logit to the `sampled` buffer), then each launch:
 *       kernel index, grid x (c0, cT, div), grid y (c0, cT, div),
 *       workgroup size, argument count n, then n x (kind, c0, cT, cP)
 *     and each rotary table: element offset in the arena (c0, cT), number
 *     of frequencies n, index of the first in llamac_gpu_rope_frequencies.
 *     A grid dimension is ceil((c0 + cT * T) / div) for a call of T tokens;
 *     an argument of kind LLAMAC_GPU_ARG_INT is the integer
 *     c0 + cT * T + cP * pos, any other kind is that buffer (whole).
 *     A rotary table holds, for each token t, cos((pos + t) * f_i) for
 *     every i, then the sines, as f32 (computed in f64).
 *   llamac_gpu_rope_frequencies, double
 *   llamac_gpu_kernel_names: the kernels' names, each NUL-terminated
 *   llamac_gpu_images, int64: [0] count, then each: kind
 *     (LLAMAC_GPU_IMAGE_*), arch (CUDA SM version, e.g. 90), byte offset
 *     and size in llamac_gpu_image_data.
 *
 * Buffers: the caches are [layers, kv_heads, context, head_dim] f32 on the
 * device, the arena is sized as for the CPU, the logits are [vocab] f32. */
#define LLAMAC_GPU_PROGRAM_VERSION 2
enum {
  LLAMAC_GPU_ARG_INT = -1,
  LLAMAC_GPU_BUF_TOKENS = 0,
  LLAMAC_GPU_BUF_K_CACHE = 1,
  LLAMAC_GPU_BUF_V_CACHE = 2,
  LLAMAC_GPU_BUF_LOGITS = 3,
  LLAMAC_GPU_BUF_WEIGHTS = 4,
  LLAMAC_GPU_BUF_ARENA = 5,
  LLAMAC_GPU_BUF_SAMPLED = 6, /* int32[1] */
  LLAMAC_GPU_BUF_COUNT = 7,
};
enum {
  LLAMAC_GPU_IMAGE_CUBIN = 1,
  LLAMAC_GPU_IMAGE_PTX = 2,
  LLAMAC_GPU_IMAGE_SPIRV = 3,
  LLAMAC_GPU_IMAGE_LLVM_BC = 4, /* LLVM 15 bitcode from SPIR-V, for PoCL */
};

#ifdef __cplusplus
}
#endif

#endif /* LLAMAC_RT_H */
