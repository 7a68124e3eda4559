/*===- amx_check.c - The AMX emulator against its definition --------------===*
 *
 * Part of llamac, under the Apache License v2.0.
 *
 *===----------------------------------------------------------------------===*
 *
 * Runs the AMX int8 and bf16 dot products through the compiler's intrinsics
 * (clang -mamx-tile -mamx-int8 -mamx-bf16) on tiles read from stdin and writes
 * the results to stdout, for test_amx.py to compare with numpy. Under the
 * emulator (LD_PRELOAD) this checks the emulator's decoding and arithmetic
 * against the instructions' definition, independently of llamac's code
 * generator.
 *
 * stdin: A (16 x 64 bytes), B (16 x 64 bytes), C (16 x 16 int32), then
 * rows M, bytes per row of A K4 (a multiple of 4), dwords per row of C N,
 * each an int32. stdout: for TDPBSSD, TDPBSUD, TDPBUSD, TDPBUUD in turn, C
 * + A x B with A = M x K4 bytes, B = K4/4 x 4N bytes (16 x 16 int32 each,
 * unused cells zero), after a round trip of C through TILESTORED and
 * TILELOADD with a row stride of 64 bytes.
 *
 * `amx-check bf16`: the same input with C as 16 x 16 f32; stdout: C + A x B
 * by TDPBF16PS, A = M x K4/2 bf16, B = K4/4 x 2N bf16 (pairs of the
 * reduction dimension), 16 x 16 f32.
 *
 *===----------------------------------------------------------------------===*/

#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

struct config {
  uint8_t palette, start_row, reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
};

int main(int argc, char **argv) {
  int bf16 = argc > 1 && strcmp(argv[1], "bf16") == 0;
  static uint8_t a[16][64], b[16][64];
  static int32_t c[16][16], out[16][16];
  int32_t shape[3];
  if (fread(a, 1, sizeof a, stdin) != sizeof a ||
      fread(b, 1, sizeof b, stdin) != sizeof b ||
      fread(c, 1, sizeof c, stdin) != sizeof c ||
      fread(shape, 4, 3, stdin) != 3)
    return 2;
  int m = shape[0], k4 = shape[1], n = shape[2];
  struct config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  cfg.rows[0] = m; /* tmm0: C, M x 4N bytes */
  cfg.colsb[0] = 4 * n;
  cfg.rows[1] = m; /* tmm1: A, M x K4 bytes */
  cfg.colsb[1] = k4;
  cfg.rows[2] = k4 / 4; /* tmm2: B, K4/4 x 4N bytes */
  cfg.colsb[2] = 4 * n;
  _tile_loadconfig(&cfg);
  for (int variant = bf16 ? 4 : 0; variant < (bf16 ? 5 : 4); ++variant) {
    _tile_loadd(0, c, 64);
    _tile_loadd(1, a, 64);
    _tile_loadd(2, b, 64);
    switch (variant) {
    case 0:
      _tile_dpbssd(0, 1, 2);
      break;
    case 1:
      _tile_dpbsud(0, 1, 2);
      break;
    case 2:
      _tile_dpbusd(0, 1, 2);
      break;
    case 4:
      _tile_dpbf16ps(0, 1, 2);
      break;
    default:
      _tile_dpbuud(0, 1, 2);
      break;
    }
    memset(out, 0, sizeof out);
    _tile_stored(0, out, 64);
    fwrite(out, 1, sizeof out, stdout);
  }
  _tile_release();
  return 0;
}
