#!/usr/bin/env bash
# Token classification on real text: the language of every word in sentences made of fragments of
# 2-4 fortunes in different languages (IOB2 tags B-en I-en B-de ...; tensorzoo data fortunes-langtag).
# usage: scripts/langtag.sh OUT_DIR   (prints the baselines, then test_f1=<seqeval F1> last)
# Environment: TZ_BIN FORTUNES_DIR VOCAB_SIZE HIDDEN LAYERS HEADS THREADS SEED, STEPS [1200] LR [2e-3].
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'
  [[ $# -eq 1 ]] && exit 0 || exit 2
fi
source "$(dirname "$0")/fortune_task_common.sh"
name=langtag data_set=fortunes-langtag train_task=token-cls architecture=ConvBertForTokenClassification metric=f1
DATA_ARGS=(--train-examples 4000 --eval-examples 500)
train_args=(--steps "${STEPS:-1200}" --batch-size 32 --seq-len 128 --lr "${LR:-2e-3}" --eval-every 200 --bucket-by-length --log-every 20)
fortune_task_main "$1"
