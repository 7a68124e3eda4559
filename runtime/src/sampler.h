//===- sampler.h - Picking tokens from logits -------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares what the runtime shares of the sampler beyond the C API
// (llamac.h): the greedy choice, used by llamac_forward_greedy on the CPU.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_RUNTIME_SAMPLER_H
#define LLAMAC_RUNTIME_SAMPLER_H

#include <cstdint>

namespace llamac::runtime {

/// The index of the largest of `n` logits, the lowest on ties (NaNs never
/// win): the greedy sampler's choice.
int32_t argmax(const float *logits, int32_t n);

} // namespace llamac::runtime

#endif // LLAMAC_RUNTIME_SAMPLER_H
