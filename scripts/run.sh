#!/usr/bin/env bash
#===- scripts/run.sh - Install, build and run the main job -----------------===#
#
# The README's first command. Until the end-to-end compiler lands it builds
# llamac and runs a sample: one SmolLM2-135M decoder layer in the llama
# dialect, quantized to q8_0 by llamac-opt.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${BUILD_DIR:-$root/build}"
"$root/scripts/build.sh"

echo "run: sample only (the end-to-end compiler is not there yet):"
echo "run: llamac-opt examples/decoder-layer.mlir --llama-quantize=scheme=q8_0"
"$build/bin/llamac-opt" "$root/examples/decoder-layer.mlir" \
  --llama-quantize=scheme=q8_0
