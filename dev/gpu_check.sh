#!/usr/bin/env bash
# dev/gpu_check.sh: every figure a GPU session should bring back (issue 10), in one script of ~10 minutes.
#
#   OUT=out/gpu_check dev/gpu_check.sh            # on a CUDA machine: bf16, 360m/1b, seq 2048
#   GPU_CHECK_CPU=1 OUT=/tmp/gc dev/gpu_check.sh  # the same steps scaled down on CPU (tiny preset, few steps,
#                                               # no compile): checks the script runs end to end (~1-2 min)
#
# Steps, in order of priority (the budget may run out before the last), each under its own timeout; a
# failed or timed-out step is recorded and the next one runs. Three files land in $OUT (the device tool
# brings back at most 8): gpu_check.log (every step's output), gpu_figures.json ({"device", "mode",
# "steps": {name: {"rc", "seconds", "figures"}}}; rc 124: timed out, 125: skipped, budget spent) and
# train_360m.log.jsonl. Per-step files stay in $TMP_RUN.
#   model_360m  dev/bench.py model: ours per-block / whole-model compiled vs transformers compiled, bf16, MFU
#   train_360m  train.py, 50 steps of the 360m preset on the toy corpus at seq 2048 (tokens/s, MFU from
#               log.jsonl; the corpus is prepared first; the checkpoint goes to $TMP_RUN, not $OUT)
#   eval_suite  dev/bench.py eval --suite: 8 synthetic sets, ~15k pairs, the 360m preset in bf16
#   tokenize    dev/bench.py tokenize: Mimi (random weights, same compute) x realtime
#   memory      dev/bench.py memory --measure: the FSDP2 estimate vs torch.cuda.max_memory_allocated
#   model_1b    dev/bench.py model for the Llama-3.2-1B shape (per-block compiled vs transformers compiled)
# Override any knob below from the environment (e.g. T_MODEL=300 or COMPILE_360M="block").
#
# On the lent H200 (its python3 holds torch and transformers, not moshi or sphn): carry those two as
# wheels. Once, in the repo root here: echo /.whl/ >> .git/info/exclude; python3 -m pip download --no-deps
#   --only-binary=:all: --python-version 3.12 --implementation cp --platform manylinux_2_17_x86_64 -d .whl
#   moshi==0.2.13 sphn    (17 MB), then run with carry [".whl"]: `OUT=$OUT dev/gpu_check.sh` (installs them).
set -uo pipefail
cd "$(dirname "$0")/.."  # the repo root
if [ -z "${PY:-}" ]; then [ -x .venv/bin/python ] && PY=.venv/bin/python || PY=python3; fi
if compgen -G ".whl/*.whl" >/dev/null && ! $PY -c "import moshi, sphn" 2>/dev/null; then
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONUNBUFFERED=1
OUT=${OUT:-out/gpu_check}
if [ -z "${TMP_RUN:-}" ]; then     # train.py's out_dir: a 360m checkpoint is ~4 GB, it stays out of $OUT
    TMP_RUN=$(mktemp -d); trap 'rm -rf "$TMP_RUN"' EXIT
fi
BUDGET=${BUDGET:-570}              # seconds for all steps: a step gets min(its timeout, what is left)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} TQDM_MININTERVAL=${TQDM_MININTERVAL:-10}
WORK=$TMP_RUN/steps   # per-step logs, rc and JSON
mkdir -p "$OUT" "$WORK"

if [ "${GPU_CHECK_CPU:-0}" = 1 ]; then   # scaled down: the same commands, tiny shapes, CPU, fp32
    export OMP_NUM_THREADS=1
    DEV=cpu; DT=float32; P360=tiny; P1B=tiny; SEQ=${SEQ:-64}; BATCH=${BATCH:-2}; STEPS=${STEPS:-2}
    COMPILE_360M=${COMPILE_360M:-none}; COMPILE_1B=${COMPILE_1B:-none}; HF_COMPILE=${HF_COMPILE:-}
    TRAIN_STEPS=${TRAIN_STEPS:-3}; DATA=${DATA:-$TMP_RUN/data}
    PREP_ARGS="--n_train_stories=200 --n_val_stories=20 --n_bench=10"
    EVAL_ARGS="--suite_items 4 --n_items 4 --repeat 1 --prompt_len 20 40 --ending_len 5 10"
    TOK_ARGS="--clips 2 --min_seconds 0.5 --max_seconds 1"; MEM_ARGS=""
else
    DEV=cuda; DT=bfloat16; P360=360m; P1B=1b; SEQ=${SEQ:-2048}; BATCH=${BATCH:-8}; STEPS=${STEPS:-10}
    COMPILE_360M=${COMPILE_360M:-none block model}; COMPILE_1B=${COMPILE_1B:-block}
    HF_COMPILE=${HF_COMPILE:---compile_hf}
    TRAIN_STEPS=${TRAIN_STEPS:-50}; DATA=${DATA:-data/toy_enfr}; PREP_ARGS=""
    EVAL_ARGS=""; TOK_ARGS="--clips 1024"; MEM_ARGS="--measure_compiled"
fi
T_MODEL=${T_MODEL:-180} T_TRAIN=${T_TRAIN:-120} T_EVAL=${T_EVAL:-50} T_TOK=${T_TOK:-40} T_MEM=${T_MEM:-120}
T_MODEL_1B=${T_MODEL_1B:-100}
LOG="$OUT/gpu_check.log"
: >"$LOG"
STEP_NAMES=()

