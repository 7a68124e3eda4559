#!/usr/bin/env bash
#===- scripts/install-deps.sh - Install what llamac needs ------------------===#
#
# Installs every Debian package llamac builds and tests with (LLVM/MLIR 22 from
# bookworm-security, protobuf, ONNX, GoogleTest, Ninja, ccache, Python venv) and
# creates the project's Python virtual environment in .venv with the test tools
# from PyPI. Idempotent: when everything is present it only checks and returns.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  build-essential cmake ninja-build ccache git pkg-config time
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22
  libprotobuf-dev protobuf-compiler libonnx-dev
  libgtest-dev libgmock-dev clang-format-22 libclang-rt-22-dev
  qemu-user-static libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross
  libc6-dev-riscv64-cross libstdc++-12-dev-riscv64-cross
  pocl-opencl-icd ocl-icd-opencl-dev llvm-spirv-15
  python3 python3-venv python3-dev
  zlib1g-dev libzstd-dev libedit-dev libxml2-dev libffi-dev libcurl4-openssl-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=""
  if [ "$(id -u)" -ne 0 ]; then sudo_cmd="sudo"; fi
  $sudo_cmd apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "install-deps: Debian packages present"
fi

# Fail loudly if the toolchain is not where the build expects it.
for tool in /usr/lib/llvm-22/bin/mlir-tblgen /usr/lib/llvm-22/bin/FileCheck \
            /usr/lib/llvm-22/lib/cmake/mlir/MLIRConfig.cmake; do
  if [ ! -e "$tool" ]; then
    echo "install-deps: error: $tool is missing after installation" >&2
    exit 1
  fi
done

# The CUDA targets need a CUDA toolkit (ptxas, libdevice) to compile; it is
# not a Debian package. These machines have CUDA 13 at /usr/local/cuda.
cuda="${CUDA_HOME:-/usr/local/cuda}"
if [ ! -x "$cuda/bin/ptxas" ] || [ ! -f "$cuda/nvvm/libdevice/libdevice.10.bc" ]; then
  echo "install-deps: warning: no CUDA toolkit at $cuda (ptxas, libdevice):" \
       "--target cuda-sm80/cuda-sm90 and their tests will fail" >&2
fi

# Python virtual environment with the test tools. lit comes from PyPI because
# Debian's llvm-22-tools ships only a lit wrapper without the Python package on
# some installs; the pinned requirements file lists everything.
"$root/scripts/setup-venv.sh"
