//===- tokenizer.cpp - The runtime's tokenizer ----------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the tokenizer. Encoding runs, in order:
//
// 1. special tokens: their strings are found in the text (longest first) and
//    cut out as tokens of their own;
// 2. normalization of each remaining segment (SentencePiece style: ' ' to
//    "▁", a leading "▁");
// 3. pre-tokenization into words: digits alone, then the GPT-2 or Llama-3
//    split pattern, implemented as scanners over code points that follow the
//    regexes' leftmost-alternative semantics (lookahead included);
// 4. each word becomes tokens: BPE applies merges lowest rank first (ties:
//    leftmost), SentencePiece merges the highest-scoring adjacent pair whose
//    concatenation is a token; characters outside the vocabulary fall back
//    to byte tokens.
//
//===----------------------------------------------------------------------===//

#include "tokenizer.h"
#include "unicode.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <queue>

namespace llamac::runtime {
namespace {

constexpr char kMagic[4] = {'L', 'L', 'T', 'K'};
constexpr uint32_t kVersion = 1;
constexpr std::string_view kSpace = "\xE2\x96\x81"; // U+2581 "▁"
constexpr size_t kCacheLimit = 1 << 16;

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) |
         static_cast<uint32_t>(right);
}

//===----------------------------------------------------------------------===//
// Serialization
//===----------------------------------------------------------------------===//

class Writer {
public:
  void u8(uint8_t v) { out += static_cast<char>(v); }
  void u32(uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out += static_cast<char>((v >> (8 * i)) & 0xff);
  }
  void i32(int32_t v) { u32(static_cast<uint32_t>(v)); }
  void f32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    u32(bits);
  }
  void bytes(const std::string &s) {
    u32(static_cast<uint32_t>(s.size()));
    out += s;
  }
  std::string out;
};

class Reader {
public:
  Reader(const uint8_t *data, size_t size) : data_(data), size_(size) {}
  bool u8(uint8_t *v) {
    if (pos_ + 1 > size_)
      return false;
    *v = data_[pos_++];
    return true;
  }
  bool u32(uint32_t *v) {
    if (size_ - pos_ < 4)
      return false;
    *v = 0;
    for (int i = 0; i < 4; ++i)
      *v |= static_cast<uint32_t>(data_[pos_ + i]) << (8 * i);
    pos_ += 4;
    return true;
  }
  bool i32(int32_t *v) {
    uint32_t u;
    if (!u32(&u))
      return false;
    *v = static_cast<int32_t>(u);
    return true;
  }
  bool f32(float *v) {
    uint32_t bits;
    if (!u32(&bits))
      return false;
    std::memcpy(v, &bits, 4);
    return true;
  }
  bool bytes(std::string *s) {
    uint32_t n;
    if (!u32(&n) || n > size_ - pos_)
      return false;
    s->assign(reinterpret_cast<const char *>(data_ + pos_), n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return size_ - pos_; }

private:
  const uint8_t *data_;
  size_t size_;
  size_t pos_ = 0;
};

//===----------------------------------------------------------------------===//
// Pre-tokenization
//===----------------------------------------------------------------------===//

using Pieces = std::vector<std::pair<size_t, size_t>>; // code point ranges

bool is_other(uint32_t c) {
  return !is_white_space(c) && !is_letter(c) && !is_number(c);
}

bool is_newline(uint32_t c) { return c == '\r' || c == '\n'; }

/// 's 't 're 've 'm 'll 'd at i; returns the end or i when none matches.
size_t contraction(const CodePoints &cps, size_t i, size_t end,
                   bool ignore_case) {
  if (cps.points[i] != '\'' || i + 1 >= end)
    return i;
  auto lower = [&](size_t k) -> uint32_t {
    uint32_t c = cps.points[k];
    return ignore_case && c >= 'A' && c <= 'Z' ? c + 32 : c;
  };
  uint32_t a = lower(i + 1);
  if (a == 's' || a == 't' || a == 'm' || a == 'd')
    return i + 2;
  if (i + 2 < end) {
    uint32_t b = lower(i + 2);
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') ||
        (a == 'l' && b == 'l'))
      return i + 3;
  }
  return i;
}

/// The whitespace alternatives shared by both patterns:
/// \s+(?!\S)|\s+ starting at a white-space code point.
size_t white_space_run(const CodePoints &cps, size_t i, size_t end) {
  size_t k = i;
  while (k < end && is_white_space(cps.points[k]))
    ++k;
  if (k == end || k - i < 2)
    return k;   // at the end, or a single space before a non-space (\s+)
  return k - 1; // leave the last space for the word that follows
}

