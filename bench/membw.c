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

static void *reader(void *arg) {
  share *s = (share *)arg;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 8 <= s->words; i += 8) {
    a += s->data[i] ^ s->data[i + 4];
    b += s->data[i + 1] ^ s->data[i + 5];
    c += s->data[i + 2] ^ s->data[i + 6];
    d += s->data[i + 3] ^ s->data[i + 7];
  }
  s->sum = a + b + c + d;
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
