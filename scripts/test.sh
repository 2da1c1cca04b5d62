#!/usr/bin/env bash
# Sets up (packages, including the fortune files some tests read; configure; build) and runs the
# whole test suite with CTest. The golden data is read from ../shared/reference (override:
# TZ_REFERENCE_DIR=...). Under CI=true a missing reference folder is an error, never a silent skip.
# The sanitizer and fuzzing legs of CI are scripts/sanitize.sh and scripts/fuzz.sh (.ci/run).
#
# Under CI=true (or with TZ_TEST_PORTABLE=1) it then also builds the kernel and model tests a
# second time as a portable x86-64 build (TZ_NATIVE=OFF: SSE2, no FMA, in build-portable/) and runs
# them: the host build covers AVX2 or AVX-512, this covers the fallback any x86-64 CPU can run.
# That second run fills uninitialised tensor memory with NaN (TZ_POISON_UNINITIALIZED=1), so an op
# that leaves part of its output unwritten fails there instead of passing on stale values.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${TZ_REFERENCE_DIR:-$(pwd)/../shared/reference}
require=OFF
if [ "${CI:-}" = "true" ]; then
  require=ON
  [ -d "$ref/convbert" ] && [ -d "$ref/tokenizer" ] || { echo "error: CI=true but reference data not found at $ref" >&2; exit 1; }
fi
# The data-set commands' tests read the Debian fortune files: installed here, so they never skip.
TZ_PACKAGE_SETS="fortunes ${TZ_PACKAGE_SETS:-}" bash scripts/setup.sh build -DTZ_REFERENCE_DIR="$ref" \
  -DTZ_REQUIRE_REFERENCE=$require
(cd build && ctest --output-on-failure --timeout 1500)

if [ "${CI:-}" = "true" ] || [ "${TZ_TEST_PORTABLE:-0}" = 1 ]; then
  echo "[test] portable build (TZ_NATIVE=OFF): kernel and model tests, uninitialised memory poisoned with NaN"
  TZ_TARGETS="test_tensor test_models" bash scripts/setup.sh build-portable -DTZ_NATIVE=OFF -DTZ_BUILD_BENCH=OFF \
    -DTZ_REFERENCE_DIR="$ref" -DTZ_REQUIRE_REFERENCE=$require
  (cd build-portable && TZ_POISON_UNINITIALIZED=1 ctest --output-on-failure --timeout 1500 -R '^(tensor|models)$')
fi
