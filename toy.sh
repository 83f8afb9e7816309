#!/usr/bin/env bash
# The whole toy pipeline, one command per step (what `make toy` runs):
#   corpus -> EN pretraining -> interleaving -> bilingual fine-tuning,
#   and the EN+FR baseline (from the same pretrained model, same token budget as interleave + finetune)
#   -> spoken cloze (8 sets) and the alignment probe for baseline, interleave, interleave+FT
#   -> one results table, printed and saved with its plot.
#
#   ./toy.sh                                  # about 9.5 minutes on 2 CPU cores
#   OUT=out/smoke DATA=out/smoke/data PREP_ARGS="--n_train_stories=600 --n_val_stories=60 --n_bench=40 --n_pairs=40" \
#       TRAIN_ARGS="--max_iters=6 --eval_interval=3 --eval_iters=1 --log_interval=3" ./toy.sh   # CI smoke run
#   PREPARE=data/toy_enfr/prepare_text.py DATA=data/toy_enfr_text OUT=out/toy_text \
#       TRAIN_ARGS=--seq_len=128 ./toy.sh     # the text topline: the same stories as text (tiktoken BPE);
#                                             # a text story is ~64 tokens, so 128 holds two, as 256 units do
#
# Every process uses one thread: on 2 cores, two small-matrix OpenMP threads fighting any other work
# were measured 2-3x slower than one. The baseline only needs the pretrained model, so it trains on
# the second core while interleave -> finetune run on the first (its log: $OUT/baseline.log).
set -euo pipefail
cd "$(dirname "$0")"
PY=${PY:-.venv/bin/python}
DATA=${DATA:-data/toy_enfr}    # corpus directory
OUT=${OUT:-out/toy}            # one folder per run below it, plus report.md / report.png
PREPARE=${PREPARE:-data/toy_enfr/prepare.py}  # or data/toy_enfr/prepare_text.py: the stories as text
PREP_ARGS=${PREP_ARGS:-}       # extra $PREPARE options
TRAIN_ARGS=${TRAIN_ARGS:-}     # extra train.py overrides, applied to every stage
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-5}  # progress bars: a line every 5 s in logs
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

step() { echo; echo "=== $* ($(date +%T))"; "$@"; }

step $PY "$PREPARE" --out_dir="$DATA" $PREP_ARGS
step $PY train.py config/toy_pretrain.py   --data_dir="$DATA" --out_dir="$OUT/pretrain" $TRAIN_ARGS
echo; echo "=== baseline training in the background, log: $OUT/baseline.log ($(date +%T))"
$PY train.py config/toy_baseline.py   --data_dir="$DATA" --out_dir="$OUT/baseline" \
    --init_from="$OUT/pretrain" $TRAIN_ARGS >"$OUT/baseline.log" 2>&1 &
baseline=$!
step $PY train.py config/toy_interleave.py --data_dir="$DATA" --out_dir="$OUT/interleave" \
    --init_from="$OUT/pretrain" $TRAIN_ARGS
step $PY train.py config/toy_finetune.py   --data_dir="$DATA" --out_dir="$OUT/finetune" \
    --init_from="$OUT/interleave" $TRAIN_ARGS
if ! wait $baseline; then cat "$OUT/baseline.log"; echo "toy.sh: baseline training failed"; exit 1; fi
echo; echo "=== baseline ($(date +%T)):"; tail -n 3 "$OUT/baseline.log"
for run in baseline interleave finetune; do
    step $PY eval_cloze.py "$OUT/$run" --corpus "$DATA"
    step $PY align_probe.py "$OUT/$run" --corpus "$DATA"
done
step $PY eval_cloze.py --report "$OUT/report.md" \
    baseline="$OUT/baseline" interleave="$OUT/interleave" interleave+FT="$OUT/finetune"
