#!/usr/bin/env bash
# The ConvBERT paper's comparison (Jiang et al., 2020), at a size a 2-core machine runs in under
# three hours: four encoders of one size pretrained on the same text with the same token budget,
# BERT with masked-LM, ELECTRA (BERT's backbone with replaced-token detection), ConvBERT with
# masked-LM and ConvBERT with replaced-token detection (the paper's own recipe), then each
# fine-tuned on the four fortune tasks with three seeds. Prints one table: per model, the
# pretraining time and FLOPs, and per task the mean and standard deviation over the seeds.
# docs/experiments/convbert-paper.md holds a measured table and what it says about the paper.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: scripts/reproduce_convbert_paper.sh OUT_DIR [--quick]

Writes under OUT_DIR:
  data/<task>/      the four fortune data sets (tensorzoo data fortunes-*), one split of the fortunes
  tokenizer/        a WordPiece vocabulary learned from the training fortunes
  configs/          bert.json, electra.json, convbert.json: one size
  pretrain/<model>/ bert-mlm, electra-rtd, convbert-mlm, convbert-rtd (tensorzoo train mlm | rtd)
  finetune/<model>/<task>/seed<k>/   every fine-tuning run and its train.log
  results.tsv       model, task, seed, metric, value (one line per run)
  table.md          the table printed at the end
Each step is skipped when its output exists (delete it to redo).

--quick runs every stage at a toy size in a few minutes (for the tests; the numbers mean nothing).

Environment (defaults in brackets; --quick changes the defaults):
  TZ_BIN        tensorzoo binary [build/tensorzoo, built with scripts/setup.sh when missing]
  FORTUNES_DIR  fortune files [/usr/share/games/fortunes]
  THREADS       threads per run [2]
  SEEDS         fine-tuning seeds ["1 2 3"]
  HIDDEN LAYERS HEADS   the encoders' size [128 4 4]; embedding size = HIDDEN, FFN 4 x HIDDEN
  VOCAB_SIZE    WordPiece vocabulary [6000]
  PRETRAIN_STEPS PRETRAIN_BATCH PRETRAIN_SEQ   pretraining budget, the same for the four [2000 32 128]
  GENERATOR_SIZE  replaced-token detection's generator width, a fraction of HIDDEN [0.25]
  FINETUNE_SCALE  multiplies every fine-tuning step count [1]
EOF
}

quick=0
args=()
for a in "$@"; do
  case $a in
    -h | --help) usage; exit 0 ;;
    --quick) quick=1 ;;
    *) args+=("$a") ;;
  esac
done
if [[ ${#args[@]} -ne 1 ]]; then
  usage >&2
  exit 2
fi

repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "${args[0]}"
out=$(cd "${args[0]}" && pwd)
bin=${TZ_BIN:-$repo/build/tensorzoo}
fortunes_dir=${FORTUNES_DIR:-/usr/share/games/fortunes}
threads=${THREADS:-2}
seeds=${SEEDS:-"1 2 3"}
gen_size=${GENERATOR_SIZE:-0.25}
if ((quick)); then
  hidden=${HIDDEN:-32} layers=${LAYERS:-1} heads=${HEADS:-2} vocab_size=${VOCAB_SIZE:-800}
  pt_steps=${PRETRAIN_STEPS:-20} pt_batch=${PRETRAIN_BATCH:-8} pt_seq=${PRETRAIN_SEQ:-64}
  scale=${FINETUNE_SCALE:-0.02} train_examples=300 eval_examples=60 per_language=150
else
  hidden=${HIDDEN:-128} layers=${LAYERS:-4} heads=${HEADS:-4} vocab_size=${VOCAB_SIZE:-6000}
  pt_steps=${PRETRAIN_STEPS:-2000} pt_batch=${PRETRAIN_BATCH:-32} pt_seq=${PRETRAIN_SEQ:-128}
  scale=${FINETUNE_SCALE:-1} train_examples=0 eval_examples=0 per_language=0
fi
# Fine-tuning steps per task at scale 1 (the settings of scripts/langid.sh, langtag.sh,
# who_said_it.sh and continuation.sh, shortened to fit 48 runs in the budget).
steps_of() { awk -v s="$1" -v k="$scale" 'BEGIN { n = int(s * k + 0.5); print (n < 4 ? 4 : n) }'; }

start=$(date +%s)
step() { echo "[reproduce +$(($(date +%s) - start))s] $*" >&2; }

if [[ ! -x $bin ]]; then
  step "building tensorzoo (scripts/setup.sh build)"
  (cd "$repo" && bash scripts/setup.sh build) >&2
fi

# 1. The four data sets, from one split of the fortunes (every data command splits with the seed).
data_args() {  # per data set: the example counts (the defaults of the task scripts at full size)
  case $1 in
    langid) ((quick)) && echo "--per-language $per_language" || echo "" ;;
    langtag) ((quick)) && echo "--train-examples $train_examples --eval-examples $eval_examples" || echo "--train-examples 4000 --eval-examples 500" ;;
    who) ((quick)) && echo "--train-examples $train_examples --eval-examples $eval_examples --fortunes-per-context 4" || echo "--train-examples 30000 --eval-examples 500 --fortunes-per-context 4" ;;
    continue) ((quick)) && echo "--train-examples $train_examples --eval-examples $eval_examples" || echo "--train-examples 20000 --eval-examples 500" ;;
  esac
}
for task in langid langtag who continue; do
  marker=$out/data/$task/stats.json
  [[ $task != langid ]] && marker=$out/data/$task/baseline.json
  if [[ ! -f $marker ]]; then
    step "data: tensorzoo data fortunes-$task"
    # shellcheck disable=SC2046
    "$bin" data "fortunes-$task" --out "$out/data/$task" --fortunes-dir "$fortunes_dir" --seed 42 $(data_args $task) >&2
  fi
