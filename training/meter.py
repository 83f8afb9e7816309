"""
training/meter.py: what the training loop measures between two log steps, without a host sync per step.

    loss        the mean train loss and, per language, the summed token losses and target counts (on
                the device; summed over ranks when read)
    non-finite  the first step whose loss or grad norm was not finite (on the device, read at log, eval
                and checkpoint steps: a NaN stops the run before any save)
    throughput  tokens/s over timed steps only: not the first WARMUP_STEPS after a start or resume
                (compilation, first allocations), nor the time spent in evaluations and checkpoints
"""
import math
import time

import torch
import torch.distributed as dist

WARMUP_STEPS = 2


class NonFiniteError(RuntimeError):
    """A non-finite loss, grad norm or weight: training stops before it can reach a checkpoint."""


def per_language(loss_tok, lang, n_langs):
    """(B, T) token losses, (B, T) language of x -> (2L,) loss sum and target count per language.
    A loss belongs to its target y[t] = x[t+1], in language lang[t+1]: at a switch, the first token of
    the new language counts for that language. The last target's language is not in the batch, so each
    row's last position is left out of the per-language means (not of the loss)."""
    is_lang = lang[None, :, 1:] == torch.arange(n_langs, device=lang.device)[:, None, None]  # (L, B, T-1)
    return torch.cat([(is_lang * loss_tok[None, :, :-1]).sum((1, 2)), is_lang.sum((1, 2))]).double()


class Meter:
    def __init__(self, step, n_langs, device, distributed):
        self.start, self.n_langs, self.distributed = step, n_langs, distributed
        self.cuda = torch.device(device).type == "cuda"
        self.stats = torch.zeros(1 + 2 * n_langs, device=device, dtype=torch.float64)  # loss, per-lang sum, count
        self.first_bad = torch.full((), math.inf, device=device)  # first step with a non-finite loss / grad norm
        self.dev_step = torch.full((), float(step), device=device)  # the step number on the device (no H2D copy)
        self.n_acc, self.n_timed, self.train_time, self.total_time = 0, 0, 0.0, 0.0
        self.timed, self.t0 = False, time.perf_counter()

    def micro_step(self, loss, loss_tok, lang):
        """One micro-batch's mean loss and (B, T) token losses with the language of x."""
        with torch.no_grad():  # masks, no sync
            self.stats += torch.cat([loss[None].double(), per_language(loss_tok.view(lang.shape), lang, self.n_langs)])

    def optimizer_step(self, step_loss, gnorm):
        """Before the update: remember the step if its loss (summed over micro-steps) or grad norm is not finite."""
        ok = torch.isfinite(step_loss) & torch.isfinite(gnorm)
        self.dev_step += 1
        self.first_bad = torch.where(ok, self.first_bad, torch.minimum(self.first_bad, self.dev_step))

    def step_done(self, step):
        """After the update of step -> step: the clock starts once the warm-up steps are behind."""
        self.n_acc += 1
        self.timed = step - self.start > WARMUP_STEPS
        self.n_timed += self.timed
        if step - self.start == WARMUP_STEPS:
            self.sync()
            self.t0 = time.perf_counter()

    def sync(self):  # wall times need the GPU's queue drained
        if self.cuda:
            torch.cuda.synchronize()

    def pause(self):
        """Before a log, eval or checkpoint: the time since the last resume() counts as training time."""
        self.sync()
        if self.timed:
            self.train_time += time.perf_counter() - self.t0

    def resume(self):
        self.t0 = time.perf_counter()

    def first_bad_step(self):
        """The first non-finite step so far (agreed over ranks), or None."""
        if self.distributed:  # a NaN on one rank reaches every rank through the gradients; agree anyway
            dist.all_reduce(self.first_bad, op=dist.ReduceOp.MIN)
        bad = self.first_bad.item()
        return int(bad) if math.isfinite(bad) else None

    def train_record(self, langs, micro_batches, tokens_per_step):
        """The log record's training part since the last one, and tokens/s: means over the micro_batches
        of a step (grad_accum x ranks); the sums start again."""
        s = self.stats.clone()
        if self.distributed:
            dist.all_reduce(s)
        s = s.tolist()
        tps = tokens_per_step * self.n_timed / self.train_time if self.n_timed else None
        rec = {"loss": s[0] / (micro_batches * self.n_acc)}
        rec.update({f"loss_{lang}": s[1 + i] / s[1 + self.n_langs + i] for i, lang in enumerate(langs)
                    if s[1 + self.n_langs + i] > 0})  # where measured: the language was in the batches
        self.stats.zero_()
        self.n_acc, self.n_timed, self.train_time, self.total_time = 0, 0, 0.0, self.total_time + self.train_time
        return rec, tps

    def tokens_per_s(self, step, tokens_per_step):
        """The whole run's throughput over its timed steps (None before any was timed)."""
        n = max(0, step - self.start - WARMUP_STEPS)
        return n, (tokens_per_step * n / self.total_time if n else None)
