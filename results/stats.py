"""
results/stats.py: intervals on cloze accuracies and paired comparisons between two models on the same items.

An item's outcome is 1 (the good sequence scored higher), 0 (lower) or 0.5 (an exact tie). A set's
accuracy is the mean outcome, or, for a set with groups (bench/{name}.groups.npy, one group id per item:
sLM21's sBLiMP / sWUGGY aggregation), the mean over groups of the within-group accuracy.

    ci95         plain accuracy: Wilson score interval, ties counted as half a success;
                 grouped accuracy: percentile bootstrap over groups (N_BOOT resamples, seed 0).
    paired diff  model - baseline on the same items: percentile bootstrap of the mean per-item (or
                 per-group) difference, N_BOOT resamples, seed 0. Both models get the same resampled
                 items, so the interval accounts for their correlation (two models mostly agree on an
                 item), and is much narrower than two independent intervals would suggest.
    verdict      "+" the paired interval lies above 0, "-" below 0, "0" it contains 0.

    .venv/bin/python -m results.stats out/toy/baseline/cloze_mean.json out/toy/interleave/cloze_mean.json
        # per set: both accuracies, the paired difference with its interval, and how often the two
        # runs' per-item decisions agree (e.g. the same model in float32 and bfloat16)
"""
import json
import sys

import numpy as np

N_BOOT = 10_000
Z95 = 1.959963984540054


def wilson(successes, n, z=Z95):
    """95% Wilson score interval [lo, hi] of a proportion successes / n."""
    if n == 0:
        return [0.0, 1.0]
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return [float(max(0.0, centre - half)), float(min(1.0, centre + half))]


def units(outcomes, groups=None):
    """Per-item outcomes (n,) -> the units that are averaged and resampled: the items themselves, or
    with groups (n,) the within-group accuracy of each group (n_groups,)."""
    outcomes = np.asarray(outcomes, dtype=np.float64)
    if groups is None:
        return outcomes
    _, inv = np.unique(np.asarray(groups), return_inverse=True)
    return np.bincount(inv, weights=outcomes) / np.bincount(inv)


def bootstrap_ci(values, n_boot=N_BOOT, seed=0):
    """95% percentile-bootstrap interval [lo, hi] of the mean of `values` (resampled with replacement)."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    rng = np.random.default_rng(seed)
    means = np.empty(n_boot)
    step = max(1, 4_000_000 // max(n, 1))                        # rows per chunk: bounded memory at any n
    for i in range(0, n_boot, step):
        rows = min(step, n_boot - i)
        means[i:i + rows] = values[rng.integers(0, n, (rows, n), dtype=np.int32)].mean(1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return [float(lo), float(hi)]


def summarize(outcomes, groups=None, total=None):
    """A set's JSON result from its per-item outcomes: accuracy (grouped when groups are given), n,
    ci95 and how it was made, per_item; with groups also n_groups, groups, pair_accuracy (the plain
    item mean, no interval: the items of one group are correlated, only the group interval holds).
    total, optional: (items, groups) of the set's source (bench/{name}.total.npy); adds n_total,
    n_groups_total (grouped sets) and complete (false: items were lost, see incomplete())."""
    outcomes = np.asarray(outcomes, dtype=np.float64)
    plain = {"accuracy": float(outcomes.mean()), "n": int(len(outcomes)),
             "ci95": wilson(float(outcomes.sum()), len(outcomes)), "ci95_method": "wilson"}
    if groups is None:
        out = {**plain, "per_item": outcomes.tolist()}
    else:
        g = units(outcomes, groups)
        out = {"accuracy": float(g.mean()), "n": plain["n"], "ci95": bootstrap_ci(g),
               "ci95_method": f"bootstrap over groups ({N_BOOT}, seed 0)", "n_groups": int(len(g)),
               "pair_accuracy": plain["accuracy"],
               "per_item": outcomes.tolist(), "groups": np.asarray(groups).astype(int).tolist()}
    if total is not None:
        out["n_total"] = int(total[0])
        if groups is not None:
            out["n_groups_total"] = int(total[1])
        out["complete"] = out["n"] == out["n_total"] and out.get("n_groups") == out.get("n_groups_total")
    return out


def incomplete(result):
    """'9 of 10 groups, 36 of 40 items' for a set result that lost items (to clips tokenization
    skipped), '36 of 40 items' without groups; None when complete or when no total was recorded."""
    if result.get("complete", True):
        return None
    items = f"{result['n']} of {result['n_total']} items"
    return f"{result['n_groups']} of {result['n_groups_total']} groups, {items}" if "n_groups" in result else items


def paired_diff(base, other):
    """Two results of one set (dicts as summarize() writes) -> (diff, [lo, hi]) of other - base in
    accuracy units, by the paired bootstrap over items (or groups when the set has them)."""
    a, b = np.asarray(base["per_item"]), np.asarray(other["per_item"])
    if len(a) != len(b) or base.get("groups") != other.get("groups"):
        raise ValueError("the two results are not on the same items (n or groups differ)")
    d = units(b, base.get("groups")) - units(a, base.get("groups"))
    return float(d.mean()), bootstrap_ci(d)


def verdict(ci):
    return "+" if ci[0] > 0 else "-" if ci[1] < 0 else "0"


def agreement(base, other):
    """Share of items on which two results made the same decision (outcome 1, 0 or 0.5)."""
    return float(np.mean(np.asarray(base["per_item"]) == np.asarray(other["per_item"])))


def main(argv):
    if len(argv) != 2:
        raise SystemExit("usage: python -m results.stats BASE.json OTHER.json   (eval_cloze.py outputs)")
    a, b = (json.load(open(p)) for p in argv)
    print(f"{argv[1]} - {argv[0]} (scoring {a['scoring']} / {b['scoring']}); points")
    print(f"{'set':12} {'base':>7} {'other':>7} {'diff':>7} {'95% paired':>16}  v {'agree':>7}")
    for name in sorted(set(a["results"]) & set(b["results"])):
        ra, rb = a["results"][name], b["results"][name]
        d, ci = paired_diff(ra, rb)
        print(f"{name:12} {100 * ra['accuracy']:7.2f} {100 * rb['accuracy']:7.2f} {100 * d:+7.2f} "
              f"[{100 * ci[0]:+6.2f}, {100 * ci[1]:+6.2f}]  {verdict(ci)} {100 * agreement(ra, rb):6.1f}%")


if __name__ == "__main__":
    main(sys.argv[1:])
