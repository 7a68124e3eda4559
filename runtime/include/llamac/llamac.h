/*===- llamac.h - The C interface of a compiled llamac model ------*- C -*-===*\
|*                                                                            *|
|* Part of llamac, under the Apache License v2.0.                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * This file is the C interface of every model llamac compiles, whether it is
 * linked into an executable or shipped as a static library.
 *
 * Ownership: objects returned by a `*_open` or `*_create` function belong to
 * the caller, who releases them with the matching `*_close` or `*_destroy`.
 * Pointers passed in are borrowed for the duration of the call. Functions that
 * can fail return 0 on success and a LLAMAC_ERR_* code otherwise; the message
 * of the last failure is available from llamac_last_error(). No function
 * exits, aborts or throws.
 */

#ifndef LLAMAC_LLAMAC_H
#define LLAMAC_LLAMAC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  LLAMAC_OK = 0,
  LLAMAC_ERR_INVALID_ARGUMENT = 1, /* a bad argument or option */
  LLAMAC_ERR_IO = 2,               /* a file could not be opened or read */
  LLAMAC_ERR_FORMAT = 3,           /* a weights file is malformed */
  LLAMAC_ERR_MISMATCH = 4,         /* weights compiled for a different model */
  LLAMAC_ERR_OUT_OF_MEMORY = 5,
  LLAMAC_ERR_CONTEXT_FULL = 6, /* position + tokens exceeds the context */
  LLAMAC_ERR_UNSUPPORTED = 7,
  LLAMAC_ERR_DEVICE = 8, /* the GPU (CUDA, OpenCL) reported an error */
};

typedef struct llamac_model llamac_model;

typedef struct llamac_options {
  /* Worker threads including the caller's; 0 picks the number of online
   * cores. */
  int32_t n_threads;
  /* Usable context in tokens; 0 uses the compiled maximum. Must not exceed
   * it. */
  int32_t n_ctx;
} llamac_options;

/* Fills *out_options with the defaults. */
void llamac_options_init(llamac_options *out_options);

/* Opens the model. `weights_path` names a weights file written by
 * `llamac compile --weights external`; NULL uses the weights embedded in the
 * running executable. `options` may be NULL for the defaults. On failure
 * returns NULL and writes a message naming the problem into `err` (at most
 * `errlen` bytes, NUL-terminated) when `err` is not NULL. */
llamac_model *llamac_open(const char *weights_path,
                          const llamac_options *options, char *err,
                          size_t errlen);

/* Runs the model on `n_tokens` tokens at positions pos, pos+1, ... and writes
 * the logits of the last one into `logits` ([vocab_size] floats). Earlier
 * positions must have been filled by earlier calls (or pos is 0). */
int llamac_forward(llamac_model *model, const int32_t *tokens, int32_t n_tokens,
                   int32_t pos, float *logits);

/* Forgets every position: the next call starts at pos 0 again. */
/* llamac_forward for greedy decoding: the last token's most likely next
 * token (the lowest id among equal logits, as the greedy sampler picks)
 * into *out_token, and its logits into `logits` unless that is NULL. On a
 * GPU the choice is made on the device and, without `logits`, only the
 * token is copied back. */
int llamac_forward_greedy(llamac_model *model, const int32_t *tokens,
                          int32_t n_tokens, int32_t pos, float *logits,
                          int32_t *out_token);

void llamac_reset(llamac_model *model);

/* Releases the model; NULL is allowed. */
void llamac_close(llamac_model *model);

/* The message of the model's last failure ("" when none). */
const char *llamac_last_error(const llamac_model *model);

int32_t llamac_vocab_size(const llamac_model *model);
/* The usable context: n_ctx of the options, or the compiled maximum. */
int32_t llamac_context_length(const llamac_model *model);
int32_t llamac_n_threads(const llamac_model *model);
/* Beginning-of-sequence token, or -1 when the model has none. */
int32_t llamac_bos_token(const llamac_model *model);
/* Whether `token` ends generation (the model's end-of-sequence tokens). */
int llamac_is_eos_token(const llamac_model *model, int32_t token);

/*===--------------------------------------------------------------------===*/
/* Text                                                                     */
/*===--------------------------------------------------------------------===*/

/* Whether the model carries a tokenizer (the functions below need one). */
int llamac_has_tokenizer(const llamac_model *model);

/* Tokenizes `length` bytes of UTF-8 `text`. `add_special`: the beginning
 * (and end) of sequence tokens the model adds; `parse_special`: special-token
 * strings in the text become their tokens. Writes at most `capacity` ids to
 * `out_tokens` and the full count to *out_count (call again with a larger
 * buffer when it exceeds `capacity`). Returns LLAMAC_ERR_UNSUPPORTED when the
 * model has no tokenizer. */
int llamac_tokenize(const llamac_model *model, const char *text, size_t length,
                    int add_special, int parse_special, int32_t *out_tokens,
                    int32_t capacity, int32_t *out_count);

/* The bytes of one token's text (control tokens such as end-of-turn markers
 * give none). A token can end inside a UTF-8 sequence that the next token
 * completes. Writes at most `capacity` bytes and returns the full length. */
int32_t llamac_token_to_piece(const llamac_model *model, int32_t token,
                              char *out, int32_t capacity);

/*===--------------------------------------------------------------------===*/
/* Sampling                                                                 */
/*===--------------------------------------------------------------------===*/

typedef struct llamac_sampler llamac_sampler;

typedef struct llamac_sampler_options {
  float temperature; /* 0: greedy (argmax, lowest id on ties) */
  int32_t top_k;     /* 0: no top-k cut */
  float top_p;       /* 1: no nucleus cut */
  uint64_t seed;
} llamac_sampler_options;

void llamac_sampler_options_init(llamac_sampler_options *out_options);

/* Returns NULL when the options are invalid (negative temperature or top-k,
 * top-p outside (0, 1], vocab_size < 1). */
llamac_sampler *llamac_sampler_create(const llamac_sampler_options *options,
                                      int32_t vocab_size);
/* Picks the next token from `logits` ([vocab_size] floats). */
int32_t llamac_sampler_sample(llamac_sampler *sampler, const float *logits);
void llamac_sampler_destroy(llamac_sampler *sampler);

#ifdef __cplusplus
}
#endif

#endif /* LLAMAC_LLAMAC_H */
