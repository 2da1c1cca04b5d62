#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine (about 5-10 minutes on 2 cores):
#   1. set up: install missing packages (build tools, libraries, the fortune files), configure, build;
#   2. language identification (scripts/langid.sh): 8-language data from the Debian fortune files,
#      a WordPiece vocabulary, a small ConvBERT trained from scratch, its test accuracy;
#   3. a short masked-LM pretraining run on the same text (for fill-mask);
#   4. the models at work: `tensorzoo classify` on sentences in eight languages, `tensorzoo
#      fill-mask` on one sentence.
# Everything goes under one folder (default runs/quickstart; set TZ_OUT to change it). Finished
# steps are skipped on a rerun; delete a step's folder to redo it.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
out=${TZ_OUT:-runs/quickstart}
threads=${THREADS:-2}
start=$(date +%s)
say() { echo "[quickstart +$(($(date +%s) - start))s] $*"; }

say "1/4 setup (packages, configure, build)"
TZ_PACKAGE_SETS=fortunes TZ_TARGETS=tensorzoo_cli bash scripts/setup.sh build   # the CLI only; the test command builds the rest
bin=$repo/build/tensorzoo
mkdir -p "$out"
out=$(cd "$out" && pwd)

say "2/4 language identification: data, vocabulary, training, test (scripts/langid.sh $out/langid)"
accuracy=$(TZ_BIN=$bin THREADS=$threads bash scripts/langid.sh "$out/langid" 2> >(sed -u 's/^/    /' >&2))
say "language identification: $accuracy   (model: $out/langid/run/model)"

say "3/4 masked-LM pretraining, short (tensorzoo train mlm)"
if [[ ! -f $out/mlm/model/model.safetensors ]]; then
  "$bin" train mlm --corpus "$out/langid/data/corpus.txt" --config "$out/langid/config.json" \
    --tokenizer "$out/langid/tokenizer" --out "$out/mlm" --steps "${MLM_STEPS:-200}" --batch-size 32 \
    --seq-len 64 --lr 2e-3 --warmup 20 --threads "$threads" --seed 42 --log-every 50 --save-every 100 \
    --resume 2>&1 | sed -u 's/^/    /'
else
  say "mlm: $out/mlm/model exists, skipped"
fi

say "4/4 the models at work"
echo "  tensorzoo classify --model $out/langid/run/model ..."
"$bin" classify --model "$out/langid/run/model" \
  "The cat sat on the mat and looked at the moon." \
  "Der Hund schläft im Garten, weil die Sonne scheint." \
  "El perro duerme en el jardín porque hace sol." \
  "Il gatto dorme sul divano tutto il giorno." \
  "Собака спит в саду, потому что светит солнце." \
  "Pies śpi w ogrodzie, bo świeci słońce." \
  "Pes spí na zahradě, protože svítí slunce." \
  "O cachorro dorme no jardim porque faz sol." | sed -u 's/^/    /'
echo "  tensorzoo fill-mask --model $out/mlm/model ..."
"$bin" fill-mask --model "$out/mlm/model" --top-k 5 "the best things in life are [MASK]." | sed -u 's/^/    /'

say "done. Everything is under $out:"
echo "    langid/run/model   HF model directory (ConvBertForSequenceClassification, 8 languages)"
echo "    langid/run/        metrics.jsonl, loss.svg (open it in a browser), checkpoints/"
echo "    mlm/model          HF model directory (ConvBertForMaskedLM)"
echo "    $accuracy"
