#!/usr/bin/env bash
# Fuzzes one importer: scripts/fuzz.sh TARGET SECONDS
#
# TARGET is one of safetensors, gguf, onnx, tokenizer, args, weights
# (test/fuzz).
# Builds the sanitized fuzzing build (build-asan, or $BUILD_DIR) when it is
# missing, seeds from the test fixtures (test/fuzz/make_corpus.py), grows a
# working corpus in BUILD/fuzz-work/TARGET, and writes any crashing input to
# BUILD/fuzz-findings/. A finding becomes a regression test by copying it
# into test/fuzz/regressions/TARGET/ once it is fixed (docs/hardening.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 2 ]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS [libFuzzer flags...]" >&2
  echo "targets: safetensors gguf onnx tokenizer args weights" >&2
  exit 2
fi
target="$1"; seconds="$2"; shift 2
case "$target" in
  safetensors|gguf|onnx|tokenizer|args|weights) ;;
  *) echo "fuzz.sh: unknown target '$target' (safetensors gguf onnx tokenizer args weights)" >&2; exit 2 ;;
esac
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: SECONDS must be a positive integer, got '$seconds'" >&2; exit 2
fi

build="${BUILD_DIR:-$root/build-asan}"
if [ ! -x "$build/bin/fuzz_$target" ]; then
  BUILD_DIR="$build" CMAKE_ARGS="-DLLAMAC_SANITIZE=address,undefined -DLLAMAC_FUZZ=ON" \
    "$root/scripts/build.sh"
fi
if [ ! -d "$build/fuzz-corpus/$target" ]; then
  "$root/.venv/bin/python" "$root/test/fuzz/make_corpus.py" "$build/fuzz-corpus"
fi
work="$build/fuzz-work/$target"
findings="$build/fuzz-findings"
mkdir -p "$work" "$findings"
dirs=("$work" "$build/fuzz-corpus/$target")
if [ -d "$root/test/fuzz/regressions/$target" ]; then
  dirs+=("$root/test/fuzz/regressions/$target")
fi
# Leaks are reported (detect_leaks is on by default); the limits keep one
# input from taking the machine.
exec "$build/bin/fuzz_$target" -max_total_time="$seconds" -timeout=30 \
  -rss_limit_mb=4096 -malloc_limit_mb=4096 -print_final_stats=1 \
  -close_fd_mask=3 -artifact_prefix="$findings/$target-" "$@" "${dirs[@]}"
