"""training/checkpoint.py: train.py's checkpoint, a directory of shards that each rank writes and reads its own part of.

    out_dir/ckpt/
        meta.json          plain values, no tensors: format, step, phase, config, meta, sampler, corpus
                           (training/corpus.py), parent, model_config,
                           state (["model", "optimizer"] or ["model"]), files {name: {bytes, sha256}} of the
                           files below, and checksum (sha256 of the rest of meta.json); json.load reads it
        .metadata          torch.distributed.checkpoint's index: which bytes of which file hold each tensor piece
        __<rank>_0.distcp  what rank <rank> held: the weights ("model.<name>") and AdamW's state
                           ("optimizer.<name>.exp_avg", ...), its FSDP2 shards, or whole tensors on one process
Written and read with torch.distributed.checkpoint (DCP): each rank writes its own shards and hashes its own
file; rank 0 writes meta.json last. A reader gets the layout it asks for: a resume at another world size reads
only the pieces of its own shards (no rank ever holds the whole state), one process (eval_cloze.py,
sample.py, export_hf.py through model.load_model) reads whole tensors. Every load first checks each file's
sha256 (the ranks share the files out), so a flipped byte is an error naming the file, never a quietly
different model. AdamW's hyperparameters are not stored: a resume takes them from the config, which must be
the checkpoint's. .metadata is a pickle: it is read with an unpickler that builds only DCP's index classes.
Atomic: written to out_dir/ckpt.tmp, then ckpt -> ckpt.old, ckpt.tmp -> ckpt, ckpt.old removed. A kill at
any moment leaves the previous checkpoint whole: the next start removes ckpt.tmp and, if the kill fell
between the two renames, puts ckpt.old back (remove_stale_tmp). One filesystem that every rank sees.

    .venv/bin/python -m training.checkpoint out/pretrain      # verify a checkpoint: step, phase, files
    .venv/bin/python -m training.checkpoint out/toy/finetune  # also the run's config and its lineage

A checkpoint's fingerprint is meta.json's checksum (so of every file's sha256 and every value). Each
checkpoint keeps its run's "parent": the checkpoint it started from (path, step, phase, fingerprint),
or scratch / the HF model; the lineage follows the parents while they exist and says whether each is
still the checkpoint that was used. Also here: what a train.py init_from names (init_kind), decided by
what is on disk, and a checkpoint's plain values read without its tensors (read_metadata).
"""
import dataclasses
import hashlib
import json
import os
import pickle
import re
import shutil
import sys
import warnings

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.checkpoint.api import CheckpointException
from torch.distributed.checkpoint.state_dict import (get_model_state_dict, get_optimizer_state_dict,
                                                     set_model_state_dict, set_optimizer_state_dict)

from training.meter import NonFiniteError

CKPT, META, FORMAT = "ckpt", "meta.json", 2  # the directory in an out_dir, its plain values, their layout
KEYS = ("model_config", "step", "config", "phase", "meta", "sampler", "state")  # what train.py writes


class CheckpointError(ValueError):
    """A checkpoint that cannot be used (missing, corrupt, another phase or corpus); names the file."""


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 24):
            h.update(chunk)
    return h.hexdigest()


def _checksum(info):  # of meta.json's values, so a changed step or config is caught like a changed tensor
    return hashlib.sha256(json.dumps({k: v for k, v in info.items() if k != "checksum"}, sort_keys=True)
                          .encode()).hexdigest()


def fingerprint(path):
    """A checkpoint's (an out_dir's or its ckpt/'s) fingerprint: its meta.json checksum, over every file's
    sha256 and every value; cheap, no tensor read (the shard files of equal tensors differ: torch.save
    writes a fresh id in each)."""
    with open(os.path.join(find(path), META)) as f:
        return json.load(f).get("checksum")


def _distributed():
    return dist.is_available() and dist.is_initialized()


def _all(obj):  # every rank's obj, in rank order (one process: [obj])
    if not _distributed():
        return [obj]
    out = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out


