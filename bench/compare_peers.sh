#!/usr/bin/env bash
# Runs `tensorzoo bench` (graph-free path, and the plain op-by-op path for comparison) next to
# ONNX Runtime and PyTorch on the same rows, one right after the other so that each comparison sees
# the same machine load, and prints every JSON line (bench/summarize.py makes the tables).
# Usage: bench/compare_peers.sh [BUILD_DIR] [ROWS...]    ROWS like small:8:128 (config:batch:seq)
# ONNX Runtime runs only when NODE_PATH points at an onnxruntime-node install (see
# ../shared/bench/onnxruntime-peer/README.md), on `small` (the exported model there) and on any config
# with a CONFIG.onnx in ORT_DERIVED (made by bench/derive_ort_peer.py: medium-small and base).
# PyTorch runs when TORCH_PYTHON names a Python with torch (Debian 12: apt-get install python3-torch,
# then TORCH_PYTHON=/usr/bin/python3): bench/pytorch_peer.py, with OMP_WAIT_POLICY=PASSIVE and
# OPENBLAS_NUM_THREADS at the row's thread count (Debian's torch does not pass its thread count to OpenBLAS).
# Environment: THREADS (default "1 2"), PLAIN=0 to skip the plain path, TRAIN=1 to time one masked-LM
# training step instead of the forward (tensorzoo and PyTorch only), ORT_MODEL to override small's
# model, ORT_DERIVED (folder of derived models), TORCH_PYTHON.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shift || true
rows=("$@")
[ ${#rows[@]} -eq 0 ] && rows=(small:1:128 small:8:128 base:8:128)
threads="${THREADS:-1 2}"
train=()
[ "${TRAIN:-0}" = 1 ] && train=(--train)
ort_dir="${ORT_DIR:-$here/../../shared/bench/onnxruntime-peer}"
ort_model="${ORT_MODEL:-$ort_dir/small.onnx}"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
for row in "${rows[@]}"; do
  IFS=: read -r config batch seq <<<"$row"
  for t in $threads; do
    "$build/tensorzoo" bench --config "$config" --batch "$batch" --seq "$seq" --threads "$t" ${train[@]+"${train[@]}"} \
      2>/dev/null | tail -1
    if [ "${PLAIN:-1}" != 0 ] && [ ${#train[@]} -eq 0 ]; then
      "$build/tensorzoo" bench --config "$config" --batch "$batch" --seq "$seq" --threads "$t" --plain-path 2>/dev/null | tail -1
    fi
    model=""
    if [ "$config" = small ]; then
      model="$ort_model"
    elif [ -n "${ORT_DERIVED:-}" ]; then
      model="$ORT_DERIVED/$config.onnx"
    fi
    if [ -n "$model" ] && [ -n "${NODE_PATH:-}" ] && [ -f "$model" ] && [ ${#train[@]} -eq 0 ]; then
      node "$ort_dir/ort_bench.js" "$model" "$config" "$batch" "$seq" "$t" 2>/dev/null | tail -1
    fi
    if [ -n "${TORCH_PYTHON:-}" ]; then
      OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS="$t" "$TORCH_PYTHON" "$here/pytorch_peer.py" --config "$config" --batch "$batch" \
        --seq "$seq" --threads "$t" ${train[@]+"${train[@]}"} 2>/dev/null | tail -1
    fi
  done
done
