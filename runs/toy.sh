#!/usr/bin/env bash
# The whole toy pipeline, one command per step (what `make toy` runs):
#   corpus -> EN pretraining -> interleaving -> bilingual fine-tuning,
#   and the EN+FR baseline (from the same pretrained model, same token budget as interleave + finetune)
#   -> spoken cloze (8 sets) + minimal pairs (4 sets), three scoring conventions, and the alignment
#      probe for baseline, interleave, interleave+FT
#   -> report.md (tables, 95% intervals, paired tests, verdicts per convention) with report.png,
#      report_ft.md (interleave+FT against interleave), curves.png (training curves).
#
#   runs/toy.sh                                  # about 5 minutes on 2 idle CPU cores
#   SEEDS="1337 7 42" runs/toy.sh                # `make toy-seeds`: the pipeline once per seed, in
#                                             # $OUT/seed<S>/ (one corpus), then results/seeds.py's summary
#   OUT=out/smoke DATA=out/smoke/data PREP_ARGS="--n_train_stories=600 --n_val_stories=60 --n_bench=40 --n_pairs=40" \
#       TRAIN_ARGS="--max_iters=6 --eval_interval=3 --eval_iters=1 --log_interval=3" runs/toy.sh   # CI smoke run
#   PREPARE=data/toy_enfr/prepare_text.py DATA=data/toy_enfr_text OUT=out/toy_text \
#       TRAIN_ARGS=--seq_len=128 runs/toy.sh     # the text topline: the same stories as text (tiktoken BPE);
#                                             # a text story is ~64 tokens, so 128 holds two, as 256 units do
#
# One thread per process while jobs run side by side (small-matrix OpenMP threads fighting other work
# are slower than one). The baseline only needs the pretrained model, so it trains on the second core
# while interleave -> finetune run on the first (its log: $OUT/baseline.log); the three models are
# then evaluated side by side. EN pretraining runs alone, so it takes $ALONE_THREADS threads (2 on an
# idle machine, the same losses bit for bit; set 1 on a busy one). docs/LOG.md has the measurements.
set -euo pipefail
cd "$(dirname "$0")/.."  # the repo root
PY=${PY:-.venv/bin/python}
DATA=${DATA:-data/toy_enfr}    # corpus directory
OUT=${OUT:-out/toy}            # one folder per run below it, plus report.md / report.png
PREPARE=${PREPARE:-data/toy_enfr/prepare.py}  # or data/toy_enfr/prepare_text.py: the stories as text
PREP_ARGS=${PREP_ARGS:-}       # extra $PREPARE options
TRAIN_ARGS=${TRAIN_ARGS:-}     # extra train.py overrides, applied to every stage
SEEDS=${SEEDS:-}               # empty: one run in $OUT (the configs' seed); else one per seed in $OUT/seed<S>
export TQDM_MININTERVAL=${TQDM_MININTERVAL:-5}  # progress bars: a line every 5 s in logs
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
ALONE_THREADS=${ALONE_THREADS:-2}  # threads for EN pretraining, the one stage that runs alone

step() { echo; echo "=== $* ($(date +%T), $OMP_NUM_THREADS thread(s))"; "$@"; }
stop_jobs() {  # on any exit (a failure, Ctrl-C): no background training or evaluation goes on writing
    local pid
    for pid in $(jobs -p); do pkill -P "$pid" 2>/dev/null; kill "$pid" 2>/dev/null; done
    return 0
}
trap stop_jobs EXIT

pipeline() {  # pipeline OUT_DIR [train.py overrides...]: 4 trainings, evaluations, report
    local out=$1; shift
    mkdir -p "$out"
    OMP_NUM_THREADS=$ALONE_THREADS step $PY train.py config/toy_pretrain.py --data_dir="$DATA" \
        --out_dir="$out/pretrain" "$@"
    echo; echo "=== baseline training in the background, log: $out/baseline.log ($(date +%T))"
    $PY train.py config/toy_baseline.py   --data_dir="$DATA" --out_dir="$out/baseline" \
        --init_from="$out/pretrain" "$@" >"$out/baseline.log" 2>&1 &
    local baseline=$!
    step $PY train.py config/toy_interleave.py --data_dir="$DATA" --out_dir="$out/interleave" \
        --init_from="$out/pretrain" "$@"
    step $PY train.py config/toy_finetune.py   --data_dir="$DATA" --out_dir="$out/finetune" \
        --init_from="$out/interleave" "$@"
    if ! wait $baseline; then cat "$out/baseline.log"; echo "runs/toy.sh: baseline training failed"; exit 1; fi
    echo; echo "=== baseline ($(date +%T)):"; tail -n 3 "$out/baseline.log"
    echo; echo "=== evaluating the three models side by side, logs: $out/<run>.eval.log ($(date +%T))"
    local run pids=()
    for run in baseline interleave finetune; do
        { step $PY eval_cloze.py "$out/$run" --corpus "$DATA" &&
          step $PY align_probe.py "$out/$run" --corpus "$DATA"; } >"$out/$run.eval.log" 2>&1 &
        pids+=($!)
    done
    for run in baseline interleave finetune; do  # in order, each log whole once its job is done
        if ! wait "${pids[0]}"; then cat "$out/$run.eval.log"; echo "runs/toy.sh: evaluating $run failed"; exit 1; fi
        pids=("${pids[@]:1}")
        cat "$out/$run.eval.log"
    done
    step $PY eval_cloze.py --report "$out/report.md" \
        baseline="$out/baseline" interleave="$out/interleave" interleave+FT="$out/finetune"
    step $PY eval_cloze.py --report "$out/report_ft.md" interleave="$out/interleave" interleave+FT="$out/finetune"
    step $PY -m results.plots pretrain="$out/pretrain" baseline="$out/baseline" interleave="$out/interleave" \
        interleave+FT="$out/finetune" --out "$out/curves.png"
}

step $PY "$PREPARE" --out_dir="$DATA" $PREP_ARGS
if [ -z "$SEEDS" ]; then
    pipeline "$OUT" $TRAIN_ARGS
else
    for seed in $SEEDS; do
        echo; echo "######## seed $seed -> $OUT/seed$seed"
        pipeline "$OUT/seed$seed" $TRAIN_ARGS --seed="$seed"
    done
    step $PY -m results.seeds "$OUT" --seeds $SEEDS
fi
