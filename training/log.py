"""
training/log.py: what a training run reports, as one JSON record per line in out_dir/log.jsonl (strict
JSON: never a bare NaN) and one console line per record. Records: {"step", "tokens", ...} with the
train loss per language, lr, grad norm, tokens/s and MFU at log steps, val losses at eval steps, an
"error" when the run stops, and a closing {"summary": ...}.
"""
import json
import os

from training.meter import WARMUP_STEPS


def fmt(value, spec):
    """A number formatted, or "-" for one not measured (None)."""
    return "-" if value is None else format(value, spec)


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


class RunLog:
    """out_dir/log.jsonl and the console, on the master process only (every other rank writes nothing).
    resume_step: keep the records up to the checkpoint's step and drop the later ones (a resumed run
    writes them again)."""

    def __init__(self, out_dir, langs, max_iters, master, resume_step=None):
        self.path, self.langs, self.max_iters, self.master = os.path.join(out_dir, "log.jsonl"), langs, max_iters, master
        if not master:
            return
        old = kept_records(self.path, resume_step) if resume_step is not None and os.path.isfile(self.path) else []
        with open(self.path, "w") as f:
            f.writelines(old)

    def write(self, rec):
        """Append one record to log.jsonl and print its line."""
        if not self.master:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps(rec, allow_nan=False) + "\n")
        line = [f"step {rec['step']}/{self.max_iters}"]
        if "summary" in rec:  # the run's closing line
            r = rec["summary"]
            line = [f"summary: {r['timed_steps']} timed steps (not the first {WARMUP_STEPS} after the start, "
                    f"nor evals and checkpoints)", f"{fmt(r['tokens_per_s'], ',.0f')} tok/s",
                    f"mfu {fmt(r['mfu'], '.1%')}", f"peak memory {fmt(r['peak_memory_gib'], '.2f')} GiB"]
        if "loss" in rec:
            per = " ".join(f"{lang} {rec[f'loss_{lang}']:.4f}" for lang in self.langs if f"loss_{lang}" in rec)
            line += [f"loss {rec['loss']:.4f} ({per})", f"lr {rec['lr']:.2e}",
                     f"{fmt(rec['tokens_per_s'], ',.0f')} tok/s", f"mfu {fmt(rec['mfu'], '.1%')}"]
        if "val_loss" in rec:
            line.append("val " + " ".join(f"{lang} {rec[f'val_loss_{lang}']:.4f}" for lang in self.langs))
        print(" | ".join(line))
