"""dev/fault_audit.py: kill training at random moments and inject NaNs; check that nothing is lost or changed;
and a sweep of bad inputs through the real command lines.

    .venv/bin/python data/toy_enfr/prepare.py                            # the toy corpus, once (~5 s)
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --kills 10 --nans 3  # ~15 s per trial on a busy CPU core
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --sweep        # the bad inputs (dev/fault_sweep.py), 4-8 min

1. A reference: a short toy pretraining run (tiny model, a checkpoint after every step), uninterrupted.
2. Kill trials: the same run started from scratch and killed with SIGKILL at a random moment after
   its first checkpoint (every other trial: at the first save after that moment, as soon as its
   ckpt.pt.tmp file shows), then resumed (init_from=resume) to the end. Exact: the final checkpoint's
   tensors (model and optimizer, by their sha256) and every logged loss equal the reference's, bit
   for bit. Also counted: kills that left a half-written ckpt.pt.tmp<pid> behind, and such files
   still there after the resume (must be 0).
3. NaN trials: a run stopped at a checkpoint, resumed with a NaN injected into the logits at a random
   later step. Caught: the process exits non-zero with train.py's clear error, ckpt.pt is the earlier
   one byte for byte, and log.jsonl is strict JSON.
The slow loops of the fault tests (tests/test_faults.py, tests/test_train.py hold the fast ones).
"""
import argparse
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
    """Run train.py -> (return code, stderr, seconds until ckpt.pt first appeared). kill_after: SIGKILL
    that many seconds after ckpt.pt first appears, or (in_save) at the first ckpt.pt.tmp file after."""
    head = [sys.executable, "-c", NAN_AT, str(nan_at)] if nan_at else [sys.executable, "train.py"]
    cmd = head + RUN + [f"--data_dir={args.data_dir}", f"--out_dir={out_dir}", f"--max_iters={args.steps}",
                        *extra]
    with tempfile.TemporaryFile("w+") as err:  # a pipe could fill while we poll
        p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err, text=True,
                             env={**os.environ, "OMP_NUM_THREADS": "1"})
        t0, first_ckpt = time.perf_counter(), None
        while p.poll() is None:
            t = time.perf_counter() - t0
            if first_ckpt is None and os.path.exists(os.path.join(out_dir, "ckpt.pt")):
                first_ckpt = t
            late = kill_after is not None and first_ckpt is not None and t > first_ckpt + kill_after
            if late and (not in_save or stale(out_dir)):
                p.send_signal(signal.SIGKILL)
                p.wait()
                break
            time.sleep(0.001 if late else 0.01)
        err.seek(0)
        return p.returncode, err.read(), first_ckpt


def fingerprint(out_dir):
    """(step, tensor checksums, logged losses): what must match the reference bit for bit."""
    ck = torch.load(os.path.join(out_dir, "ckpt.pt"), map_location="cpu", weights_only=True)
    sums = {k: v for k, v in ck["checksums"].items() if k.startswith(("model/", "optimizer/"))}
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        recs = [json.loads(line) for line in f]
    keep = ("step", "loss", "loss_en", "val_loss_en", "lr", "grad_norm")
    return ck["step"], sums, [{k: r[k] for k in keep if k in r} for r in recs if "summary" not in r]


def stale(out_dir):
    return [f for f in os.listdir(out_dir) if ".tmp" in f] if os.path.isdir(out_dir) else []


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kills", type=int, default=10, help="kill trials")
    ap.add_argument("--nans", type=int, default=3, help="NaN injection trials")
    ap.add_argument("--steps", type=int, default=30, help="optimizer steps of the audited run")
    ap.add_argument("--data_dir", default="data/toy_enfr")
    ap.add_argument("--out_dir", default="out/fault_audit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sweep", action="store_true", help="instead: the sweep of bad inputs (dev/fault_sweep.py), "
                    "its fixtures in out_dir/sweep")
    ap.add_argument("--only", default=None, help="--sweep: only the cases whose name holds these words")
    ap.add_argument("--timeout", type=float, default=300, help="--sweep: seconds before a case counts as a hang")
    args = ap.parse_args()
    if args.sweep:
        from dev.fault_sweep import sweep
        shutil.rmtree(args.out_dir, ignore_errors=True)
        sys.exit(0 if sweep(os.path.abspath(os.path.join(args.out_dir, "sweep")), args.only, args.timeout) else 1)
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
        has_ckpt = os.path.isfile(os.path.join(out, "ckpt.pt"))
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
        good = open(os.path.join(out, "ckpt.pt"), "rb").read()
        # the n-th training forward after the resume is step stop + n (grad_accum 1); checks (and
        # checkpoints) every 5 steps: the NaN comes before the next one, which must catch it
        at = rng.randint(1, (stop // 5 + 1) * 5 - stop)
        code, err, _ = train(args, out, ["--init_from=resume", "--log_interval=5", "--ckpt_interval=5"], nan_at=at)
        caught = (code not in (0, -signal.SIGKILL) and "train.py: error: non-finite" in err
                  and "Traceback" not in err and strict_json(os.path.join(out, "log.jsonl"))
                  and open(os.path.join(out, "ckpt.pt"), "rb").read() == good)
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
