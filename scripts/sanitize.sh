#!/usr/bin/env bash
# Builds the test suite with AddressSanitizer + UndefinedBehaviorSanitizer (-DTZ_SANITIZE=ON,
# RelWithDebInfo at -O1, in build-sanitize/) and runs it. Any report fails the run: a memory error
# or a leak (LeakSanitizer, detect_leaks=1), or undefined behaviour (-fno-sanitize-recover). Reports
# go to build-sanitize/sanitizer-logs/ (log_path), so that one from a process a test started (the
# CLI, whose stderr the test may swallow) is seen too; they are printed at the end.
# (The examples test is not run here: it builds examples/ against the installed library as a user
# would, without the sanitizer runtime.)
#
# Usage: scripts/sanitize.sh [AREA...]   (default: every test area; e.g. io tensor autograd models)
# Env:   TZ_REFERENCE_DIR (default ../shared/reference), CI=true (reference data required)
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${TZ_REFERENCE_DIR:-$(pwd)/../shared/reference}
require=OFF
[ "${CI:-}" = "true" ] && require=ON
dir=build-sanitize

areas=("$@")
if [ ${#areas[@]} -eq 0 ]; then
  for d in tests/*/; do
    a=$(basename "$d")
    [ "$a" = fuzz ] && continue
    compgen -G "tests/$a/*.cpp" > /dev/null && areas+=("$a")
  done
fi
targets=(tensorzoo_cli)
for a in "${areas[@]}"; do targets+=("test_$a"); done

# The data-set tests read the Debian fortune files (installed here, as in scripts/test.sh).
# -O1 keeps the stacks of the reports readable and the run about twice as fast as -O0.
TZ_PACKAGE_SETS="fortunes ${TZ_PACKAGE_SETS:-}" TZ_TARGETS="${targets[*]}" bash scripts/setup.sh "$dir" \
  -DTZ_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g" \
  -DTZ_BUILD_BENCH=OFF -DTZ_REFERENCE_DIR="$ref" -DTZ_REQUIRE_REFERENCE=$require

regex="^($(IFS='|'; echo "${areas[*]}"))(_np2)?$"
logs=$(pwd)/$dir/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
echo "[sanitize] running: ${areas[*]}"
status=0
(cd "$dir" && ASAN_OPTIONS=detect_leaks=1:log_path=$logs/asan \
   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$logs/ubsan \
   ctest --output-on-failure --timeout 3000 -R "$regex") || status=1
if compgen -G "$logs/*" > /dev/null; then
  echo "[sanitize] sanitizer reports ($(ls "$logs" | wc -l) files in $logs):"
  for f in "$logs"/*; do
    echo "--- $f"
    head -60 "$f"
  done
  status=1
fi
[ $status -eq 0 ] && echo "[sanitize] no sanitizer reports, all tests passed"
exit $status
