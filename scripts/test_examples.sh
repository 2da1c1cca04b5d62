#!/usr/bin/env bash
# Tests the installed library the way a user meets it. Usage:
#   scripts/test_examples.sh BUILD_DIR [REFERENCE_DIR]
# 1. `cmake --install BUILD_DIR` into a temporary prefix;
# 2. every installed header compiles against that prefix alone (nothing missing from the install);
# 3. a one-file program builds with `pkg-config --cflags --libs tensorzoo` and runs;
# 4. examples/train_tiny and examples/classify_app build with find_package(tensorzoo) against the
#    prefix; train_tiny's loss must fall and the model it saves must classify two new sentences;
# 5. classify_app on REFERENCE_DIR/convbert/tiny-seqcls: output format, and each label/probability
#    equal to what the installed CLI computes (`tensorzoo tokenize` + `tensorzoo run`) for the line.
# Without reference data step 5 is skipped (an error when TZ_REQUIRE_REFERENCE=1).
set -euo pipefail
build=$(cd "${1:?usage: test_examples.sh BUILD_DIR [REFERENCE_DIR]}" && pwd)
ref=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/tz-examples.XXXXXX")
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
[ -n "$cxx" ] || cxx=c++
# A sanitizer build's library needs the sanitizer runtimes in every program that links it.
san_flags=""
grep -q '^TZ_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" && san_flags="-fsanitize=address,undefined"
cmake_args=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx"
            -DCMAKE_CXX_FLAGS="-Wall -Wextra $san_flags" -DCMAKE_EXE_LINKER_FLAGS="$san_flags")
command -v ninja >/dev/null && cmake_args+=(-G Ninja)
command -v ccache >/dev/null && cmake_args+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
[ -f "$prefix/include/tensorzoo/tensorzoo.h" ] || fail "umbrella header not installed"
[ -x "$prefix/bin/tensorzoo" ] || fail "CLI not installed"
[ ! -e "$prefix/include/tensorzoo/cli" ] || fail "cli/ headers must not be installed"
pc_dir=$(dirname "$(find "$prefix" -name tensorzoo.pc | head -n1)")
[ -f "$pc_dir/tensorzoo.pc" ] || fail "tensorzoo.pc not installed"

step "every installed header compiles against the prefix alone"
(cd "$prefix/include" && find tensorzoo -name '*.h' | sort | sed 's/.*/#include <&>/') > "$work/all_headers.cpp"
"$cxx" -std=c++20 -fsyntax-only -Wall -Wextra -Werror -I"$prefix/include" -I"$prefix/include/tensorzoo" \
  "$work/all_headers.cpp" || fail "installed headers do not compile on their own"
echo "$(wc -l < "$work/all_headers.cpp") headers"

step "pkg-config: a one-file program"
cat > "$work/pc_app.cpp" <<'CPP'
#include <tensorzoo/tensorzoo.h>
#include <cstdio>
int main() {
  // [[1,2],[3,4]] @ [[1],[1]] = [[3],[7]], via OpenBLAS.
  tz::Tensor a = tz::raw::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  tz::Tensor b = tz::raw::ones({2, 1});
  auto c = tz::matmul(a, b).to_vector<float>();
  auto tokens = tz::tokenizer::WordPiece::from_tokens({"[UNK]", "hello"}).tokenize("Hello");
  std::printf("%g %g %s\n", c[0], c[1], tokens.at(0).c_str());
  return c[0] == 3 && c[1] == 7 && tokens.at(0) == "hello" ? 0 : 1;
}
CPP
# shellcheck disable=SC2046
"$cxx" -std=c++20 -O1 $san_flags "$work/pc_app.cpp" -o "$work/pc_app" \
  $(PKG_CONFIG_PATH="$pc_dir" pkg-config --cflags --libs tensorzoo) || fail "pkg-config build failed"
[ "$("$work/pc_app")" = "3 7 hello" ] || fail "pkg-config program printed the wrong result"

for ex in train_tiny classify_app; do
  step "build examples/$ex with find_package(tensorzoo)"
  cmake -S "$src/examples/$ex" -B "$work/$ex" "${cmake_args[@]}" >/dev/null || fail "configure $ex"
  cmake --build "$work/$ex" > "$work/$ex.log" 2>&1 || { cat "$work/$ex.log"; fail "build $ex"; }
  ! grep -q "warning:" "$work/$ex.log" || { cat "$work/$ex.log"; fail "warnings building $ex"; }
done
classify=$work/classify_app/classify_app

step "train_tiny"
"$work/train_tiny/train_tiny" "$work/tiny-model" | tee "$work/train.log"
first=$(awk '/loss/ {print $4; exit}' "$work/train.log")
last=$(awk '/loss/ {v = $4} END {print v}' "$work/train.log")
awk -v a="$first" -v b="$last" 'BEGIN {exit !(b < 0.5 * a)}' || fail "loss did not fall by half: $first -> $last"
for f in config.json model.safetensors vocab.txt; do
  [ -f "$work/tiny-model/$f" ] || fail "train_tiny did not save $f"
