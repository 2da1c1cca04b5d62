#!/usr/bin/env bash
# Extractive QA on real text, "who said it": a context of 4 attributed fortunes ("... -- Author"),
# often longer than one 192-token window (doc_stride 64); the question quotes five consecutive words
# of one; the answer is its author (tensorzoo data fortunes-who). A masked-LM pretraining stage on the
# training fortunes (2000 steps), then QA fine-tuning from it (3000 steps).
# usage: scripts/who_said_it.sh OUT_DIR  (baselines, then test_f1= last)
# Environment: TZ_BIN FORTUNES_DIR VOCAB_SIZE HIDDEN LAYERS HEADS THREADS SEED, STEPS [3000] LR [1e-3] PRETRAIN_STEPS [2000].
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
source "$(dirname "$0")/fortune_task_common.sh"
name=who data_set=fortunes-who train_task=qa architecture=ConvBertForQuestionAnswering metric=f1
DATA_ARGS=(--train-examples 30000 --eval-examples 500 --fortunes-per-context 4)
pretrain_steps=2000
mlm_args=(--batch-size 32 --seq-len 64 --lr 2e-3 --warmup 100 --log-every 100)
train_args=(--steps "${STEPS:-3000}" --batch-size 16 --max-length 192 --doc-stride 64 --max-answer-length 16
  --lr "${LR:-1e-3}" --eval-every 500 --bucket-by-length --log-every 50)
fortune_task_main "$1"
