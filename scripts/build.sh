#!/usr/bin/env bash
#===- scripts/build.sh - Install what is missing and build llamac ----------===#
#
# Installs the dependencies (scripts/install-deps.sh), configures the build in
# build/ (Ninja, clang-22, lld, ccache, libMLIR.so) and builds everything.
# Environment: BUILD_DIR (default build), LLAMAC_SKIP_INSTALL=1 to skip the
# package check, CMAKE_ARGS for extra configure flags.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

if [ "${LLAMAC_SKIP_INSTALL:-0}" != 1 ]; then
  "$root/scripts/install-deps.sh"
fi

if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld \
    -DPython3_EXECUTABLE="$root/.venv/bin/python" \
    ${CMAKE_ARGS:-}
fi
cmake --build "$build"
