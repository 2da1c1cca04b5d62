#!/usr/bin/env bash
# Runs `tensorzoo bench` (graph-free path, and the plain op-by-op path for comparison) next to
# ONNX Runtime and PyTorch on the same rows, one right after the other so that each comparison sees
# the same machine load, and prints every JSON line (bench/summarize.py makes the tables).
# Usage: bench/compare_peers.sh [BUILD_DIR] [ROWS...]
#   ROWS like small:8:128 (ConvBERT config:batch:seq) or bert:minilm-l6:1:128 (family:config:batch:seq,
#   any family of `tensorzoo info --list` with a peer: convbert, bert, electra, distilbert).
# ONNX Runtime runs only when NODE_PATH points at an onnxruntime-node install (see
# ../shared/bench/onnxruntime-peer/README.md): ConvBERT small on the export there, any other ConvBERT
# config with a CONFIG.onnx in ORT_DERIVED (bench/derive_ort_peer.py: medium-small and base), and a
# BERT, ELECTRA or DistilBERT row with a FAMILY-CONFIG.onnx in ORT_DERIVED (bench/bert_peer.py --export).
# PyTorch runs when TORCH_PYTHON names a Python with torch (Debian 12: apt-get install python3-torch,
# then TORCH_PYTHON=/usr/bin/python3): bench/pytorch_peer.py for ConvBERT, bench/bert_peer.py for the
# others, with OMP_WAIT_POLICY=PASSIVE and OPENBLAS_NUM_THREADS at the row's thread count (Debian's
# torch does not pass its thread count to OpenBLAS). ONNX Runtime's lines get the row's "arch".
# Environment: THREADS (default "1 2"), PLAIN=0 to skip the plain path, TRAIN=1 to time one masked-LM
# training step instead of the forward (tensorzoo for every family, PyTorch for ConvBERT), REPS to
# set every system's timed runs (default 5, 10 at batch 1), ORT_MODEL to override small's model,
# ORT_DERIVED (folder of derived and exported models), TORCH_PYTHON.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="${1:-$here/../build}"
shift || true
rows=("$@")
[ ${#rows[@]} -eq 0 ] && rows=(small:1:128 small:8:128 base:8:128)
threads="${THREADS:-1 2}"
train=()
[ "${TRAIN:-0}" = 1 ] && train=(--train)
reps=()
[ -n "${REPS:-}" ] && reps=(--reps "$REPS")
ort_dir="${ORT_DIR:-$here/../../shared/bench/onnxruntime-peer}"
ort_model="${ORT_MODEL:-$ort_dir/small.onnx}"
echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)  OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2
for row in "${rows[@]}"; do
  IFS=: read -r -a fields <<<"$row"
  case ${#fields[@]} in
    3) arch=convbert; config=${fields[0]}; batch=${fields[1]}; seq=${fields[2]} ;;
    4) arch=${fields[0]}; config=${fields[1]}; batch=${fields[2]}; seq=${fields[3]} ;;
    *) echo "compare_peers: row '$row' is neither CONFIG:BATCH:SEQ nor FAMILY:CONFIG:BATCH:SEQ" >&2; exit 2 ;;
  esac
  bench=("$build/tensorzoo" bench --arch "$arch" --config "$config" --batch "$batch" --seq "$seq" ${reps[@]+"${reps[@]}"})
  for t in $threads; do
    "${bench[@]}" --threads "$t" ${train[@]+"${train[@]}"} 2>/dev/null | tail -1
    if [ "${PLAIN:-1}" != 0 ] && [ ${#train[@]} -eq 0 ]; then
      "${bench[@]}" --threads "$t" --plain-path 2>/dev/null | tail -1
    fi
    model=""
    if [ "$arch" = convbert ] && [ "$config" = small ]; then
      model="$ort_model"
    elif [ "$arch" = convbert ] && [ -n "${ORT_DERIVED:-}" ]; then
      model="$ORT_DERIVED/$config.onnx"
    elif [ -n "${ORT_DERIVED:-}" ]; then
      model="$ORT_DERIVED/$arch-$config.onnx"
    fi
    if [ -n "$model" ] && [ -n "${NODE_PATH:-}" ] && [ -f "$model" ] && [ ${#train[@]} -eq 0 ]; then
      node "$ort_dir/ort_bench.js" "$model" "$config" "$batch" "$seq" "$t" ${REPS:-} 2>/dev/null | tail -1 |
        sed "s/^{/{\"arch\":\"$arch\",/"
    fi
    if [ -n "${TORCH_PYTHON:-}" ]; then
      peer=("$here/pytorch_peer.py")
      if [ "$arch" != convbert ]; then
        [ ${#train[@]} -eq 0 ] || continue  # the BERT-family peer times inference only
        peer=("$here/bert_peer.py" --arch "$arch")
      fi
      OMP_WAIT_POLICY=PASSIVE OPENBLAS_NUM_THREADS="$t" "$TORCH_PYTHON" "${peer[@]}" --config "$config" --batch "$batch" \
        --seq "$seq" --threads "$t" ${reps[@]+"${reps[@]}"} ${train[@]+"${train[@]}"} 2>/dev/null | tail -1
    fi
  done
done
