"""
results/seeds.py: does a comparison hold across seeds? The toy results table, from `make toy-seeds`.

    .venv/bin/python -m results.seeds out/toy --seeds 1337 7 42 --out out/toy/seeds.md

Reads out/toy/seed<S>/{baseline,interleave,finetune}/cloze_{mean,sum,ending}.json and align.json (what
runs/toy.sh writes per seed) and writes one markdown file:
  1. accuracy % per set and run, the mean over seeds, each seed's value in brackets;
  2. for each comparison (interleave - baseline, interleave+FT - baseline, interleave+FT - interleave),
     per set and convention: the mean difference over seeds in points, its 95% interval by a paired
     bootstrap over (seed, item) units (items resampled within each seed, both models alike: the
     interval is about the items, each seed's training noise shows in the per-seed verdicts), and the
     per-seed verdicts (stats.verdict of each seed's own paired interval: + above 0, - below, 0 neither);
     a cell "holds" when its pooled interval excludes 0 with the same sign in every convention AND every
     seed's verdict agrees;
  3. the probe's differences the same way: raw matched cosine, centred gap, retrieval@1.
"""
import argparse
import os

import numpy as np

from results import stats
from results.names import PAPER_COLUMNS, SCORINGS, set_label
from results.report import load_run

RUNS = (("baseline", "baseline"), ("interleave", "interleave"), ("interleave+FT", "finetune"))
COMPARISONS = (("interleave", "baseline"), ("interleave+FT", "baseline"), ("interleave+FT", "interleave"))


def pooled_diff(pairs, n_boot=stats.N_BOOT, seed=0):
    """pairs: [(base units (n_s,), other units (n_s,))] one per seed -> (mean over seeds of the mean
    difference, [lo, hi]): a stratified paired bootstrap, each seed's units resampled within the seed."""
    diffs = [np.asarray(o, float) - np.asarray(b, float) for b, o in pairs]
    rng = np.random.default_rng(seed)
    boots = np.zeros(n_boot)
    for d in diffs:
        boots += d[rng.integers(0, len(d), (n_boot, len(d)))].mean(1)
    boots /= len(diffs)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return float(np.mean([d.mean() for d in diffs])), [float(lo), float(hi)]


def cell(runs, a, b, scoring, name):
    """(pooled diff, ci, per-seed verdicts) of run a - run b on one set, or None if a seed lacks it."""
    pairs, verdicts = [], []
    for seed_runs in runs:
        ra, rb = (seed_runs[x]["cloze"].get(scoring, {}).get("results", {}).get(name) for x in (a, b))
        if ra is None or rb is None:
            return None
        groups = rb.get("groups")
        pairs.append((stats.units(rb["per_item"], groups), stats.units(ra["per_item"], groups)))
        verdicts.append(stats.verdict(stats.paired_diff(rb, ra)[1]))
    d, ci = pooled_diff(pairs)
    return d, ci, "".join(verdicts)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("root", help="the folder holding seed<S>/ (runs/toy.sh SEEDS=...)")
    ap.add_argument("--seeds", nargs="+", required=True)
    ap.add_argument("--out", default=None, help="markdown path (default: ROOT/seeds.md)")
    args = ap.parse_args(argv)
    runs = [{label: load_run(os.path.join(args.root, f"seed{s}", d)) for label, d in RUNS} for s in args.seeds]
    names = [c for c in PAPER_COLUMNS if c in runs[0]["baseline"]["cloze"]["mean"]["results"]]
    names += sorted(set(runs[0]["baseline"]["cloze"]["mean"]["results"]) - set(names))
    n_seeds = len(args.seeds)
    lines = [f"Seeds {', '.join(args.seeds)}; accuracy %, mean over seeds [each seed]; scoring mean", "",
             "| model | " + " | ".join(set_label(n) for n in names) + " |", "|---" * (len(names) + 1) + "|"]
    for label, _ in RUNS:
        accs = [[100 * r[label]["cloze"]["mean"]["results"][n]["accuracy"] for r in runs] for n in names]
        lines.append(f"| {label} | " + " | ".join(f"{np.mean(a):.1f} [{' '.join(f'{x:.1f}' for x in a)}]"
                                                  for a in accs) + " |")
    holds = []
    for a, b in COMPARISONS:
        lines += ["", f"**{a} - {b}**, points: pooled over seeds [95% stratified paired bootstrap], then "
                      f"the {n_seeds} seeds' own verdicts (+ above 0, - below, 0 neither)", "",
                  "| scoring | " + " | ".join(set_label(n) for n in names) + " |", "|---" * (len(names) + 1) + "|"]
        per = {s: {n: cell(runs, a, b, s, n) for n in names} for s in SCORINGS}
        for s in SCORINGS:
            lines.append(f"| {s} | " + " | ".join(
                "-" if c is None else f"{100 * c[0]:+.1f} [{100 * c[1][0]:+.1f}, {100 * c[1][1]:+.1f}] {c[2]}"
                for c in (per[s][n] for n in names)) + " |")
        for n in names:
            cs = [per[s][n] for s in SCORINGS]
            signs = {stats.verdict(c[1]) for c in cs if c} | {v for c in cs if c for v in c[2]}
            if all(cs) and len(signs) == 1 and signs != {"0"}:
                holds.append(f"{a} {'>' if signs == {'+'} else '<'} {b} on {set_label(n)}")
    lines += ["", f"Holds under all three conventions, pooled and in each of the {n_seeds} seeds: "
              + ("; ".join(holds) or "nothing") + "."]
    aligns = [{label: r[label]["align"] for label, _ in RUNS} for r in runs]
    if all(all(x.values()) for x in aligns):
        lines += ["", "Probe (mean over layers), mean over seeds [each seed]; differences pooled over seeds "
                      "[95% stratified paired bootstrap over probe pairs] and per-seed verdicts", "",
                  "| model | raw cos EN-FR | raw gap | centred gap | retrieval@1 (chance) |", "|---|---|---|---|---|"]
        for label, _ in RUNS:
            vals = [[al[label][k] for al in aligns] for k in ("mean_matched", "mean_gap", "mean_centered_gap",
                                                               "mean_retrieval_at_1")]
            lines.append(f"| {label} | " + " | ".join(f"{np.mean(v):.3f} [{' '.join(f'{x:.3f}' for x in v)}]"
                                                      for v in vals) + f" ({aligns[0][label]['chance']:.3f}) |")
        for a, b in COMPARISONS:
            row = []
            for key in ("per_pair_centered_gap", "per_pair_retrieval"):
                pairs = [(al[b][key], al[a][key]) for al in aligns]
                verdicts = "".join(stats.verdict(stats.bootstrap_ci(np.subtract(o, bb))) for bb, o in pairs)
                d, ci = pooled_diff(pairs)
                row.append(f"{d:+.4f} [{ci[0]:+.4f}, {ci[1]:+.4f}] {verdicts}")
            lines.append(f"| {a} - {b} | | | {row[0]} | {row[1]} |")
    text = "\n".join(lines) + "\n"
    out = args.out or os.path.join(args.root, "seeds.md")
    with open(out, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
