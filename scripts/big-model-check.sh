#!/usr/bin/env bash
# Compiles a Llama-3.1-8B-shaped checkpoint by streaming and runs it.
#
#   scripts/big-model-check.sh [WORKDIR]
#
# Writes the checkpoint as sparse bf16 shards (test/models/make_sparse_llama.py:
# 15 GiB that take no disk), compiles it with --quantize q4_0 --weights
# external under /usr/bin/time -v, and generates 4 tokens with 2 threads.
# Prints the compile's wall time and peak RSS (the hardening issue's bound is
# 6 GB), the executable's and weights' sizes, and the run's rates. Needs about
# 6 GB of free disk in WORKDIR (default: build/big-model) for the weights.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
work="${1:-$build/big-model}"
llamac="$build/bin/llamac"
[ -x "$llamac" ] || { echo "big-model-check: build llamac first ($llamac)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "big-model-check: /usr/bin/time missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
mkdir -p "$work"
rm -rf "$work/llama3.1-8b" "$work/chat" "$work/chat.weights"
"$root/.venv/bin/python" "$root/test/models/make_sparse_llama.py" "$work/llama3.1-8b"

/usr/bin/time -v -o "$work/compile.time" "$llamac" compile "$work/llama3.1-8b" \
  -o "$work/chat" --quantize q4_0 --weights external
wall=$(grep "Elapsed (wall clock)" "$work/compile.time" | awk '{print $NF}')
rss_kb=$(grep "Maximum resident set size" "$work/compile.time" | awk '{print $NF}')
echo "big-model-check: compile wall $wall, peak RSS $(( rss_kb / 1024 )) MB"
echo "big-model-check: executable $(( $(stat -c %s "$work/chat") / 1024 )) KB," \
  "weights $(( $(stat -c %s "$work/chat.weights") / 1048576 )) MiB"
if [ "$rss_kb" -ge $(( 6 * 1000 * 1000 )) ]; then
  echo "big-model-check: FAIL: compile peak RSS is over 6 GB" >&2; exit 1
fi
"$work/chat" --tokens 128000,791,6864,315,9822 -n 4 --threads 2 --print-ids --ignore-eos
