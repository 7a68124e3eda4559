//===- SanitizerPrelude.h - Included first in ASan builds -------*- C++ -*-===//
//
// Part of llamac, under the Apache License v2.0.
//
//===----------------------------------------------------------------------===//
//
// Debian's libMLIR.so and libLLVM.so are not built with AddressSanitizer, but
// their headers' inline code is compiled into llamac's objects. LLVM's
// BumpPtrAllocator poisons the slabs it hands out when it sees ASan
// (llvm/Support/Compiler.h) and unpoisons each allocation; when an
// instrumented instantiation poisons a slab and an uninstrumented one in
// libMLIR.so allocates from it, every later access to that memory is a false
// use-after-poison. This header, force-included by the sanitizer build, turns
// the allocator's poisoning off so both halves agree; ASan still checks every
// access the usual way (heap redzones, use after free, stack, globals).
//
//===----------------------------------------------------------------------===//

#if defined(__cplusplus) && __has_include("llvm/Support/Compiler.h")
#include "llvm/Support/Compiler.h"
#undef __asan_poison_memory_region
#undef __asan_unpoison_memory_region
#define __asan_poison_memory_region(p, size) ((void)(p), (void)(size))
#define __asan_unpoison_memory_region(p, size) ((void)(p), (void)(size))
#endif
