"""results/report.py: the probe's paired comparison between runs probed on the same pairs (constructed values)."""
import json

import numpy as np
import pytest

from results import report


def align(per_gap, per_ret, pair_ids):
    return {"corpus": "c", "split": "val", "langs": ["en", "fr"], "pair_ids": pair_ids, "n_pairs": len(pair_ids),
            "matched": [0.5], "mismatched": [0.4], "layers": [1], "mean_matched": 0.5, "mean_gap": 0.1,
            "mean_centered_gap": float(np.mean(per_gap)), "mean_retrieval_at_1": float(np.mean(per_ret)),
            "chance": 1 / len(pair_ids), "per_pair_centered_gap": per_gap, "per_pair_retrieval": per_ret}


def test_alignment_table_pairs_by_pair(tmp_path):
    rng = np.random.default_rng(0)
    n = 200
    gap = rng.normal(0.02, 0.05, n)
    ret = (rng.random(n) < 0.01).astype(float)
    runs = {"base": align(gap.tolist(), ret.tolist(), list(range(n))),
            "better": align((gap + 0.03).tolist(), np.maximum(ret, rng.random(n) < 0.2).tolist(), list(range(n))),
            "other_pairs": align(gap.tolist(), ret.tolist(), list(range(1, n + 1)))}
    for name, a in runs.items():
        (tmp_path / name).mkdir()
        json.dump(a, open(tmp_path / name / "align.json", "w"))
    d = report.probe_diffs(runs["base"], runs["better"])
    assert d[0][0] == pytest.approx(0.03) and d[0][1][0] == pytest.approx(0.03)    # a constant shift: [0.03, 0.03]
    assert d[1][0] == pytest.approx(np.mean(runs["better"]["per_pair_retrieval"]) - ret.mean()) and d[1][1][0] > 0
    assert report.probe_diffs(runs["base"], runs["other_pairs"]) is None            # not the same pairs
    text, _ = report.report([(k, str(tmp_path / k)) for k in runs])
    lines = text.splitlines()
    assert "| better | +0.030 [+0.030, +0.030]* | +" in next(l for l in lines if l.startswith("| better | +0.030"))
    assert "| other_pairs | - | - |" in lines
    report.main(str(tmp_path / "r.md"), [f"{k}={tmp_path / k}" for k in runs])      # probe-only runs: figure too
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"
