#!/usr/bin/env bash
# The main job: set up (packages, configure, build), then run the tensorzoo demo end to end.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
out=${TZ_OUT:-runs/quickstart}
mkdir -p "$out"
./build/tensorzoo demo --out "$out"
echo "[quickstart] everything written under $out"