void split_gpt2(const CodePoints &cps, size_t begin, size_t end, Pieces &out) {
  size_t i = begin;
  auto run = [&](size_t from, bool (*pred)(uint32_t)) {
    size_t j = from;
    while (j < end && pred(cps.points[j]))
      ++j;
    return j;
  };
  while (i < end) {
    uint32_t c = cps.points[i];
    bool space = c == ' ' && i + 1 < end;
    uint32_t next = space ? cps.points[i + 1] : 0;
    size_t j = contraction(cps, i, end, /*ignore_case=*/false);
    if (j == i) {
      if (is_letter(c))
        j = run(i, is_letter);
      else if (space && is_letter(next))
        j = run(i + 1, is_letter);
      else if (is_number(c))
        j = run(i, is_number);
      else if (space && is_number(next))
        j = run(i + 1, is_number);
      else if (is_other(c))
        j = run(i, is_other);
      else if (space && is_other(next))
        j = run(i + 1, is_other);
      else
        j = white_space_run(cps, i, end);
    }
    out.push_back({i, j});
    i = j;
  }
}

void split_llama3(const CodePoints &cps, size_t begin, size_t end,
                  Pieces &out) {
  size_t i = begin;
  auto letters = [&](size_t from) {
    size_t j = from;
    while (j < end && is_letter(cps.points[j]))
      ++j;
    return j;
  };
  while (i < end) {
    uint32_t c = cps.points[i];
    size_t j = contraction(cps, i, end, /*ignore_case=*/true);
    if (j != i) {
      // (?i:'s|'t|'re|'ve|'m|'ll|'d)
    } else if (is_letter(c)) {
      j = letters(i); // [^\r\n\p{L}\p{N}]?\p{L}+ without the prefix
    } else if (!is_newline(c) && !is_number(c) && i + 1 < end &&
               is_letter(cps.points[i + 1])) {
      j = letters(i + 1); // ... with a one-character prefix
    } else if (is_number(c)) {
      j = i; // \p{N}{1,3}
      while (j < end && j - i < 3 && is_number(cps.points[j]))
        ++j;
    } else if (is_other(c) ||
               (c == ' ' && i + 1 < end && is_other(cps.points[i + 1]))) {
      // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
      j = c == ' ' ? i + 1 : i;
      while (j < end && is_other(cps.points[j]))
        ++j;
      while (j < end && is_newline(cps.points[j]))
        ++j;
    } else {
      // c is white space. \s*[\r\n]+ ends after the run's last newline.
      size_t k = i;
      size_t last_newline = end;
      while (k < end && is_white_space(cps.points[k])) {
        if (is_newline(cps.points[k]))
          last_newline = k;
        ++k;
      }
      j = last_newline != end ? last_newline + 1 : white_space_run(cps, i, end);
    }
    out.push_back({i, j});
    i = j;
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Serialization
//===----------------------------------------------------------------------===//

std::string serialize_tokenizer(const TokenizerSpec &spec) {
  Writer w;
  w.out.append(kMagic, 4);
  w.u32(kVersion);
  w.u32(static_cast<uint32_t>(spec.model));
  w.u32(static_cast<uint32_t>(spec.pattern));
  w.u32(spec.flags);
  w.i32(spec.bos);
  w.i32(spec.eos);
  w.i32(spec.unk);
  w.u32(static_cast<uint32_t>(spec.tokens.size()));
  for (size_t i = 0; i < spec.tokens.size(); ++i) {
    w.u8(i < spec.types.size() ? spec.types[i] : kTokenNormal);
    w.bytes(spec.tokens[i]);
  }
  w.u32(static_cast<uint32_t>(spec.scores.size()));
  for (float s : spec.scores)
    w.f32(s);
  w.u32(static_cast<uint32_t>(spec.merges.size()));
  for (auto [left, right] : spec.merges) {
    w.i32(left);
    w.i32(right);
  }
  w.u32(static_cast<uint32_t>(spec.chat));
  w.bytes(spec.default_system_prompt);
  return w.out;
}

std::string Tokenizer::load(const uint8_t *data, size_t size) {
  Reader r(data, size);
  TokenizerSpec spec;
  const char *truncated = "the tokenizer data is truncated or malformed";
  if (size < 8 || std::memcmp(data, kMagic, 4) != 0)
    return "the tokenizer data has no LLTK header";
  uint32_t magic, version, model, pattern, count;
  if (!r.u32(&magic) || !r.u32(&version) || version != kVersion)
    return "the tokenizer data has an unsupported version";
  if (!r.u32(&model) || !r.u32(&pattern) || !r.u32(&spec.flags) ||
      !r.i32(&spec.bos) || !r.i32(&spec.eos) || !r.i32(&spec.unk) ||
      !r.u32(&count) || model > 1 || pattern > 2)
    return truncated;
  spec.model = static_cast<TokenizerModel>(model);
  spec.pattern = static_cast<SplitPattern>(pattern);
  // Each token takes at least 5 bytes: a count beyond that is corrupt.
  if (count > r.remaining() / 5)
    return truncated;
  spec.tokens.resize(count);
  spec.types.resize(count);
  for (uint32_t i = 0; i < count; ++i)
    if (!r.u8(&spec.types[i]) || !r.bytes(&spec.tokens[i]))
      return truncated;
  if (!r.u32(&count) || count > r.remaining() / 4)
    return truncated;
  spec.scores.resize(count);
  for (float &s : spec.scores)
    if (!r.f32(&s))
      return truncated;
  if (!r.u32(&count) || count > r.remaining() / 8)
    return truncated;
  spec.merges.resize(count);
  for (auto &[left, right] : spec.merges)
    if (!r.i32(&left) || !r.i32(&right))
      return truncated;
  uint32_t chat;
  if (!r.u32(&chat) || chat > 3 || !r.bytes(&spec.default_system_prompt))
    return truncated;
  spec.chat = static_cast<ChatTemplate>(chat);
  return build(std::move(spec));
}

std::string Tokenizer::build(TokenizerSpec spec) {
  spec_ = std::move(spec);
  int32_t n = size();
  if (n == 0)
    return "the tokenizer has no tokens";
  if (spec_.types.size() != spec_.tokens.size())
    spec_.types.resize(spec_.tokens.size(), kTokenNormal);
  if (spec_.model == TokenizerModel::SentencePiece &&
      spec_.scores.size() != spec_.tokens.size())
    return "a SentencePiece tokenizer needs one score per token";
  for (int32_t id : {spec_.bos, spec_.eos, spec_.unk})
    if (id < -1 || id >= n)
      return "a special token id is outside the vocabulary";

  ids_.clear();
  ids_.reserve(spec_.tokens.size() * 2);
  for (int32_t i = 0; i < n; ++i)
    ids_.emplace(spec_.tokens[i], i); // the first of duplicates wins

  merges_.clear();
  merges_.reserve(spec_.merges.size() * 2);
  for (size_t rank = 0; rank < spec_.merges.size(); ++rank) {
    auto [left, right] = spec_.merges[rank];
    if (left < 0 || left >= n || right < 0 || right >= n)
      return "a merge names a token outside the vocabulary";
    int32_t result = lookup(spec_.tokens[left] + spec_.tokens[right]);
    if (result < 0) {
      char message[256];
      std::snprintf(message, sizeof message,
                    "merge %zu makes a token that is not in the vocabulary",
                    rank);
      return message;
    }
    merges_.emplace(pair_key(left, right),
                    std::make_pair(static_cast<int32_t>(rank), result));
  }

  specials_.clear();
  for (int32_t i = 0; i < n; ++i)
    if ((spec_.types[i] == kTokenControl ||
         spec_.types[i] == kTokenUserDefined) &&
        !spec_.tokens[i].empty())
      specials_.push_back(i);
  // Longest first; equal lengths by id, so matching is deterministic.
  std::sort(specials_.begin(), specials_.end(), [&](int32_t a, int32_t b) {
    size_t la = spec_.tokens[a].size(), lb = spec_.tokens[b].size();
    return la != lb ? la > lb : a < b;
  });

  for (int b = 0; b < 256; ++b) {
    if (spec_.flags & kByteLevel) {
      byte_tokens_[b] = lookup(std::string(1, static_cast<char>(b)));
    } else {
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      byte_tokens_[b] = lookup(name);
    }
  }
  // A byte-level vocabulary may lack bytes that never occur in UTF-8 (0xC0,
  // 0xF5...); such bytes are dropped, as Hugging Face's BPE drops them.
  cache_.clear();
  return "";
}

int32_t Tokenizer::lookup(std::string_view piece) const {
  auto it = ids_.find(std::string(piece));
  return it == ids_.end() ? -1 : it->second;
}

//===----------------------------------------------------------------------===//
// Encoding
//===----------------------------------------------------------------------===//

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special,
                                       bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && (spec_.flags & kAddBos) && spec_.bos >= 0)
    out.push_back(spec_.bos);
  size_t start = 0, i = 0;
  bool at_start = true;
  while (parse_special && i < text.size()) {
    int32_t match = -1;
    for (int32_t id : specials_) {
      const std::string &s = spec_.tokens[id];
      if (s.size() <= text.size() - i &&
          std::memcmp(text.data() + i, s.data(), s.size()) == 0) {
        match = id;
        break;
      }
    }
    if (match < 0) {
      ++i;
      continue;
    }
    if (i > start)
      encode_segment(text.substr(start, i - start), at_start, out);
    out.push_back(match);
    at_start = false;
    i += spec_.tokens[match].size();
    start = i;
  }
  if (start < text.size())
    encode_segment(text.substr(start), at_start, out);
  if (add_special && (spec_.flags & kAddEos) && spec_.eos >= 0)
    out.push_back(spec_.eos);
  return out;
}

