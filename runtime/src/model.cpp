//===- model.cpp - Opening and running a compiled model -------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the model half of llamac.h: it maps the weights blob
// (embedded at the end of the executable, or an external file), checks it
// against the code it was compiled with, allocates the key/value caches and
// the activation arena, and runs the generated forward pass in chunks.
//
//===----------------------------------------------------------------------===//

#include "gpu/executor.h"
#include "llamac/blob.h"
#include "llamac/llamac.h"
#include "llamac/rt.h"
#include "sampler.h"
#include "thread_pool.h"
#include "tokenizer.h"

#include <algorithm>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <memory>
#include <new>
#include <string>
#include <sys/mman.h>
#if defined(__aarch64__) || defined(__riscv)
#include <sys/auxv.h>
#include <sys/prctl.h>
#endif
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <vector>

using llamac::runtime::ThreadPool;
namespace gpu = llamac::runtime::gpu;

// Executables for a GPU target carry a launch program instead of this
// function (and link the GPU executor, see gpu/executor.h).
#pragma weak _mlir_ciface_llamac_forward

namespace {

/// A read-only memory mapping of part of a file.
struct Mapping {
  void *base = nullptr; // page-aligned start of the mapping
  size_t length = 0;
  const uint8_t *data = nullptr; // the requested range inside it
  uint64_t size = 0;

  ~Mapping() {
    if (base)
      munmap(base, length);
  }
};

/// Anonymous zero-filled memory, 64-byte aligned (page aligned in fact).
struct Buffer {
  void *data = nullptr;
  size_t size = 0;

  bool allocate(size_t bytes) {
    size = bytes ? bytes : 1;
    data = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED) {
      data = nullptr;
      return false;
    }
    return true;
  }
  ~Buffer() {
    if (data)
      munmap(data, size);
  }
};

std::string format(const char *fmt, ...) {
  char buffer[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  return buffer;
}

/// Maps bytes [offset, offset + size) of `fd`. Returns an error or "".
std::string map_range(int fd, uint64_t offset, uint64_t size,
                      Mapping *out_mapping) {
  long page = sysconf(_SC_PAGESIZE);
  uint64_t aligned = offset - offset % static_cast<uint64_t>(page);
  uint64_t delta = offset - aligned;
  size_t length = static_cast<size_t>(size + delta);
  // MAP_POPULATE: read the pages in now, not one fault at a time in the
  // middle of the first prompt (llama.cpp's loader does the same).
  void *base = mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd,
                    static_cast<off_t>(aligned));
  if (base == MAP_FAILED)
    return format("cannot map %llu bytes: %s",
                  static_cast<unsigned long long>(size), strerror(errno));
  out_mapping->base = base;
  out_mapping->length = length;
  out_mapping->data = static_cast<const uint8_t *>(base) + delta;
  out_mapping->size = size;
  return "";
}

int online_cores() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

} // namespace

struct llamac_model {
  std::string error;
  Mapping blob;
  const llamac_blob_header *header = nullptr;
  const uint8_t *weights = nullptr;
  std::unique_ptr<ThreadPool> pool;
  Buffer k_cache, v_cache, arena;
  int32_t n_ctx = 0;
  int64_t max_chunk = 0;
  std::unique_ptr<llamac::runtime::Tokenizer> tokenizer;
  gpu::Executor *gpu = nullptr;     // GPU targets: runs the forward pass
  std::vector<float> greedy_logits; // llamac_forward_greedy without logits

  ~llamac_model() {
    if (gpu)
      gpu::closeExecutor(gpu);
  }
};

