/*===- amx_emulator.c - Runs AMX int8 code on CPUs without AMX ------------===*
 *
 * Part of llamac, under the Apache License v2.0.
 *
 *===----------------------------------------------------------------------===*
 *
 * A test tool: loaded into a process with LD_PRELOAD, it executes the Intel
 * AMX instructions llamac's `cpu-amx` code uses, so that code can be checked
 * on machines without AMX (this project's CI has none). A CPU without AMX
 * raises #UD (SIGILL) at each of them; the handler decodes the instruction,
 * performs it on a per-thread software copy of the tile registers and
 * resumes after it.
 *
 * Emulated, as the Intel SDM (vol. 2, "Intel AMX") defines them: LDTILECFG,
 * STTILECFG, TILERELEASE, TILEZERO, TILELOADD, TILELOADDT1, TILESTORED, the
 * four int8 dot products TDPBSSD/TDPBSUD/TDPBUSD/TDPBUUD and the bf16 one,
 * TDPBF16PS. Everything
 * else re-raises SIGILL as without the emulator. A shape the hardware
 * refuses with #UD (a tile used without a configuration, product shapes
 * that do not agree, rows or columns beyond palette 1's 16 x 64 bytes) is
 * reported on stderr and aborts, so the code under test cannot pass on
 * shapes real AMX would fault on.
 *
 * With LLAMAC_AMX_EMULATOR_STATS set, it prints at exit how many tile
 * products and AMX instructions it executed.
 *
 * The runtime asks for `llamac_emulated_isa` (llamac/rt.h's ISA bits) and
 * then accepts AMX code on this CPU; it skips the kernel's tile permission
 * request, which only real AMX needs.
 *
 *===----------------------------------------------------------------------===*/

#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

/* LLAMAC_ISA_AMX_INT8 | LLAMAC_ISA_AMX_BF16 of llamac/rt.h. */
const int64_t llamac_emulated_isa = 32 | 64;

struct tiles {
  int configured;
  uint8_t palette, start_row;
  uint16_t colsb[8];
  uint8_t rows[8];
  uint8_t data[8][16][64];
};

static __thread struct tiles state __attribute__((tls_model("initial-exec")));
/* Counts for LLAMAC_AMX_EMULATOR_STATS: tile products, all instructions. */
static uint64_t products, instructions;

static void fail(const uint8_t *ip, const char *what) {
  char message[160];
  int n = snprintf(message, sizeof message, "amx_emulator: #UD at %p: %s\n",
                   (const void *)ip, what);
  if (n > 0)
    (void)!write(2, message,
                 (size_t)n < sizeof message ? (size_t)n : sizeof message - 1);
  abort();
}

/* The x86 register numbers (0 rax ... 15 r15) in ucontext's gregs. */
static const int greg[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};

static void release(void) { memset(&state, 0, sizeof state); }

static void check_tile(const uint8_t *ip, unsigned t) {
  if (!state.configured || t > 7 || state.rows[t] == 0 || state.colsb[t] == 0)
    fail(ip, "tile register used without a valid configuration");
}

/* LDTILECFG: palette 0 releases the tiles; palette 1 sets each tile's rows
 * and bytes per row (at most 16 x 64) and zeroes every tile. */
static void load_config(const uint8_t *ip, const uint8_t *cfg) {
  if (cfg[0] == 0) {
    release();
    return;
  }
  if (cfg[0] != 1)
    fail(ip, "LDTILECFG with a palette other than 0 or 1");
  for (int i = 2; i < 16; ++i)
    if (cfg[i])
      fail(ip, "LDTILECFG with reserved bytes set");
  memset(&state, 0, sizeof state);
  state.palette = 1;
  state.start_row = cfg[1];
  for (int t = 0; t < 8; ++t) {
    memcpy(&state.colsb[t], cfg + 16 + 2 * t, 2);
    state.rows[t] = cfg[48 + t];
    if (state.rows[t] > 16 || state.colsb[t] > 64 ||
        (state.rows[t] == 0) != (state.colsb[t] == 0))
      fail(ip, "LDTILECFG with a tile beyond 16 rows x 64 bytes");
  }
  for (int t = 8; t < 16; ++t)
    if (cfg[16 + 2 * t] || cfg[17 + 2 * t] || cfg[48 + t])
      fail(ip, "LDTILECFG configures tiles beyond tmm7");
  state.configured = 1;
}

static void store_config(uint8_t *cfg) {
  memset(cfg, 0, 64);
  if (!state.configured)
    return;
  cfg[0] = state.palette;
  cfg[1] = state.start_row;
  for (int t = 0; t < 8; ++t) {
    memcpy(cfg + 16 + 2 * t, &state.colsb[t], 2);
    cfg[48 + t] = state.rows[t];
  }
}

