"""Several train.py runs in one torchrun launch (each start of python and torch costs seconds on a busy machine).

    .venv/bin/python -m torch.distributed.run --standalone --nproc_per_node=2 tests/dist_jobs.py JOBS.json PORT
JOBS.json: [{"argv": [train.py arguments], "count": bool, "resave": DIR}, ...], run in order, each in its own
process group. "count": rank 0 writes the collectives each train_step made (dev/collectives.py) to
<out_dir>/collectives.json. "resave": no training: train.py's set-up of a resume (the checkpoint read into
this world size's shards), then saved at once to DIR (resave()). Job i's process group uses port PORT + i.
"""
import json
import os
import sys
import types

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import train  # noqa: E402
from dev.collectives import count_collectives  # noqa: E402


def resave(argv, to):
    """train.py's own set-up for argv (--init_from=resume), then its checkpoint written to `to`: what a
    resume at this world size restored, for comparison with what was saved."""
    C = types.SimpleNamespace(**train.get_config(argv))
    S = train.setup_system(C)
    D = train.load_data(C, S)
    model, step, (path, _), _ = train.build_model(C, S, D)
    opt = train.build_optimizer(C, S, model, path)
    if S.master:
        os.makedirs(to, exist_ok=True)
    train.save_training_state(to, model, opt, S.master, step=step, config={**vars(C), "world_size": S.world},
                              phase=C.phase, meta=D.meta, sampler=D.sampler.state_dict())
    if S.distributed:
        train.dist.destroy_process_group()


if __name__ == "__main__":
    # each job's process group on its own port (rank 0 serves it): one torchrun store for several groups
    # in a row hung at random (stale keys of the group before)
    os.environ.pop("TORCHELASTIC_USE_AGENT_STORE", None)
    for i, job in enumerate(json.load(open(sys.argv[1]))):
        os.environ["MASTER_PORT"] = str(int(sys.argv[2]) + i)
        if job.get("resave"):
            resave(job["argv"], job["resave"])
            continue
        with count_collectives(train) as counts:
            train.main(job["argv"])
        if job.get("count") and int(os.environ["RANK"]) == 0:
            out = next(a.split("=", 1)[1] for a in job["argv"] if a.startswith("--out_dir="))
            json.dump(counts, open(os.path.join(out, "collectives.json"), "w"))
