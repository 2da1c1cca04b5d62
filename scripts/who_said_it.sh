#!/usr/bin/env bash
# Extractive QA on real text, "who said it": a context of several attributed fortunes ("... -- Author"),
# longer than one window; the question quotes five words of one; the answer is its author
# (tensorzoo data fortunes-who). usage: scripts/who_said_it.sh OUT_DIR  (baseline, then test_f1= last)
# Environment: TZ_BIN FORTUNES_DIR VOCAB_SIZE HIDDEN LAYERS HEADS THREADS SEED, STEPS [1500] LR [2e-3].
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
source "$(dirname "$0")/fortune_task_common.sh"
name=who data_set=fortunes-who train_task=qa architecture=ConvBertForQuestionAnswering metric=f1
DATA_ARGS=(--train-examples 3000 --eval-examples 300 --fortunes-per-context 4)
train_args=(--steps "${STEPS:-1500}" --batch-size 16 --max-length 192 --doc-stride 64 --max-answer-length 16
  --lr "${LR:-2e-3}" --eval-every 250 --bucket-by-length --log-every 20)
fortune_task_main "$1"