/* The operands of a tile product (dst d, src1 a, src2 b): configured,
 * distinct, and of shapes that agree (dwords: 4 bytes, or 2 bf16). */
static void check_product(const uint8_t *ip, unsigned d, unsigned a,
                          unsigned b) {
  check_tile(ip, d);
  check_tile(ip, a);
  check_tile(ip, b);
  if (d == a || d == b || a == b)
    fail(ip, "a tile product with a tile register used twice");
  if (state.colsb[d] % 4 || state.colsb[a] % 4 ||
      state.rows[a] != state.rows[d] || state.rows[b] != state.colsb[a] / 4 ||
      state.colsb[b] != state.colsb[d])
    fail(ip, "a tile product with tile shapes that do not agree");
}

/* dst[m].dword[n] += sum over k, i < 4 of src1[m].byte[4k + i] x
 * src2[k].byte[4n + i], each byte sign- or zero-extended. */
static void dot_product(const uint8_t *ip, unsigned d, unsigned a, unsigned b,
                        int signed_a, int signed_b) {
  check_product(ip, d, a, b);
  unsigned m_count = state.rows[d], n_count = state.colsb[d] / 4;
  unsigned k_count = state.colsb[a] / 4;
  for (unsigned m = 0; m < m_count; ++m)
    for (unsigned n = 0; n < n_count; ++n) {
      uint32_t sum;
      memcpy(&sum, &state.data[d][m][4 * n], 4);
      for (unsigned k = 0; k < k_count; ++k)
        for (unsigned i = 0; i < 4; ++i) {
          uint8_t x = state.data[a][m][4 * k + i];
          uint8_t y = state.data[b][k][4 * n + i];
          int32_t xv = signed_a ? (int8_t)x : x;
          int32_t yv = signed_b ? (int8_t)y : y;
          sum += (uint32_t)(xv * yv);
        }
      memcpy(&state.data[d][m][4 * n], &sum, 4);
    }
}

/* A bf16 (the high half of an f32) as an f32; denormals read as zero. */
static float bf16_value(const uint8_t *p) {
  uint32_t bits = (uint32_t)(p[0] | (p[1] << 8)) << 16;
  if ((bits & 0x7F800000u) == 0)
    bits &= 0x80000000u;
  float value;
  memcpy(&value, &bits, 4);
  return value;
}

/* dst[m].fp32[n] += src1[m].bf16[2k] x src2[k].bf16[2n] + src1[m].bf16[2k
 * + 1] x src2[k].bf16[2n + 1] for each k in turn, in f32 with round to
 * nearest even (a product of two bf16 is exact in f32), denormal inputs
 * read and results written as zero (the SDM's DAZ, FTZ). */
static void dot_product_bf16(const uint8_t *ip, unsigned d, unsigned a,
                             unsigned b) {
  check_product(ip, d, a, b);
  unsigned m_count = state.rows[d], n_count = state.colsb[d] / 4;
  unsigned k_count = state.colsb[a] / 4;
  for (unsigned m = 0; m < m_count; ++m)
    for (unsigned n = 0; n < n_count; ++n) {
      float sum;
      memcpy(&sum, &state.data[d][m][4 * n], 4);
      for (unsigned k = 0; k < k_count; ++k)
        for (unsigned i = 0; i < 2; ++i) {
          sum += bf16_value(&state.data[a][m][4 * k + 2 * i]) *
                 bf16_value(&state.data[b][k][4 * n + 2 * i]);
          uint32_t bits;
          memcpy(&bits, &sum, 4);
          if ((bits & 0x7F800000u) == 0) {
            bits &= 0x80000000u;
            memcpy(&sum, &bits, 4);
          }
        }
      memcpy(&state.data[d][m][4 * n], &sum, 4);
    }
}

