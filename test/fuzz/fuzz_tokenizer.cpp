//===- fuzz_tokenizer.cpp - Fuzzing tokenizer.json and the tokenizer ------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Input: tokenizer.json[, kSplit, tokenizer_config.json[, kSplit, text]].
// Imports the tokenizer as the compiler does, builds the runtime's tokenizer,
// serializes and reloads it as an executable does, then encodes the text
// (with and without special-token parsing, and through the chat template)
// and decodes the ids back, streaming piece by piece too.
//
//===----------------------------------------------------------------------===//

#include "test/fuzz/FuzzCommon.h"

#include "frontend/tokenizer/TokenizerImport.h"
#include "tokenizer.h"

#include <cstdlib>

using namespace llamac;
using namespace llamac::fuzz;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::vector<std::string_view> parts = splitInput(data, size, 3);
  std::string json = putFile("tokenizer.json", parts[0]);
  std::string config =
      putFile("tokenizer_config.json", parts.size() > 1 ? parts[1] : "",
              parts.size() > 1);
  std::string_view text =
      parts.size() > 2 ? parts[2] : "Hello world, <s> 12 caf\xc3\xa9!";
  llvm::Expected<runtime::TokenizerSpec> spec =
      importTokenizerJSON(json, config);
  if (!spec) {
    llvm::consumeError(spec.takeError());
    return 0;
  }
  runtime::Tokenizer built;
  if (!built.build(*spec).empty())
    return 0;
  std::string serialized = runtime::serialize_tokenizer(built.spec());
  runtime::Tokenizer loaded;
  if (!loaded
           .load(reinterpret_cast<const uint8_t *>(serialized.data()),
                 serialized.size())
           .empty())
    abort(); // what the compiler wrote, the executable must read
  for (bool parseSpecial : {false, true}) {
    std::vector<int32_t> ids = loaded.encode(text, true, parseSpecial);
    for (int32_t id : ids)
      if (id < 0 || id >= loaded.size())
        abort(); // an id outside the vocabulary
    (void)loaded.decode(ids, true);
    for (int32_t id : ids)
      (void)loaded.piece(id, false);
  }
  std::string error;
  std::string chat = loaded.chat_prompt(text, &error);
  if (!chat.empty())
    (void)loaded.encode(chat, false, true);
  return 0;
}