namespace {

int64_t info(int index) { return llamac_model_info[index]; }

/// Opens the blob: an external file, or the payload appended to the
/// executable (or, failing that, <executable>.weights). Sets *out_name to
/// what was opened, for messages. Returns an error message or "".
std::string open_blob(const char *weights_path, Mapping *out_blob,
                      std::string *out_name) {
  *out_name = weights_path ? weights_path : "the embedded weights";
  const char *path = weights_path ? weights_path : "/proc/self/exe";
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return format("cannot open weights '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return format("cannot stat '%s': %s", path, strerror(errno));
  }
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  uint64_t offset = 0, size = file_size;
  if (!weights_path) {
    llamac_payload_trailer trailer;
    if (file_size < sizeof trailer ||
        pread(fd, &trailer, sizeof trailer,
              static_cast<off_t>(file_size - sizeof trailer)) !=
            static_cast<ssize_t>(sizeof trailer) ||
        memcmp(trailer.magic, LLAMAC_PAYLOAD_MAGIC, 16) != 0) {
      close(fd);
      // Compiled with --weights external: the weights sit beside the
      // executable as <executable>.weights.
      char self[4096];
      ssize_t n = readlink("/proc/self/exe", self, sizeof self - 9);
      if (n <= 0)
        return "this executable has no embedded weights: pass --weights FILE";
      memcpy(self + n, ".weights", 9);
      if (access(self, R_OK) != 0)
        return format("this executable has no embedded weights and '%s' "
                      "does not exist: pass --weights FILE",
                      self);
      return open_blob(self, out_blob, out_name);
    }
    if (trailer.blob_offset > file_size ||
        trailer.blob_bytes > file_size - trailer.blob_offset) {
      close(fd);
      return "the embedded weights trailer points outside the executable";
    }
    offset = trailer.blob_offset;
    size = trailer.blob_bytes;
  }
  if (size < sizeof(llamac_blob_header)) {
    close(fd);
    return format("weights '%s' are truncated (%llu bytes)", path,
                  static_cast<unsigned long long>(size));
  }
  std::string error = map_range(fd, offset, size, out_blob);
  close(fd);
  if (!error.empty())
    return format("weights '%s': %s", path, error.c_str());
  return "";
}

/// Checks the blob header against itself and against the generated code.
std::string check_blob(const Mapping &blob, const char *name) {
  const auto *h = reinterpret_cast<const llamac_blob_header *>(blob.data);
  if (memcmp(h->magic, LLAMAC_BLOB_MAGIC, 8) != 0)
    return format("'%s' is not a llamac weights file (bad magic)", name);
  if (h->version != LLAMAC_BLOB_VERSION)
    return format("'%s' has weights format version %u, this runtime reads %d",
                  name, h->version, LLAMAC_BLOB_VERSION);
  if (h->header_bytes != sizeof(llamac_blob_header) ||
      h->total_bytes != blob.size || h->weights_offset > blob.size ||
      h->weights_bytes > blob.size - h->weights_offset ||
      h->tokenizer_offset > blob.size ||
      h->tokenizer_bytes > blob.size - h->tokenizer_offset || h->n_eos < 0 ||
      h->n_eos > LLAMAC_BLOB_MAX_EOS)
    return format("'%s' is malformed or truncated (header sizes do not fit "
                  "its %llu bytes)",
                  name, static_cast<unsigned long long>(blob.size));
  if (h->fingerprint != static_cast<uint64_t>(info(LLAMAC_INFO_FINGERPRINT)))
    return format(
        "'%s' holds the weights of a different model than this "
        "code was compiled for (fingerprint %016llx, expected "
        "%016llx)",
        name, static_cast<unsigned long long>(h->fingerprint),
        static_cast<unsigned long long>(info(LLAMAC_INFO_FINGERPRINT)));
  if (h->weights_bytes <
          static_cast<uint64_t>(info(LLAMAC_INFO_WEIGHTS_BYTES)) ||
      h->vocab_size != info(LLAMAC_INFO_VOCAB))
    return format("'%s' does not match the compiled model's weights layout",
                  name);
  return "";
}

} // namespace

