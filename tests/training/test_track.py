"""training/track.py: wandb_log, tested offline (WANDB_MODE=offline, no network): the offline run's own
file holds every key of log.jsonl, a resume continues the same wandb run, eval_cloze.py --wandb adds
the cloze accuracies to it, and without wandb installed a run trains as before.

    .venv/bin/python -m pytest -q tests/training/test_track.py
"""
import glob
import json
import os
import struct
import sys
import time

import pytest

import eval_cloze
import train
from tests.test_train import TINY
from training import track

wandb = pytest.importorskip("wandb")
from wandb.proto import wandb_internal_pb2  # noqa: E402  (the records wandb writes)


def wandb_records(run_dir):
    """The records of an offline run's .wandb file, read as wandb writes it: a 7-byte header (":W&B",
    magic, version), then LevelDB-log chunks (crc32c, length, type: 1 full, 2 first, 3 middle, 4 last)
    in 32 KiB blocks, each record a wandb_internal_pb2.Record."""
    (path,) = glob.glob(os.path.join(run_dir, "run-*.wandb"))
    data, pos, chunk, out = open(path, "rb").read(), 7, b"", []
    assert data[:4] == b":W&B"
    while pos + 7 <= len(data):
        if 32768 - pos % 32768 < 7:  # a block's tail too short for a chunk header: padding
            pos += 32768 - pos % 32768
            continue
        _, n, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = chunk + data[pos + 7:pos + 7 + n], pos + 7 + n
        if kind in (1, 4):
            r = wandb_internal_pb2.Record()
            r.ParseFromString(chunk)
            out.append(r)
            chunk = b""
        elif kind == 0:
            break
    return out


