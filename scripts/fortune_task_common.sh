# Shared by scripts/langtag.sh, who_said_it.sh and continuation.sh (sourced, not run): the steps of
# scripts/langid.sh for one fine-tuning head on a data set built from the Debian fortunes:
#   tensorzoo data fortunes-<set> -> tensorzoo vocab -> tiny config -> [tensorzoo train mlm on the
#   training fortunes] -> tensorzoo train <task> --test (from the masked-LM when there is one)
# then the baselines' lines (from the data command's baseline.json) and the model's test metric LAST.
# The caller sets: name data_set train_task architecture metric and the array train_args (optionally
# DATA_ARGS, and pretrain_steps with the array mlm_args for the masked-LM stage), then calls
# fortune_task_main OUT_DIR. Each step is skipped when its output exists (delete it to redo).
# PRETRAIN_STEPS overrides pretrain_steps (0: no pretraining, fine-tune a fresh model).
set -euo pipefail

fortune_task_main() {
  local repo out bin
  repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  mkdir -p "$1"
  out=$(cd "$1" && pwd)
  bin=${TZ_BIN:-$repo/build/tensorzoo}
  local fortunes_dir=${FORTUNES_DIR:-/usr/share/games/fortunes}
  local vocab_size=${VOCAB_SIZE:-6000} hidden=${HIDDEN:-64} layers=${LAYERS:-2} heads=${HEADS:-4}
  local threads=${THREADS:-2} seed=${SEED:-42} pretrain_steps=${PRETRAIN_STEPS:-${pretrain_steps:-0}}
  local start
  start=$(date +%s)
  step() { echo "[$name +$(($(date +%s) - start))s] $*" >&2; }

  if [[ ! -x $bin ]]; then
    step "building tensorzoo (scripts/setup.sh build)"
    (cd "$repo" && bash scripts/setup.sh build) >&2
  fi
  if [[ ! -f $out/data/baseline.json ]]; then
    step "building the data set (tensorzoo data $data_set)"
    "$bin" data "$data_set" --out "$out/data" --fortunes-dir "$fortunes_dir" --seed "$seed" \
      ${DATA_ARGS[@]+"${DATA_ARGS[@]}"} >&2
  fi
  if [[ ! -f $out/tokenizer/special_tokens_map.json ]]; then
    step "learning a $vocab_size-token WordPiece vocabulary from the training fortunes"
    "$bin" vocab --corpus "$out/data/corpus.txt" --size "$vocab_size" --lowercase --no-strip-accents \
      --out "$out/tokenizer" >&2
  fi
  if [[ ! -f $out/config.json ]]; then
    local n_vocab
    n_vocab=$(wc -l <"$out/tokenizer/vocab.txt")
    step "writing config.json (hidden $hidden, $layers layers, $heads heads, vocab $n_vocab)"
    cat >"$out/config.json" <<JSON
{
  "architectures": ["$architecture"], "model_type": "convbert", "vocab_size": $n_vocab,
  "hidden_size": $hidden, "embedding_size": $hidden, "num_hidden_layers": $layers,
  "num_attention_heads": $heads, "intermediate_size": $((4 * hidden)), "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1, "max_position_embeddings": 512,
  "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12, "pad_token_id": 0,
  "head_ratio": 2, "conv_kernel_size": 9, "num_groups": 1
}
JSON
  fi
  # Optional masked-LM pretraining on the training fortunes (corpus.txt: no dev or test text), then
  # fine-tuning starts from that model (--model) instead of a fresh one (--config).
  local init=(--config "$out/config.json")
  if ((pretrain_steps > 0)); then
    if [[ ! -f $out/mlm/model/config.json ]]; then
      step "pretraining: tensorzoo train mlm ${mlm_args[*]} --steps $pretrain_steps on the training fortunes"
      "$bin" train mlm --corpus "$out/data/corpus.txt" --config "$out/config.json" --tokenizer "$out/tokenizer" \
        --out "$out/mlm" --steps "$pretrain_steps" --seed "$seed" --threads "$threads" "${mlm_args[@]}" >&2
    fi
    init=(--model "$out/mlm/model")
  fi
  if ! grep -q "^test_$metric=" "$out/train.log" 2>/dev/null; then
    step "training: tensorzoo train $train_task ${train_args[*]}"
    "$bin" train "$train_task" --train "$out/data/train.jsonl" --dev "$out/data/dev.jsonl" \
      --test "$out/data/test.jsonl" "${init[@]}" --tokenizer "$out/tokenizer" --out "$out/run" \
      --seed "$seed" --threads "$threads" "${train_args[@]}" 2>&1 | tee "$out/train.log.tmp" >&2
    mv "$out/train.log.tmp" "$out/train.log"
  fi
  local result
  result=$(grep "^test_$metric=" "$out/train.log" | tail -n 1)
  if [[ -z $result ]]; then
    echo "error: $out/train.log has no test_$metric= line" >&2
    exit 1
  fi
  step "done"
  # The baseline on the same test split, then the model's metric as the last line.
  grep -o '"baseline[^"]*": [0-9.eE+-]*' "$out/data/baseline.json" | sed 's/"//g; s/: /=/'
  echo "$result"
}