namespace {

/// LLAMAC_ISA_* bits an instruction emulator loaded into the process
/// provides: it defines `int64_t llamac_emulated_isa` (the test suite's AMX
/// emulator, test/amx/, does, to run AMX code on CPUs without AMX). 0
/// without one.
int64_t emulated_isa() {
#if defined(__x86_64__)
  const void *symbol = dlsym(RTLD_DEFAULT, "llamac_emulated_isa");
  return symbol ? *static_cast<const int64_t *>(symbol) : 0;
#else
  return 0;
#endif
}

/// What the machine lacks of what the code was compiled for, or "".
std::string missing_isa(int64_t isa, int64_t vector_bytes) {
  isa &= ~emulated_isa();
  std::string missing;
  auto need = [&](bool have, const char *name) {
    if (!have)
      missing += std::string(missing.empty() ? "" : ", ") + name;
  };
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (isa & LLAMAC_ISA_AVX2)
    need(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"),
         "AVX2 and FMA");
  if (isa & LLAMAC_ISA_AVX512)
    need(__builtin_cpu_supports("avx512f") &&
             __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("avx512vl"),
         "AVX-512 (F, BW, DQ, VL)");
  if (isa & LLAMAC_ISA_AVX512_VNNI)
    need(__builtin_cpu_supports("avx512vnni"), "AVX-512 VNNI");
  if (isa & LLAMAC_ISA_AVX512_BF16)
    need(__builtin_cpu_supports("avx512bf16"), "AVX-512 BF16");
#if defined(__x86_64__)
  if (isa & (LLAMAC_ISA_AMX_INT8 | LLAMAC_ISA_AMX_BF16)) {
    // CPUID.(7,0):EDX bit 24 AMX-TILE, bit 25 AMX-INT8, bit 22 AMX-BF16.
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    bool cpuid = __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx);
    auto bit = [&](int n) { return cpuid && ((edx >> n) & 1); };
    bool amx = true;
    if (isa & LLAMAC_ISA_AMX_INT8) {
      need(bit(24) && bit(25), "AMX-TILE and AMX-INT8");
      amx = amx && bit(24) && bit(25);
    }
    if (isa & LLAMAC_ISA_AMX_BF16) {
      need(bit(24) && bit(22), "AMX-TILE and AMX-BF16");
      amx = amx && bit(24) && bit(22);
    }
    // Linux (5.16 and later) hands a process the tile registers' state
    // only when asked: ARCH_REQ_XCOMP_PERM for XFEATURE_XTILEDATA.
    if (amx && syscall(SYS_arch_prctl, 0x1023, 18) != 0)
      return format("this executable uses AMX tiles and the kernel refused "
                    "them (arch_prctl ARCH_REQ_XCOMP_PERM: %s; Linux 5.16 "
                    "or later is needed), compile it with --target "
                    "cpu-avx512-vnni",
                    strerror(errno));
  }
#endif
#elif defined(__aarch64__)
  if (isa & LLAMAC_ISA_SVE) {
    bool sve = (getauxval(AT_HWCAP) & (1ul << 22)) != 0; // HWCAP_SVE
    need(sve, "SVE");
    if (sve && vector_bytes) {
      long vl = prctl(51 /* PR_SVE_GET_VL */) & 0xffff;
      if (vl != vector_bytes)
        return format("this executable was compiled for %lld-bit SVE "
                      "vectors; this CPU's are %ld-bit (compile for it "
                      "with another --target)",
                      static_cast<long long>(vector_bytes * 8), vl * 8);
    }
  }
#elif defined(__riscv)
  if (isa & LLAMAC_ISA_RVV)
    need((getauxval(AT_HWCAP) & (1ul << ('V' - 'A'))) != 0,
         "the V vector extension");
#endif
  (void)vector_bytes;
  if (missing.empty() && (isa & ~int64_t(255)))
    missing = "instruction set extensions this runtime does not know";
  if (missing.empty())
    return "";
  return "this executable needs " + missing +
         ", which this CPU does not have (compile it for this machine "
         "with --target; `llamac targets` lists them)";
}

} // namespace

