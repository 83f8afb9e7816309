"""Fault injection on the training side: every bad input is a clear error, nothing is lost silently.

    .venv/bin/python -m pytest -q tests/test_faults.py
Bad configs, damaged or foreign checkpoints, a changed resume, a full disk mid-run, a process killed
mid-save (a real SIGKILL): each must end in train.py's own error (ConfigError, CheckpointError, NonFiniteError) whose
message names the file or key, with the last good checkpoint unchanged. The slow loops (SIGKILL at
random moments, NaN injections in a subprocess) are dev/fault_audit.py.
"""
import errno
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys

import pytest
import torch

from training import checkpoint as ckpt
import train
from model import load_model
from tests.test_train import ROOT, TINY, write_corpus
from tests.training.test_checkpoint import RunsCode, flip_bytes


@pytest.fixture(scope="module")
def good(tmp_path_factory):
    """A corpus and a 2-step pretraining checkpoint."""
    tmp = tmp_path_factory.mktemp("faults")
    corpus = write_corpus(tmp / "corpus")
    out = str(tmp / "pre")
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=2"])
    return tmp, corpus, out


BAD_CONFIGS = [  # (arguments, what the message must say)
    (["--learning_rat=1e-3"], "unknown config key 'learning_rat'"),
    (["--max_iters=1e3"], "max_iters=1000.0 is a float"),
    (["--phase=pre"], "phase='pre': choose one of"),
    (["--dtype=fp16"], "dtype='fp16': choose one of"),
    (["--compile_mode=graph"], "compile_mode='graph': choose one of"),
    (["--eval_interval=-5"], "eval_interval=-5: must be in [0, inf)"),
    (["--seq_len"], "--seq_len: needs a value"),
    (["no_such_config.py"], "no_such_config.py: no such config file"),
]


@pytest.mark.parametrize("argv,message", BAD_CONFIGS, ids=[" ".join(a) for a, _ in BAD_CONFIGS])
def test_bad_config_is_a_clear_error(argv, message):
    with pytest.raises(train.ConfigError, match=re.escape(message)):
        train.get_config(argv)


def damage(kind, src, dst):
    """A copy of checkpoint directory src at dst, damaged: a shard emptied, cut or overwritten, 32 bytes of
    it flipped, meta.json not a dict, or an index (.metadata) that would run code (meta.json's checksums made
    to match: a foreign checkpoint, not a damaged one)."""
    shutil.copytree(src, dst)
    shard, meta = os.path.join(dst, "__0_0.distcp"), os.path.join(dst, "meta.json")
    data = open(shard, "rb").read()
    if kind == "zero bytes":
        open(shard, "wb").close()
    elif kind == "truncated":
        open(shard, "wb").write(data[: len(data) // 3])
    elif kind == "random bytes":
        open(shard, "wb").write(os.urandom(len(data)))
    elif kind == "32 flipped bytes":
        flip_bytes(shard)
    elif kind == "not a dict":
        json.dump([1, 2, 3], open(meta, "w"))
    elif kind == "a pickle that runs code":  # the unpickler refuses it, nothing is executed
        index = os.path.join(dst, ".metadata")
        open(index, "wb").write(pickle.dumps(RunsCode()))
        info = json.load(open(meta))
        info["files"][".metadata"] = {"bytes": os.path.getsize(index), "sha256": ckpt.sha256_file(index)}
        json.dump({**info, "checksum": ckpt._checksum(info)}, open(meta, "w"))


DAMAGE = ["zero bytes", "truncated", "random bytes", "a pickle that runs code", "not a dict", "32 flipped bytes"]


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("how", ["init_from", "resume"])
def test_damaged_checkpoint_is_a_clear_error_naming_the_file(good, kind, how):
    tmp, corpus, pre = good
    out = tmp / f"{how}-{kind.replace(' ', '_')}"
    out.mkdir()
    damage(kind, os.path.join(pre, "ckpt"), out / "ckpt")
    args = TINY + [f"--data_dir={corpus}", "--max_iters=2"]
    args += ([f"--init_from={out}", "--phase=interleave", f"--out_dir={tmp / 'unused'}"] if how == "init_from"
             else ["--init_from=resume", "--phase=pretrain", f"--out_dir={out}"])
    with pytest.raises(train.CheckpointError) as e:
        train.main(args)
    assert str(out / "ckpt") in str(e.value)
    assert not os.path.exists("/tmp/crosstalk_pwned")


def test_foreign_runs_are_refused(good):
    tmp, corpus, pre = good
    with pytest.raises(train.CheckpointError, match="is a pretrain checkpoint, this run is phase finetune"):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={pre}", "--phase=finetune", "--init_from=resume"])
    other = write_corpus(tmp / "other", vocab=80)
    with pytest.raises(train.CheckpointError, match="corpus/vocabulary mismatch"):
        train.main(TINY + [f"--data_dir={other}", f"--out_dir={tmp / 'o'}", "--phase=interleave", f"--init_from={pre}"])
    with pytest.raises(train.ConfigError, match=r"other settings: grad_clip \(checkpoint 1.0, now 0.0\)"):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={pre}", "--phase=pretrain", "--init_from=resume",
                           "--grad_clip=0", "--max_iters=2"])


