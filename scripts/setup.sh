#!/usr/bin/env bash
# Installs what tensorzoo needs from Debian 12 packages (when missing), then configures and builds.
# Usage: scripts/setup.sh [BUILD_DIR] [extra cmake args...]   (default BUILD_DIR: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${1:-build}
shift || true

packages=(build-essential cmake ninja-build pkg-config git openmpi-bin libopenmpi-dev libxsimd-dev libopenblas-dev
          nlohmann-json3-dev catch2 libbenchmark-dev libutf8proc-dev libcurl4-openssl-dev python3-h5py)
# Package sets a job asks for by name in TZ_PACKAGE_SETS (space-separated), besides the build's:
#   fortunes  the Debian fortune files: the data-set commands, their tests, the quickstart
#   fuzz      clang with its runtime (libFuzzer, ASan, UBSan): scripts/fuzz.sh
# TZ_EXTRA_PACKAGES adds single packages.
declare -A package_sets=(
  [fortunes]="fortunes fortunes-de fortunes-es fortunes-it fortunes-ru fortunes-pl fortunes-cs fortunes-br"
  [fuzz]="clang libclang-rt-dev")
for set_name in ${TZ_PACKAGE_SETS:-}; do
  [ -n "${package_sets[$set_name]:-}" ] || { echo "setup.sh: unknown package set '$set_name'" >&2; exit 2; }
  read -r -a extra <<<"${package_sets[$set_name]}"
  packages+=("${extra[@]}")
done
read -r -a extra <<<"${TZ_EXTRA_PACKAGES:-}"
packages+=(${extra[@]+"${extra[@]}"})
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "[setup] installing: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [ ! -f "$build_dir/CMakeCache.txt" ]; then
  echo "[setup] configuring $build_dir"
  cmake -S . -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
elif [ $# -gt 0 ]; then
  cmake -S . -B "$build_dir" "$@" >/dev/null
fi
# TZ_TARGETS: build only these targets (the quickstart needs just the CLI: about half the build).
read -r -a targets <<<"${TZ_TARGETS:-}"
echo "[setup] building $build_dir${targets[*]+ (${targets[*]})} (this takes a few minutes the first time)"
cmake --build "$build_dir" --parallel "$(nproc)" ${targets[@]+--target "${targets[@]}"}
