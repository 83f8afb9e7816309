"""Fault injection on the training side: every bad input is a clear error, nothing is lost silently.

    .venv/bin/python -m pytest -q tests/test_faults.py
Bad configs, damaged or foreign checkpoints, a changed resume, a full disk mid-run, a process killed
mid-save: each must end in train.py's own error (ConfigError, CheckpointError, NonFiniteError) whose
message names the file or key, with the last good checkpoint unchanged. The slow loops (SIGKILL at
random moments, NaN injections in a subprocess) are dev/fault_audit.py.
"""
import errno
import json
import os
import re

import pytest
import torch

from training import checkpoint as ckpt
import train
from tests.test_train import TINY, write_corpus
from tests.training.test_checkpoint import flip_bytes_inside


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
    data = open(src, "rb").read()
    if kind == "zero bytes":
        data = b""
    elif kind == "truncated":
        data = data[: len(data) // 3]
    elif kind == "random bytes":
        data = os.urandom(len(data))
    elif kind == "a pickle that runs code":  # weights_only loading refuses it, nothing is executed
        torch.save({"model": train.types.SimpleNamespace(x=1)}, dst)
        return
    elif kind == "not a dict":
        torch.save([1, 2, 3], dst)
        return
    open(dst, "wb").write(data)
    if kind == "32 flipped bytes":
        flip_bytes_inside(dst, "")


DAMAGE = ["zero bytes", "truncated", "random bytes", "a pickle that runs code", "not a dict", "32 flipped bytes"]


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("how", ["init_from", "resume"])
def test_damaged_checkpoint_is_a_clear_error_naming_the_file(good, kind, how):
    tmp, corpus, pre = good
    out = tmp / f"{how}-{kind.replace(' ', '_')}"
    out.mkdir()
    damage(kind, os.path.join(pre, "ckpt.pt"), out / "ckpt.pt")
    args = TINY + [f"--data_dir={corpus}", "--max_iters=2"]
    args += ([f"--init_from={out}", "--phase=interleave", f"--out_dir={tmp / 'unused'}"] if how == "init_from"
             else ["--init_from=resume", "--phase=pretrain", f"--out_dir={out}"])
    with pytest.raises(train.CheckpointError) as e:
        train.main(args)
    assert str(out / "ckpt.pt") in str(e.value)


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
    """The second save of a run hits ENOSPC: a clear error, no tmp file, the first checkpoint intact."""
    tmp, corpus, pre = good
    out = str(tmp / "full")
    real, saves = torch.save, []

    def fills_the_disk(obj, f):
        saves.append(1)
        real(obj, f)
        if len(saves) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(torch, "save", fills_the_disk)
    with pytest.raises(train.CheckpointError, match="could not write the checkpoint \\(No space left on device\\); "
                                                    "the previous one is intact"):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--phase=pretrain", "--max_iters=4",
                           "--ckpt_interval=1"])
    monkeypatch.undo()
    assert sorted(os.listdir(out)) == ["ckpt.pt", "config.json", "log.jsonl", "train.log"]
    assert ckpt.load_verified(os.path.join(out, "ckpt.pt"))["step"] == 1
    with open(os.path.join(out, "config.json")) as f:  # the run says how it ended
        assert json.load(f)["sessions"][-1]["status"].startswith("CheckpointError: ")


def test_kill_mid_save_leftovers_are_removed_and_resume_is_exact(good, capsys):
    """A SIGKILL inside save_atomic leaves ckpt.pt.tmp<pid> (a whole checkpoint at 1b); the next start
    in that out_dir removes it, says so, and the resumed run ends where a straight one does."""
    tmp, corpus, pre = good
    out = tmp / "killed"
    args = TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--phase=pretrain", "--max_iters=2"]
    train.main(args + ["--stop_iter=1"])
    (out / "ckpt.pt.tmp4242").write_bytes(open(out / "ckpt.pt", "rb").read()[:5000])
    train.main(args + ["--init_from=resume"])
    assert "removed" in capsys.readouterr().out and not (out / "ckpt.pt.tmp4242").exists()
    a, b = (torch.load(os.path.join(d, "ckpt.pt"), weights_only=True) for d in (out, pre))
    assert all(torch.equal(a["model"][k], v) for k, v in b["model"].items())