void Tokenizer::encode_segment(std::string_view segment, bool at_start,
                               std::vector<int32_t> &out) const {
  std::string text(segment);
  uint32_t flags = spec_.flags;

  if (flags & kReplaceSpaces) {
    std::string replaced;
    replaced.reserve(text.size() + text.size() / 2);
    for (char c : text) {
      if (c == ' ')
        replaced += kSpace;
      else
        replaced += c;
    }
    text.swap(replaced);
  }
  if ((flags & kPrependSpace) && !text.empty()) {
    bool prepend = !(flags & kPrependFirstOnly) || at_start;
    if (flags & kPrependIfMissing)
      prepend = prepend && text.compare(0, kSpace.size(), kSpace) != 0;
    if (prepend)
      text.insert(0, kSpace);
  }
  if ((flags & kAddPrefixSpace) && (text.empty() || text[0] != ' '))
    text.insert(0, " ");

  if (spec_.model == TokenizerModel::SentencePiece) {
    sentencepiece(text, out);
    return;
  }

  // Words.
  if (flags & kSplitOnSpace) {
    // Metaspace split: each word starts at a "▁".
    size_t begin = 0;
    for (size_t k = 1; k <= text.size(); ++k)
      if (k == text.size() || text.compare(k, kSpace.size(), kSpace) == 0) {
        encode_word(std::string_view(text).substr(begin, k - begin), out);
        begin = k;
      }
    return;
  }
  if (spec_.pattern == SplitPattern::None && !(flags & kSplitDigits)) {
    encode_word(text, out);
    return;
  }
  CodePoints cps(text);
  Pieces pieces;
  auto split = [&](size_t begin, size_t end) {
    if (begin == end)
      return;
    if (spec_.pattern == SplitPattern::GPT2)
      split_gpt2(cps, begin, end, pieces);
    else if (spec_.pattern == SplitPattern::Llama3)
      split_llama3(cps, begin, end, pieces);
    else
      pieces.push_back({begin, end});
  };
  if (flags & kSplitDigits) {
    // Each digit is a word; the pattern runs on what lies between.
    size_t begin = 0;
    for (size_t k = 0; k < cps.size(); ++k)
      if (is_number(cps.points[k])) {
        split(begin, k);
        pieces.push_back({k, k + 1});
        begin = k + 1;
      }
    split(begin, cps.size());
  } else {
    split(0, cps.size());
  }
  for (auto [b, e] : pieces)
    encode_word(std::string_view(text).substr(cps.offsets[b],
                                              cps.offsets[e] - cps.offsets[b]),
                out);
}