def find(path):
    """A checkpoint directory (holding meta.json), or an out_dir holding ckpt/ -> the checkpoint directory."""
    path = str(path).rstrip("/") or "/"
    for d in (path, os.path.join(path, CKPT)):
        if os.path.isfile(os.path.join(d, META)):
            return d
    old = path if path.endswith(".pt") else os.path.join(path, "ckpt.pt")
    if os.path.isfile(old):
        raise CheckpointError(f"{old}: a single-file checkpoint of an older crosstalk; train.py now writes "
                              f"a directory of shards ({os.path.join(os.path.dirname(old), CKPT)}/). Re-run "
                              f"the phase that wrote it with this version.")
    if os.path.isdir(os.path.join(path, CKPT + ".old")):
        raise CheckpointError(f"{path}: its checkpoint is {os.path.join(path, CKPT)}.old: a save was killed between "
                              f"its two renames. The next train.py start in {path} puts it back (or rename it to ckpt).")
    raise CheckpointError(f"{path}: no checkpoint there (no {os.path.join(path, CKPT, META)}). Run the phase "
                          f"that writes it first, or start with --init_from=scratch.")


def load_checkpoint(path):
    """A train.py checkpoint's plain values, every file checked against its sha256 (on several ranks each
    checks its share) -> (checkpoint directory, info dict). CheckpointError naming the file otherwise."""
    d = find(path)
    where, info = os.path.join(d, META), read_metadata(d)
    if info.get("format") != FORMAT or not isinstance(info.get("files"), dict):
        raise CheckpointError(f"{where}: not a train.py checkpoint of format {FORMAT}. Re-run the phase that writes it.")
    if info.get("checksum") != _checksum(info):
        raise CheckpointError(f"{where}: corrupt: its checksum does not match its values (step, config, ...): "
                              f"the file changed after it was written. Restore it from a copy or re-run the phase.")
    missing = [k for k in KEYS if k not in info]
    if missing:
        raise CheckpointError(f"{where}: not a complete train.py checkpoint, missing {missing}. Re-run the phase.")
    rank, world = (dist.get_rank(), dist.get_world_size()) if _distributed() else (0, 1)
    bad = []
    for name in sorted(info["files"])[rank::world]:  # each rank hashes its share of the files
        p, want = os.path.join(d, name), info["files"][name]
        if not os.path.isfile(p) or os.path.getsize(p) != want["bytes"]:
            bad.append(f"{p}: missing or not {want['bytes']:,} bytes")
        elif sha256_file(p) != want["sha256"]:
            bad.append(f"{p}: corrupt: its sha256 does not match meta.json")
    bad = sorted(b for r in _all(bad) for b in r)
    if bad:
        raise CheckpointError(f"{bad[0]}{f' (and {len(bad) - 1} more)' if len(bad) > 1 else ''}: the checkpoint "
                              f"changed after it was written (disk or copy error). Restore it from a copy or "
                              f"re-run the phase that writes it.")
    return d, info


class _IndexUnpickler(pickle.Unpickler):
    """.metadata is DCP's pickle of its index: build only the index's own classes, never run code."""
    def __init__(self, f):
        super().__init__(f)
        self.where = f.name

    def find_class(self, module, name):
        try:
            obj = super().find_class(module, name) if module.startswith(("torch", "pathlib", "collections")) else None
        except (ImportError, AttributeError):
            obj = None
        if (module == "torch.distributed.checkpoint.metadata" and isinstance(obj, type)
                or (module, name) in (("torch.distributed.checkpoint.filesystem", "_StorageInfo"),
                                      ("torch", "Size"), ("torch.serialization", "_get_layout"),
                                      ("collections", "OrderedDict"))
                or module == "torch" and isinstance(obj, torch.dtype) or module == "pathlib" and name.endswith("Path")):
            return obj
        raise CheckpointError(f"{self.where}: names {module}.{name}, not a checkpoint index written by train.py "
                              f"(a pickle that could run code): refused. Use checkpoints you made or trust.")


class _Reader(dcp.FileSystemReader):
    def read_metadata(self, *args, **kwargs):
        with open(os.path.join(self.path, ".metadata"), "rb") as f:
            md = _IndexUnpickler(f).load()
        if md.storage_meta is not None:
            md.storage_meta.load_id = self.load_id
        return md


