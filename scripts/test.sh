#!/usr/bin/env bash
# Sets up (packages, configure, build) and runs the whole test suite with CTest.
# The golden data is read from ../shared/reference (override: TZ_REFERENCE_DIR=...).
# Under CI=true a missing reference folder is an error, never a silent skip.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${TZ_REFERENCE_DIR:-$(pwd)/../shared/reference}
require=OFF
if [ "${CI:-}" = "true" ]; then
  require=ON
  [ -d "$ref/convbert" ] && [ -d "$ref/tokenizer" ] || { echo "error: CI=true but reference data not found at $ref" >&2; exit 1; }
fi
bash scripts/setup.sh build -DTZ_REFERENCE_DIR="$ref" -DTZ_REQUIRE_REFERENCE=$require
cd build
ctest --output-on-failure --timeout 1500