done
printf 'what a great fun story\nsuch a dull boring story\n' | "$classify" "$work/tiny-model" | tee "$work/tiny.out"
[ "$(cut -f1 "$work/tiny.out" | tr '\n' ' ')" = "positive negative " ] || fail "trained model misclassifies"

case_dir=${ref:+$ref/convbert/tiny-seqcls}
if [ -z "$case_dir" ] || [ ! -f "$case_dir/config.json" ]; then
  if [ "${TZ_REQUIRE_REFERENCE:-0}" = "1" ]; then fail "reference case tiny-seqcls not found under '$ref'"; fi
  echo "SKIPPED: classify_app on reference data (no tiny-seqcls under '$ref')"
  exit 0
fi

step "classify_app on $case_dir"
lines=("The quick brown fox jumps over the lazy dog." "hello world" "A sentence, with punctuation!" "")
printf '%s\n' "${lines[@]}" | "$classify" "$case_dir" > "$work/ref.out"
cat "$work/ref.out"
[ "$(wc -l < "$work/ref.out")" -eq "${#lines[@]}" ] || fail "expected one output line per input line"
awk -F'\t' 'NF != 3 || $1 !~ /^LABEL_[0-2]$/ || $2 < 1/3 - 1e-6 || $2 > 1 {exit 1}' "$work/ref.out" \
  || fail "output is not LABEL<TAB>PROBABILITY<TAB>TEXT with a label of config.json and p in [1/3, 1]"

# The same lines through the installed CLI: ids from `tensorzoo tokenize`, written as a safetensors
# file with printf, logits from `tensorzoo run`, read back with od; softmax and argmax in awk.
le_bytes() {  # VALUE NBYTES -> the little-endian bytes as printf escapes
  local v=$1 n=$2 out="" k
  for ((k = 0; k < n; k++)); do out+=$(printf '\\x%02x' $(((v >> (8 * k)) & 255))); done
  printf '%s' "$out"
}
labels=$(awk '/"id2label"/ {on = 1; next} on && /}/ {exit} on {gsub(/[",]/, ""); sub(/:/, ""); print $1, $2}' \
  "$case_dir/config.json")
i=0
for line in "${lines[@]}"; do
  i=$((i + 1))
  read -r -a ids <<< "$("$prefix/bin/tensorzoo" tokenize --tokenizer "$case_dir" "$line" | sed -n 's/^ids: *//p')"
  n=${#ids[@]}
  header="{\"input_ids\":{\"dtype\":\"I64\",\"shape\":[1,$n],\"data_offsets\":[0,$((8 * n))]}}"
  while [ $(( ${#header} % 8 )) -ne 0 ]; do header+=" "; done
  {
    printf "$(le_bytes ${#header} 8)"
    printf '%s' "$header"
    for id in "${ids[@]}"; do printf "$(le_bytes "$id" 8)"; done
  } > "$work/in.safetensors"
  "$prefix/bin/tensorzoo" run --model "$case_dir" --inputs "$work/in.safetensors" \
    --output "$work/out.safetensors" 2>/dev/null || fail "tensorzoo run failed on line $i"
  hlen=$(od -An -t u8 -N 8 "$work/out.safetensors" | tr -d ' ')
  offsets=$(head -c $((8 + hlen)) "$work/out.safetensors" | tail -c "$hlen" |
    sed -n 's/.*"logits":{[^}]*"data_offsets":\[\([0-9]*\),\([0-9]*\)\].*/\1 \2/p')
  read -r begin end <<< "$offsets"
  [ -n "$begin" ] || fail "no logits in the output of tensorzoo run"
  expected=$(od -An -v -t f4 -j $((8 + hlen + begin)) -N $((end - begin)) "$work/out.safetensors" |
    awk -v names="$labels" '{for (k = 1; k <= NF; k++) v[n++] = $k}
      END {best = 0; for (k = 1; k < n; k++) if (v[k] > v[best]) best = k
           s = 0; for (k = 0; k < n; k++) s += exp(v[k] - v[best])
           split(names, a, /[ \n]/); for (k = 1; k in a; k += 2) if (a[k] == best) name = a[k + 1]
           printf "%s\t%.6f", name, 1 / s}')
  got=$(sed -n "${i}p" "$work/ref.out" | cut -f1,2)
  awk -F'\t' -v g="$got" -v e="$expected" 'BEGIN {split(g, a, "\t"); split(e, b, "\t");
      d = a[2] - b[2]; exit !(a[1] == b[1] && d < 1e-5 && d > -1e-5)}' \
    || fail "line $i: classify_app says '$got', tensorzoo run says '$expected'"
  echo "line $i: classify_app $got | tensorzoo run $expected"
done
echo "classify_app agrees with \`tensorzoo run\` on ${#lines[@]} lines"
echo "OK"
