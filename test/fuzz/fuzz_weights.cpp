//===- fuzz_weights.cpp - Fuzzing the runtime's weights loader ------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Input: a weights file, as `--weights FILE` hands it to a compiled model:
// llamac_open maps it and checks its header against the model, then loads
// the tokenizer it carries. The model here is a stand-in (the info array
// below and a forward pass that only writes zero logits), so the runtime's
// own code is what runs: header checks, the tokenizer's deserializer and
// builder, a forward call with the caches and arena the info sizes, the
// tokenizer's encode and decode.
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/FuzzCommon.h"

#include "llamac/llamac.h"
#include "llamac/rt.h"
#include "tokenizer.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace llamac::fuzz;

extern "C" {

// make_corpus.py writes seeds for exactly this model.
const int64_t llamac_model_info[LLAMAC_INFO_COUNT] = {
    LLAMAC_RT_ABI_VERSION,
    0x4c4c414d41434655, // fingerprint
    65536,              // vocab
    1,                  // layers
    1,                  // kv heads
    16,                 // context
    8,                  // key head dim
    8,                  // value head dim
    16,                 // max chunk
    1024,               // arena, fixed
    256,                // arena per token
    4,                  // cache element bytes
    4096,               // weights bytes
    0,                  // required ISA
    0,                  // vector bytes
};

void _mlir_ciface_llamac_forward(void *, llamac_memref1d *, int64_t,
                                 llamac_memref4d *, llamac_memref4d *,
                                 llamac_memref2d *logits, llamac_memref1d *,
                                 llamac_memref1d *) {
  float *out = static_cast<float *>(logits->aligned) + logits->offset;
  std::memset(out, 0, sizeof(float) * logits->sizes[1]);
}

} // extern "C"

const llamac::runtime::Tokenizer *
llamac_model_tokenizer(const llamac_model *model);

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string path =
      putFile("model.weights",
              std::string_view(reinterpret_cast<const char *>(data), size));
  llamac_options options;
  llamac_options_init(&options);
  options.n_threads = 1;
  char error[512];
  llamac_model *model =
      llamac_open(path.c_str(), &options, error, sizeof error);
  if (!model) {
    static const bool verbose = getenv("FUZZ_VERBOSE") != nullptr;
    if (verbose) // why a seed stops early
      fprintf(stderr, "llamac_open: %s\n", error);
    return 0;
  }
  std::vector<float> logits(llamac_vocab_size(model));
  int32_t tokens[3] = {1, 2, 63};
  (void)llamac_forward(model, tokens, 3, 0, logits.data());
  if (const llamac::runtime::Tokenizer *tokenizer =
          llamac_model_tokenizer(model)) {
    std::vector<int32_t> ids =
        tokenizer->encode("Hello, world! <s> caf\xc3\xa9 12", true, true);
    (void)tokenizer->decode(ids, false);
  }
  llamac_close(model);
  return 0;
}