done
corpus=$out/data/langid/corpus.txt  # the training fortunes: no dev or test text of any task

# 2. One vocabulary for the four models.
if [[ ! -f $out/tokenizer/special_tokens_map.json ]]; then
  step "vocabulary: $vocab_size WordPiece tokens from the training fortunes"
  "$bin" vocab --corpus "$corpus" --size "$vocab_size" --lowercase --no-strip-accents --out "$out/tokenizer" >&2
fi
n_vocab=$(wc -l <"$out/tokenizer/vocab.txt")

# 3. One size for every family: hidden = embedding size, FFN 4x, the same heads and layers.
mkdir -p "$out/configs"
common="\"vocab_size\": $n_vocab, \"hidden_size\": $hidden, \"num_hidden_layers\": $layers,
  \"num_attention_heads\": $heads, \"intermediate_size\": $((4 * hidden)), \"hidden_act\": \"gelu\",
  \"hidden_dropout_prob\": 0.1, \"attention_probs_dropout_prob\": 0.1, \"max_position_embeddings\": 512,
  \"type_vocab_size\": 2, \"initializer_range\": 0.02, \"layer_norm_eps\": 1e-12, \"pad_token_id\": 0"
echo "{\"model_type\": \"bert\", $common}" >"$out/configs/bert.json"
echo "{\"model_type\": \"electra\", \"embedding_size\": $hidden, $common}" >"$out/configs/electra.json"
echo "{\"model_type\": \"convbert\", \"embedding_size\": $hidden, \"head_ratio\": 2, \"conv_kernel_size\": 9,
  \"num_groups\": 1, $common}" >"$out/configs/convbert.json"

# 4. Pretraining: the same steps x batch x tokens for the four.
models=(bert-mlm electra-rtd convbert-mlm convbert-rtd)
mkdir -p "$out/pretrain"
pretrain_args=(--corpus "$corpus" --tokenizer "$out/tokenizer" --steps "$pt_steps" --batch-size "$pt_batch"
  --seq-len "$pt_seq" --lr 1e-3 --warmup-ratio 0.1 --seed 42 --threads "$threads" --log-every 50 --quiet)
