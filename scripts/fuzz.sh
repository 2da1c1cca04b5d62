#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/fuzz_<name>.cpp) through CMake with -DTZ_FUZZ=ON (clang,
# libFuzzer, AddressSanitizer + UndefinedBehaviorSanitizer, leak detection) in build-fuzz/, then
# runs each for N seconds. Seeds: every folder tests/*/corpus/<name>/ (e.g. tests/io/corpus/
# safetensors); dictionary: tests/fuzz/<name>.dict when it exists. A new target joins by naming
# its files that way; nothing here lists targets.
#
# A finding is any crash, sanitizer report (memory error, undefined behaviour, leak), input that
# takes more than 10 s (timeout) or needs more than 2 GB (out-of-memory), or an exception other
# than tz::Error escaping a target. Prints per target the executions, the coverage reached and the
# findings (artifacts in build-fuzz/run/<name>/artifacts/: add each to the corpus with its
# expected error once fixed).
#
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET=60] [NAME...]   (default: every target)
# Env:   FUZZ_DIR (default build-fuzz), FUZZ_JOBS (targets run at once, default: the core count)
# Exit status: 0 when no target found anything, 1 otherwise, 2 when the build failed.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
out=${FUZZ_DIR:-build-fuzz}
jobs=${FUZZ_JOBS:-$(nproc)}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for src in tests/fuzz/fuzz_*.cpp; do
    n=$(basename "$src" .cpp)
    names+=("${n#fuzz_}")
  done
fi
for n in "${names[@]}"; do
  [ -f "tests/fuzz/fuzz_$n.cpp" ] || { echo "fuzz.sh: no target tests/fuzz/fuzz_$n.cpp" >&2; exit 2; }
done

echo "[fuzz] building ${#names[@]} targets in $out (clang, -DTZ_FUZZ=ON)"
build_start=$(date +%s)
targets=()
for n in "${names[@]}"; do targets+=("fuzz_$n"); done
if ! TZ_PACKAGE_SETS="fuzz ${TZ_PACKAGE_SETS:-}" TZ_TARGETS="${targets[*]}" bash scripts/setup.sh "$out" \
     -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTZ_FUZZ=ON \
     -DTZ_BUILD_TESTS=OFF -DTZ_BUILD_BENCH=OFF; then
  echo "[fuzz] build failed" >&2
  exit 2
fi
echo "[fuzz] build took $(($(date +%s) - build_start)) s"

run_target() {
  local n=$1 work="$out/run/$1"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  local seeds=() dict=()
  for d in tests/*/corpus/"$n"; do [ -d "$d" ] && seeds+=("$d"); done
  [ -f "tests/fuzz/$n.dict" ] && dict=(-dict="tests/fuzz/$n.dict")
  set +e
  # -rss_limit_mb: an input that makes a reader allocate without bound is a finding (oom-*); it
  # also caps a single malloc. -timeout: one input running more than 10 s is a finding (timeout-*).
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$out/fuzz_$n" "$work/corpus" ${seeds[@]+"${seeds[@]}"} ${dict[@]+"${dict[@]}"} -max_total_time="$seconds" \
    -rss_limit_mb=2048 -timeout=10 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" > "$work/log.txt" 2>&1
  echo $? > "$work/exit_code"
  set -e
  printf '%s\n' ${seeds[@]+"${seeds[@]}"} > "$work/seeds"
}

running=0
for n in "${names[@]}"; do
  echo "[fuzz] running $n for ${seconds}s"
  run_target "$n" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait

status=0
summary=()
for n in "${names[@]}"; do
  work="$out/run/$n"
  rc=$(cat "$work/exit_code")
  runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log.txt" | grep -Eo '[0-9]+$' | tail -1 || true)
  [ -n "$runs" ] || runs=$(grep -Eo '^#[0-9]+' "$work/log.txt" | tail -1 | tr -d '#' || true)
  cov=$(grep -Eo 'cov: [0-9]+' "$work/log.txt" | tail -1 | grep -Eo '[0-9]+' || true)
  findings=$(find "$work/artifacts" -type f | wc -l)
  seeds=$(paste -sd, "$work/seeds")
  summary+=("$n: ${runs:-?} executions in ${seconds}s, coverage ${cov:-?} edges, $(ls "$work/corpus" | wc -l) inputs kept, seeds ${seeds:-none}; findings: $findings (exit $rc)")
  if [ "$findings" -gt 0 ] || [ "$rc" -ne 0 ]; then
    status=1
    echo "[fuzz] $n FOUND SOMETHING (artifacts in $work/artifacts, log $work/log.txt):"
    grep -E 'ERROR|SUMMARY|runtime error|terminate called|==[0-9]+==|^    #[0-9] ' "$work/log.txt" | head -30 || true
    for a in "$work"/artifacts/*; do [ -f "$a" ] && echo "  artifact: $a ($(stat -c %s "$a") bytes)"; done
  fi
done
echo "[fuzz] summary"
printf '  %s\n' "${summary[@]}"
exit $status
