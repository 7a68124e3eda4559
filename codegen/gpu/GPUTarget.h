//===- GPUTarget.h - The GPU targets ----------------------------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file declares the registration of the GPU targets: cuda-sm80 and
// cuda-sm90 (NVVM -> PTX -> cubin) and opencl-spirv (SPIR-V), which share
// the gpu-dialect kernels of convert-llama-to-gpu.
//
//===----------------------------------------------------------------------===//

#ifndef LLAMAC_CODEGEN_GPU_GPUTARGET_H
#define LLAMAC_CODEGEN_GPU_GPUTARGET_H

#include "codegen/Target.h"

namespace llamac::gpu {

void registerGPUTargets(TargetRegistry &registry);

} // namespace llamac::gpu

#endif // LLAMAC_CODEGEN_GPU_GPUTARGET_H