def index(d):
    """{tensor name: (shape, dtype)} of checkpoint directory d, from DCP's index (no tensor read), e.g.
    "model.blocks.0.attn.qkv.weight", "optimizer.blocks.0.attn.qkv.weight.exp_avg"."""
    md = _Reader(d).read_metadata()
    return {k: (tuple(v.size), str(v.properties.dtype)[6:]) for k, v in md.state_dict_metadata.items()
            if hasattr(v, "size")}


def _load(d, state):  # dcp.load of state's tensors in place, each rank the pieces of its own shards
    with warnings.catch_warnings():  # DCP's notes on one process and on its own versions
        warnings.simplefilter("ignore")
        try:
            dcp.load(state, storage_reader=_Reader(d), no_dist=not _distributed())
        except CheckpointException as e:
            raise CheckpointError(f"{d}: its tensors do not fit this model or optimizer "
                                  f"({str(e).strip().splitlines()[-1][:300]})") from None


def load_weights(d, model):
    """Fill model's weights in place from checkpoint directory d (load_checkpoint checked it first),
    whatever world size wrote it: whole tensors on one process, this rank's shards under FSDP2."""
    state = {"model": get_model_state_dict(model)}
    _load(d, state)
    set_model_state_dict(model, state["model"])


def load_optimizer(d, model, opt):
    """Fill opt's AdamW state (exp_avg, exp_avg_sq, step) in place from d, as load_weights; the
    hyperparameters stay the config's (a resume refuses other ones)."""
    with open(os.path.join(d, META)) as f:
        held = json.load(f)["state"]
    if "optimizer" not in held:
        raise CheckpointError(f"{d}: holds weights only (no optimizer state): it can start a phase "
                              f"(--init_from={d}) but not resume one.")
    osd = get_optimizer_state_dict(model, opt)  # the template (an empty AdamW gets its state made here)
    state = {"optimizer": osd["state"]}
    _load(d, state)
    set_optimizer_state_dict(model, opt, {"state": state["optimizer"], "param_groups": osd["param_groups"]})


def _local(t):  # a DTensor's shard on this rank, else the tensor
    return t.to_local() if hasattr(t, "to_local") else t


def save_training_state(out_dir, model, opt, master, **info):
    """The training checkpoint out_dir/ckpt: weights and AdamW state (opt None: weights only), each rank its
    own shards, refused if any weight is non-finite (finite grads can still make a huge update); info
    (step, config, phase, meta, sampler) goes to meta.json with model_config. Atomic (module docstring);
    a failed write (a full disk) removes ckpt.tmp and is a CheckpointError, the previous checkpoint intact."""
    msd = get_model_state_dict(model)
    bad = sorted(b for r in _all([k for k, v in msd.items() if not torch.isfinite(_local(v)).all()]) for b in r)
    if bad:
        raise NonFiniteError(f"step {info.get('step')}: non-finite weights {bad[:3]}; not saved. Lower learning_rate.")
    state = {"model": msd}
    if opt is not None:
        state["optimizer"] = get_optimizer_state_dict(model, opt)["state"]
    final, tmp = os.path.join(out_dir, CKPT), os.path.join(out_dir, CKPT + ".tmp")
    if master:
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
    if _distributed():
        dist.barrier()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dcp.save(state, storage_writer=dcp.FileSystemWriter(tmp, sync_files=True), no_dist=not _distributed())
        mine = {f: sha256_file(os.path.join(tmp, f)) for f in os.listdir(tmp)  # the file this rank wrote
                if f.startswith(f"__{dist.get_rank() if _distributed() else 0}_")}
        sums = {k: v for r in _all(mine) for k, v in r.items()}
        if master:
            sums[".metadata"] = sha256_file(os.path.join(tmp, ".metadata"))
            meta = {"format": FORMAT, "model_config": dataclasses.asdict(model.cfg), **info, "state": sorted(state),
                    "files": {f: {"bytes": os.path.getsize(os.path.join(tmp, f)), "sha256": h}
                              for f, h in sorted(sums.items())}}
            meta["checksum"] = _checksum(meta)
            with open(os.path.join(tmp, META), "w") as f:
                json.dump(meta, f, indent=1, allow_nan=False)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(tmp)
    except (Exception, CheckpointException) as e:
        if master:
            shutil.rmtree(tmp, ignore_errors=True)
        causes = _causes(e)
        os_error = next((x for x in causes if isinstance(x, OSError)), None)
        if os_error is None:  # not the disk: the error itself, not DCP's wrapper of it (Ctrl-C stays one)
            raise next((x for x in causes if not isinstance(x, CheckpointException)), e) from None
        size = sum(os.path.getsize(os.path.join(final, f)) for f in os.listdir(final)) if os.path.isdir(final) else 0
        raise CheckpointError(f"{final}: could not write the checkpoint ({os_error.strerror or os_error}); "
                              + (f"the previous one is intact. Free space in {out_dir} (a checkpoint here is "
                                 f"~{size / 2**20:,.0f} MiB) and resume." if size else
                                 "Free space there and run again.")) from None
    if master:  # the swap: a kill between the renames leaves ckpt.old, which remove_stale_tmp puts back
        if os.path.isdir(final):
            os.rename(final, final + ".old")
        os.rename(tmp, final)
        _fsync_dir(out_dir)
        shutil.rmtree(final + ".old", ignore_errors=True)
    if _distributed():
        dist.barrier()


