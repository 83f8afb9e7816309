"""dev/fault_audit.py: kill training at random moments and inject NaNs; check that nothing is lost or changed;
and a sweep of bad inputs through the real command lines.

    .venv/bin/python data/toy_enfr/prepare.py                            # the toy corpus, once (~5 s)
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --kills 10 --nans 3  # ~15 s per trial on a busy CPU core
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --kills 4 --nans 0 --world 2   # 2 processes (torchrun),
                                                          # all killed at once, each saving its own shard
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --sweep        # the bad inputs (dev/fault_sweep.py), 4-8 min

1. A reference: a short toy pretraining run (tiny model, a checkpoint after every step), uninterrupted.
2. Kill trials: the same run started from scratch and killed with SIGKILL at a random moment after
   its first checkpoint (every other trial: at the first save after that moment, as soon as its
   ckpt.tmp directory shows), then resumed (init_from=resume) to the end. Exact: the final checkpoint's
   tensors (model and AdamW state, each by its sha256) and every logged loss equal the reference's, bit
   for bit. Also counted: kills that left a half-written ckpt.tmp (or a ckpt.old) behind, and such
   leftovers still there after the resume (must be 0).
3. NaN trials: a run stopped at a checkpoint, resumed with a NaN injected into the logits at a random
   later step. Caught: the process exits non-zero with train.py's clear error, ckpt/ is the earlier
   one byte for byte, and log.jsonl is strict JSON.
The slow loops of the fault tests (tests/test_faults.py, tests/test_train.py hold the fast ones).
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # the repo root: train.py runs there
RUN = ["--phase=pretrain", "--model_preset=tiny", "--seq_len=64", "--batch_size=4", "--learning_rate=3e-3",
       "--log_interval=1", "--eval_interval=10", "--eval_iters=1", "--ckpt_interval=1", "--compile=False"]
# runs train.py as `python train.py` would, with model.Decoder.forward returning NaN logits at one step
NAN_AT = """import math, runpy, sys, model
forward, calls, at = model.Decoder.forward, [0], int(sys.argv.pop(1))
def poisoned(self, idx, **kw):
    out = forward(self, idx, **kw)
    calls[0] += self.training
    return out * math.nan if self.training and calls[0] == at else out
