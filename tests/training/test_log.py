"""training/log.py: a run directory describes itself: config.json (every resolved value, the command
line, start and end of each session, how it ended), train.log (the console, a resume appends), and
step lines with the elapsed time and an ETA; training/checkpoint.py prints the run's config and lineage.

    .venv/bin/python -m pytest -q tests/training/test_log.py
"""
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime

import pytest

import train
from model import load_model
from tests.test_train import TINY, write_corpus
from training import checkpoint as ckpt
from training.log import fmt_time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def record(out):
    with open(os.path.join(out, "config.json")) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """pretrain 4 steps in two sessions (stop_iter 2, then resume), interleave 3 steps from it."""
    tmp = tmp_path_factory.mktemp("rundir")
    corpus = write_corpus(tmp / "corpus")
    pre, inter = str(tmp / "pre"), str(tmp / "inter")
    common = TINY + [f"--data_dir={corpus}", "--max_iters=4"]
    train.main(common + [f"--out_dir={pre}", "--stop_iter=2", "--tokens_per_step=256", "--grad_accum=1"])
    train.main(common + [f"--out_dir={pre}", "--init_from=resume", "--tokens_per_step=256"])
    train.main(TINY + [f"--data_dir={corpus}", "--phase=interleave", f"--out_dir={inter}", f"--init_from={pre}",
                       "--max_iters=3"])
    return tmp, corpus, pre, inter


def test_config_json_holds_every_resolved_value_and_each_session(chain):
    tmp, corpus, pre, inter = chain
    r = record(pre)
    assert set(r["config"]) == set(train.DEFAULTS)
    c = r["config"]  # resolved: grad_accum from tokens_per_step 256 = 4 rows x 32 x 2; auto device, dtype
    assert (c["grad_accum"], c["device"], c["dtype"], c["compile"], c["init_from"]) == (2, "cpu", "float32", False, "resume")
    assert (r["world_size"], r["tokens_per_step"], r["parent"]) == (1, 256, {"init_from": "scratch"})
    assert r["params"] == load_model(pre).num_params()
    first, second = r["sessions"]
    assert "--stop_iter=2" in first["command"] and "--init_from=resume" in second["command"]
    assert first["command"].startswith(sys.executable + " train.py ")
    assert (first["steps"], first["status"]) == ([0, 2], "stopped at step 2 of 4")
    assert (second["steps"], second["status"]) == ([2, 4], "finished")
    for s in (first, second):
        t0, t1 = datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])
        assert t0 <= t1 and s["cwd"] == os.getcwd()
    assert first["end"] <= second["start"]


def test_train_log_keeps_the_console_and_a_resume_appends(chain, capsys):
    tmp, corpus, pre, inter = chain
    text = open(os.path.join(pre, "train.log")).read()
    assert text.count("phase pretrain (mono") == 2  # two sessions, one file
    assert text.index("steps 0 -> 2") < text.index("steps 2 -> 4")
    assert re.search(r"^step 4/4 \| loss .* \| \d+s elapsed, eta 0s$", text, re.M)
    steps = [int(m) for m in re.findall(r"^step (\d+)/4 ", text, re.M)]
    assert steps == [0, 1, 2, 3, 4]  # the resume's step lines after the first session's
    # a new run into the same out_dir (not a resume) starts train.log and config.json anew
    out = str(tmp / "again")
    for _ in range(2):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=1"])
    assert open(os.path.join(out, "train.log")).read().count("phase pretrain") == 1
    assert len(record(out)["sessions"]) == 1


def test_durations_read_as_a_clock():
    assert [fmt_time(s) for s in (0.4, 59.6, 61, 3599, 3600, 7325)] == ["0s", "1m00s", "1m01s", "59m59s", "1h00m", "2h02m"]


