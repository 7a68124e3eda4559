//===- tokenizer.h - The runtime's tokenizer --------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the tokenizer that compiled models carry: its serialized
// form (written by the compiler into the weights blob, read at start-up), the
// encoder (special tokens, normalization, pre-tokenization by the GPT-2 or
// Llama-3 split pattern, BPE by merge ranks or SentencePiece merging by
// scores, byte fallback) and a streaming decoder that holds back incomplete
// UTF-8 sequences.
//
// The compiler reduces every supported source (Hugging Face tokenizer.json,
// GGUF metadata) to a TokenizerSpec, so the runtime knows one representation.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_RUNTIME_SRC_TOKENIZER_H
#define LLAMAC_RUNTIME_SRC_TOKENIZER_H

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llamac::runtime {

/// How words become tokens.
enum class TokenizerModel : uint32_t {
  /// Merges applied by rank (Hugging Face BPE, GGUF "gpt2").
  BPE = 0,
  /// Adjacent pieces merged while the result is a token, highest score
  /// first (SentencePiece BPE as GGUF "llama" files describe it).
  SentencePiece = 1,
};

/// How text is cut into words before the model runs on each.
enum class SplitPattern : uint32_t {
  None = 0,
  /// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  GPT2 = 1,
  /// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
  ///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
  Llama3 = 2,
};

enum TokenType : uint8_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,     // special: matched in text, not printed
  kTokenUserDefined = 4, // added: matched in text, printed
  kTokenUnused = 5,
  kTokenByte = 6, // <0xXX>
};

enum TokenizerFlags : uint32_t {
  /// Words are split into bytes, and token strings are byte strings.
  kByteLevel = 1u << 0,
  /// Characters outside the vocabulary become <0xXX> byte tokens.
  kByteFallback = 1u << 1,
  /// A word that is itself a token is not merged.
  kIgnoreMerges = 1u << 2,
  kAddBos = 1u << 3,
  kAddEos = 1u << 4,
  /// Byte-level: a ' ' is prepended unless the text starts with one.
  kAddPrefixSpace = 1u << 5,
  /// Each text segment gets a leading "▁" (SentencePiece's dummy prefix).
  kPrependSpace = 1u << 6,
  /// ' ' becomes "▁".
  kReplaceSpaces = 1u << 7,
  /// Decoding drops one leading ' ' of the text.
  kStripLeadingSpace = 1u << 8,
  /// With kPrependSpace: only the segment at the start of the text gets it
  /// (Metaspace's prepend_scheme "first").
  kPrependFirstOnly = 1u << 9,
  /// Words start at each "▁" (Metaspace with split).
  kSplitOnSpace = 1u << 10,
  /// Digits are words of their own before the split pattern runs.
  kSplitDigits = 1u << 11,
  /// Decoding turns "▁" into ' ' and <0xXX> tokens into their byte.
  kDecodeSpaces = 1u << 12,
  /// With kPrependSpace: not when the segment already starts with "▁"
  /// (Metaspace).
  kPrependIfMissing = 1u << 13,
};

enum class ChatTemplate : uint32_t {
  None = 0,
  ChatML = 1,
  Llama2 = 2,
  Llama3 = 3
};

/// Everything a tokenizer is, as the compiler hands it over.
struct TokenizerSpec {
  TokenizerModel model = TokenizerModel::BPE;
  SplitPattern pattern = SplitPattern::None;
  uint32_t flags = 0;
  int32_t bos = -1, eos = -1, unk = -1;
  /// Token strings as bytes (byte-level vocabularies already mapped back
  /// from their printable alphabet).
  std::vector<std::string> tokens;
  std::vector<uint8_t> types;
  std::vector<float> scores; // SentencePiece only
  /// Merges in rank order, as token ids.
  std::vector<std::pair<int32_t, int32_t>> merges;
  ChatTemplate chat = ChatTemplate::None;
  std::string default_system_prompt;
};

/// Serializes a spec ("LLTK" format, little-endian).
std::string serialize_tokenizer(const TokenizerSpec &spec);

class Tokenizer {
public:
  /// Reads a serialized tokenizer; returns an error message or "".
  std::string load(const uint8_t *data, size_t size);
  /// Builds from a spec (the compiler's path); returns an error or "".
  std::string build(TokenizerSpec spec);

  /// Token ids of `text`. `add_special`: the model's bos/eos around it;
  /// `parse_special`: special-token strings in the text become those tokens.
  std::vector<int32_t> encode(std::string_view text, bool add_special,
                              bool parse_special) const;

  /// The bytes `token` stands for in decoded text (control tokens: their
  /// string, or nothing when `skip_control`).
  std::string piece(int32_t token, bool skip_control) const;
  /// decode(encode(x)) == x for every x (with the same special handling).
  std::string decode(const std::vector<int32_t> &tokens,
                     bool skip_control) const;

  /// The prompt wrapped in the model's chat template, ready for encode with
  /// parse_special; "" with *out_error set when the model has none.
  std::string chat_prompt(std::string_view user, std::string *out_error) const;

  int32_t size() const { return static_cast<int32_t>(spec_.tokens.size()); }
  const TokenizerSpec &spec() const { return spec_; }
  bool strips_leading_space() const { return spec_.flags & kStripLeadingSpace; }

private:
  void encode_segment(std::string_view segment, bool at_start,
                      std::vector<int32_t> &out) const;
  void encode_word(std::string_view word, std::vector<int32_t> &out) const;
  void bpe(std::vector<int32_t> &symbols) const;
  void sentencepiece(std::string_view word, std::vector<int32_t> &out) const;
  /// Initial symbols of a word: bytes (byte-level) or characters, with byte
  /// fallback.
  void initial_symbols(std::string_view word, std::vector<int32_t> &out) const;
  int32_t lookup(std::string_view piece) const;

  TokenizerSpec spec_;
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>>
      merges_;                    // rank, result
  std::vector<int32_t> specials_; // matched in text, longest first
  int32_t byte_tokens_[256];
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

/// Turns generated tokens into text as they come, never splitting a UTF-8
/// sequence: bytes of an incomplete sequence wait for the next token.
class StreamDecoder {
public:
  StreamDecoder(const Tokenizer &tokenizer, bool skip_control)
      : tokenizer_(tokenizer), skip_control_(skip_control) {}
  /// The text that `token` completes (possibly empty).
  std::string push(int32_t token);
  /// Whatever is held back at the end (invalid UTF-8 is emitted as is).
  std::string flush();

private:
  const Tokenizer &tokenizer_;
  bool skip_control_;
  bool started_ = false;
  std::string pending_;
};

} // namespace llamac::runtime

#endif // LLAMAC_RUNTIME_SRC_TOKENIZER_H
