"""training/checkpoint.py: the checkpoint file, written atomically and checked on every load.

A checkpoint is one torch.save'd dict (train.py writes model_config, model, optimizer, step, config,
phase, meta, sampler, and corpus: training/corpus.py) plus "checksums": {path: sha256 hex} of the bytes of every tensor in it, e.g.
"model/blocks.0.attn.qkv.weight", "optimizer/state/blocks.0.mlp.up.weight/exp_avg", and
"(other values)" over everything else (step, config, ...: their JSON). load() recomputes them, so a
flipped bit in the tensor data (bit rot, a bad copy) is an error naming the tensor, never a quietly
different model. sha256 runs at about 1-2 GB/s: seconds for a 1b checkpoint with its optimizer state.

    .venv/bin/python -m training.checkpoint out/pretrain/ckpt.pt    # verify a checkpoint, print its step and phase
    .venv/bin/python -m training.checkpoint out/toy/finetune       # also the run's config and its lineage

A checkpoint's fingerprint is the sha256 of its checksums (so of every tensor and value in it). Each
checkpoint keeps its run's "parent": the checkpoint it started from (path, step, phase, fingerprint),
or scratch / the HF model; the lineage follows the parents while they exist and says whether each is
still the checkpoint that was used. Also here: what a train.py init_from names (init_kind), decided by
what is on disk, the training state saved and restored (save_training_state, load_optimizer_state),
and a checkpoint's plain values read without its tensors (read_metadata).
"""
import dataclasses
import hashlib
import json
import os
import re
import sys

import torch
from torch.distributed.checkpoint.state_dict import (StateDictOptions, get_model_state_dict,
                                                     get_optimizer_state_dict, set_optimizer_state_dict)

from training.meter import NonFiniteError

KEYS = ("model_config", "model", "optimizer", "step", "config", "phase", "meta", "sampler")  # train.py's
OTHER = "(other values)"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (missing, corrupt, another phase or corpus); names the file."""


def checksums(obj):
    """{path: sha256 hex} of every tensor in nested dicts/lists obj, and OTHER over the rest."""
    sums = {}

    def walk(o, path):
        if isinstance(o, torch.Tensor):  # raw bytes, any dtype (bf16 too); 0-d tensors as 1 element
            sums[path] = hashlib.sha256(o.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
                                        .numpy()).hexdigest()
            return f"tensor {o.dtype} {tuple(o.shape)}"
        if isinstance(o, dict):
            return {str(k): walk(v, f"{path}/{k}" if path else str(k)) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [walk(v, f"{path}/{i}") for i, v in enumerate(o)]
        return o
    rest = walk(obj, "")
    sums[OTHER] = hashlib.sha256(json.dumps(rest, sort_keys=True, default=repr).encode()).hexdigest()
    return sums


def _load(path, mmap=False):
    """torch.load(path) (tensors only, no code) as a dict, or CheckpointError."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:
        raise CheckpointError(f"{path}: cannot be read as a train.py checkpoint ({type(e).__name__}: "
                              f"{str(e)[:200]}). It is truncated or corrupt, or not a torch file: restore "
                              f"it from a copy or re-run the phase that writes it.") from None
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"{path}: not a train.py checkpoint (a {type(ckpt).__name__}, not a dict)")
    return ckpt


def load_verified(path):
    """torch.load(path) (tensors only, no code) and verify its checksums; CheckpointError if it cannot
    be read or does not match. A dict without "checksums" (written before they existed) loads with a
    warning."""
    ckpt = _load(path)
    stored = ckpt.pop("checksums", None)
    if stored is None:
        print(f"{path}: no checksums (written before train.py stored them): not verified")
        return ckpt
    now = checksums(ckpt)
    bad = sorted(k for k in set(stored) | set(now) if stored.get(k) != now.get(k))
    if bad:
        raise CheckpointError(f"{path}: corrupt: {len(bad)} of {len(stored)} checksums do not match "
                              f"(e.g. {bad[:3]}): the file changed after it was written (disk or copy "
                              f"error). Restore it from a copy or re-run the phase that writes it.")
    return ckpt


def fingerprint(path):
    """The sha256 of a checkpoint's stored checksums, so of every tensor and value in it (None for one
    written before checksums). Cheap: mmap reads the small checksums, not the tensors."""
    stored = torch.load(path, map_location="cpu", weights_only=True, mmap=True).get("checksums")
    return None if stored is None else hashlib.sha256(json.dumps(stored, sort_keys=True).encode()).hexdigest()


def ckpt_file(path):
    """A ckpt.pt, or the out_dir holding it -> the file's path."""
    return os.path.join(path, "ckpt.pt") if os.path.isdir(path) else path


