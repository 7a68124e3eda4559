#!/usr/bin/env bash
# Builds llamac with AddressSanitizer and UndefinedBehaviorSanitizer (compiler,
# runtime, and the executables it links) plus the libFuzzer harnesses, in
# build-asan (or $ASAN_BUILD_DIR), and runs the whole test suite there: every
# lit, unit and end-to-end test, and each fuzz corpus replayed once
# (docs/hardening.md). Any sanitizer report fails the test that triggered it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${ASAN_BUILD_DIR:-$root/build-asan}"

start=$(date +%s)
BUILD_DIR="$build" \
  CMAKE_ARGS="-DLLAMAC_SANITIZE=address,undefined -DLLAMAC_FUZZ=ON" \
  "$root/scripts/build.sh"
echo "test-sanitized: built in $(( $(date +%s) - start )) s"

# halt_on_error: the first report fails the process; the e2e tests check
# exit codes, so a report in llamac or an executable fails its test.
export ASAN_OPTIONS="${ASAN_OPTIONS:-halt_on_error=1:abort_on_error=0:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"
cd "$build"
jobs=$(nproc 2>/dev/null || echo 2)
ctest --output-on-failure -j "$jobs"
