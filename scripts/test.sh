#!/usr/bin/env bash
#===- scripts/test.sh - Install, build and run every test ------------------===#
#
# The README's test command and the only thing CI runs. Builds llamac
# (scripts/build.sh) and runs every test through CTest: the lit tests, the
# GoogleTest unit tests and the end-to-end checks, then all of it again in a
# sanitizer build (scripts/test-sanitized.sh) with the fuzz corpora replayed.
# The exit status is non-zero when anything failed or is missing.
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

# The same suite again under ASan/UBSan, with each fuzz corpus replayed
# (docs/hardening.md). LLAMAC_SKIP_SANITIZED=1 skips it on a quick local run.
# Its CTest summary is the last line of the output.
if [ "${LLAMAC_SKIP_SANITIZED:-0}" != 1 ]; then
  echo "test: main suite done in $(( $(date +%s) - start )) s"
  LLAMAC_SKIP_INSTALL=1 "$root/scripts/test-sanitized.sh"
fi
