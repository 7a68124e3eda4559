#!/usr/bin/env bash
#===- scripts/test.sh - Install, build and run every test ------------------===#
#
# The README's test command and the only thing CI runs. Builds llamac
# (scripts/build.sh) and runs every test through CTest: the lit tests, the
# GoogleTest unit tests and the end-to-end checks. The last lines are CTest's
# summary; the exit status is non-zero when anything failed or is missing.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"

start=$(date +%s)
"$root/scripts/build.sh"
echo "test: built in $(( $(date +%s) - start )) s"

cd "$build"
jobs=$(nproc 2>/dev/null || echo 2)
ctest --output-on-failure -j "$jobs"