extern "C" {

void llamac_options_init(llamac_options *out_options) {
  out_options->n_threads = 0;
  out_options->n_ctx = 0;
}

llamac_model *llamac_open(const char *weights_path,
                          const llamac_options *options, char *err,
                          size_t errlen) {
  auto fail = [&](const std::string &message) -> llamac_model * {
    if (err && errlen) {
      snprintf(err, errlen, "%s", message.c_str());
    }
    return nullptr;
  };
  llamac_options defaults;
  llamac_options_init(&defaults);
  if (!options)
    options = &defaults;
  if (info(LLAMAC_INFO_ABI_VERSION) != LLAMAC_RT_ABI_VERSION)
    return fail("the compiled model was generated for a different runtime "
                "version");
  std::string isa = missing_isa(info(LLAMAC_INFO_REQUIRED_ISA),
                                info(LLAMAC_INFO_VECTOR_BYTES));
  if (!isa.empty())
    return fail(isa);
  int64_t compiled_ctx = info(LLAMAC_INFO_CONTEXT);
  if (options->n_threads < 0)
    return fail(format("invalid thread count %d", options->n_threads));
  if (options->n_ctx < 0 || options->n_ctx > compiled_ctx)
    return fail(format("context %d is outside [1, %lld], the context the "
                       "model was compiled for",
                       options->n_ctx, static_cast<long long>(compiled_ctx)));

  std::unique_ptr<llamac_model> model(new (std::nothrow) llamac_model());
  if (!model)
    return fail("out of memory");
  std::string name;
  std::string error = open_blob(weights_path, &model->blob, &name);
  if (error.empty())
    error = check_blob(model->blob, name.c_str());
  if (!error.empty())
    return fail(error);
  model->header =
      reinterpret_cast<const llamac_blob_header *>(model->blob.data);
  model->weights = model->blob.data + model->header->weights_offset;

  model->n_ctx =
      options->n_ctx ? options->n_ctx : static_cast<int32_t>(compiled_ctx);
  model->max_chunk = info(LLAMAC_INFO_MAX_CHUNK);
  if (info(LLAMAC_INFO_DEVICE) != LLAMAC_DEVICE_CPU) {
    if (!gpu::openExecutor)
      return fail("the compiled model runs on a GPU but this executable was "
                  "linked without llamac's GPU runtime");
    model->gpu =
        gpu::openExecutor(model->weights, model->header->weights_bytes, &error);
    if (!model->gpu)
      return fail(error);
  } else if (!_mlir_ciface_llamac_forward) {
    return fail("the compiled model has no forward function");
  }
  // A GPU model keeps its caches and arena on the device.
  bool host_buffers = model->gpu == nullptr;
  size_t cache_elements = static_cast<size_t>(info(LLAMAC_INFO_LAYERS)) *
                          info(LLAMAC_INFO_KV_HEADS) * compiled_ctx;
  size_t element = static_cast<size_t>(info(LLAMAC_INFO_CACHE_ELEMENT_BYTES));
  size_t arena =
      static_cast<size_t>(info(LLAMAC_INFO_ARENA_STATIC)) +
      static_cast<size_t>(model->max_chunk) * info(LLAMAC_INFO_ARENA_PER_TOKEN);
  if (host_buffers &&
      (!model->k_cache.allocate(cache_elements * info(LLAMAC_INFO_K_HEAD_DIM) *
                                element) ||
       !model->v_cache.allocate(cache_elements * info(LLAMAC_INFO_V_HEAD_DIM) *
                                element) ||
       !model->arena.allocate(arena)))
    return fail("out of memory allocating the key/value cache and arena");

  if (model->header->tokenizer_bytes) {
    model->tokenizer.reset(new (std::nothrow) llamac::runtime::Tokenizer());
    if (!model->tokenizer)
      return fail("out of memory");
    std::string problem = model->tokenizer->load(
        model->blob.data + model->header->tokenizer_offset,
        model->header->tokenizer_bytes);
    if (!problem.empty())
      return fail(format("%s: %s", name.c_str(), problem.c_str()));
  }

  int threads = options->n_threads ? options->n_threads : online_cores();
  model->pool.reset(new (std::nothrow) ThreadPool(threads));
  if (!model->pool)
    return fail("out of memory");
  return model.release();
}

} // extern "C"

