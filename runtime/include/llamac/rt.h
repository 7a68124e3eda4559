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

#define LLAMAC_RT_ABI_VERSION 2

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
  LLAMAC_INFO_COUNT = 15,
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
};
extern const int64_t llamac_model_info[LLAMAC_INFO_COUNT];

#ifdef __cplusplus
}
#endif

#endif /* LLAMAC_RT_H */