model.Decoder.forward = poisoned
sys.argv[0] = "train.py"
runpy.run_path("train.py", run_name="__main__")
"""


def train(args, out_dir, extra=(), kill_after=None, in_save=False, nan_at=None):
    """Run train.py -> (return code, stderr, seconds until ckpt/ first appeared). kill_after: SIGKILL
    that many seconds after ckpt/ first appears, or (in_save) at the first ckpt.tmp directory after."""
    head = ([sys.executable, "-c", NAN_AT, str(nan_at)] if nan_at else [sys.executable, "train.py"] if args.world == 1
            else [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.world}", "train.py"])
    cmd = head + RUN + [f"--data_dir={args.data_dir}", f"--out_dir={out_dir}", f"--max_iters={args.steps}",
                        *extra]
    with tempfile.TemporaryFile("w+") as err:  # a pipe could fill while we poll
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
        t0, first_ckpt = time.perf_counter(), None
        while p.poll() is None:
            t = time.perf_counter() - t0
            if first_ckpt is None and os.path.exists(os.path.join(out_dir, "ckpt")):
                first_ckpt = t
            late = kill_after is not None and first_ckpt is not None and t > first_ckpt + kill_after
            if late and (not in_save or stale(out_dir)):  # every process at once (torchrun's ranks too): a crash
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                break
            time.sleep(0.001 if late else 0.01)
        err.seek(0)
        return p.returncode, err.read(), first_ckpt


def fingerprint(out_dir):
    """(step, sha256 of every tensor: weights and AdamW state, logged losses): what must match the
    reference bit for bit (the shard files themselves differ: torch.save writes a fresh id in each)."""
    from model import load_model
    from training.checkpoint import load_checkpoint, load_optimizer
    d, info = load_checkpoint(out_dir)
    model = load_model(d)
    opt = torch.optim.AdamW(model.parameters())
    load_optimizer(d, model, opt)
    names = {id(p): n for n, p in model.named_parameters()}
    tensors = {**model.state_dict(), **{f"{names[id(p)]}.{k}": v for p, st in opt.state.items() for k, v in st.items()}}
    sums = {k: hashlib.sha256(v.contiguous().reshape(-1).view(torch.uint8).numpy()).hexdigest() for k, v in tensors.items()}
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        recs = [json.loads(line) for line in f]
    keep = ("step", "loss", "loss_en", "val_loss_en", "lr", "grad_norm")
    return info["step"], sums, [{k: r[k] for k in keep if k in r} for r in recs if "summary" not in r]


def snapshot(out_dir):
    """Every byte of out_dir/ckpt/: what "the earlier checkpoint, unchanged" means."""
    d = os.path.join(out_dir, "ckpt")
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def stale(out_dir):  # what a killed save leaves: ckpt.tmp, or ckpt.old (killed between the swap's renames)
    return [f for f in os.listdir(out_dir) if f in ("ckpt.tmp", "ckpt.old")] if os.path.isdir(out_dir) else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=10, help="kill trials")
    ap.add_argument("--nans", type=int, default=3, help="NaN injection trials")
    ap.add_argument("--steps", type=int, default=30, help="optimizer steps of the audited run")
    ap.add_argument("--data_dir", default="data/toy_enfr")
    ap.add_argument("--out_dir", default="out/fault_audit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--world", type=int, default=1, help="processes (torchrun, gloo; kill trials only)")
    ap.add_argument("--sweep", action="store_true", help="instead: the sweep of bad inputs (dev/fault_sweep.py), "
                    "its fixtures in out_dir/sweep")
    ap.add_argument("--only", default=None, help="--sweep: only the cases whose name holds these words")
    ap.add_argument("--timeout", type=float, default=300, help="--sweep: seconds before a case counts as a hang")
    args = ap.parse_args()
    if args.sweep:
        from dev.fault_sweep import sweep
        shutil.rmtree(args.out_dir, ignore_errors=True)
        sys.exit(0 if sweep(os.path.abspath(os.path.join(args.out_dir, "sweep")), args.only, args.timeout) else 1)
    if args.world > 1 and args.nans:
        sys.exit("dev/fault_audit.py: NaN trials run one process: give --nans 0 with --world > 1")
    if not os.path.isfile(os.path.join(ROOT, args.data_dir, "meta.json")):
        sys.exit(f"dev/fault_audit.py: no corpus in {args.data_dir}: run python data/toy_enfr/prepare.py first")
    rng = random.Random(args.seed)
    shutil.rmtree(args.out_dir, ignore_errors=True)
    ref_dir = os.path.join(args.out_dir, "reference")
    t0 = time.perf_counter()
    code, err, first_ckpt = train(args, ref_dir)
    ref_time = time.perf_counter() - t0
    if code:
        sys.exit(f"dev/fault_audit.py: the reference run failed:\n{err[-2000:]}")
    ref = fingerprint(ref_dir)
    span = 0.5 * (ref_time - first_ckpt)  # kills while it trains: after its first checkpoint, well before its end
    print(f"reference: {args.steps} steps in {ref_time:.1f} s, first checkpoint after {first_ckpt:.1f} s; "
          f"kills drawn in [0, {span:.1f}] s after a trial's first checkpoint, every other one at the next "
          f"save after that")
    n = dict(kill_trials=0, killed_mid_run=0, killed_mid_save=0, before_first_ckpt=0, exact_resumes=0,
             stale_tmp_left=0, nan_trials=0, nans_caught=0)
    for i in range(args.kills):
        out = os.path.join(args.out_dir, f"kill{i}")
        code, _, _ = train(args, out, ["--init_from=scratch"], kill_after=rng.uniform(0, span), in_save=i % 2)
        n["kill_trials"] += 1
        n["killed_mid_run"] += code == -signal.SIGKILL
        n["killed_mid_save"] += bool(stale(out))
        has_ckpt = any(os.path.isdir(os.path.join(out, f)) for f in ("ckpt", "ckpt.old"))
        n["before_first_ckpt"] += not has_ckpt
        code, err, _ = train(args, out, ["--init_from=resume" if has_ckpt else "--init_from=scratch"])
        n["stale_tmp_left"] += len(stale(out))
        exact = code == 0 and fingerprint(out) == ref
        n["exact_resumes"] += exact
        print(f"kill {i}: {'exact' if exact else 'DIFFERENT'}" + (f" ({err[-300:]})" if code else ""))
    for i in range(args.nans):
        out = os.path.join(args.out_dir, f"nan{i}")
        stop = rng.randrange(1, args.steps - 5)
        train(args, out, ["--init_from=scratch", f"--stop_iter={stop}"])
        good = snapshot(out)
        # the n-th training forward after the resume is step stop + n (grad_accum 1); checks (and
        # checkpoints) every 5 steps: the NaN comes before the next one, which must catch it
        at = rng.randint(1, (stop // 5 + 1) * 5 - stop)
        code, err, _ = train(args, out, ["--init_from=resume", "--log_interval=5", "--ckpt_interval=5"], nan_at=at)
        caught = (code not in (0, -signal.SIGKILL) and "train.py: error: non-finite" in err
                  and "Traceback" not in err and strict_json(os.path.join(out, "log.jsonl"))
                  and snapshot(out) == good)
        n["nan_trials"] += 1
        n["nans_caught"] += caught
        print(f"nan {i}: NaN at step {stop + at}, checkpoint of step {stop}: {'caught' if caught else 'MISSED'}")
    print("\n| measure | count |\n|---|---|")
    for k, v in n.items():
        print(f"| {k.replace('_', ' ')} | {v} |")
    ok = n["exact_resumes"] == n["kill_trials"] and n["nans_caught"] == n["nan_trials"] and not n["stale_tmp_left"]
    sys.exit(0 if ok else 1)


def strict_json(path):
    """Every line of path parses as strict JSON (no bare NaN or Infinity)."""
    def refuse(constant):
        raise ValueError(constant)
    try:
        with open(path) as f:
            for line in f:
                json.loads(line, parse_constant=refuse)
        return True
    except ValueError:
        return False


if __name__ == "__main__":
    main()
