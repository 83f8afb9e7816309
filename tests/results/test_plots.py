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


def test_curve_points_and_the_zoomed_window():
    recs = [{"step": 0, "tokens": 0, "val_loss_en": 7.6, "val_loss_fr": 7.6},
            {"step": 100, "tokens": 409600, "loss": 1.0, "loss_en": 1.0, "lr": 1e-3,
             "val_loss_en": 0.9, "val_loss_fr": 11.5, "val_loss_mix_en": 0.8},   # FR never trained on
            {"step": 200, "tokens": 819200, "loss": 0.8, "loss_en": 0.8, "val_loss_en": 0.85, "val_loss_fr": 12.0},
            {"step": 300, "tokens": 1228800, "loss": 0.78, "loss_en": 0.78, "val_loss_en": 0.82, "val_loss_fr": 12.2}]
    pts = plots.curve_points(recs)
    assert pts[("val", "en")] == [(0.0, 7.6), (0.4096, 0.9), (0.8192, 0.85), (1.2288, 0.82)]  # every eval
    assert pts[("train", "en")] == [(0.4096, 1.0), (0.8192, 0.8), (1.2288, 0.78)]
    assert ("val", "mix_en") not in pts and set(pts) == {("val", "en"), ("val", "fr"), ("train", "en")}
    # the window spans the trained language over the run's last half (0.78 .. 0.85 plus 8% each side): not
    # the start (7.6), not the early losses (1.0, 0.9), not the FR it never trains on (12)
    lo, hi = plots.y_window([pts])
    assert abs(lo - (0.78 - 0.0056)) < 1e-9 and abs(hi - (0.85 + 0.0056)) < 1e-9
    # a run that trains on FR too widens it to its FR values
    both = plots.curve_points([{"step": 10, "tokens": 1, "loss_en": 1.0, "loss_fr": 1.5, "val_loss_fr": 1.4}])
    assert plots.y_window([pts, both])[1] > 1.5