def load_checkpoint(path):
    """torch.load a train.py checkpoint with a clear error for a missing, truncated or foreign file."""
    path = ckpt_file(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no checkpoint there. Run the phase that writes it first, or "
                              f"start with --init_from=scratch.")
    ckpt = load_verified(path)  # CheckpointError if unreadable or its checksums do not match
    missing = [k for k in KEYS if k not in ckpt]
    if missing:
        raise CheckpointError(f"{path}: not a complete train.py checkpoint, missing {missing}. Re-run "
                              f"the phase that writes it.")
    return path, ckpt


def read_metadata(path):
    """The plain values of a train.py checkpoint (step, config, phase, meta, corpus, ...), without reading
    its tensors (memory-mapped, not verified: load_checkpoint does that) -> dict; CheckpointError if the
    file cannot be read."""
    if os.path.isdir(path):
        path = os.path.join(path, "ckpt.pt")
    if not os.path.isfile(path):
        raise CheckpointError(f"{path}: no checkpoint there. Run the phase that writes it first.")
    return {k: v for k, v in _load(path, mmap=True).items() if k not in ("model", "optimizer", "checksums")}


def is_run_dir(folder):
    """A train.py out_dir: its config.json is the run's record (training/log.py), not an HF config."""
    try:
        with open(os.path.join(folder, "config.json")) as f:
            return "sessions" in json.load(f)
    except (OSError, ValueError):
        return False


def init_kind(init_from):
    """scratch | resume | checkpoint | hf, decided by what is on disk: a file or a folder holding ckpt.pt
    is a train.py checkpoint, a folder holding config.json an HF model (unless it is a train.py run's
    record: a run that saved no checkpoint), a missing path an HF Hub id if it reads like one
    (org/name), else an error."""
    if init_from in ("scratch", "resume"):
        return init_from
    if os.path.isfile(init_from) or os.path.isfile(os.path.join(init_from, "ckpt.pt")):
        return "checkpoint"
    if is_run_dir(init_from):
        raise CheckpointError(f"init_from={init_from}: a train.py out_dir with no ckpt.pt: its run saved no "
                              f"checkpoint (see {os.path.join(init_from, 'train.log')}). Run it to its end first.")
    if os.path.isfile(os.path.join(init_from, "config.json")):
        return "hf"
    what = ("a folder with neither ckpt.pt (a train.py out_dir) nor config.json (an HF model)"
            if os.path.isdir(init_from) else "no such file or folder")
    if os.path.isdir(init_from) or not re.fullmatch(r"[\w.-]+/[\w.-]+", init_from):
        raise CheckpointError(f"init_from={init_from}: {what}. Give a train.py checkpoint (ckpt.pt or its "
                              f"out_dir), an HF model folder or Hub id (org/name), scratch or resume.")
    return "hf"


