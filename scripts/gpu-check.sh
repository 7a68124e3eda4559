#!/usr/bin/env bash
#===- scripts/gpu-check.sh - Check the CUDA executables on a GPU -----------===#
#
# Two halves, because the machine with the GPU has no compiler, no Python
# packages and no network:
#
#   scripts/gpu-check.sh prepare DIR   (here) compiles two random checkpoints
#       for cuda-sm90 - a 512-wide, 8-layer model quantized to q8_0 and a
#       256-wide f16 one, small enough for the 64 MiB the device tool
#       carries - runs the same prompt through their CPU executables (f32
#       activations: the arithmetic the GPU kernels do) and writes the ids
#       and logits to DIR;
#   scripts/gpu-check.sh run DIR       (on the GPU machine, with DIR carried
#       there) runs the CUDA executables, compares ids and logits with the
#       CPU's, and prints decode and prefill tok/s and the fraction of the
#       GPU's memory bandwidth the decode reaches (weights bytes per token x
#       tok/s / HBM_BYTES_PER_S, 4.8e12 for an H200 by default).
#
# Exit status 0 only when every comparison passes. The run half takes well
# under 8 minutes.
#
#===------------------------------------------------------------------------===#
set -euo pipefail

mode="${1:-}"
dir="${2:-}"
if [ -z "$mode" ] || [ -z "$dir" ]; then
  echo "usage: $0 prepare|run DIR" >&2
  exit 2
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
prompt="1,409,314,216,357,282,464,47,1,409,314,216,357,282,464,47"
# GPU_CHECK_TARGET=opencl-spirv rehearses both halves here, on PoCL.
target="${GPU_CHECK_TARGET:-cuda-sm90}"
steps=32

if [ "$mode" = prepare ]; then
  llamac="$root/build/bin/llamac"
  mkdir -p "$dir"
  py="$root/.venv/bin/python"
  make() { "$py" "$root/test/models/make_llama.py" "$@" >/dev/null; }
  make "$dir/small" --hidden 512 --intermediate 1376 --layers 8 --heads 8 \
    --kv-heads 4 --vocab 8192 --max-positions 512
  make "$dir/tiny" --hidden 256 --intermediate 704 --layers 4 --heads 4 \
    --vocab 2048 --max-positions 512 --dtype f16
  for name in small tiny; do
    quantize=()
    [ "$name" = small ] && quantize=(--quantize q8_0 --quantize-output)
    "$llamac" compile "$dir/$name" -o "$dir/$name-cuda" --target "$target" \
      "${quantize[@]}" --quiet
    "$llamac" compile "$dir/$name" -o "$dir/$name-cpu" "${quantize[@]}" \
      --activation-precision f32 --quiet
    "$dir/$name-cpu" --tokens "$prompt" -n "$steps" --ignore-eos --print-ids \
      --dump-logits "$dir/$name.cpu.logits" >"$dir/$name.cpu.ids"
    rm -rf "$dir/$name-cpu" "$dir/$name"
  done
  cp "$0" "$dir/gpu-check.sh"
  echo "gpu-check: prepared $dir ($(du -sh "$dir" | cut -f1)); on the GPU" \
       "machine run: $dir/gpu-check.sh run $dir"
  exit 0
fi

if [ "$mode" != run ]; then
  echo "gpu-check: unknown mode '$mode' (prepare or run)" >&2
  exit 2
fi
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total \
  --format=csv,noheader || true
hbm="${HBM_BYTES_PER_S:-4.8e12}"
status=0
for name in small tiny; do
  exe="$dir/$name-cuda"
  if ! "$exe" --tokens "$prompt" -n "$steps" --ignore-eos --print-ids \
      --dump-logits "$dir/$name.gpu.logits" >"$dir/$name.gpu.ids" \
      2>"$dir/$name.gpu.err"; then
    echo "gpu-check: $name: the CUDA executable failed:"
    cat "$dir/$name.gpu.err"
    status=1
    continue
  fi
  # Weights bytes: the embedded blob (the executable minus its code).
  python3 - "$dir" "$name" "$hbm" <<'EOF' || status=1
import array, os, sys
d, name, hbm = sys.argv[1], sys.argv[2], float(sys.argv[3])
def ids(path):
    line = [l for l in open(path) if l.startswith("ids:")][-1]
    return line.split()[1:]
def floats(path):
    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return a
cpu, gpu = floats(f"{d}/{name}.cpu.logits"), floats(f"{d}/{name}.gpu.logits")
same = ids(f"{d}/{name}.cpu.ids") == ids(f"{d}/{name}.gpu.ids")
scale = max(abs(x) for x in cpu)
err = max(abs(a - b) for a, b in zip(cpu, gpu)) / scale if len(cpu) == len(gpu) else float("inf")
last = open(f"{d}/{name}.gpu.err").read().strip().splitlines()[-1]
# 'prefill: N tok, X tok/s; decode: M tok, Y tok/s'
decode = float(last.split("decode:")[1].split(",")[1].split()[0])
prefill = float(last.split("prefill:")[1].split(",")[1].split()[0])
weights = os.path.getsize(f"{d}/{name}-cuda")
fraction = weights * decode / hbm
ok = same and err <= 1e-3
print(f"{name}: ids {'identical' if same else 'DIFFER'}, max |logit diff| / max |logit| "
      f"{err:.2e}; prefill {prefill:.1f} tok/s, decode {decode:.1f} tok/s; "
      f"~{weights / 1e6:.0f} MB read per token = {fraction:.1%} of {hbm / 1e12:.1f} TB/s"
      f" -> {'PASS' if ok else 'FAIL'}")
sys.exit(0 if ok else 1)
EOF
done
exit $status
