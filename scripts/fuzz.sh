#!/usr/bin/env bash
# Builds the checkpoint readers' libFuzzer targets (tests/fuzz/fuzz_*.cpp) with clang and
# -fsanitize=fuzzer,address,undefined, then runs each for N seconds with tests/io/corpus as seeds.
# Prints, per target, the executions done and the findings (crash/leak/timeout/oom artifacts).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [TARGET...]   (targets: safetensors pytorch pickle hdf5)
# Env:   CXX (default clang++-14, else clang++), FUZZ_DIR (default build-fuzz), JOBS (default 1)
# Exit status: 0 when no target found anything, 1 otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(safetensors pytorch pickle hdf5)
out=${FUZZ_DIR:-build-fuzz}
cxx=${CXX:-$(command -v clang++-14 || command -v clang++ || true)}
[ -n "$cxx" ] || { echo "fuzz.sh: clang++ not found (libFuzzer needs clang)" >&2; exit 2; }
mkdir -p "$out"

# Only what the readers need: the tensor core and tensor/io (no kernels, BLAS or autograd).
sources=(tensor/tensor.cpp tensor/storage.cpp tensor/shape.cpp tensor/io/*.cpp)
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION: the HDF5 reader skips checksum comparisons, so that
# mutated inputs reach the parsers behind them (it changes nothing else).
flags=(-std=c++20 -O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
       -fno-sanitize-recover=undefined -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION -I. -Wall -Wextra)

declare -A seeds=([safetensors]=tests/io/corpus/safetensors [pytorch]=tests/io/corpus/pytorch
                  [pickle]=tests/io/corpus/pickle [hdf5]=tests/io/corpus/hdf5)
declare -A dicts=([safetensors]=tests/fuzz/safetensors.dict [pytorch]=tests/fuzz/pickle.dict
                  [pickle]=tests/fuzz/pickle.dict [hdf5]=tests/fuzz/hdf5.dict)
status=0
summary=()
for t in "${targets[@]}"; do
  [ -n "${seeds[$t]:-}" ] || { echo "fuzz.sh: unknown target '$t'" >&2; exit 2; }
  bin="$out/fuzz_$t"
  echo "[fuzz] building $bin"
  "$cxx" "${flags[@]}" "tests/fuzz/fuzz_$t.cpp" "${sources[@]}" -o "$bin"
  work="$out/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  extra_seeds=()
  # HDF5: files h5py writes in every format (dense groups, fractal heaps, chunk indexes, ...), when
  # Debian's python3-h5py is there; the hand-made corpus covers the hostile cases.
  if [ "$t" = hdf5 ] && /usr/bin/python3 -c 'import h5py' 2>/dev/null; then
    /usr/bin/python3 tests/io/h5py_files.py "$work/h5py_seeds" >/dev/null && extra_seeds=("$work/h5py_seeds")
  fi
  echo "[fuzz] running $t for ${seconds}s (seeds: ${seeds[$t]} ${extra_seeds[*]+${extra_seeds[*]}})"
  set +e
  # -rss_limit_mb: an input that makes a reader allocate without bound is a finding (oom-*).
  # -timeout: one input taking more than 10 s is a finding (timeout-*).
  "$bin" "$work/corpus" "${seeds[$t]}" ${extra_seeds[@]+"${extra_seeds[@]}"} -dict="${dicts[$t]}" -max_total_time="$seconds" \
      -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" > "$work/log.txt" 2>&1
  rc=$?
  set -e
  runs=$(grep -Eo 'Done [0-9]+ runs' "$work/log.txt" | grep -Eo '[0-9]+' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log.txt" | grep -Eo '[0-9]+$' | tail -1 || true)
  cov=$(grep -Eo 'cov: [0-9]+' "$work/log.txt" | tail -1 | grep -Eo '[0-9]+' || true)
  findings=$(find "$work/artifacts" -type f | wc -l)
  line="$t: ${runs:-?} executions in ${seconds}s, coverage ${cov:-?} edges, corpus $(ls "$work/corpus" | wc -l) new inputs, findings: $findings (exit $rc)"
  summary+=("$line")
  if [ "$findings" -gt 0 ] || [ "$rc" -ne 0 ]; then
    status=1
    echo "[fuzz] $t FOUND SOMETHING; artifacts in $work/artifacts, log $work/log.txt:"
    grep -E 'ERROR|SUMMARY|runtime error|==[0-9]+==' "$work/log.txt" | head -20 || true
  fi
done
echo "[fuzz] summary"
printf '  %s\n' "${summary[@]}"
exit $status
