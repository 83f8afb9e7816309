"""results/plots.py: the training-curve figure from a log.jsonl as train.py writes it, and its command line."""
import json

import pytest

from results import plots


def write_log(path, fr=True):
    recs = [{"step": 0, "tokens": 0, "val_loss_en": 7.5, "val_loss_fr": 7.6, "val_loss": 7.55}]
    for step in (10, 20, 30):
        r = {"step": step, "tokens": step * 4096, "loss": 5.0 - step / 10, "loss_en": 5.0 - step / 10, "lr": 1e-3}
        if fr:
            r["loss_fr"] = 6.0 - step / 10
        recs.append(r)
    recs.append({"step": 30, "tokens": 30 * 4096, "val_loss_en": 2.0, "val_loss_fr": 3.0, "val_loss": 2.5})
    path.write_text("\n".join(json.dumps(r) for r in recs) + "\n")


def test_training_curves_png(tmp_path):
    for name, fr in (("pre", False), ("inter", True)):
        (tmp_path / name).mkdir()
        write_log(tmp_path / name / "log.jsonl", fr)
    out = tmp_path / "curves.png"
    plots.main([f"EN pretraining={tmp_path / 'pre'}", str(tmp_path / "inter"), "--out", str(out)])
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [r["step"] for r in plots.read_log(tmp_path / "pre" / "log.jsonl")] == [0, 10, 20, 30, 30]
    with pytest.raises(SystemExit, match="no log.jsonl"):
        plots.main([str(tmp_path), "--out", str(out)])
