#!/usr/bin/env bash
# dev/gpu_check.sh: every figure a GPU session should bring back (issues 10 and 18), within $BUDGET seconds.
#
#   OUT=out/gpu_check dev/gpu_check.sh            # on a CUDA machine: bf16, 360m/1b, seq 2048
#   GPU_CHECK_CPU=1 OUT=/tmp/gc dev/gpu_check.sh  # the same steps scaled down on CPU (tiny preset, gloo, few
#                                               # steps, no compile): checks the script runs end to end
#
# Steps, the FSDP2 path first, each under its own timeout; the timeouts add up to at most $BUDGET (the
# script refuses a plan that does not), a failed or timed-out step is recorded and the next one runs.
# After every step $OUT/gpu_figures.json is written again with every figure measured so far
# ({"device", "mode", "steps": {name: {"rc", "seconds", "figures"}}}; rc 124: timed out, 125: skipped), so
# a session cut short keeps what it measured. Also in $OUT: gpu_check.log (every step's output) and
# train_fsdp.log.jsonl. Per-step files and the checkpoints stay in $TMP_RUN.
#   prepare      the toy corpus (the training steps' data)
#   train_fsdp   torchrun --nproc_per_node=1 train.py: FSDP2 (fully_shard, DTensor, MixedPrecisionPolicy,
#                fused AdamW on DTensors, NCCL), per-block compile, the 360m preset at seq 2048, 2 micro-steps
#                a step (one reduce-scatter), a sharded checkpoint at the stop (tokens/s, mfu, mfu_causal,
#                peak memory: train.py's log)
#   resume_fsdp  the same run resumed (model built on the meta device, its shards read from the checkpoint),
#                with selective activation checkpointing under compile, to the end
#   memory_1b    dev.fsdp_memory --measure at config/paper_1b_8x80gb.py's micro-batch (19 rows x 2, selective):
#                torch.cuda.max_memory_allocated of a one-GPU FSDP2 step (eager, then compiled) against the
#                estimate for one GPU (the 8-GPU plan differs only in the sharded state, 16 P / 8)
#   model_360m   dev.bench model: ours eager / per-block compiled vs transformers compiled, bf16, MFU
#   eval_suite   dev.bench eval --suite: 8 synthetic sets, ~15k pairs, the 360m preset in bf16
#   tokenize     dev.bench tokenize: Mimi (random weights, same compute) x realtime
#   model_1b     dev.bench model for the Llama-3.2-1B shape, eager (what is left of the budget)
# Override any knob below from the environment (e.g. T_TRAIN=200 BUDGET=600).
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
if [ -z "${TMP_RUN:-}" ]; then     # train.py's out_dir: a 360m checkpoint is ~6 GB, it stays out of $OUT
    TMP_RUN=$(mktemp -d); trap 'rm -rf "$TMP_RUN"' EXIT
fi
BUDGET=${BUDGET:-570}              # seconds for all steps: a step gets min(its timeout, what is left)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4} TQDM_MININTERVAL=${TQDM_MININTERVAL:-10}
WORK=$TMP_RUN/steps   # per-step logs, rc and JSON
mkdir -p "$OUT" "$WORK"

if [ "${GPU_CHECK_CPU:-0}" = 1 ]; then   # scaled down: the same commands, tiny shapes, CPU (gloo), fp32
    export OMP_NUM_THREADS=1
    DEV=cpu; DT=float32; P360=tiny; P1B=tiny; SEQ=${SEQ:-64}; BATCH=${BATCH:-2}; BATCH_1B=${BATCH_1B:-2}
    STEPS=${STEPS:-2}; COMPILE_360M=${COMPILE_360M:-none}; HF_COMPILE=${HF_COMPILE:-}; COMPILE=False
    TRAIN_STEPS=${TRAIN_STEPS:-6}; STOP=${STOP:-4}; DATA=${DATA:-$TMP_RUN/data}
    PREP_ARGS="--n_train_stories=200 --n_val_stories=20 --n_bench=10"
    EVAL_ARGS="--suite_items 4 --n_items 4 --repeat 1 --prompt_len 20 40 --ending_len 5 10"
    TOK_ARGS="--clips 2 --min_seconds 0.5 --max_seconds 1"