namespace {
/// llamac_forward's argument checks; LLAMAC_OK or the error to return.
int forward_checks(llamac_model *model, const int32_t *tokens, int32_t n_tokens,
                   int32_t pos, bool have_logits) {
  model->error.clear();
  if (!tokens || !have_logits || n_tokens < 1 || pos < 0) {
    model->error = "llamac_forward: needs tokens, logits, n_tokens >= 1 and "
                   "pos >= 0";
    return LLAMAC_ERR_INVALID_ARGUMENT;
  }
  if (static_cast<int64_t>(pos) + n_tokens > model->n_ctx) {
    model->error = format("%d tokens at position %d exceed the context of %d "
                          "tokens",
                          n_tokens, pos, model->n_ctx);
    return LLAMAC_ERR_CONTEXT_FULL;
  }
  int32_t vocab = model->header->vocab_size;
  for (int32_t i = 0; i < n_tokens; ++i)
    if (tokens[i] < 0 || tokens[i] >= vocab) {
      model->error = format("token id %d is outside the vocabulary [0, %d)",
                            tokens[i], vocab);
      return LLAMAC_ERR_INVALID_ARGUMENT;
    }
  return LLAMAC_OK;
}

/// A GPU model's forward call in chunks; the last chunk's logits and greedy
/// token where asked for.
int gpu_forward(llamac_model *model, const int32_t *tokens, int32_t n_tokens,
                int32_t pos, float *logits, int32_t *greedy) {
  for (int32_t done = 0; done < n_tokens;) {
    int32_t chunk = static_cast<int32_t>(
        std::min<int64_t>(model->max_chunk, n_tokens - done));
    bool last = done + chunk == n_tokens;
    if (!gpu::executorForward(model->gpu, tokens + done, chunk, pos + done,
                              last ? logits : nullptr, last ? greedy : nullptr,
                              &model->error))
      return LLAMAC_ERR_DEVICE;
    done += chunk;
  }
  return LLAMAC_OK;
}
} // namespace

