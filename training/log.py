"""
training/log.py: what a training run reports, all of it in its out_dir (master process only):

    log.jsonl    one JSON record per line (strict JSON: never a bare NaN): {"step", "tokens", ...} with the
                 train loss per language, lr, grad norm, tokens/s and MFU (mfu: attention counted whole, the stated
                 convention; mfu_causal: causal attention's work) at log steps, val losses at eval
                 steps, an "error" when the run stops, and a closing {"summary": ...}
    train.log    the console output, everything the run prints (a resume appends)
    config.json  the run described: "config" (every key, resolved: device, dtype, compile, grad_accum),
                 "world_size", "tokens_per_step", "params", "parent" (what it started from: lineage,
                 `python -m training.checkpoint RUN`), "wandb" (its run, if tracked) and "sessions", one
                 per start or resume: {"command", "cwd", "host", "start", "end", "steps": [from, to],
                 "status": running | finished | stopped at step N of max_iters (stop_iter) | the error}
and one console line per record, with the time since the start and the ETA of this session. With
wandb_log, every record goes to wandb too (training/track.py).
"""
import functools
import json
import os
import shlex
import socket
import sys
import time
from datetime import datetime

from training.meter import WARMUP_STEPS
from training.track import Tracker


clock = time.monotonic  # the elapsed time of a session (a test may replace it)


def fmt(value, spec):
    """A number formatted, or "-" for one not measured (None)."""
    return "-" if value is None else format(value, spec)


def causal(rec):  # the causal-aware MFU beside the stated one, where measured
    return "" if rec.get("mfu_causal") is None else f" (causal {rec['mfu_causal']:.1%})"


class LogError(ValueError):
    """log.jsonl holds a line that is not a record; names the line."""


def kept_records(path, resume_step):
    """The lines of log.jsonl up to resume_step (a resumed run writes the later ones again); a line cut off
    by a killed write (no closing brace and newline) is dropped, any other line that is not a record is a
    LogError naming it."""
    kept = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f, 1):
            if not line.endswith("}\n"):
                continue
            try:
                step = json.loads(line)["step"]
                keep = step <= resume_step
            except (ValueError, KeyError, TypeError):
                raise LogError(f"{path} line {i} is not a log record ({line[:60].strip()!r}): remove or fix "
                               f"that line (or move log.jsonl away), then resume") from None
            if keep:
                kept.append(line)
    return kept


def fmt_time(seconds):
    s = int(round(seconds))
    return f"{s}s" if s < 60 else f"{s // 60}m{s % 60:02d}s" if s < 3600 else f"{s // 3600}h{s % 3600 // 60:02d}m"


def now():
    return datetime.now().astimezone().isoformat(timespec="seconds")


class Tee:
    """A console stream that also writes to train.log."""

    def __init__(self, stream, file):
        self.stream, self.file = stream, file

    def write(self, text):
        self.file.write(text)
        return self.stream.write(text)

    def flush(self):
        self.file.flush()
        self.stream.flush()

    def __getattr__(self, name):  # isatty, encoding, fileno: the console's
        return getattr(self.stream, name)