void Tokenizer::initial_symbols(std::string_view word,
                                std::vector<int32_t> &out) const {
  if (spec_.flags & kByteLevel) {
    for (unsigned char b : word)
      out.push_back(byte_tokens_[b]);
    return;
  }
  size_t i = 0;
  while (i < word.size()) {
    size_t length = utf8_length(static_cast<unsigned char>(word[i]));
    length = std::min(length, word.size() - i);
    int32_t id = lookup(word.substr(i, length));
    if (id >= 0) {
      out.push_back(id);
    } else if (spec_.flags & kByteFallback) {
      for (size_t k = 0; k < length; ++k) {
        int32_t byte = byte_tokens_[static_cast<unsigned char>(word[i + k])];
        out.push_back(byte >= 0 ? byte : spec_.unk);
      }
      // (-1 entries, when there is no unknown token, are dropped by bpe.)
    } else {
      out.push_back(spec_.unk);
    }
    i += length;
  }
}

void Tokenizer::bpe(std::vector<int32_t> &symbols) const {
  // A doubly linked list of symbols and a queue of candidate merges, lowest
  // rank first, leftmost first among equal ranks. An entry is stale when its
  // symbols have changed since it was queued.
  struct Candidate {
    int32_t rank;
    int32_t pos;
    int32_t left, right, result;
    bool operator>(const Candidate &o) const {
      return rank != o.rank ? rank > o.rank : pos > o.pos;
    }
  };
  int32_t n = static_cast<int32_t>(symbols.size());
  std::vector<int32_t> prev(n), next(n);
  for (int32_t i = 0; i < n; ++i) {
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate, std::vector<Candidate>,
                      std::greater<Candidate>>
      queue;
  auto consider = [&](int32_t pos) {
    if (pos < 0 || next[pos] < 0)
      return;
    int32_t left = symbols[pos], right = symbols[next[pos]];
    if (left < 0 || right < 0)
      return;
    auto it = merges_.find(pair_key(left, right));
    if (it != merges_.end())
      queue.push({it->second.first, pos, left, right, it->second.second});
  };
  for (int32_t i = 0; i + 1 < n; ++i)
    consider(i);
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    int32_t pos = c.pos;
    if (symbols[pos] != c.left || next[pos] < 0 ||
        symbols[next[pos]] != c.right)
      continue;
    int32_t gone = next[pos];
    symbols[pos] = c.result;
    symbols[gone] = -2; // removed
    next[pos] = next[gone];
    if (next[pos] >= 0)
      prev[next[pos]] = pos;
    consider(prev[pos]);
    consider(pos);
  }
  // Characters with no token and no fallback (-1) are dropped, as Hugging
  // Face's BPE does without an unknown token.
  std::vector<int32_t> result;
  for (int32_t i = 0; i != -1 && i < n; i = next[i])
    if (symbols[i] >= 0)
      result.push_back(symbols[i]);
  symbols.swap(result);
}