def _causes(e):  # e, the exceptions DCP wrapped (per rank), and their causes
    seen = [e]
    for x in seen:
        if isinstance(x, CheckpointException):
            seen += [exc for exc, _ in x.failures.values()]
        if x.__cause__ is not None or x.__context__ is not None:
            seen += [c for c in (x.__cause__, x.__context__) if c is not None and c not in seen]
    return seen


def _fsync_dir(d):  # make renames and new files in d durable
    fd = os.open(d, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)


def remove_stale_tmp(out_dir):
    """What a killed save left in out_dir: ckpt.tmp (removed; it can be a whole checkpoint) and, for a kill
    between the swap's renames, ckpt.old without ckpt (put back: it is the previous, whole checkpoint)."""
    final = os.path.join(out_dir, CKPT)
    found = []
    if os.path.isdir(final + ".old"):
        if os.path.isdir(final):
            shutil.rmtree(final + ".old")
        else:
            os.rename(final + ".old", final)
        found.append(final + ".old")
    if os.path.exists(final + ".tmp"):
        shutil.rmtree(final + ".tmp")
        found.append(final + ".tmp")
    for f in found:
        print(f"removed {f}: a checkpoint save that did not finish (killed mid-save)")
    return found


def is_checkpoint(path):
    """Whether path names a train.py checkpoint: a directory holding meta.json, an out_dir holding ckpt/ (or
    ckpt.old, a save killed between its renames), or an older crosstalk's ckpt.pt (find() says what to do)."""
    path = str(path)
    return (any(os.path.isfile(os.path.join(path, *p)) for p in ((META,), (CKPT, META), (CKPT + ".old", META),
                                                                  ("ckpt.pt",)))
            or path.endswith(".pt") and os.path.isfile(path))


def read_metadata(path):
    """The plain values of a train.py checkpoint (step, config, phase, meta, corpus, ...: its meta.json),
    without reading or verifying its tensors (load_checkpoint does that) -> dict; CheckpointError if it
    cannot be read."""
    where = os.path.join(find(path), META)
    try:
        with open(where) as f:
            info = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{where}: cannot be read ({type(e).__name__}: {str(e)[:200]}). It is truncated "
                              f"or corrupt: restore it from a copy or re-run the phase that writes it.") from None
    if not isinstance(info, dict):
        raise CheckpointError(f"{where}: not a train.py checkpoint of format {FORMAT}. Re-run the phase that writes it.")
    return info


def is_run_dir(folder):
    """A train.py out_dir: its config.json is the run's record (training/log.py), not an HF config."""
    try:
        with open(os.path.join(folder, "config.json")) as f:
            return "sessions" in json.load(f)
    except (OSError, ValueError):
        return False