static void handler(int sig, siginfo_t *info, void *context) {
  (void)info;
  ucontext_t *uc = context;
  greg_t *regs = uc->uc_mcontext.gregs;
  const uint8_t *ip = (const uint8_t *)regs[REG_RIP];
  /* Every AMX instruction is a 3-byte VEX (C4) in map 0F38, W0, L0. */
  if (ip[0] != 0xC4 || (ip[1] & 0x1F) != 2 || (ip[2] & 0x84) != 0) {
    signal(sig, SIG_DFL);
    return; /* re-executed: the default action, as without the emulator */
  }
  unsigned R = !(ip[1] & 0x80), X = !(ip[1] & 0x40), B = !(ip[1] & 0x20);
  unsigned vvvv = (~ip[2] >> 3) & 15, pp = ip[2] & 3;
  uint8_t opcode = ip[3], modrm = ip[4];
  unsigned mod = modrm >> 6, reg = ((modrm >> 3) & 7) | (R << 3),
           rm = (modrm & 7) | (B << 3);
  const uint8_t *next = ip + 5;

  /* Memory operands: [base + index << scale + disp] (SIB) or [base +
   * disp]; TILELOADD/TILESTORED take the index as the row stride. */
  uintptr_t base = 0;
  uint64_t stride = 0;
  int has_sib = 0;
  if (mod != 3) {
    int no_base = 0;
    if ((modrm & 7) == 4) {
      uint8_t sib = *next++;
      has_sib = 1;
      unsigned scale = sib >> 6, index = ((sib >> 3) & 7) | (X << 3),
               sib_base = (sib & 7) | (B << 3);
      if (index != 4)
        stride = (uint64_t)regs[greg[index]] << scale;
      if (mod == 0 && (sib & 7) == 5)
        no_base = 1;
      else
        base = (uintptr_t)regs[greg[sib_base]];
    } else if (mod == 0 && (modrm & 7) == 5) {
      no_base = 2; /* RIP-relative, from the next instruction */
    } else {
      base = (uintptr_t)regs[greg[rm]];
    }
    int32_t disp = 0;
    if (mod == 1) {
      disp = (int8_t)*next++;
    } else if (mod == 2 || no_base) {
      memcpy(&disp, next, 4);
      next += 4;
    }
    if (no_base == 2)
      base = (uintptr_t)next;
    base += (intptr_t)disp;
  }

  if (opcode == 0x49 && pp == 0 && mod != 3 && reg == 0 && vvvv == 0) {
    load_config(ip, (const uint8_t *)base); /* LDTILECFG */
  } else if (opcode == 0x49 && pp == 1 && mod != 3 && reg == 0 && vvvv == 0) {
    store_config((uint8_t *)base); /* STTILECFG */
  } else if (opcode == 0x49 && pp == 0 && modrm == 0xC0 && vvvv == 0) {
    release(); /* TILERELEASE */
  } else if (opcode == 0x49 && pp == 3 && mod == 3 && (modrm & 7) == 0 &&
             vvvv == 0) {
    check_tile(ip, reg); /* TILEZERO */
    memset(state.data[reg], 0, sizeof state.data[reg]);
  } else if (opcode == 0x4B && mod != 3 && has_sib && vvvv == 0 && pp != 0) {
    check_tile(ip, reg);
    unsigned rows = state.rows[reg], colsb = state.colsb[reg];
    if (pp == 2) { /* TILESTORED */
      for (unsigned r = 0; r < rows; ++r)
        memcpy((uint8_t *)(base + r * stride), state.data[reg][r], colsb);
    } else { /* TILELOADD (F2), TILELOADDT1 (66) */
      memset(state.data[reg], 0, sizeof state.data[reg]);
      for (unsigned r = 0; r < rows; ++r)
        memcpy(state.data[reg][r], (const uint8_t *)(base + r * stride), colsb);
    }
  } else if (opcode == 0x5E && mod == 3) {
    /* TDPBSSD (F2), TDPBSUD (F3), TDPBUSD (66), TDPBUUD (NP):
     * dst = ModRM.reg, src1 = ModRM.rm, src2 = VEX.vvvv. */
    dot_product(ip, reg, rm, vvvv, pp == 3 || pp == 2, pp == 3 || pp == 1);
    __atomic_fetch_add(&products, 1, __ATOMIC_RELAXED);
  } else if (opcode == 0x5C && mod == 3 && pp == 2) {
    /* TDPBF16PS (F3): dst = ModRM.reg, src1 = ModRM.rm, src2 = VEX.vvvv. */
    dot_product_bf16(ip, reg, rm, vvvv);
    __atomic_fetch_add(&products, 1, __ATOMIC_RELAXED);
  } else {
    signal(sig, SIG_DFL);
    return;
  }
  __atomic_fetch_add(&instructions, 1, __ATOMIC_RELAXED);
  regs[REG_RIP] = (greg_t)next;
}

__attribute__((destructor)) static void report(void) {
  if (getenv("LLAMAC_AMX_EMULATOR_STATS"))
    fprintf(stderr, "amx_emulator: %llu tile products, %llu instructions\n",
            (unsigned long long)products, (unsigned long long)instructions);
}

__attribute__((constructor)) static void install(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = handler;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  sigaction(SIGILL, &action, NULL);
}