else
    DEV=cuda; DT=bfloat16; P360=360m; P1B=1b; SEQ=${SEQ:-2048}; BATCH=${BATCH:-8}; BATCH_1B=${BATCH_1B:-19}
    STEPS=${STEPS:-10}; COMPILE_360M=${COMPILE_360M:-none block}; HF_COMPILE=${HF_COMPILE:---compile_hf}
    COMPILE=True; TRAIN_STEPS=${TRAIN_STEPS:-30}; STOP=${STOP:-20}; DATA=${DATA:-data/toy_enfr}; PREP_ARGS=""
    EVAL_ARGS=""; TOK_ARGS="--clips 1024"
fi
T_PREP=${T_PREP:-20} T_TRAIN=${T_TRAIN:-150} T_RESUME=${T_RESUME:-90} T_MEM=${T_MEM:-110}
T_MODEL=${T_MODEL:-110} T_EVAL=${T_EVAL:-40} T_TOK=${T_TOK:-25} T_MODEL_1B=${T_MODEL_1B:-25}
PLAN=$((T_PREP + T_TRAIN + T_RESUME + T_MEM + T_MODEL + T_EVAL + T_TOK + T_MODEL_1B))
if [ "$PLAN" -gt "$BUDGET" ]; then
    echo "dev/gpu_check.sh: error: the steps' timeouts add up to ${PLAN}s, over the ${BUDGET}s budget; lower some T_*"
    exit 2
fi
LOG="$OUT/gpu_check.log"
: >"$LOG"
STEP_NAMES=()

collect() {  # every figure so far -> $OUT/gpu_figures.json (train.py's from its log.jsonl); no torch import
    $PY - "$OUT" "$WORK" "${GPU_CHECK_CPU:-0}" "${STEP_NAMES[@]}" <<'EOF'
import json, os, sys
out, work, cpu, names = sys.argv[1], sys.argv[2], sys.argv[3] == "1", sys.argv[4:]
device = open(os.path.join(work, "device")).read().strip() if os.path.isfile(os.path.join(work, "device")) else "?"
figs = {"device": device, "mode": "cpu scaled-down" if cpu else "gpu", "steps": {}}
for n in names:
    rc, secs = open(os.path.join(work, f"{n}.rc")).read().split()
    f = os.path.join(work, f"{n}.json")
    figs["steps"][n] = {"rc": int(rc), "seconds": int(secs), "figures": json.load(open(f)) if os.path.isfile(f) else None}
log = os.path.join(out, "train_fsdp.log.jsonl")
for n in ("train_fsdp", "resume_fsdp"):
    if n in figs["steps"] and os.path.isfile(log):
        recs = [json.loads(l) for l in open(log) if l.strip()]
        timed = [r for r in recs if r.get("tokens_per_s") is not None]  # train.py leaves warm-up steps null
        figs["steps"][n]["figures"] = {
            "timed_records": len(timed), "records": recs,
            "summaries": [r["summary"] for r in recs if "summary" in r],  # one per run: train, then resume
            "lines": [l.strip() for l in open(os.path.join(work, f"{n}.log")) if "summary" in l or "phase" in l]}
json.dump(figs, open(os.path.join(out, "gpu_figures.json"), "w"), indent=1)
EOF
}

step() {  # step NAME TIMEOUT_S command...: output to $WORK/NAME.log and the main log, rc and time kept
    local name=$1 limit=$2; shift 2
    STEP_NAMES+=("$name")
    local left=$((BUDGET - SECONDS))
    if [ "$left" -lt 15 ]; then  # rc 125: skipped, the budget is spent
        echo "=== $name: skipped, ${left}s of the ${BUDGET}s budget left" | tee -a "$LOG"; echo "125 0" >"$WORK/$name.rc"
        collect; return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    echo "=== $name ($(date +%T), timeout ${limit}s): $*" | tee -a "$LOG"
    local t0=$SECONDS
    timeout --kill-after=5 "$limit" "$@" >"$WORK/$name.log" 2>&1
    local rc=$?
    echo "$rc $((SECONDS - t0))" >"$WORK/$name.rc"
    grep -v -e Warning -e warnings.warn "$WORK/$name.log" >>"$LOG"  # all of it
    grep -v -e Warning -e warnings.warn "$WORK/$name.log" | tail -n 12
    collect  # on disk at once: a session cut short keeps it
    echo "--- $name: rc $rc in $((SECONDS - t0)) s; figures so far -> $OUT/gpu_figures.json" | tee -a "$LOG"
}

