#!/usr/bin/env bash
# Multiple choice on real text: the true continuation of a fortune among four endings (three taken
# from other fortunes of the same split, any language; tensorzoo data fortunes-continue). A masked-LM
# pretraining stage on the training fortunes (1500 steps), then multiple-choice fine-tuning (1500 steps).
# usage: scripts/continuation.sh OUT_DIR  (prints the word-overlap baseline, then test_accuracy= last)
# Environment: TZ_BIN FORTUNES_DIR VOCAB_SIZE HIDDEN LAYERS HEADS THREADS SEED, STEPS [1500] LR [1e-3] SEQ_LEN [64]
# PRETRAIN_STEPS [1500].
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
source "$(dirname "$0")/fortune_task_common.sh"
name=continue data_set=fortunes-continue train_task=multiple-choice architecture=ConvBertForMultipleChoice metric=accuracy
DATA_ARGS=(--train-examples 20000 --eval-examples 500)
pretrain_steps=1500
mlm_args=(--batch-size 32 --seq-len 64 --lr 2e-3 --warmup 100 --log-every 100)
train_args=(--steps "${STEPS:-1500}" --batch-size 16 --seq-len "${SEQ_LEN:-64}" --lr "${LR:-1e-3}" --eval-every 500 --bucket-by-length --log-every 50)
fortune_task_main "$1"
