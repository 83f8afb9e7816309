"""dev/collectives.py: the collectives FSDP2 runs in train.py's optimizer steps, counted on CPU processes (gloo).

    .venv/bin/python data/toy_enfr/prepare.py                    # the toy corpus, once
    OMP_NUM_THREADS=1 .venv/bin/torchrun --standalone --nproc_per_node=2 -m dev.collectives \\
        --phase=pretrain --model_preset=tiny --seq_len=64 --batch_size=2 --grad_accum=4 --max_iters=4 \
        --log_interval=1 --eval_interval=0

Runs train.py's main() once per grad_sync (micro: a reduce-scatter per block every micro-step; step, the
default: one per optimizer step) with the other arguments as given, each into its own out_dir
(out/collectives/<grad_sync>), and counts the calls train.train_step makes to torch.distributed's collectives
(FSDP2 gathers and reduces through all_gather_single and reduce_scatter_single). Rank 0 prints a table:
calls per run, and whether the logged losses, grad norms and val losses agree (max relative difference).
The counter is count_collectives(); tests/test_train.py uses it through tests/dist_jobs.py.
"""
import json
import os
import sys
from contextlib import contextmanager

import torch.distributed as dist

COLLECTIVES = ("all_gather_single", "reduce_scatter_single", "all_reduce", "all_gather_into_tensor",
               "reduce_scatter_tensor", "broadcast")


@contextmanager
def count_collectives(train):
    """Inside: every train.train_step counts its calls to torch.distributed's COLLECTIVES -> the dict of
    counts (filled as steps run). Patches the module functions, which FSDP2 looks up at each call."""
    counts, active, real = {}, [False], {name: getattr(dist, name) for name in COLLECTIVES}

    def counted(name):
        def call(*args, **kwargs):
            if active[0]:
                counts[name] = counts.get(name, 0) + 1
            return real[name](*args, **kwargs)
        return call

    step = train.train_step

    def counted_step(*args, **kwargs):
        active[0] = True
        try:
            return step(*args, **kwargs)
        finally:
            active[0] = False
    for name in COLLECTIVES:
        setattr(dist, name, counted(name))
    train.train_step = counted_step
    try:
        yield counts
    finally:
        for name, fn in real.items():
            setattr(dist, name, fn)
        train.train_step = step


def logged(out_dir):  # the records whose values must agree between the runs
    keep = ("loss", "grad_norm", "val_loss")
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        return [{k: r[k] for k in keep if k in r} for r in map(json.loads, f) if "summary" not in r]


def main(argv):
    import train
    runs = {}
    for sync in ("micro", "step"):
        out = os.path.join("out", "collectives", sync)
        with count_collectives(train) as counts:
            train.main(argv + [f"--grad_sync={sync}", f"--out_dir={out}", "--init_from=scratch"])
        runs[sync] = (dict(counts), logged(out))
    if int(os.environ.get("RANK", 0)) == 0:
        (c_micro, l_micro), (c_step, l_step) = runs["micro"], runs["step"]
        diff = max(abs(a[k] - b[k]) / abs(a[k]) for a, b in zip(l_micro, l_step) for k in a if a[k])
        print("\n| collective calls in train_step | grad_sync=micro | grad_sync=step |\n|---|---|---|")
        for name in sorted(set(c_micro) | set(c_step)):
            print(f"| {name} | {c_micro.get(name, 0)} | {c_step.get(name, 0)} |")
        print(f"losses, grad norms, val losses: {len(l_micro)} records each, max relative difference {diff:.1e}")


if __name__ == "__main__":
    main(sys.argv[1:])
