//===- Target.cpp - The target registry -----------------------------------===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// This file implements the target registry and lists the built-in targets.
//
//===----------------------------------------------------------------------===//

#include "codegen/Target.h"
#include "codegen/cpu/CPUTarget.h"
#include "codegen/gpu/GPUTarget.h"

using namespace llamac;

TargetRegistry &TargetRegistry::get() {
  static TargetRegistry registry;
  return registry;
}

void TargetRegistry::add(std::unique_ptr<Target> target) {
  targets_.push_back(std::move(target));
}

const Target *TargetRegistry::lookup(llvm::StringRef name) const {
  for (const auto &target : targets_)
    if (target->name() == name)
      return target.get();
  return nullptr;
}

void llamac::registerAllTargets() {
  static bool registered = [] {
    cpu::registerCPUTargets(TargetRegistry::get());
    gpu::registerGPUTargets(TargetRegistry::get());
    return true;
  }();
  (void)registered;
}
