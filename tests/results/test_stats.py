"""results/stats.py against hand-computed intervals and constructed paired outcomes."""
import numpy as np
import pytest

from results import stats


def test_wilson_hand_computed():
    # 8 of 10: centre (0.8 + 1.9208/10) / 1.38415 = 0.71671, half 1.95996/1.38415 * sqrt(0.016 + 0.0009604)
    lo, hi = stats.wilson(8, 10)
    assert lo == pytest.approx(0.49016, abs=1e-4) and hi == pytest.approx(0.94331, abs=1e-4)
    assert stats.wilson(0, 20)[0] == 0 and stats.wilson(20, 20)[1] == 1
    lo, hi = stats.wilson(250, 500)                      # near 50% at n=500: +-4.4 points
    assert hi - lo == pytest.approx(2 * 1.96 * (0.25 / 500) ** 0.5, abs=5e-4)        # ~ the normal approximation


def test_group_units_and_bootstrap():
    out = np.array([1, 1, 0, 0.5, 1, 0])
    groups = np.array([7, 7, 7, 3, 3, 9])
    np.testing.assert_allclose(stats.units(out, groups), [(0.5 + 1) / 2, 2 / 3, 0])   # sorted group ids 3, 7, 9
    assert stats.bootstrap_ci(np.full(50, 0.3)) == pytest.approx([0.3, 0.3])
    rng = np.random.default_rng(0)
    x = rng.random(400) < 0.6
    lo, hi = stats.bootstrap_ci(x)
    w = stats.wilson(x.sum(), len(x))
    assert lo == pytest.approx(w[0], abs=0.01) and hi == pytest.approx(w[1], abs=0.01)  # agree at this n
    assert stats.bootstrap_ci(x) == [lo, hi]                                           # seeded


def test_paired_difference_is_narrower_than_independent_intervals():
    """Two runs that agree on 90% of 500 items and differ by 4 points: the paired interval excludes 0
    though the two Wilson intervals (+-4.3 points each) overlap."""
    rng = np.random.default_rng(1)
    a = (rng.random(500) < 0.55).astype(float)
    b = a.copy()
    flip = rng.choice(np.flatnonzero(a == 0), 20, replace=False)          # b also wins 20 of a's losses
    b[flip] = 1
    d, ci = stats.paired_diff(stats.summarize(a), stats.summarize(b))
    assert d == pytest.approx(20 / 500)
    assert ci[0] > 0 and stats.verdict(ci) == "+"
    assert stats.wilson(b.sum(), 500)[0] < stats.wilson(a.sum(), 500)[1]  # independent intervals overlap
    assert stats.verdict([-0.1, 0.2]) == "0" and stats.verdict([-0.3, -0.1]) == "-"
    assert stats.agreement(stats.summarize(a), stats.summarize(b)) == pytest.approx(480 / 500)
    with pytest.raises(ValueError, match="same items"):
        stats.paired_diff(stats.summarize(a), stats.summarize(b[:-1]))


def test_grouped_paired_difference_resamples_groups():
    groups = np.array([0, 0, 0, 0, 1, 2])                               # one big group, two singletons
    a = stats.summarize([1, 1, 1, 1, 0, 0], groups)
    b = stats.summarize([0, 0, 0, 0, 1, 1], groups)
    assert a["accuracy"] == pytest.approx(1 / 3) and a["pair_accuracy"] == pytest.approx(4 / 6)
    d, ci = stats.paired_diff(a, b)
    assert d == pytest.approx((-1 + 1 + 1) / 3)                        # per-group differences -1, +1, +1
    assert ci[0] == pytest.approx(-1) and ci[1] == pytest.approx(1)    # 3 groups: resamples span all -1 .. all +1
    with pytest.raises(ValueError, match="same items"):
        stats.paired_diff(a, stats.summarize([0, 0, 0, 0, 1, 1], groups[::-1]))


def test_cli_prints_paired_difference_and_agreement(tmp_path, capsys):
    import json
    a = {"scoring": "mean", "results": {"ssc_en": stats.summarize([1, 0, 1, 0.5])}}
    b = {"scoring": "mean", "results": {"ssc_en": stats.summarize([1, 1, 1, 0.5])}}
    for name, rec in (("a", a), ("b", b)):
        json.dump(rec, open(tmp_path / f"{name}.json", "w"))
    stats.main([str(tmp_path / "a.json"), str(tmp_path / "b.json")])
    row = capsys.readouterr().out.splitlines()[-1].split()
    assert row[:4] == ["ssc_en", "62.50", "87.50", "+25.00"] and row[-1] == "75.0%"


def test_a_set_that_lost_items_says_n_of_n():
    groups = [0, 0, 1]
    full = stats.summarize([1, 0, 1], groups, total=(3, 2))
    assert full["complete"] and stats.incomplete(full) is None
    assert stats.incomplete(stats.summarize([1, 0, 1], groups)) is None   # no total recorded: no claim
    lost = stats.summarize([1, 0, 1], groups, total=(5, 3))
    assert (lost["n_total"], lost["n_groups_total"], lost["complete"]) == (5, 3, False)
    assert stats.incomplete(lost) == "2 of 3 groups, 3 of 5 items"
    assert stats.incomplete(stats.summarize([1, 0], total=(4, 0))) == "2 of 4 items"
    # items lost but every group kept (a pair lost one of its voices): still not the set's score
    assert stats.incomplete(stats.summarize([1, 0, 1], groups, total=(4, 2))) == "2 of 2 groups, 3 of 4 items"
