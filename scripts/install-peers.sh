#!/usr/bin/env bash
#===- scripts/install-peers.sh - Peers for goldens and benchmarks ----------===#
#
# Installs llama-cpp-python (which builds llama.cpp from source) into the
# project's venv. Only the golden-file scripts and bench/ need it; CI does
# not. llama.cpp is built with the host's native flags but without AMX: its
# AMX path crashes on quantized weights on these machines (llama.cpp issue
# #20824), so the peer runs its AVX2/AVX-512/VNNI kernels.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup-venv.sh"
if "$root/.venv/bin/python" -c "import llama_cpp" 2>/dev/null; then
  echo "install-peers: llama-cpp-python present"
  exit 0
fi
echo "install-peers: building llama-cpp-python from source (several minutes)"
no_amx="-mno-amx-tile -mno-amx-int8 -mno-amx-bf16"
CMAKE_ARGS="-DGGML_NATIVE=ON -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF -DCMAKE_C_FLAGS='$no_amx' -DCMAKE_CXX_FLAGS='$no_amx'" \
  CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
  "$root/.venv/bin/python" -m pip install --no-binary llama-cpp-python \
  llama-cpp-python