void Tokenizer::encode_word(std::string_view word,
                            std::vector<int32_t> &out) const {
  if (word.empty())
    return;
  std::string key(word);
  auto cached = cache_.find(key);
  if (cached != cache_.end()) {
    out.insert(out.end(), cached->second.begin(), cached->second.end());
    return;
  }
  std::vector<int32_t> symbols;
  int32_t whole = (spec_.flags & kIgnoreMerges) ? lookup(word) : -1;
  if (whole >= 0) {
    symbols.push_back(whole);
  } else {
    initial_symbols(word, symbols);
    bpe(symbols);
  }
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cache_.size() < kCacheLimit)
    cache_.emplace(std::move(key), std::move(symbols));
}

void Tokenizer::sentencepiece(std::string_view text,
                              std::vector<int32_t> &out) const {
  // Pieces are byte ranges of the text; merge the adjacent pair whose
  // concatenation is the highest-scoring token (leftmost on ties).
  struct Piece {
    size_t begin, length;
    int32_t prev, next;
  };
  std::vector<Piece> pieces;
  for (size_t i = 0; i < text.size();) {
    size_t length = std::min(utf8_length(static_cast<unsigned char>(text[i])),
                             text.size() - i);
    int32_t index = static_cast<int32_t>(pieces.size());
    pieces.push_back({i, length, index - 1, -1});
    if (index > 0)
      pieces[index - 1].next = index;
    i += length;
  }
  struct Candidate {
    float score;
    int32_t left;
    size_t length; // of the merged piece, to detect stale entries
    bool operator<(const Candidate &o) const {
      return score != o.score ? score < o.score : left > o.left;
    }
  };
  std::priority_queue<Candidate> queue;
  auto consider = [&](int32_t left) {
    if (left < 0 || pieces[left].next < 0)
      return;
    const Piece &a = pieces[left], &b = pieces[a.next];
    int32_t id = lookup(text.substr(a.begin, a.length + b.length));
    if (id >= 0)
      queue.push({spec_.scores[id], left, a.length + b.length});
  };
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(pieces.size()); ++i)
    consider(i);
  while (!queue.empty()) {
    Candidate c = queue.top();
    queue.pop();
    Piece &a = pieces[c.left];
    if (a.length == 0 || a.next < 0 ||
        a.length + pieces[a.next].length != c.length)
      continue;
    Piece &b = pieces[a.next];
    a.length += b.length;
    b.length = 0;
    a.next = b.next;
    if (a.next >= 0)
      pieces[a.next].prev = c.left;
    consider(a.prev);
    consider(c.left);
  }
  for (int32_t i = pieces.empty() ? -1 : 0; i >= 0; i = pieces[i].next) {
    std::string_view piece = text.substr(pieces[i].begin, pieces[i].length);
    int32_t id = lookup(piece);
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (unsigned char byte : piece) {
      int32_t fallback =
          byte_tokens_[byte] >= 0 ? byte_tokens_[byte] : spec_.unk;
      if (fallback >= 0)
        out.push_back(fallback);
    }
  }
}

