#!/usr/bin/env bash
#===- scripts/run.sh - Install, build and run the main job -----------------===#
#
# The README's first command: installs what is missing, builds llamac,
# compiles a model into an executable and generates with it.
#
# Until the GGUF front end and the tokenizer land, the model is a random
# Llama checkpoint written by test/models/make_llama.py (8 layers, hidden
# 512), so the output is token ids, not text.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
work="${LLAMAC_WORK_DIR:-$root/build/run}"
"$root/scripts/build.sh"

mkdir -p "$work"
echo "run: writing a random Llama checkpoint (stand-in until the default model lands)"
"$root/.venv/bin/python" "$root/test/models/make_llama.py" "$work/random-llama" \
  --hidden 512 --intermediate 1376 --layers 8 --heads 8 --kv-heads 4 \
  --vocab 32000 --dtype f16 --max-positions 2048
echo "run: llamac compile $work/random-llama -o $work/chat"
"$build/bin/llamac" compile "$work/random-llama" -o "$work/chat"
echo "run: $work/chat --tokens 1,450,4996,17354,1701 -n 64"
"$work/chat" --tokens 1,450,4996,17354,1701 -n 64 --ignore-eos