def test_step_lines_show_elapsed_and_eta(chain, monkeypatch, capsys):
    """A clock that advances 10 s per step line: after 2 of 4 steps (from step 0), 20 s elapsed and
    20 s to go."""
    tmp, corpus, pre, inter = chain
    import training.log as tl
    ticks = iter(range(0, 1000, 10))
    monkeypatch.setattr(tl, "clock", lambda: float(next(ticks)))
    train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={tmp / 'eta'}", "--max_iters=4", "--eval_interval=0"])
    lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("step ")]
    assert [l.rsplit("| ", 1)[1] for l in lines] == ["10s elapsed, eta 30s", "20s elapsed, eta 20s",
                                                     "30s elapsed, eta 10s", "40s elapsed, eta 0s"]


def test_an_error_is_recorded_in_train_log_and_config_json(chain):
    tmp, corpus, pre, inter = chain
    out = str(tmp / "nan")
    with pytest.raises(train.NonFiniteError):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=6", "--learning_rate=1e6",
                           "--warmup_frac=0"])
    assert record(out)["sessions"][-1]["status"].startswith("NonFiniteError: non-finite loss")
    assert open(os.path.join(out, "train.log")).read().splitlines()[-1].startswith("NonFiniteError: non-finite")
    assert sys.stdout.__class__.__name__ != "Tee"  # the console is restored after an error
    # such an out_dir has config.json but no ckpt/: not mistaken for an HF model folder
    with pytest.raises(train.CheckpointError, match="a train.py out_dir with no ckpt/"):
        train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={tmp / 'y'}", "--phase=interleave", f"--init_from={out}"])
    with pytest.raises(FileNotFoundError, match="a train.py run that saved no checkpoint"):
        load_model(out)


def test_a_finished_run_resumed_says_it_trained_nothing(chain, capsys):
    tmp, corpus, pre, inter = chain
    train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={pre}", "--max_iters=4", "--init_from=resume",
                       "--tokens_per_step=256"])
    assert "nothing to train: " in capsys.readouterr().out
    assert record(pre)["sessions"][-1]["steps"] == [4, 4]


def test_checkpoint_tool_prints_config_and_lineage(chain):
    """interleave <- pretrain <- scratch, each with its step and fingerprint; a parent replaced on disk
    is named as another checkpoint, a removed one as gone."""
    tmp, corpus, pre, inter = chain
    run = lambda d: subprocess.run([sys.executable, "-m", "training.checkpoint", d], cwd=ROOT, text=True,  # noqa: E731
                                   capture_output=True, env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    p = run(inter)
    assert p.returncode == 0, p.stderr
    fp_pre = ckpt.fingerprint(pre)
    assert len(fp_pre) == 64 and fp_pre != ckpt.fingerprint(inter)
    out = p.stdout.splitlines()
    assert out[0].startswith(f"{inter}/ckpt: ok, step 3, phase interleave, fingerprint {ckpt.fingerprint(inter)[:12]}, ")
    assert "  phase = 'interleave'" in out and f"  init_from = '{pre}'" in out
    i = out.index("lineage:")
    assert out[i + 1:] == [f"  {inter}/ckpt: interleave, step 3",
                           f"  <- {pre}/ckpt: pretrain, step 4, fingerprint {fp_pre[:12]} (on disk: the same)",
                           "  <- scratch"]
    # the parent checkpoint replaced (a new run into its out_dir), then another level removed
    copy = str(tmp / "fin")
    train.main(TINY + [f"--data_dir={corpus}", "--phase=finetune", f"--out_dir={copy}", f"--init_from={inter}",
                       "--max_iters=1"])
    train.main(TINY + [f"--data_dir={corpus}", f"--out_dir={pre}", "--max_iters=2", "--seed=7"])
    lines = ckpt.describe(copy)
    assert lines[-2].endswith(f"(on disk now: another checkpoint, step 2, fingerprint "
                              f"{ckpt.fingerprint(pre)[:12]})")
    assert lines[-3].endswith("(on disk: the same)") and lines[-1] == "  <- scratch"  # the new pretrain's parent
    shutil.rmtree(os.path.join(inter, "ckpt"))
    gone = ckpt.describe(copy)[-1]
    assert gone.startswith(f"  <- {inter}/ckpt: interleave, step 3") and gone.endswith("(no longer on disk)")