class RunLog:
    """log.jsonl, train.log, config.json and the console, on the master process only (every other rank
    writes nothing). resume_step: a resume, which keeps log.jsonl's records up to the checkpoint's step
    (a resumed run writes the later ones again) and appends to train.log and config.json's sessions;
    otherwise all three start anew. stop: this session's last step (for the ETA). record: config.json's
    keys but the sessions; track: (project, name) to log to wandb as well, or None."""
    current = None  # the RunLog of the run in progress in this process: closed by @session
    command = [sys.executable, *sys.argv]  # the session's command line (@session sets it)

    def __init__(self, out_dir, langs, max_iters, master, resume_step=None, stop=None, record=None, track=None):
        self.path, self.langs, self.max_iters, self.master = os.path.join(out_dir, "log.jsonl"), langs, max_iters, master
        self.start, self.stop, self.t0 = resume_step or 0, stop or max_iters, clock()
        self.last_step = self.start
        self.tracker = Tracker()
        if not master:
            return
        old = kept_records(self.path, resume_step) if resume_step is not None and os.path.isfile(self.path) else []
        with open(self.path, "w") as f:
            f.writelines(old)
        self.console = open(os.path.join(out_dir, "train.log"), "a" if resume_step is not None else "w", buffering=1)
        self.streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = Tee(sys.stdout, self.console), Tee(sys.stderr, self.console)
        RunLog.current = self
        self.record_path = os.path.join(out_dir, "config.json")
        before = {}
        if resume_step is not None and os.path.isfile(self.record_path):
            with open(self.record_path) as f:
                before = json.load(f)
        self.record = {**(record or {}), "wandb": None, "sessions": before.get("sessions", []) + [dict(
            command=shlex.join(RunLog.command), cwd=os.getcwd(), host=socket.gethostname(),
            start=now(), end=None, steps=[self.start, None], status="running")]}
        self.save_record()
        if track is not None:  # a resume continues the same wandb run
            self.tracker = Tracker.start(*track, self.record.get("config"), out_dir, (before.get("wandb") or {}).get("id"))
            self.record["wandb"] = self.tracker.info
            self.save_record()

    def save_record(self):
        tmp = self.record_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.record, f, indent=1, allow_nan=False, default=str)
        os.replace(tmp, self.record_path)

    def say(self, text):
        """A line on the console (and so in train.log), from the master only."""
        if self.master:
            print(text)

    def write(self, rec):
        """Append one record to log.jsonl, print its line, send it to wandb."""
        if not self.master:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(rec, allow_nan=False) + "\n")
        self.tracker.log(rec)
        self.last_step = rec["step"]
        line = [f"step {rec['step']}/{self.max_iters}"]
        if "summary" in rec:  # the run's closing line
            r = rec["summary"]
            line = [f"summary: {r['timed_steps']} timed steps (not the first {WARMUP_STEPS} after the start, "
                    f"nor evals and checkpoints)", f"{fmt(r['tokens_per_s'], ',.0f')} tok/s",
                    f"mfu {fmt(r['mfu'], '.1%')}{causal(r)}",
                    f"peak memory {fmt(r['peak_memory_gib'], '.2f')} GiB"]
        if "loss" in rec:
            per = " ".join(f"{lang} {rec[f'loss_{lang}']:.4f}" for lang in self.langs if f"loss_{lang}" in rec)
            line += [f"loss {rec['loss']:.4f} ({per})", f"lr {rec['lr']:.2e}",
                     f"{fmt(rec['tokens_per_s'], ',.0f')} tok/s",
                     f"mfu {fmt(rec['mfu'], '.1%')}{causal(rec)}"]
        if "val_loss" in rec:
            line.append("val " + " ".join(f"{lang} {rec[f'val_loss_{lang}']:.4f}" for lang in self.langs))
        if "error" in rec:
            line.append(f"error: {rec['error']}")
        elif "summary" not in rec:
            elapsed, done = clock() - self.t0, rec["step"] - self.start
            eta = elapsed / done * (self.stop - rec["step"]) if done > 0 else None
            line.append(f"{fmt_time(elapsed)} elapsed, eta {'-' if eta is None else fmt_time(eta)}")
        print(" | ".join(line))

    def close(self, error=None):
        """The session's end in config.json (status: finished, stopped before max_iters, or the error),
        the error's line in train.log, the console restored, wandb finished."""
        if not self.master or RunLog.current is not self:
            return
        RunLog.current = None
        what = None if error is None else f"{type(error).__name__}: {error}".strip()
        if what:
            self.console.write(what + "\n")
        self.tracker.finish(exit_code=0 if error is None else 1)  # before the console: wandb wraps it
        sys.stdout, sys.stderr = self.streams
        self.console.close()
        session = self.record["sessions"][-1]
        session.update(end=now(), steps=[self.start, self.last_step], status=(
            "finished" if error is None and self.last_step == self.max_iters else
            f"stopped at step {self.last_step} of {self.max_iters}" if error is None else what))
        self.save_record()


def session(main):
    """train.py's main(argv=None) as one session of a run: its command line recorded, the RunLog it
    opened closed however it ends (an error included)."""
    @functools.wraps(main)
    def run(argv=None):
        RunLog.command = [sys.executable, *sys.argv] if argv is None else [sys.executable, "train.py", *argv]
        try:
            out = main(argv)
        except BaseException as e:
            if RunLog.current is not None:
                RunLog.current.close(error=e)
            raise
        if RunLog.current is not None:
            RunLog.current.close()
        return out
    return run
