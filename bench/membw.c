/*===- membw.c - Memory read bandwidth, as decode sees it -----------------===*\
|*                                                                            *|
|* Part of llamac, under the Apache License v2.0.                             *|
|*                                                                            *|
\*===----------------------------------------------------------------------===*/
/*
 * Reads a buffer much larger than the last-level cache with N threads, each
 * streaming its own contiguous share (as a matrix-vector product streams its
 * rows), and prints the best of several passes in GB/s:
 *
 *   membw THREADS [MIB]
 *
 * Built and run by bench/run.py to draw the decode roofline.
 */
#define _GNU_SOURCE
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
  const uint64_t *data;
  size_t words;
  uint64_t sum;
} share;

/* Vector loads, four independent accumulators, 128 bytes per step: the
 * loads, not the arithmetic, must be the limit (scalar loads measured 10-40%
 * below what AVX-512 kernels reach on the same machine). */
static void *reader(void *arg) {
  share *s = (share *)arg;
#if defined(__AVX2__)
  __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
  const __m256i *v = (const __m256i *)s->data;
  size_t steps = s->words / 16;
  for (size_t i = 0; i < steps; ++i) {
    a = _mm256_xor_si256(a, _mm256_load_si256(v + 4 * i));
    b = _mm256_xor_si256(b, _mm256_load_si256(v + 4 * i + 1));
    c = _mm256_xor_si256(c, _mm256_load_si256(v + 4 * i + 2));
    d = _mm256_xor_si256(d, _mm256_load_si256(v + 4 * i + 3));
  }
  __m256i all =
      _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
  uint64_t lanes[4];
  _mm256_storeu_si256((__m256i *)lanes, all);
  s->sum = lanes[0] ^ lanes[1] ^ lanes[2] ^ lanes[3];
#else
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 8 <= s->words; i += 8) {
    a += s->data[i] ^ s->data[i + 4];
    b += s->data[i + 1] ^ s->data[i + 5];
    c += s->data[i + 2] ^ s->data[i + 6];
    d += s->data[i + 3] ^ s->data[i + 7];
  }
  s->sum = a + b + c + d;
#endif
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  size_t mib = argc > 2 ? (size_t)atol(argv[2]) : 1024;
  if (threads < 1 || threads > 256 || mib < 64) {
    fprintf(stderr, "usage: membw THREADS [MIB >= 64]\n");
    return 2;
  }
  size_t bytes = mib << 20, words = bytes / 8;
  uint64_t *data = aligned_alloc(4096, bytes);
  if (!data) {
    fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
    return 1;
  }
  for (size_t i = 0; i < words; ++i)
    data[i] = i * 2654435761u;
  double best = 0;
  uint64_t check = 0;
  for (int pass = 0; pass < 5; ++pass) {
    pthread_t ids[256];
    share shares[256];
    double start = now();
    for (int t = 0; t < threads; ++t) {
      size_t begin = words * t / threads, end = words * (t + 1) / threads;
      shares[t] = (share){data + begin, end - begin, 0};
      pthread_create(&ids[t], NULL, reader, &shares[t]);
    }
    for (int t = 0; t < threads; ++t) {
      pthread_join(ids[t], NULL);
      check += shares[t].sum;
    }
    double gbs = bytes / (now() - start) / 1e9;
    if (gbs > best)
      best = gbs;
  }
  printf("%.2f\n", best);
  fprintf(stderr, "(checksum %llu)\n", (unsigned long long)check);
  free(data);
  return 0;
}