//===----------------------------------------------------------------------===//
// Decoding
//===----------------------------------------------------------------------===//

std::string Tokenizer::piece(int32_t token, bool skip_control) const {
  if (token < 0 || token >= size())
    return "";
  uint8_t type = spec_.types[token];
  const std::string &s = spec_.tokens[token];
  if (type == kTokenControl)
    return skip_control ? "" : s;
  if (type == kTokenByte && s.size() == 6 && s[0] == '<' && s[1] == '0' &&
      s[2] == 'x')
    return std::string(
        1, static_cast<char>(std::strtol(s.c_str() + 3, nullptr, 16)));
  if (!(spec_.flags & kDecodeSpaces) || type == kTokenUserDefined)
    return s;
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    if (s.compare(i, kSpace.size(), kSpace) == 0) {
      out += ' ';
      i += kSpace.size();
    } else {
      out += s[i++];
    }
  }
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t> &tokens,
                              bool skip_control) const {
  std::string out;
  for (int32_t token : tokens)
    out += piece(token, skip_control);
  if (strips_leading_space() && !out.empty() && out[0] == ' ')
    out.erase(0, 1);
  return out;
}

std::string Tokenizer::chat_prompt(std::string_view user,
                                   std::string *out_error) const {
  std::string prompt(user);
  // The Llama 2 and Llama 3 templates strip the message (Python's strip,
  // Jinja's trim); ChatML keeps it as written.
  auto trimmed = [&] {
    size_t begin = 0, end = prompt.size();
    while (begin < end &&
           std::isspace(static_cast<unsigned char>(prompt[begin])))
      ++begin;
    while (end > begin &&
           std::isspace(static_cast<unsigned char>(prompt[end - 1])))
      --end;
    return prompt.substr(begin, end - begin);
  };
  const std::string &system = spec_.default_system_prompt;
  switch (spec_.chat) {
  case ChatTemplate::ChatML: {
    std::string out;
    if (!system.empty())
      out += "<|im_start|>system\n" + system + "<|im_end|>\n";
    return out + "<|im_start|>user\n" + prompt +
           "<|im_end|>\n<|im_start|>assistant\n";
  }
  case ChatTemplate::Llama2:
    prompt = trimmed();
    if (!system.empty())
      return "[INST] <<SYS>>\n" + system + "\n<</SYS>>\n\n" + prompt +
             " [/INST]";
    return "[INST] " + prompt + " [/INST]";
  case ChatTemplate::Llama3: {
    prompt = trimmed();
    std::string out;
    if (!system.empty())
      out += "<|start_header_id|>system<|end_header_id|>\n\n" + system +
             "<|eot_id|>";
    return out + "<|start_header_id|>user<|end_header_id|>\n\n" + prompt +
           "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n";
  }
  case ChatTemplate::None:
    break;
  }
  *out_error = "this model has no chat template llamac knows";
  return "";
}

std::string StreamDecoder::push(int32_t token) {
  std::string text = tokenizer_.piece(token, skip_control_);
  if (!started_ && !text.empty()) {
    started_ = true;
    if (tokenizer_.strips_leading_space() && text[0] == ' ')
      text.erase(0, 1);
  }
  pending_ += text;
  // Emit everything up to the last complete UTF-8 sequence.
  size_t end = pending_.size();
  size_t start = end;
  for (size_t back = 0; back < 4 && start > 0; ++back) {
    --start;
    auto c = static_cast<unsigned char>(pending_[start]);
    if ((c & 0xC0) != 0x80) { // a lead byte (or ASCII)
      if (start + utf8_length(c) > end)
        end = start; // incomplete: hold it back
      break;
    }
  }
  std::string out = pending_.substr(0, end);
  pending_.erase(0, end);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

} // namespace llamac::runtime
