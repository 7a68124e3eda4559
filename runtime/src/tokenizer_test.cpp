//===- tokenizer_test.cpp - Unit tests of the runtime tokenizer -----------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file checks, on small hand-built tokenizers whose results can be
// worked out by hand: merge order (rank, then leftmost), special-token
// matching (longest first), the serialized form, streaming decoding across
// split UTF-8 sequences, and chat formatting. Exactness against Hugging Face
// on real tokenizers is the end-to-end tests' job (test/e2e/test_tokenizer).
//
//===----------------------------------------------------------------------===//

#include "tokenizer.h"

#include <gtest/gtest.h>

using namespace llamac::runtime;

namespace {

/// Byte-level: the 256 bytes are tokens 0..255, then merges.
TokenizerSpec byteLevel() {
  TokenizerSpec spec;
  spec.flags = kByteLevel;
  spec.pattern = SplitPattern::GPT2;
  for (int b = 0; b < 256; ++b)
    spec.tokens.push_back(std::string(1, static_cast<char>(b)));
  spec.types.assign(256, kTokenNormal);
  auto add = [&](std::string s) {
    spec.tokens.push_back(s);
    spec.types.push_back(kTokenNormal);
    return static_cast<int32_t>(spec.tokens.size() - 1);
  };
  int32_t ab = add("ab");   // 256
  int32_t bc = add("bc");   // 257
  int32_t abc = add("abc"); // 258
  spec.merges = {{'b', 'c'}, {'a', 'b'}, {'a', bc}};
  (void)ab;
  (void)abc;
  return spec;
}

TEST(Tokenizer, MergesApplyByRank) {
  Tokenizer t;
  ASSERT_EQ(t.build(byteLevel()), "");
  // "abc": "b c" has rank 0, so bc forms first, then "a bc" (rank 2) -> abc,
  // even though "a b" (rank 1) was also available at the start.
  EXPECT_EQ(t.encode("abc", false, false), (std::vector<int32_t>{258}));
  // "abab": both "a b" pairs have rank 1 -> 256 256.
  EXPECT_EQ(t.encode("abab", false, false), (std::vector<int32_t>{256, 256}));
  // " abc" is one word with the leading space (' ?\p{L}+'): ' ' then abc.
  EXPECT_EQ(t.encode(" abc", false, false), (std::vector<int32_t>{' ', 258}));
}

TEST(Tokenizer, SpecialTokensMatchLongestFirst) {
  TokenizerSpec spec = byteLevel();
  spec.tokens.push_back("<|a|>");
  spec.types.push_back(kTokenControl); // 259
  spec.tokens.push_back("<|a|>x");
  spec.types.push_back(kTokenUserDefined); // 260
  Tokenizer t;
  ASSERT_EQ(t.build(spec), "");
  EXPECT_EQ(t.encode("<|a|>x<|a|>y", false, true),
            (std::vector<int32_t>{260, 259, 'y'}));
  // Not parsed: ordinary bytes.
  EXPECT_EQ(t.encode("<|a|>", false, false).size(), 5u);
  // Control tokens are not printed; user-defined ones are.
  EXPECT_EQ(t.piece(259, /*skip_control=*/true), "");
  EXPECT_EQ(t.piece(260, /*skip_control=*/true), "<|a|>x");
}

TEST(Tokenizer, SerializedFormRoundTrips) {
  TokenizerSpec spec = byteLevel();
  spec.flags |= kAddBos;
  spec.bos = 'B';
  spec.chat = ChatTemplate::ChatML;
  spec.default_system_prompt = "Be brief.";
  std::string bytes = serialize_tokenizer(spec);
  Tokenizer t;
  ASSERT_EQ(
      t.load(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size()),
      "");
  EXPECT_EQ(t.encode("abc", true, false), (std::vector<int32_t>{'B', 258}));
  std::string error;
  EXPECT_EQ(t.chat_prompt("hi", &error),
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nhi"
            "<|im_end|>\n<|im_start|>assistant\n");

  // Every truncation fails cleanly.
  for (size_t cut = 0; cut < bytes.size(); cut += 97) {
    Tokenizer broken;
    EXPECT_NE(broken.load(reinterpret_cast<const uint8_t *>(bytes.data()), cut),
              "")
        << "cut at " << cut;
  }
}

TEST(Tokenizer, StreamingHoldsBackIncompleteUtf8) {
  Tokenizer t;
  ASSERT_EQ(t.build(byteLevel()), "");
  // "€" is E2 82 AC: three byte tokens.
  StreamDecoder stream(t, true);
  EXPECT_EQ(stream.push('x'), "x");
  EXPECT_EQ(stream.push(0xE2), "");
  EXPECT_EQ(stream.push(0x82), "");
  EXPECT_EQ(stream.push(0xAC), "\xE2\x82\xAC");
  EXPECT_EQ(stream.push(0xF0), ""); // start of a 4-byte emoji, never completed
  EXPECT_EQ(stream.flush(), "\xF0");
}

TEST(Tokenizer, SentencePieceSpacesAndByteFallback) {
  TokenizerSpec spec;
  spec.flags = kReplaceSpaces | kPrependSpace | kByteFallback | kDecodeSpaces |
               kStripLeadingSpace;
  spec.tokens = {"<unk>", "\xE2\x96\x81", "a",
                 "\xE2\x96\x81"
                 "a"};
  spec.types = {kTokenUnknown, kTokenNormal, kTokenNormal, kTokenNormal};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    snprintf(name, sizeof name, "<0x%02X>", b);
    spec.tokens.push_back(name);
    spec.types.push_back(kTokenByte);
  }
  spec.merges = {{1, 2}}; // "▁" + "a"
  Tokenizer t;
  ASSERT_EQ(t.build(spec), "");
  // " a" -> "▁▁a" -> ▁, ▁a ; "é" is not a token -> its bytes C3 A9.
  std::vector<int32_t> ids = t.encode(" a\xC3\xA9", false, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 3, 4 + 0xC3, 4 + 0xA9}));
  EXPECT_EQ(t.decode(ids, false), " a\xC3\xA9");
}

TEST(Tokenizer, RejectsBrokenSpecs) {
  TokenizerSpec spec = byteLevel();
  spec.merges.push_back({'x', 'y'}); // "xy" is not a token
  Tokenizer t;
  EXPECT_NE(t.build(spec).find("not in the vocabulary"), std::string::npos);
  TokenizerSpec empty;
  EXPECT_NE(t.build(empty), "");
}

} // namespace
