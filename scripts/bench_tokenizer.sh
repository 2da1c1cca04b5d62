#!/usr/bin/env bash
# Tokenizer speed, ours beside HuggingFace's, in one run on one machine.
# Builds the ~20 MB English corpus with the shared make_corpus.sh into a temp dir, builds
# bench_tokenizer, then runs ours (one call per line; encode_batch on 1 and 2 threads, returning new
# Encodings and refilling one reused vector) and the anchor (shared/bench/tokenizer-anchor/bench.js:
# HF Rust tokenizers through Node, and HF's JS port).
# Prints MB/s and tokens/s for each.
#
#   scripts/bench_tokenizer.sh [RUNS=3]
# Needs: apt-get install fortunes; node + npm (the anchor's npm packages are installed into a temp
# dir on first use, outside the repository). Environment: TZ_REFERENCE_DIR (default ../shared/reference),
# TZ_BENCH_DIR (scratch dir, default /tmp/tz_tokbench), SKIP_ANCHOR=1 to time only ours.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
ref=${TZ_REFERENCE_DIR:-$(pwd)/../shared/reference}
anchor=$(pwd)/../shared/bench/tokenizer-anchor
work=${TZ_BENCH_DIR:-/tmp/tz_tokbench}
tokenizer_json="$ref/tokenizer/tokenizer.json"
mkdir -p "$work"

corpus="$work/corpus_en.txt"
[ -s "$corpus" ] || bash "$anchor/make_corpus.sh" "$corpus"

cmake -S . -B build -G Ninja -DTZ_BUILD_BENCH=ON > /dev/null
ninja -C build -j2 bench_tokenizer

echo "== tensorzoo (C++) =="
./build/bench_tokenizer "$corpus" "$tokenizer_json" "$runs" line,batch1,batch2,reuse1,reuse2

if [ "${SKIP_ANCHOR:-0}" = 1 ]; then exit 0; fi
if [ ! -d "$work/node_modules/@anush008/tokenizers" ]; then
  (cd "$work" && npm init -y > /dev/null &&
   npm install --silent @anush008/tokenizers @anush008/tokenizers-linux-x64-gnu @huggingface/tokenizers)
fi
cp "$anchor/bench.js" "$work/bench.js"
echo "== HF anchor, 1 thread =="
(cd "$work" && UV_THREADPOOL_SIZE=1 RAYON_NUM_THREADS=1 node bench.js "$corpus" "$tokenizer_json" "$runs" \
  rust-line,rust-batch,js-line | grep -v '^{')
echo "== HF anchor, Rust batch on 2 threads =="
(cd "$work" && UV_THREADPOOL_SIZE=1 RAYON_NUM_THREADS=2 node bench.js "$corpus" "$tokenizer_json" "$runs" \
  rust-batch | grep -v '^{')
