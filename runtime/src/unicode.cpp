//===- unicode.cpp - UTF-8 and the Unicode classes of the pre-tokenizers --===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements UTF-8 decoding and class lookup by binary search over
// the generated range tables.
//
//===----------------------------------------------------------------------===//

#include "unicode.h"

#include <algorithm>

namespace llamac::runtime {
namespace {

struct CodePointRange {
  uint32_t first, last;
};

#include "unicode_tables.inc"

template <size_t N>
bool in_ranges(const CodePointRange (&ranges)[N], uint32_t cp) {
  const CodePointRange *end = ranges + N;
  const CodePointRange *it = std::upper_bound(
      ranges, end, cp,
      [](uint32_t value, const CodePointRange &r) { return value < r.first; });
  return it != ranges && cp <= (it - 1)->last;
}

} // namespace

size_t utf8_length(unsigned char lead) {
  if (lead < 0x80)
    return 1;
  if ((lead & 0xE0) == 0xC0)
    return 2;
  if ((lead & 0xF0) == 0xE0)
    return 3;
  if ((lead & 0xF8) == 0xF0)
    return 4;
  return 1;
}

uint32_t decode_utf8(const char *text, size_t size, size_t *out_length) {
  const auto *s = reinterpret_cast<const unsigned char *>(text);
  size_t length = utf8_length(s[0]);
  if (length == 1 || length > size) {
    *out_length = 1;
    return s[0] < 0x80 ? s[0] : 0xFFFD;
  }
  uint32_t cp = s[0] & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    if ((s[i] & 0xC0) != 0x80) {
      *out_length = 1;
      return 0xFFFD;
    }
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  *out_length = length;
  return cp;
}

void append_utf8(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool is_letter(uint32_t cp) {
  if (cp < 0x80)
    return (cp | 0x20) >= 'a' && (cp | 0x20) <= 'z';
  return in_ranges(kLetterRanges, cp);
}

bool is_number(uint32_t cp) {
  if (cp < 0x80)
    return cp >= '0' && cp <= '9';
  return in_ranges(kNumberRanges, cp);
}

bool is_white_space(uint32_t cp) {
  if (cp < 0x80)
    return cp == ' ' || (cp >= 0x9 && cp <= 0xD);
  return in_ranges(kWhiteSpaceRanges, cp);
}

CodePoints::CodePoints(const std::string &text) {
  points.reserve(text.size());
  offsets.reserve(text.size() + 1);
  size_t i = 0;
  while (i < text.size()) {
    size_t length;
    uint32_t cp = decode_utf8(text.data() + i, text.size() - i, &length);
    points.push_back(cp);
    offsets.push_back(i);
    i += length;
  }
  offsets.push_back(text.size());
}

} // namespace llamac::runtime
