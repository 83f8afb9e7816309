"""
training/track.py: optional experiment tracking with Weights & Biases, as nanoGPT's wandb_log: off by
default; with wandb_log=True and wandb not installed, one line says so and nothing else changes.

    .venv/bin/python train.py config/toy_pretrain.py --wandb_log=True --wandb_project=crosstalk
    WANDB_MODE=offline .venv/bin/python train.py config/toy_pretrain.py --wandb_log=True  # out_dir/wandb/, `wandb sync` later
    .venv/bin/python eval_cloze.py out/toy/pretrain --wandb        # its cloze accuracies into the run's wandb run

What is logged: every number of every log.jsonl record (train loss and loss per language, lr, grad
norm, tokens/s, MFU, val losses per language and corpus), against the record's "step" (define_metric:
a resumed run that logs a step again is drawn as it is, not dropped as out of order); the resolved
config; the closing summary. The wandb run id is kept in out_dir/config.json (training/log.py), so a
resume continues the same wandb run and eval_cloze.py --wandb adds cloze/{scoring}/{set} (accuracy,
and its 95% interval as .../ci95_lo, .../ci95_hi) to it; a set that lost items to clips tokenization
skipped goes under cloze_incomplete/ with its n and n_total, never as the set's score.
"""
import json
import os

from training.config import ConfigError


class TrackError(ConfigError):
    """wandb_log=True, but wandb could not start a run; the message says what to do."""


class Tracker:
    """One wandb run, or nothing (run None: every call a no-op)."""

    def __init__(self, run=None):
        self.run = run

    @classmethod
    def start(cls, project, name, config, out_dir, run_id=None):
        """wandb.init into out_dir/wandb; run_id continues that run. Without wandb: a no-op Tracker."""
        try:
            import wandb
        except ImportError:
            print("wandb_log=True, but wandb is not installed: not tracking (.venv/bin/pip install wandb)")
            return cls()
        try:
            run = wandb.init(project=project, name=name or None, config=config, dir=out_dir, id=run_id,
                             resume="allow" if run_id else None)
        except Exception as e:  # no login, no network: say it before training, not after
            raise TrackError(f"wandb could not start a run ({type(e).__name__}: "
                              f"{str(e)[:200]}). Log in (wandb login), set WANDB_MODE=offline, or do "
                             f"without it (train.py: --wandb_log=False).") from None
        run.define_metric("step")
        run.define_metric("*", step_metric="step")
        return cls(run)

    @property
    def info(self):
        """What config.json keeps to find the run again, or None."""
        return None if self.run is None else {"project": self.run.project, "name": self.run.name, "id": self.run.id}

    def log(self, rec):
        """A log.jsonl record: its numbers at its step; a closing summary into the run's summary."""
        if self.run is None:
            return
        if "summary" in rec:
            self.run.summary.update({f"summary/{k}": v for k, v in rec["summary"].items() if is_number(v)})
            return
        values = {k: v for k, v in rec.items() if is_number(v)}
        if len(values) > 1:  # more than the step: an error record logs nothing
            self.run.log(values)

    def summary(self, values):
        if self.run is not None:
            self.run.summary.update(values)

    def finish(self, exit_code=0):
        if self.run is not None:
            self.run.finish(exit_code=exit_code)
            self.run = None


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def log_eval(run_dir, name, results, wandb_dir):
    """eval_cloze.py --wandb: accuracies {scoring: {set: result}} into the wandb run of the train.py run
    in run_dir (its config.json names it), at the run's last step; a model with no tracked run (an HF
    model, a run without wandb_log) gets a new wandb run in project crosstalk, named after the model.
    wandb's files go to wandb_dir. Returns the values logged."""
    record = {}
    if run_dir and os.path.isfile(path := os.path.join(run_dir, "config.json")):
        with open(path) as f:
            record = json.load(f)
    wb, sessions = record.get("wandb") or {}, record.get("sessions") or [{}]
    step = (sessions[-1].get("steps") or [0, 0])[-1] or 0
    project = wb.get("project") or (record.get("config") or {}).get("wandb_project") or "crosstalk"
    t = Tracker.start(project, wb.get("name") or f"eval {name}", None, wandb_dir, wb.get("id"))
    values = {}
    for scoring, sets in results.items():
        for set_name, r in sets.items():
            if r.get("complete", True):
                key = f"cloze/{scoring}/{set_name}"
            else:  # a set that lost items to skipped clips is not the set's score: apart, with n of N
                key = f"cloze_incomplete/{scoring}/{set_name}"
                values.update({f"{key}/n": r["n"], f"{key}/n_total": r["n_total"]})
            values.update({key: r["accuracy"], f"{key}/ci95_lo": r["ci95"][0], f"{key}/ci95_hi": r["ci95"][1]})
    t.log({"step": step, **values})
    t.summary(values)
    t.finish()
    return values