def test_full_disk_mid_run_keeps_the_last_checkpoint(good, monkeypatch):
    """The second save of a run hits ENOSPC: a clear error, no ckpt.tmp, the first checkpoint intact."""
    tmp, corpus, pre = good
    out = str(tmp / "full")
    real = torch.save

    def fills_the_disk(obj, f, *a, **k):  # DCP writes each tensor with torch.save
        real(obj, f, *a, **k)
        if os.path.exists(os.path.join(out, "ckpt")):  # the first checkpoint is written: now the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(torch, "save", fills_the_disk)
    with pytest.raises(train.CheckpointError, match="could not write the checkpoint \\(No space left on device\\); "
                                                    "the previous one is intact"):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--phase=pretrain", "--max_iters=4",
                           "--ckpt_interval=1"])
    monkeypatch.undo()
    assert sorted(os.listdir(out)) == ["ckpt", "config.json", "log.jsonl", "train.log"]
    assert ckpt.load_checkpoint(out)[1]["step"] == 1
    with open(os.path.join(out, "config.json")) as f:  # the run says how it ended
        assert json.load(f)["sessions"][-1]["status"].startswith("CheckpointError: ")


# train.py as `python train.py` runs it, SIGKILLed inside its second save: the shards written, meta.json not yet
KILL_IN_SAVE = """import os, runpy, signal, sys
import training.checkpoint as c
hash_file = c.sha256_file
def killed(path):
    run = os.path.dirname(os.path.dirname(path))
    if os.path.basename(os.path.dirname(path)) == "ckpt.tmp" and os.path.isdir(os.path.join(run, "ckpt")):
        os.kill(os.getpid(), signal.SIGKILL)
    return hash_file(path)
c.sha256_file = killed
sys.argv[0] = "train.py"
runpy.run_path("train.py", run_name="__main__")
"""


def test_kill_mid_save_keeps_the_previous_checkpoint_and_resume_is_exact(good, capsys):
    """Issue 18.3, a real SIGKILL inside the second save: ckpt/ is the first checkpoint, whole (every file
    checks), and ckpt.tmp/ holds the half-made one; the next start removes it (and puts back ckpt.old, the
    state a kill between the swap's two renames leaves), says so, and the resumed run ends where a straight
    one does, bit for bit."""
    tmp, corpus, pre = good
    out = tmp / "killed"
    args = TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--phase=pretrain", "--max_iters=2"]
    p = subprocess.run([sys.executable, "-c", KILL_IN_SAVE] + args + ["--ckpt_interval=1"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == -signal.SIGKILL, p.stderr[-2000:]
    assert sorted(os.listdir(out)) == ["ckpt", "ckpt.tmp", "config.json", "log.jsonl", "train.log"]
    assert "__0_0.distcp" in os.listdir(out / "ckpt.tmp") and "meta.json" not in os.listdir(out / "ckpt.tmp")
    assert ckpt.load_checkpoint(str(out))[1]["step"] == 1
    os.rename(out / "ckpt", out / "ckpt.old")  # and as if killed a moment later, between the swap's renames
    train.main(args + ["--init_from=resume"])
    assert "removed" in capsys.readouterr().out and not (out / "ckpt.tmp").exists()
    assert sorted(os.listdir(out)) == ["ckpt", "config.json", "log.jsonl", "train.log"]
    a, b = (load_model(d).state_dict() for d in (out, pre))
    assert all(torch.equal(a[k], v) for k, v in b.items())