step() {  # step NAME TIMEOUT_S command...: output to $WORK/NAME.log and the main log, rc and time kept
    local name=$1 limit=$2; shift 2
    STEP_NAMES+=("$name")
    local left=$((BUDGET - SECONDS))
    if [ "$left" -lt 30 ]; then  # rc 125: skipped, the budget is spent
        echo "=== $name: skipped, ${left}s of the ${BUDGET}s budget left" | tee -a "$LOG"; echo "125 0" >"$WORK/$name.rc"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "=== $name ($(date +%T), timeout ${limit}s): $*" | tee -a "$LOG"
    local t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$WORK/$name.log" 2>&1
    local rc=$?
    echo "$rc $((SECONDS - t0))" >"$WORK/$name.rc"
    grep -v -e Warning -e warnings.warn -e "Writing model shards" "$WORK/$name.log" >>"$LOG"  # all of it
    grep -v -e Warning -e warnings.warn -e "Writing model shards" "$WORK/$name.log" | tail -n 15
    echo "--- $name: rc $rc in $((SECONDS - t0)) s" | tee -a "$LOG"
}

echo "gpu_check: device $DEV, dtype $DT, presets $P360/$P1B, seq $SEQ, batch $BATCH, out $OUT, run dir $TMP_RUN" | tee -a "$LOG"
$PY -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available() and torch.cuda.get_device_name())" 2>&1 | tee -a "$LOG"
[ "$DEV" = cuda ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$LOG" 2>&1

# shellcheck disable=SC2086  # the *_ARGS and COMPILE_* lists are meant to split into words
step model_360m "$T_MODEL" $PY -m dev.bench model --preset "$P360" --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" \
    --device "$DEV" --dtype "$DT" --compile $COMPILE_360M $HF_COMPILE --json "$WORK/model_360m.json"
if [ ! -f "$DATA/meta.json" ]; then  # the toy corpus, ~5 s
    step prepare 120 $PY data/toy_enfr/prepare.py --out_dir="$DATA" $PREP_ARGS
fi
step train_360m "$T_TRAIN" $PY train.py --phase=pretrain --init_from=scratch --data_dir="$DATA" \
    --out_dir="$TMP_RUN/train_360m" --model_preset="$P360" --seq_len="$SEQ" --batch_size="$BATCH" \
    --max_iters="$TRAIN_STEPS" --log_interval=$(( TRAIN_STEPS > 10 ? 10 : 1 )) --eval_interval=100000 \
    --eval_iters=2 --device="$DEV" --dtype="$DT"
cp "$TMP_RUN/train_360m/log.jsonl" "$OUT/train_360m.log.jsonl" 2>/dev/null
step eval_suite "$T_EVAL" $PY -m dev.bench eval --preset "$P360" --device "$DEV" --dtype "$DT" --suite $EVAL_ARGS \
    --threads 0 --json "$WORK/eval_suite.json"
step tokenize "$T_TOK" $PY -m dev.bench tokenize --device "$DEV" $TOK_ARGS --json "$WORK/tokenize.json"
step memory "$T_MEM" $PY -m dev.bench memory --preset "$P360" --seq "$SEQ" --batch "$BATCH" --world 1 --measure \
    --device "$DEV" $MEM_ARGS --json "$WORK/memory.json"
# shellcheck disable=SC2086
step model_1b "$T_MODEL_1B" $PY -m dev.bench model --preset "$P1B" --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" \
    --device "$DEV" --dtype "$DT" --compile $COMPILE_1B $HF_COMPILE --json "$WORK/model_1b.json"

rm -rf "$TMP_RUN/train_360m"  # the checkpoint (GBs); the log.jsonl was copied
# every figure in one file; train.py's from its log.jsonl (records after the first: no compile warm-up)
$PY - "$OUT" "$WORK" "${STEP_NAMES[@]}" <<'EOF' 2>&1 | tee -a "$LOG"
import json, os, sys, torch
out, work, names = sys.argv[1], sys.argv[2], sys.argv[3:]
figs = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "mode": "cpu scaled-down" if os.environ.get("GPU_CHECK_CPU") == "1" else "gpu", "steps": {}}
for n in names:
    rc, secs = open(os.path.join(work, f"{n}.rc")).read().split()
    f = os.path.join(work, f"{n}.json")
    figs["steps"][n] = {"rc": int(rc), "seconds": int(secs), "figures": json.load(open(f)) if os.path.isfile(f) else None}
log = os.path.join(out, "train_360m.log.jsonl")
if "train_360m" in figs["steps"] and os.path.isfile(log):
    recs = [json.loads(l) for l in open(log) if l.strip()]
    timed = [r for r in recs if r.get("tokens_per_s") is not None]  # train.py leaves warm-up steps null
    figs["steps"]["train_360m"]["figures"] = {
        "records": recs, "timed_records": len(timed),
        "summary": next((r["summary"] for r in reversed(recs) if "summary" in r), None),  # train.py's closing
        "mean_tokens_per_s": sum(r["tokens_per_s"] for r in timed) / len(timed) if timed else None,
        "mean_mfu": (sum(r["mfu"] for r in timed) / len(timed)) if timed and all(r.get("mfu") is not None for r in timed) else None,
        "summary_lines": [l.strip() for l in open(os.path.join(work, "train_360m.log")) if "summary" in l.lower()]}
json.dump(figs, open(os.path.join(out, "gpu_figures.json"), "w"), indent=1)
bad = {n: s["rc"] for n, s in figs["steps"].items() if s["rc"] != 0}
print(f"gpu_check: {len(names)} steps, failed {bad or 'none'}; figures -> {os.path.join(out, 'gpu_figures.json')}")
EOF