echo "gpu_check: device $DEV, dtype $DT, presets $P360/$P1B, seq $SEQ, batch $BATCH, out $OUT, run dir $TMP_RUN, plan ${PLAN}s of ${BUDGET}s" | tee -a "$LOG"
$PY -c "import torch; print('torch', torch.__version__, '| cuda', torch.cuda.is_available() and torch.cuda.get_device_name())" 2>&1 | tee -a "$LOG"
$PY -c "import torch; print(torch.cuda.get_device_name() if torch.cuda.is_available() else 'cpu')" >"$WORK/device" 2>/dev/null
[ "$DEV" = cuda ] && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$LOG" 2>&1

if [ ! -f "$DATA/meta.json" ]; then  # the toy corpus, ~5 s
    # shellcheck disable=SC2086  # the *_ARGS and COMPILE_* lists are meant to split into words
    step prepare "$T_PREP" $PY data/toy_enfr/prepare.py --out_dir="$DATA" $PREP_ARGS
fi
TRAIN=(--phase=pretrain --data_dir="$DATA" --out_dir="$TMP_RUN/train_fsdp" --model_preset="$P360" --seq_len="$SEQ"
       --batch_size="$BATCH" --grad_accum=2 --max_iters="$TRAIN_STEPS" --log_interval=$(( TRAIN_STEPS > 10 ? 5 : 1 ))
       --eval_interval=0 --eval_iters=1 --ckpt_interval="$STOP" --device="$DEV" --dtype="$DT" --compile="$COMPILE")
step train_fsdp "$T_TRAIN" $PY -m torch.distributed.run --standalone --nproc_per_node=1 train.py "${TRAIN[@]}" \
    --init_from=scratch --stop_iter="$STOP"
cp "$TMP_RUN/train_fsdp/log.jsonl" "$OUT/train_fsdp.log.jsonl" 2>/dev/null && collect
step resume_fsdp "$T_RESUME" $PY -m torch.distributed.run --standalone --nproc_per_node=1 train.py "${TRAIN[@]}" \
    --init_from=resume --activation_checkpointing=selective
cp "$TMP_RUN/train_fsdp/log.jsonl" "$OUT/train_fsdp.log.jsonl" 2>/dev/null && collect
rm -rf "$TMP_RUN/train_fsdp/ckpt"  # the checkpoint (GBs); the log.jsonl was copied
# shellcheck disable=SC2086
step memory_1b "$T_MEM" $PY -m dev.fsdp_memory --preset "$P1B" --seq "$SEQ" --batch "$BATCH_1B" --grad_accum 2 \
    --recompute selective --reshard_after_forward False --world 1 --gpu_mem_gb 80 --measure --saved_batch 1 --device "$DEV" \
    --json "$WORK/memory_1b.json"
step model_360m "$T_MODEL" $PY -m dev.bench model --preset "$P360" --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" \
    --device "$DEV" --dtype "$DT" --compile $COMPILE_360M $HF_COMPILE --json "$WORK/model_360m.json"
step eval_suite "$T_EVAL" $PY -m dev.bench eval --preset "$P360" --device "$DEV" --dtype "$DT" --suite $EVAL_ARGS \
    --threads 0 --json "$WORK/eval_suite.json"
step tokenize "$T_TOK" $PY -m dev.bench tokenize --device "$DEV" $TOK_ARGS --json "$WORK/tokenize.json"
step model_1b "$T_MODEL_1B" $PY -m dev.bench model --preset "$P1B" --seq "$SEQ" --batch "$BATCH" --steps "$STEPS" \
    --device "$DEV" --dtype "$DT" --compile none --json "$WORK/model_1b.json"

bad=$(for n in "${STEP_NAMES[@]}"; do read -r rc _ <"$WORK/$n.rc"; [ "$rc" != 0 ] && printf '%s ' "$n:$rc"; done)
echo "gpu_check: ${#STEP_NAMES[@]} steps in ${SECONDS}s, failed ${bad:-none}; figures -> $OUT/gpu_figures.json" | tee -a "$LOG"