for m in "${models[@]}"; do
  dir=$out/pretrain/$m
  [[ -f $dir/done ]] && continue
  family=${m%-*} objective=${m#*-}
  step "pretraining $m (tensorzoo train $objective, $pt_steps steps of $pt_batch x $pt_seq tokens)"
  t0=$(date +%s.%N)
  if [[ $objective == mlm ]]; then
    "$bin" train mlm --config "$out/configs/$family.json" --out "$dir" "${pretrain_args[@]}" >"$dir.log" 2>&1 ||
      { cat "$dir.log" >&2; exit 1; }
  else
    "$bin" train rtd --config "$out/configs/$family.json" --generator-size "$gen_size" --out "$dir" \
      "${pretrain_args[@]}" >"$dir.log" 2>&1 || { cat "$dir.log" >&2; exit 1; }
  fi
  t1=$(date +%s.%N)
  # Training FLOPs: 3 x the forward (backward ~ 2 x forward) per sequence, of every model trained.
  flops=0
  for sub in model discriminator generator; do
    [[ -d $dir/$sub ]] || continue
    f=$("$bin" info "$dir/$sub" --seq "$pt_seq" | sed -n 's/^forward_flops_per_sequence=//p')
    flops=$(awk -v a="$flops" -v b="$f" -v n="$((pt_steps * pt_batch))" 'BEGIN { printf "%.6g", a + 3 * b * n }')
  done
  awk -v a="$t0" -v b="$t1" -v f="$flops" 'BEGIN { printf "seconds=%.1f\nflops=%s\n", b - a, f }' >"$dir/done"
done
init_of() {  # the directory fine-tuning starts from
  local dir=$out/pretrain/$1
  [[ -d $dir/discriminator ]] && echo "$dir/discriminator" || echo "$dir/model"
}

# 5. Fine-tuning: four tasks x three seeds per model.
task_cmd() {  # task -> the train command's task, its data files, its metric and its options
  local d=$out/data/$1
  case $1 in
    langid) echo "classify accuracy --train $d/train.tsv --dev $d/dev.tsv --test $d/test.tsv --steps $(steps_of 600) --batch-size 32 --seq-len 64 --lr 1e-3 --eval-every $(steps_of 200)" ;;
    langtag) echo "token-cls f1 --train $d/train.jsonl --dev $d/dev.jsonl --test $d/test.jsonl --steps $(steps_of 600) --batch-size 32 --seq-len 128 --lr 2e-3 --eval-every $(steps_of 200)" ;;
    who) echo "qa f1 --train $d/train.jsonl --dev $d/dev.jsonl --test $d/test.jsonl --steps $(steps_of 1500) --batch-size 16 --max-length 192 --doc-stride 64 --max-answer-length 16 --lr 1e-3 --eval-every $(steps_of 500)" ;;
    continue) echo "multiple-choice accuracy --train $d/train.jsonl --dev $d/dev.jsonl --test $d/test.jsonl --steps $(steps_of 800) --batch-size 16 --seq-len 64 --lr 1e-3 --eval-every $(steps_of 400)" ;;
  esac
}
results=$out/results.tsv
[[ -f $results ]] || printf 'model\ttask\tseed\tmetric\tvalue\n' >"$results"
for m in "${models[@]}"; do
  for task in langid langtag who continue; do
    read -r train_task metric opts <<<"$(task_cmd $task)"
    for seed in $seeds; do
      grep -q "^$m	$task	$seed	" "$results" && continue
      run=$out/finetune/$m/$task/seed$seed
      mkdir -p "$run"
      step "fine-tuning $m on $task (seed $seed)"
      # shellcheck disable=SC2086
      "$bin" train "$train_task" --model "$(init_of "$m")" --tokenizer "$out/tokenizer" --out "$run" \
        --seed "$seed" --threads "$threads" --bucket-by-length --quiet $opts >"$run/train.log" 2>&1 ||
        { cat "$run/train.log" >&2; exit 1; }
      value=$(sed -n "s/^test_$metric=//p" "$run/train.log" | tail -n 1)
      [[ -n $value ]] || { echo "error: $run/train.log has no test_$metric= line" >&2; exit 1; }
      printf '%s\t%s\t%s\t%s\t%s\n' "$m" "$task" "$seed" "$metric" "$value" >>"$results"
    done
  done
done

# 6. The table: mean and sample standard deviation over the seeds; time and FLOPs of pretraining.
{
  echo "| model | pretraining s | pretraining FLOPs | langid accuracy | langtag F1 | who-said-it F1 | continuation accuracy |"
  echo "|---|---|---|---|---|---|---|"
  for m in "${models[@]}"; do
    secs=$(sed -n 's/^seconds=//p' "$out/pretrain/$m/done")
    flops=$(sed -n 's/^flops=//p' "$out/pretrain/$m/done")
    row="| $m | $secs | $flops |"
    for task in langid langtag who continue; do
      cell=$(awk -F'\t' -v m="$m" -v t="$task" '$1 == m && $2 == t { n++; s += $5; q += $5 * $5 }
        END { if (n == 0) { print "-"; exit } mean = s / n; var = n > 1 ? (q - n * mean * mean) / (n - 1) : 0;
              if (var < 0) var = 0; printf "%.4f ± %.4f", mean, sqrt(var) }' "$results")
      row="$row $cell |"
    done
    echo "$row"
  done
} >"$out/table.md"
step "done: $results, $out/table.md"
cat "$out/table.md"
