//===- Float16.h - Half and bfloat16 conversions ----------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file converts between float and the two 16-bit float formats that
// checkpoints use: IEEE binary16 and bfloat16. Narrowing rounds to nearest,
// ties to even, as PyTorch and numpy do.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_FRONTEND_COMMON_FLOAT16_H
#define LLAMAC_FRONTEND_COMMON_FLOAT16_H

#include <cstdint>
#include <cstring>

namespace llamac {

inline float bitsToFloat(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}
inline uint32_t floatToBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits;
}

inline float halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  uint32_t exponent = (h >> 10) & 0x1f;
  uint32_t mantissa = h & 0x3ff;
  if (exponent == 0) {
    if (mantissa == 0)
      return bitsToFloat(sign);
    // Subnormal: value = mantissa * 2^-24.
    float value = static_cast<float>(mantissa) * (1.0f / 16777216.0f);
    return sign ? -value : value;
  }
  if (exponent == 31)
    return bitsToFloat(sign | 0x7f800000 | (mantissa << 13));
  return bitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

inline uint16_t floatToHalf(float f) {
  uint32_t bits = floatToBits(f);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) // NaN: keep it quiet.
    return sign | 0x7e00;
  if (magnitude >= 0x477ff000) // Rounds to at least 65520: infinity.
    return sign | 0x7c00;
  if (magnitude < 0x38800000) {
    // Subnormal or zero in half: round magnitude * 2^24 to an integer.
    float scaled = bitsToFloat(magnitude) * 16777216.0f;
    // Adding 2^23 pushes the fraction out of the mantissa, rounding to
    // nearest even in the FPU.
    float rounded = (scaled + 8388608.0f) - 8388608.0f;
    return sign | static_cast<uint16_t>(rounded);
  }
  // Normal: drop 13 mantissa bits with round-to-nearest-even.
  uint32_t lsb = (magnitude >> 13) & 1;
  magnitude += 0xfff + lsb;
  return sign |
         static_cast<uint16_t>(((magnitude >> 13) - (112 << 10)) & 0x7fff);
}

inline float bf16ToFloat(uint16_t b) {
  return bitsToFloat(static_cast<uint32_t>(b) << 16);
}

inline uint16_t floatToBf16(float f) {
  uint32_t bits = floatToBits(f);
  if ((bits & 0x7fffffff) > 0x7f800000) // NaN
    return static_cast<uint16_t>((bits >> 16) | 0x40);
  uint32_t lsb = (bits >> 16) & 1;
  bits += 0x7fff + lsb;
  return static_cast<uint16_t>(bits >> 16);
}

} // namespace llamac

#endif // LLAMAC_FRONTEND_COMMON_FLOAT16_H