def logged(run_dir):
    """(run id, config keys, [history rows as {key: value}], {summary key: value}) of one offline run.
    wandb's own process may still be writing the file after run.finish() returns: wait for its exit record."""
    for _ in range(100):
        records = wandb_records(run_dir)
        if any(r.WhichOneof("record_type") == "exit" for r in records):
            break
        time.sleep(0.1)
    rid, config, rows, summary = None, set(), [], {}
    for r in records:
        kind = r.WhichOneof("record_type")
        if kind == "run":
            rid = r.run.run_id
            config |= {i.key for i in r.run.config.update}
        elif kind == "config":
            config |= {i.key for i in r.config.update}
        elif kind == "history":
            rows.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.history.item})
        elif kind == "summary":
            summary.update({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in r.summary.update})
    return rid, config, rows, summary


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for var in ("WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):  # nothing written to ~
        monkeypatch.setenv(var, str(tmp_path / "wandb_home"))


def test_a_tracked_run_logs_every_record_and_a_resume_continues_it(offline, small_toy_corpus, tmp_path):
    out = str(tmp_path / "run")
    args = TINY + [f"--data_dir={small_toy_corpus}", f"--out_dir={out}", "--max_iters=6", "--wandb_log=True",
                   "--phase=interleave", "--init_from=scratch", "--wandb_run_name=toy test"]
    train.main(args + ["--stop_iter=2"])
    train.main(args + ["--init_from=resume"])  # steps 3-6: tokens/s measured after 2 warm-up steps
    runs = sorted(glob.glob(os.path.join(out, "wandb", "offline-run-*")))
    assert len(runs) == 2  # one per session, the same wandb run
    (rid1, config, rows1, _), (rid2, _, rows2, summary) = logged(runs[0]), logged(runs[1])
    with open(os.path.join(out, "config.json")) as f:
        info = json.load(f)["wandb"]
    assert rid1 == rid2 == info["id"] and info["name"] == "toy test" and info["project"] == "crosstalk"
    assert {"learning_rate", "grad_accum", "device", "max_iters"} <= config  # the resolved config
    rows = rows1 + rows2
    with open(os.path.join(out, "log.jsonl")) as f:
        records = [json.loads(line) for line in f if "summary" not in line]
    # every number of every log.jsonl record, at its step
    assert [r["step"] for r in rows] == [r["step"] for r in records] == [0, 1, 2, 3, 4, 5, 6]
    for row, rec in zip(rows, records):
        numbers = {k: v for k, v in rec.items() if track.is_number(v)}
        assert {k: row[k] for k in numbers} == numbers
    keys = set().union(*rows)
    assert {"loss", "loss_en", "loss_fr", "lr", "grad_norm", "tokens_per_s", "val_loss", "val_loss_en",
            "val_loss_fr"} <= keys  # mfu is None on a CPU: not logged (see the next test)
    assert summary["summary/timed_steps"] == 2 and "summary/mfu" not in summary

    # eval_cloze.py --wandb: into the same wandb run, at its last step
    eval_cloze.main([out, "--corpus", small_toy_corpus, "--wandb", "--out_dir", str(tmp_path / "eval")])
    runs = sorted(glob.glob(os.path.join(tmp_path, "eval", "wandb", "offline-run-*")))
    rid, _, rows, summary = logged(runs[-1])
    with open(tmp_path / "eval" / "cloze_sum.json") as f:
        ssc_sum = json.load(f)["results"]["ssc_en-fr"]
    assert rid == info["id"] and rows[0]["step"] == 6
    assert summary["cloze/sum/ssc_en-fr"] == rows[0]["cloze/sum/ssc_en-fr"] == ssc_sum["accuracy"]
    assert summary["cloze/sum/ssc_en-fr/ci95_lo"] == ssc_sum["ci95"][0]
    assert len([k for k in summary if k.startswith("cloze/mean/") and k.count("/") == 2]) == 12


def test_mfu_is_logged_and_values_not_measured_are_left_out(offline, tmp_path):
    t = track.Tracker.start("crosstalk", "mfu", {"a": 1}, str(tmp_path))
    t.log({"step": 5, "tokens": 640, "loss": 2.5, "mfu": 0.41, "tokens_per_s": None, "error": "x"})
    t.log({"step": 6, "error": "stopped"})  # nothing but the step: nothing logged
    t.finish()
    (run,) = glob.glob(os.path.join(tmp_path, "wandb", "offline-run-*"))
    _, _, rows, _ = logged(run)
    assert [{k: v for k, v in r.items() if not k.startswith("_")} for r in rows] == [
        {"step": 5, "tokens": 640, "loss": 2.5, "mfu": 0.41}]


def test_without_wandb_installed_a_run_trains_and_says_so(small_toy_corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb fails
    out = str(tmp_path / "run")
    train.main(TINY + [f"--data_dir={small_toy_corpus}", f"--out_dir={out}", "--max_iters=1", "--wandb_log=True"])
    assert "wandb_log=True, but wandb is not installed: not tracking" in capsys.readouterr().out
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f)["wandb"] is None
    assert not os.path.exists(os.path.join(out, "wandb"))


def test_off_by_default(small_toy_corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(track.Tracker, "start", lambda *a: pytest.fail("wandb started"))
    train.main(TINY + [f"--data_dir={small_toy_corpus}", f"--out_dir={tmp_path / 'run'}", "--max_iters=1"])


def test_a_wandb_that_cannot_start_is_one_clear_error(small_toy_corpus, tmp_path, monkeypatch):
    def no_login(**kw):
        raise wandb.errors.UsageError("api_key not configured (no-tty)")
    monkeypatch.setattr(wandb, "init", no_login)
    with pytest.raises(track.TrackError, match=r"wandb could not start a run \(UsageError: api_key not configured"):
        train.main(TINY + [f"--data_dir={small_toy_corpus}", f"--out_dir={tmp_path / 'run'}", "--max_iters=1",
                           "--wandb_log=True"])


def test_an_incomplete_set_is_logged_apart_with_n_of_n(offline, tmp_path):
    """A set that lost items to skipped clips is not the set's score: never under cloze/."""
    results = {"mean": {"ssc_en": {"accuracy": 0.75, "ci95": [0.6, 0.85], "n": 40},
                        "swuggy_en": {"accuracy": 0.6, "ci95": [0.45, 0.73], "n": 36, "n_total": 40,
                                      "complete": False}}}
    track.log_eval(None, "hf-model", results, str(tmp_path))
    (run,) = glob.glob(os.path.join(tmp_path, "wandb", "offline-run-*"))
    _, _, _, summary = logged(run)
    assert summary["cloze/mean/ssc_en"] == 0.75 and "cloze/mean/swuggy_en" not in summary
    assert (summary["cloze_incomplete/mean/swuggy_en"], summary["cloze_incomplete/mean/swuggy_en/n"],
            summary["cloze_incomplete/mean/swuggy_en/n_total"]) == (0.6, 36, 40)
