"""Fault injection: every bad input is one clear line, nothing is lost or silently wrong.

    .venv/bin/python -m pytest -q tests/test_faults.py
The fault table: dev/fault_sweep.py's SWEEP (config files, out_dirs, values, units of another tokenizer,
a corpus changed under a run, two runs in one out_dir, damaged checkpoints and HF folders, sample.py's
values, export folders), each case run in-process through its script's own handler and required to end in
one line `<script>: error: ...` naming the fault (or to succeed, for the good inputs beside them); the
sweep runs the same cases as real command lines (`python -m dev.fault_audit --sweep`). Then train.py's own
errors (ConfigError, CheckpointError, NonFiniteError) with the last good checkpoint unchanged: bad
configs, damaged or foreign checkpoints, a changed resume, a full disk mid-run, a process killed
mid-save (a real SIGKILL), the lock and the corpus fingerprint. The slow loops (SIGKILL at random moments, NaN injections
in a subprocess) are dev/fault_audit.py.
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

import numpy as np
import pytest
import torch

from dev.fault_sweep import OK, cases, classify, fill, make_fixtures, run_here, stop
from training import checkpoint as ckpt
from training.corpus import CorpusError
from training.lock import LockError, OutDirLock
import tokenbin
import train
from model import load_model
from tests.test_train import ROOT, TINY, write_corpus
from tests.training.test_checkpoint import RunsCode, flip_bytes


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    """dev/fault_sweep.py's fixtures (corpora of two tokenizers, runs, damaged files, a held out_dir)."""
    w = str(tmp_path_factory.mktemp("sweep"))
    holder = make_fixtures(w)
    yield w
    stop(holder)


@pytest.mark.parametrize("name,cmd,expect", cases(), ids=[c[0] for c in cases()])
def test_the_fault_table(sweep_dir, name, cmd, expect):
    code, err = run_here(fill(cmd, sweep_dir), sweep_dir)
    verdict = classify(cmd, expect, code, err)
    assert verdict == ("ok" if expect is OK else "clear"), f"{verdict} (exit {code}): {err[-2000:]}"


def test_a_second_run_leaves_the_first_runs_files_alone(sweep_dir):
    """The out_dir is held by another process with a checkpoint save in flight (ckpt.tmp/): a second
    train.py is refused before it removes anything as "stale" or writes anything."""
    def tree(d):  # every file below d, by its path there -> its bytes
        return {os.path.relpath(os.path.join(r, f), d): open(os.path.join(r, f), "rb").read()
                for r, _, names in os.walk(d) for f in names}
    before = tree(f"{sweep_dir}/busy")
    code, err = run_here(fill(["train.py", "--data_dir={W}/data/toy_enfr", "--out_dir={W}/busy", "--max_iters=2",
                               "--seq_len=32", "--batch_size=2", "--eval_iters=1"], sweep_dir), sweep_dir)
    assert code == 1 and "in use by another run" in err and "pid" in err
    assert tree(f"{sweep_dir}/busy") == before
    assert any(f.startswith("ckpt.tmp/") for f in before)


def test_export_replace_leaves_no_stale_shard(sweep_dir):
    from transformers import AutoModelForCausalLM
    folder = os.path.join(sweep_dir, "exp_old_again")
    shutil.copytree(os.path.join(sweep_dir, "exp_old"), folder)
    assert run_here(["export_hf.py", f"{sweep_dir}/run", folder], sweep_dir)[0] == 1  # refused, untouched
    assert "model.safetensors.index.json" in os.listdir(folder)
    assert run_here(["export_hf.py", f"{sweep_dir}/run", folder, "--replace"], sweep_dir)[0] == 0
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "generation_config.json", "model.safetensors",
                                         "speech_vocab.json"]
    AutoModelForCausalLM.from_pretrained(folder)  # loads: nothing of the old model is left to confuse it
    assert run_here(["export_hf.py", f"{sweep_dir}/run", folder], sweep_dir)[0] == 0  # an earlier export: ok


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
    assert sorted(os.listdir(out)) == [".lock", "ckpt", "ckpt.tmp", "config.json", "log.jsonl", "train.log"]
    assert "__0_0.distcp" in os.listdir(out / "ckpt.tmp") and "meta.json" not in os.listdir(out / "ckpt.tmp")
    assert ckpt.load_checkpoint(str(out))[1]["step"] == 1
    os.rename(out / "ckpt", out / "ckpt.old")  # and as if killed a moment later, between the swap's renames
    train.main(args + ["--init_from=resume"])
    assert "removed" in capsys.readouterr().out and not (out / "ckpt.tmp").exists()
    assert sorted(os.listdir(out)) == ["ckpt", "config.json", "log.jsonl", "train.log"]
    a, b = (load_model(d).state_dict() for d in (out, pre))
    assert all(torch.equal(a[k], v) for k, v in b.items())


def test_resume_refuses_a_changed_corpus_and_accepts_a_moved_one(good, tmp_path):
    """Item 2 of issue 17: a same-length rewrite of train_en.bin (or of a val file) between a stop and its
    resume is refused naming the file; the same files elsewhere (data_dir may change on resume) are not."""
    tmp, corpus, _ = good
    data, out = str(tmp_path / "corpus"), str(tmp_path / "run")
    shutil.copytree(corpus, data)
    args = TINY + [f"--out_dir={out}", "--phase=pretrain", "--max_iters=2"]
    train.main(args + [f"--data_dir={data}", "--stop_iter=1"])
    saved = ckpt.load_checkpoint(out)[1]["corpus"]
    assert saved[0]["dir"] == os.path.abspath(data) and saved[0]["files"] == tokenbin.fingerprint(data, tokenbin.read_meta(data))
    for name in ("train_en.bin", "val_fr.bin"):
        path = os.path.join(data, name)
        original = open(path, "rb").read()
        tokens = np.frombuffer(original, np.uint16, offset=1024).copy()
        open(path, "wb").write(original[:1024] + np.roll(tokens, 1).tobytes())  # same length, same tokens, moved
        with pytest.raises(CorpusError, match=f"{name} changed \\(same size, other content\\) since"):
            train.main(args + [f"--data_dir={data}", "--init_from=resume"])
        open(path, "wb").write(original)
    moved = str(tmp_path / "moved")
    shutil.move(data, moved)
    train.main(args + [f"--data_dir={moved}", "--init_from=resume"])
    assert ckpt.load_checkpoint(out)[1]["step"] == 2