def init_kind(init_from):
    """scratch | resume | checkpoint | hf, decided by what is on disk: a train.py checkpoint (is_checkpoint),
    a folder holding config.json an HF model (unless it is a train.py run's record: a run that saved no
    checkpoint), a missing path an HF Hub id if it reads like one (org/name), else an error."""
    if init_from in ("scratch", "resume"):
        return init_from
    if is_checkpoint(init_from):
        return "checkpoint"
    if is_run_dir(init_from):
        raise CheckpointError(f"init_from={init_from}: a train.py out_dir with no ckpt/: its run saved no "
                              f"checkpoint (see {os.path.join(init_from, 'train.log')}). Run it to its end first.")
    if os.path.isfile(os.path.join(init_from, "config.json")):
        return "hf"
    what = ("a folder with neither ckpt/ (a train.py out_dir) nor config.json (an HF model)"
            if os.path.isdir(init_from) else "no such file or folder")
    if os.path.exists(init_from) or not re.fullmatch(r"[\w.-]+/[\w.-]+", init_from):
        raise CheckpointError(f"init_from={init_from}: {what}. Give a train.py checkpoint (an out_dir or its "
                              f"ckpt/), an HF model folder or Hub id (org/name), scratch or resume.")
    return "hf"


def parent_of(init_from, ckpt_path, info):
    """What a run starts from, kept in its checkpoints and config.json: a checkpoint's path, step, phase
    and fingerprint; on resume, the parent of the run it continues; else scratch or the HF model."""
    if init_from == "resume":
        return info.get("parent")
    if info is not None:
        return {"init_from": os.path.abspath(ckpt_path), "step": info["step"], "phase": info["phase"],
                "fingerprint": info.get("checksum")}
    return {"init_from": os.path.abspath(init_from) if os.path.isdir(init_from) else init_from}


def lineage(info):
    """Lines from a checkpoint's parent back to scratch or an HF model, while the parents exist on disk;
    each says whether the checkpoint there now is still the one that was used (the same fingerprint)."""
    lines, parent, seen = [], info.get("parent", "unrecorded"), set()
    while parent is not None:
        if parent == "unrecorded":
            return lines + ["<- (not recorded: written before train.py kept its parent)"]
        src, short = parent["init_from"], (parent.get("fingerprint") or "-")[:12]
        if "step" not in parent:
            return lines + [f"<- {src}"]  # scratch, an HF model folder or Hub id
        line = f"<- {src}: {parent['phase']}, step {parent['step']}, fingerprint {short}"
        if src in seen or not is_checkpoint(src):
            return lines + [line + (" (a cycle)" if src in seen else " (no longer on disk)")]
        seen.add(src)
        try:
            _, p = load_checkpoint(src)
        except CheckpointError as e:
            return lines + [line + f" (unreadable now: {str(e)[:120]})"]
        now = p.get("checksum")
        lines.append(line + (" (on disk: the same)" if now == parent.get("fingerprint") else
                             f" (on disk now: another checkpoint, step {p.get('step')}, fingerprint {(now or '-')[:12]})"))
        parent = p.get("parent", "unrecorded")
    return lines


def describe(run):
    """`python -m training.checkpoint RUN`: the checkpoint verified (its files and tensors), the run's config
    (config.json where there is one, else the checkpoint's) and its lineage, as lines."""
    path, c = load_checkpoint(run)
    names = index(path)
    lines = [f"{path}: ok, step {c.get('step')}, phase {c.get('phase')}, fingerprint {(c.get('checksum') or '-')[:12]}, "
             f"written by {c['config'].get('world_size', 1)} process(es): "
             f"{sum(f['bytes'] for f in c['files'].values()) / 2**20:,.1f} MiB in {len(c['files'])} files, "
             f"{sum(k.startswith('model.') for k in names)} weights, "
             f"{sum(k.startswith('optimizer.') for k in names)} optimizer tensors"]
    run_dir = os.path.dirname(path)
    record_path = os.path.join(run_dir, "config.json")
    if is_run_dir(run_dir):
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


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1].startswith("-"):
        sys.exit("usage: .venv/bin/python -m training.checkpoint RUN   (an out_dir or its ckpt/)")
    try:
        print("\n".join(describe(sys.argv[1])))
    except CheckpointError as e:
        sys.exit(f"training/checkpoint.py: error: {e}")