extern "C" {

int llamac_forward(llamac_model *model, const int32_t *tokens, int32_t n_tokens,
                   int32_t pos, float *logits) {
  if (int status =
          forward_checks(model, tokens, n_tokens, pos, logits != nullptr))
    return status;
  if (model->gpu)
    return gpu_forward(model, tokens, n_tokens, pos, logits, nullptr);
  int32_t vocab = model->header->vocab_size;

  int64_t layers = info(LLAMAC_INFO_LAYERS), heads = info(LLAMAC_INFO_KV_HEADS),
          ctx = info(LLAMAC_INFO_CONTEXT);
  auto cache_descriptor = [&](void *data, int64_t head_dim) {
    llamac_memref4d d;
    d.allocated = d.aligned = data;
    d.offset = 0;
    int64_t sizes[4] = {layers, heads, ctx, head_dim};
    int64_t stride = 1;
    for (int i = 3; i >= 0; --i) {
      d.sizes[i] = sizes[i];
      d.strides[i] = stride;
      stride *= sizes[i];
    }
    return d;
  };
  llamac_memref4d k_cache =
      cache_descriptor(model->k_cache.data, info(LLAMAC_INFO_K_HEAD_DIM));
  llamac_memref4d v_cache =
      cache_descriptor(model->v_cache.data, info(LLAMAC_INFO_V_HEAD_DIM));
  llamac_memref2d logits_d = {logits, logits, 0, {1, vocab}, {vocab, 1}};
  void *weights = const_cast<uint8_t *>(model->weights);
  llamac_memref1d weights_d = {
      weights,
      weights,
      0,
      {static_cast<int64_t>(model->header->weights_bytes)},
      {1}};

  for (int32_t done = 0; done < n_tokens;) {
    int32_t chunk = static_cast<int32_t>(
        std::min<int64_t>(model->max_chunk, n_tokens - done));
    void *chunk_tokens = const_cast<int32_t *>(tokens + done);
    llamac_memref1d tokens_d = {chunk_tokens, chunk_tokens, 0, {chunk}, {1}};
    int64_t arena_bytes = info(LLAMAC_INFO_ARENA_STATIC) +
                          chunk * info(LLAMAC_INFO_ARENA_PER_TOKEN);
    llamac_memref1d arena_d = {
        model->arena.data, model->arena.data, 0, {arena_bytes}, {1}};
    _mlir_ciface_llamac_forward(model->pool.get(), &tokens_d, pos + done,
                                &k_cache, &v_cache, &logits_d, &weights_d,
                                &arena_d);
    done += chunk;
  }
  return LLAMAC_OK;
}

int llamac_forward_greedy(llamac_model *model, const int32_t *tokens,
                          int32_t n_tokens, int32_t pos, float *logits,
                          int32_t *out_token) {
  if (int status =
          forward_checks(model, tokens, n_tokens, pos, out_token != nullptr))
    return status;
  if (model->gpu)
    return gpu_forward(model, tokens, n_tokens, pos, logits, out_token);
  // On the CPU the logits are in host memory anyway.
  if (!logits) {
    model->greedy_logits.resize(model->header->vocab_size);
    logits = model->greedy_logits.data();
  }
  if (int status = llamac_forward(model, tokens, n_tokens, pos, logits))
    return status;
  *out_token = llamac::runtime::argmax(logits, model->header->vocab_size);
  return LLAMAC_OK;
}

void llamac_reset(llamac_model *model) {
  // Positions are the caller's: the caches need no clearing, as attention
  // only reads positions that the current sequence has written.
  (void)model;
}

void llamac_close(llamac_model *model) { delete model; }

const char *llamac_last_error(const llamac_model *model) {
  return model ? model->error.c_str() : "";
}

int32_t llamac_vocab_size(const llamac_model *model) {
  return model->header->vocab_size;
}
int32_t llamac_context_length(const llamac_model *model) {
  return model->n_ctx;
}
int32_t llamac_n_threads(const llamac_model *model) {
  return model->pool->size();
}
int32_t llamac_bos_token(const llamac_model *model) {
  return model->header->bos_token;
}
int llamac_is_eos_token(const llamac_model *model, int32_t token) {
  for (int32_t i = 0; i < model->header->n_eos; ++i)
    if (model->header->eos_tokens[i] == token)
      return 1;
  return 0;
}

int llamac_has_tokenizer(const llamac_model *model) {
  return model->tokenizer != nullptr;
}

int llamac_tokenize(const llamac_model *model, const char *text, size_t length,
                    int add_special, int parse_special, int32_t *out_tokens,
                    int32_t capacity, int32_t *out_count) {
  if (!model->tokenizer) {
    const_cast<llamac_model *>(model)->error =
        "this model was compiled without a tokenizer";
    return LLAMAC_ERR_UNSUPPORTED;
  }
  if (!text && length) {
    const_cast<llamac_model *>(model)->error = "llamac_tokenize: no text";
    return LLAMAC_ERR_INVALID_ARGUMENT;
  }
  std::vector<int32_t> ids =
      model->tokenizer->encode(std::string_view(text ? text : "", length),
                               add_special != 0, parse_special != 0);
  int32_t count = static_cast<int32_t>(ids.size());
  for (int32_t i = 0; i < count && i < capacity; ++i)
    out_tokens[i] = ids[i];
  if (out_count)
    *out_count = count;
  return LLAMAC_OK;
}

int32_t llamac_token_to_piece(const llamac_model *model, int32_t token,
                              char *out, int32_t capacity) {
  if (!model->tokenizer)
    return 0;
  std::string piece = model->tokenizer->piece(token, /*skip_control=*/true);
  int32_t length = static_cast<int32_t>(piece.size());
  if (out && capacity > 0)
    memcpy(out, piece.data(), std::min(length, capacity));
  return length;
}

} // extern "C"

// Internal access for the executable's main().
const llamac::runtime::Tokenizer *
llamac_model_tokenizer(const llamac_model *model) {
  return model->tokenizer.get();
}
