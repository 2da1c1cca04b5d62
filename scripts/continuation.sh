#!/usr/bin/env bash
# Multiple choice on real text: the true continuation of a fortune among four endings (three taken
# from other fortunes; tensorzoo data fortunes-continue).
# usage: scripts/continuation.sh OUT_DIR  (prints the word-overlap baseline, then test_accuracy= last)
# Environment: TZ_BIN FORTUNES_DIR VOCAB_SIZE HIDDEN LAYERS HEADS THREADS SEED, STEPS [400] LR [2e-3] SEQ_LEN [64].
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
source "$(dirname "$0")/fortune_task_common.sh"
name=continue data_set=fortunes-continue train_task=multiple-choice architecture=ConvBertForMultipleChoice metric=accuracy
DATA_ARGS=(--train-examples 4000 --eval-examples 500)
train_args=(--steps "${STEPS:-400}" --batch-size 16 --seq-len "${SEQ_LEN:-64}" --lr "${LR:-2e-3}" --eval-every 200 --bucket-by-length --log-every 20)
fortune_task_main "$1"