def save_atomic(path, obj):
    """Atomic: write obj with its checksums to path.tmp<pid>, fsync, rename. A crash leaves the previous
    checkpoint intact; a failed write (a full disk) removes its temporary file and is a CheckpointError."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            torch.save({**obj, "checksums": checksums(obj)}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(e, OSError):  # ENOSPC, EDQUOT, EIO, ...
            raise CheckpointError(f"{path}: could not write the checkpoint ({e.strerror or e}); the previous "
                                  f"one is intact. Free space in {os.path.dirname(path) or '.'} (a "
                                  f"checkpoint here is ~{os.path.getsize(path) / 2**20:,.0f} MiB) and resume."
                                  if os.path.exists(path) else f"{path}: could not write the checkpoint "
                                  f"({e.strerror or e}). Free space there and run again.") from None
        raise
    fd = os.open(os.path.dirname(path) or ".", os.O_RDONLY)  # make the rename itself durable
    os.fsync(fd)
    os.close(fd)


def save_training_state(path, model, opt, master, **extra):
    """A training checkpoint: full model and optimizer state dicts (keyed by parameter name, gathered
    on CPU from every rank), refused if any weight is non-finite (finite grads can still make a huge
    update), written by the master with model_config and extra (step, config, phase, meta, sampler)."""
    o = StateDictOptions(full_state_dict=True, cpu_offload=True)
    msd, osd = get_model_state_dict(model, options=o), get_optimizer_state_dict(model, opt, options=o)
    bad = [k for k, v in msd.items() if not torch.isfinite(v).all()]
    if bad:
        raise NonFiniteError(f"step {extra.get('step')}: non-finite weights {bad[:3]}; not saved. Lower learning_rate.")
    if master:
        save_atomic(path, {"model_config": dataclasses.asdict(model.cfg), "model": msd, "optimizer": osd, **extra})


def load_optimizer_state(model, opt, state, distributed):
    """Optimizer state saved by save_training_state (keyed by parameter name: any world size wrote it)."""
    if distributed:
        set_optimizer_state_dict(model, opt, state, options=StateDictOptions(full_state_dict=True))
        return
    # set_optimizer_state_dict needs a process group, so map names to positions here
    name = {p: n for n, p in model.named_parameters()}
    pos = {name[p]: i for i, p in enumerate(p for g in opt.param_groups for p in g["params"])}
    opt.load_state_dict({"state": {pos[n]: s for n, s in state["state"].items()},
                         "param_groups": [{**g, "params": [pos[n] for n in g["params"]]} for g in state["param_groups"]]})


def parent_of(init_from, ckpt):
    """What a run starts from, kept in its checkpoints and config.json: a checkpoint's path, step, phase
    and fingerprint; on resume, the parent of the run it continues; else scratch or the HF model."""
    if init_from == "resume":
        return ckpt.get("parent")
    if ckpt is not None:
        path = os.path.abspath(ckpt_file(init_from))
        return {"init_from": path, "step": ckpt["step"], "phase": ckpt["phase"], "fingerprint": fingerprint(path)}
    return {"init_from": os.path.abspath(init_from) if os.path.isdir(init_from) else init_from}


def lineage(ckpt):
    """Lines from ckpt's parent back to scratch or an HF model, while the parents exist on disk; each
    says whether the file there now is still the checkpoint that was used (the same fingerprint)."""
    lines, parent, seen = [], ckpt.get("parent", "unrecorded"), set()
    while parent is not None:
        if parent == "unrecorded":
            return lines + ["<- (not recorded: written before train.py kept its parent)"]
        src, short = parent["init_from"], (parent.get("fingerprint") or "-")[:12]
        if "step" not in parent:
            return lines + [f"<- {src}"]  # scratch, an HF model folder or Hub id
        line = f"<- {src}: {parent['phase']}, step {parent['step']}, fingerprint {short}"
        if src in seen or not os.path.isfile(src):
            return lines + [line + (" (a cycle)" if src in seen else " (no longer on disk)")]
        seen.add(src)
        try:
            p = load_verified(src)
        except CheckpointError as e:
            return lines + [line + f" (unreadable now: {str(e)[:120]})"]
        now = fingerprint(src)
        lines.append(line + (" (on disk: the same)" if now == parent.get("fingerprint") else
                             f" (on disk now: another checkpoint, step {p.get('step')}, fingerprint {(now or '-')[:12]})"))
        parent = p.get("parent", "unrecorded")
    return lines


def describe(run):
    """`python -m training.checkpoint RUN`: the checkpoint verified, the run's config (config.json where
    there is one, else the checkpoint's) and its lineage, as lines."""
    path, c = load_checkpoint(run)
    lines = [f"{path}: ok, step {c.get('step')}, phase {c.get('phase')}, fingerprint {(fingerprint(path) or '-')[:12]}"]
    record_path = os.path.join(os.path.dirname(path), "config.json")
    if is_run_dir(os.path.dirname(path)):
        with open(record_path) as f:
            record = json.load(f)
        config, s = record["config"], record["sessions"]
        lines.append(f"config ({record_path}; {len(s)} session(s), the last {s[-1]['status']}, "
                     f"steps {s[-1]['steps'][0]} -> {s[-1]['steps'][1]}, {s[-1]['start']} .. {s[-1]['end']}):")
    else:
        config = c.get("config") or {}
        lines.append(f"config (the checkpoint's; no {record_path}):")
    lines += [f"  {k} = {v!r}" for k, v in config.items()]
    return lines + ["lineage:", f"  {path}: {c.get('phase')}, step {c.get('step')}"] + [f"  {x}" for x in lineage(c)]


def remove_stale_tmp(path):
    """Remove path.tmp<pid> files a killed save left behind (each can be a whole checkpoint)."""
    folder, name = os.path.split(path)
    stale = [f for f in (os.listdir(folder or ".") if os.path.isdir(folder or ".") else [])
             if f.startswith(name + ".tmp") and f[len(name) + 4:].isdigit()]
    for f in stale:
        os.remove(os.path.join(folder, f))
        print(f"removed {os.path.join(folder, f)}: a checkpoint save that did not finish (killed mid-save)")
    return stale


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: .venv/bin/python -m training.checkpoint RUN   (an out_dir or a ckpt.pt)")
    try:
        print("\n".join(describe(sys.argv[1])))
    except CheckpointError as e:
        sys.exit(f"training/checkpoint.py: error: {e}")