def test_units_of_another_tokenizer_are_refused_everywhere_in_train(good, tmp_path):
    """Item 1: the same vocabulary size is not the same units: init_from, resume and data_mix refuse a corpus
    whose meta.json "units" differ; a corpus written before "units" existed is checked on what it recorded."""
    tmp, corpus, pre = good
    toy = dict(tokenizer="toy_enfr pseudo-units", sha256="a" * 64, vocab_size=64)
    mimi = dict(toy, tokenizer="mimi", sha256="b" * 64)
    a, b = (write_corpus(tmp_path / n) for n in ("a", "b"))
    for d, units in ((a, toy), (b, mimi)):
        tokenbin.write_meta(d, dict(tokenbin.read_meta(d), units=units))
    run = str(tmp_path / "run")
    args = TINY + ["--max_iters=2", "--phase=pretrain"]
    train.main(args + [f"--data_dir={a}", f"--out_dir={run}", "--stop_iter=1"])
    with pytest.raises(CorpusError, match="other units \\(tokenizer 'toy_enfr pseudo-units' vs 'mimi'"):
        train.main(args + [f"--data_dir={b}", f"--out_dir={tmp_path / 'o'}", f"--init_from={run}", "--phase=interleave"])
    with pytest.raises(CorpusError, match="other units"):
        train.main(args + [f"--data_dir={b}", f"--out_dir={run}", "--init_from=resume"])
    with pytest.raises(train.DataError, match="must hold the same units"):
        train.main(args + [f"--data_mix={ {a: 1, b: 1} }", f"--out_dir={tmp_path / 'm'}"])
    # a corpus of no recorded units (written before "units"): only what it has is compared (vocabulary)
    train.main(args + [f"--data_dir={corpus}", f"--out_dir={tmp_path / 'w'}", f"--init_from={run}", "--phase=interleave"])


def test_out_dir_lock(good, tmp_path, capsys):
    """Item 5: one process per out_dir: a second gets a clear error naming the first; the lock goes away
    with its holder, and one left by a killed process is taken over."""
    _, corpus, _ = good
    out = str(tmp_path / "run")
    args = TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=1"]
    with OutDirLock(out, "train.py"):
        with pytest.raises(LockError, match=f"{out} is in use by another run \\(train.py, pid {os.getpid()}"):
            train.main(args)
        assert not os.path.exists(os.path.join(out, "ckpt"))
    assert not os.path.exists(os.path.join(out, ".lock"))           # released
    with open(os.path.join(out, ".lock"), "w") as f:                # a killed holder's file, no flock on it
        json.dump(dict(pid=999999, host="elsewhere", script="train.py", since="yesterday"), f)
    train.main(args)
    assert "took over the lock of a run that ended without releasing it (train.py, pid 999999" in capsys.readouterr().out
    assert ".lock" not in os.listdir(out) and "ckpt" in os.listdir(out)


def test_newcomer_scores_their_own_corpus_by_default(tmp_path, small_toy_corpus, capsys):
    """Issue 17's "Must show": a corpus A from audio (audio/demo.py + tokenize_audio.py, a random Mimi),
    a model trained on it; `eval_cloze.py RUN` and `align_probe.py RUN` with no --corpus score A, and with
    the toy corpus named both refuse in one line (other units)."""
    import align_probe
    import eval_cloze
    import tokenize_audio
    from audio.demo import write_demo
    demo, A, run = tmp_path / "demo", str(tmp_path / "corpus_a"), str(tmp_path / "run")
    write_demo(str(demo), n_train=3, n_val=3, n_sentences=3)
    tokenize_audio.main(["--manifest", str(demo / "clips.jsonl"), "--bench_manifest", str(demo / "bench.jsonl"),
                         "--out_dir", A, "--mimi_weights", str(demo / "mimi_random.safetensors"), "--threads", "1"])
    assert tokenbin.read_meta(A)["units"]["tokenizer"] == "mimi"
    train.main(["--seq_len=16", "--batch_size=2", "--eval_iters=1", "--max_iters=2", "--model_preset=tiny",
                f"--data_dir={A}", f"--out_dir={run}"])
    eval_cloze.main([run])
    align_probe.main([run, "--n_pairs", "4"])
    for name in ("cloze_mean.json", "cloze_sum.json", "cloze_ending.json", "align.json"):
        rec = json.load(open(os.path.join(run, name)))
        assert rec["corpus_dir"] == os.path.abspath(A) and rec["units"]["tokenizer"] == "mimi", name
    assert json.load(open(os.path.join(run, "cloze_mean.json")))["results"]["ssc_en-fr"]["n"] == 3
    capsys.readouterr()
    for script in (eval_cloze, align_probe):
        with pytest.raises(SystemExit) as e:
            script.main([run, "--corpus", small_toy_corpus])
        err = capsys.readouterr().err.strip().splitlines()
        assert e.value.code == 1 and len(err) == 1 and "other units" in err[0]
        assert err[0].startswith(f"{script.__name__}.py: error: {run} was trained on mimi")
