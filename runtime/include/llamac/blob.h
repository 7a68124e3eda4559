/*===- blob.h - The weights blob format ---------------------------*- C -*-===*\
|*                                                                            *|
|* Part of llamac, under the Apache License v2.0.                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * This file defines the layout of a llamac weights blob: the file written by
 * `llamac compile --weights external`, or the payload appended to an
 * executable. Written by the compiler, read by the runtime; all integers are
 * little-endian.
 *
 *   [header][model strings][tokenizer][padding][weights region]
 *
 * The weights region starts at a multiple of LLAMAC_BLOB_ALIGN so it can be
 * memory-mapped; each parameter sits at the offset the compiler assigned it.
 * An executable with embedded weights ends with a llamac_payload_trailer
 * that locates the blob inside the file.
 */

#ifndef LLAMAC_BLOB_H
#define LLAMAC_BLOB_H

#include <stdint.h>

#define LLAMAC_BLOB_MAGIC "LLAMACWB"
#define LLAMAC_BLOB_VERSION 1
#define LLAMAC_BLOB_ALIGN 4096
#define LLAMAC_BLOB_MAX_EOS 8
#define LLAMAC_PAYLOAD_MAGIC "LLAMAC-PAYLOAD01"

typedef struct llamac_blob_header {
  char magic[8]; /* LLAMAC_BLOB_MAGIC, no NUL */
  uint32_t version;
  uint32_t header_bytes; /* sizeof(llamac_blob_header) */
  uint64_t fingerprint;  /* equals llamac_model_info[FINGERPRINT] */
  uint64_t total_bytes;  /* the whole blob */
  uint64_t weights_offset;
  uint64_t weights_bytes;
  uint64_t tokenizer_offset; /* 0 when the model has no tokenizer */
  uint64_t tokenizer_bytes;
  int32_t vocab_size;
  int32_t bos_token; /* -1: none */
  int32_t n_eos;
  int32_t eos_tokens[LLAMAC_BLOB_MAX_EOS];
  int32_t add_bos; /* whether prompts start with bos */
  uint8_t reserved[144];
} llamac_blob_header;

typedef struct llamac_payload_trailer {
  uint64_t blob_offset; /* from the start of the file, page aligned */
  uint64_t blob_bytes;
  char magic[16]; /* LLAMAC_PAYLOAD_MAGIC, no NUL */
} llamac_payload_trailer;

#ifdef __cplusplus
static_assert(sizeof(llamac_blob_header) == 256, "blob header is 256 bytes");
static_assert(sizeof(llamac_payload_trailer) == 32, "trailer is 32 bytes");
#endif

#endif /* LLAMAC_BLOB_H */
