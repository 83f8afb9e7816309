"""
results/report.py: the results of several runs side by side, each compared with the first (the baseline).

    .venv/bin/python eval_cloze.py --report out/toy/report.md baseline=out/toy/baseline \
        interleave=out/toy/interleave interleave+FT=out/toy/finetune

Each run is a folder holding eval_cloze.py's cloze_{mean,sum,ending}.json and align_probe.py's
align.json (or one JSON file). The markdown has:
  1. accuracy % per set under --scoring (the paper's table), and the probe's means over layers:
     raw cosine of matched EN-FR pairs and its gap over mismatched pairs (the paper's measure), the
     mean-centred gap, the same over the same-position control, and retrieval@1 (chance 1/n);
     then each accuracy's 95% interval; a set that lost items to skipped clips shows its n of N
     (groups, else items) beside the accuracy and is listed below the table: it is not the set's score;
  2. each later run minus the baseline per set under --scoring, in points, with the 95% paired
     bootstrap interval (results/stats.py: the same resampled items for both runs, 10,000 resamples, seed 0);
     `*` marks an interval that excludes 0; then the probe's centred gap and retrieval@1 the same way,
     pair by pair (runs probed on the same pairs);
  3. verdicts under each convention, mean/sum/ending: `+` the run beats the baseline (paired interval
     above 0), `-` it loses, `0` no difference shown; `?` a convention's JSON is missing. A conclusion
     is stated as holding only where all three agree.
Figures beside the markdown (results/plots.py): {stem}.png (accuracy with interval bars, probe curves by layer)
and {stem}_curves.png (training curves of every run with a log.jsonl).
"""
import json
import os

import numpy as np

from results import stats
from results.names import PAPER_COLUMNS, SCORING_HELP, SCORINGS, set_label


def load_run(path):
    """A run folder or a JSON file -> {"cloze": {scoring: record}, "align": record or None, "dir"}."""
    files = [path] if os.path.isfile(path) else [os.path.join(path, f"cloze_{s}.json") for s in SCORINGS] + \
        [os.path.join(path, "align.json")]
    run = {"cloze": {}, "align": None, "dir": path if os.path.isdir(path) else os.path.dirname(path)}
    for f in files:
        if os.path.isfile(f):
            with open(f) as fh:
                d = json.load(fh)
            if "results" in d:
                run["cloze"][d["scoring"]] = d
            elif "matched" in d:
                run["align"] = d
    if not run["cloze"] and run["align"] is None:
        raise SystemExit(f"eval_cloze.py: no cloze_*.json or align.json in {path}; "
                         f"run eval_cloze.py / align_probe.py on it first")
    return run


def cell(result):
    """A set's accuracy %, and for an incomplete set its n of N (groups, else items) beside it."""
    acc = f"{100 * result['accuracy']:.2f}"
    if not stats.incomplete(result):
        return acc
    if "n_groups" in result:
        return f"{acc} ({result['n_groups']} of {result['n_groups_total']} groups)"
    return f"{acc} ({result['n']} of {result['n_total']} items)"


def fmt_diff(d, ci, scale=100, digits=1):
    """A difference and its interval, in points by default; * where the interval excludes 0."""
    star = "*" if stats.verdict(ci) != "0" else ""
    return f"{scale * d:+.{digits}f} [{scale * ci[0]:+.{digits}f}, {scale * ci[1]:+.{digits}f}]{star}"


def paired(base, other, scoring, name):
    """(diff, ci) of other - base on one set under one convention, or None where either is missing."""
    a, b = base["cloze"].get(scoring), other["cloze"].get(scoring)
    if not a or not b or name not in a["results"] or name not in b["results"]:
        return None
    ra, rb = a["results"][name], b["results"][name]
    if ra.get("bench_sha1") != rb.get("bench_sha1") or "per_item" not in ra or "per_item" not in rb:
        raise SystemExit(f"eval_cloze.py --report: {name} was not scored on the same items in both runs "
                         f"(or with an eval_cloze.py without per-item outcomes); re-run eval_cloze.py")
    return stats.paired_diff(ra, rb)


def probe_diffs(base, other):
    """(centred gap, retrieval) differences other - base as (diff, ci) pairs, or None when the two probes
    were not run on the same pairs (or by an align_probe.py without per-pair values)."""
    keys = ("corpus", "split", "pair_ids", "langs")
    if not base or not other or "per_pair_retrieval" not in base or "per_pair_retrieval" not in other \
            or any(base.get(k) != other.get(k) for k in keys):
        return None
    out = []
    for key in ("per_pair_centered_gap", "per_pair_retrieval"):
        d = np.asarray(other[key]) - np.asarray(base[key])
        out.append((float(d.mean()), stats.bootstrap_ci(d)))
    return out


def report(runs, scoring="mean"):
    """runs: [(label, path)] -> (markdown text, [(label, run dict)])."""
    loaded = [(label, load_run(path)) for label, path in runs]
    names = {s for _, r in loaded for c in r["cloze"].values() for s in c["results"]}
    cols = [c for c in PAPER_COLUMNS if c in names] + sorted(names - set(PAPER_COLUMNS))
    probe = ["cos EN-FR", "cos gap", "centred gap", "centred gap same-pos", "retrieval@1"]
    out = [f"scoring: {scoring} ({SCORING_HELP[scoring]}); accuracy %; probe: mean over layers 1..L", "",
           "| model | " + " | ".join([set_label(c) for c in cols] + probe) + " |", "|---" * (len(cols) + 6) + "|"]
    for label, r in loaded:
        res = r["cloze"].get(scoring, {"results": {}})["results"]
        cells = [cell(res[c]) if c in res else "-" for c in cols]
        a = r["align"] or {}
        cells += [f"{a[k]:.3f}" if k in a else "-" for k in ("mean_matched", "mean_gap", "mean_centered_gap",
                                                             "mean_centered_same_position_gap")]
        cells.append(f"{a['mean_retrieval_at_1']:.3f} (chance {a['chance']:.3f})" if "chance" in a else "-")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    out += ["", f"95% intervals ({scoring}), accuracy %", "", "| model | " + " | ".join(map(set_label, cols)) + " |",
            "|---" * (len(cols) + 1) + "|"]
    for label, r in loaded:
        res = r["cloze"].get(scoring, {"results": {}})["results"]
        out.append(f"| {label} | " + " | ".join(f"[{100 * res[c]['ci95'][0]:.1f}, {100 * res[c]['ci95'][1]:.1f}]"
                                                if "ci95" in res.get(c, {}) else "-" for c in cols) + " |")
    grouped = sorted({s for _, r in loaded for c in r["cloze"].values() for s, x in c["results"].items()
                      if "n_groups" in x})
    if grouped:
        out += ["", f"{', '.join(grouped)}: mean over groups of the within-group accuracy (sLM21); "
                    f"plain pair accuracy in the JSON (pair_accuracy)"]
    lost = sorted({(set_label(s), why) for _, r in loaded for c in r["cloze"].values()
                   for s, x in c["results"].items() if (why := stats.incomplete(x))})
    if lost:
        out += ["", "Incomplete sets, scored as n of N: items were lost to clips tokenization skipped (the "
                    "corpus's skipped.jsonl lists them), so these are not the sets' scores: "
                + "; ".join(f"{label} {why}" for label, why in lost)]
    base_label, base = loaded[0]
    if len(loaded) > 1:
        # each (run, convention, set) compared once: a paired bootstrap is 10,000 resamples
        diffs = {(label, s, c): paired(base, r, s, c) for label, r in loaded[1:] for s in SCORINGS for c in cols}
        out += ["", f"Paired difference vs {base_label} ({scoring}), points [95% paired bootstrap]; "
                    f"* the interval excludes 0", "", "| model | " + " | ".join(map(set_label, cols)) + " |",
                "|---" * (len(cols) + 1) + "|"]
        for label, r in loaded[1:]:
            cells = [diffs[label, scoring, c] for c in cols]
            out.append(f"| {label} | " + " | ".join(fmt_diff(*x) if x else "-" for x in cells) + " |")
        out += ["", f"Verdict vs {base_label} under each convention ({'/'.join(SCORINGS)}): + better, "
                    f"- worse, 0 no difference shown, ? not scored", "",
                "| model | " + " | ".join(map(set_label, cols)) + " |", "|---" * (len(cols) + 1) + "|"]
        holds, mixed = [], []
        for label, r in loaded[1:]:
            row = []
            for c in cols:
                v = [(stats.verdict(x[1]) if x else "?") for x in (diffs[label, s, c] for s in SCORINGS)]
                row.append("/".join(v))
                if len(set(v)) == 1 and v[0] in "+-":
                    holds.append(f"{label} {'>' if v[0] == '+' else '<'} {base_label} on {set_label(c)}")
                elif any(x in "+-" for x in v):
                    mixed.append(f"{label} vs {base_label} on {set_label(c)} ({'/'.join(v)})")
            out.append(f"| {label} | " + " | ".join(row) + " |")
        out += ["", "Holds under all three conventions: " + ("; ".join(holds) or "none") + ".",
                "Shown under some conventions only: " + ("; ".join(mixed) or "none") + "."]
        rows = [(label, probe_diffs(base["align"], r["align"])) for label, r in loaded[1:]]
        if any(d for _, d in rows):
            out += ["", f"Alignment vs {base_label}: difference of the per-pair means over layers, same pairs, "
                        f"[95% paired bootstrap over pairs]; * the interval excludes 0", "",
                    "| model | centred gap (cosine) | retrieval@1 (points) |", "|---|---|---|"]
            for label, d in rows:
                cells = ["-", "-"] if d is None else [fmt_diff(*d[0], scale=1, digits=3), fmt_diff(*d[1])]
                out.append(f"| {label} | " + " | ".join(cells) + " |")
    ns = sorted({x["n"] for _, r in loaded for c in r["cloze"].values() for x in c["results"].values()})
    out += ["", f"items per set: {', '.join(map(str, ns))}; accuracy intervals: Wilson (bootstrap over groups "
                f"for grouped sets)"]
    probes = sorted({f"{a['n_pairs']} {a['split']} pairs" for _, r in loaded if (a := r["align"]) and "n_pairs" in a})
    if probes:
        out.append(f"probe: align_probe.py on {', '.join(probes)}; cos = raw cosine of matched EN-FR pairs "
                   f"(the paper's), gap = matched - mismatched, centred = per-language mean removed, "
                   f"retrieval@1 = true translation nearest among n (both directions)")
    return "\n".join(out) + "\n", loaded


def main(md_path, specs, scoring="mean"):
    runs = []
    for s in specs:
        if "=" not in s:
            raise SystemExit(f"eval_cloze.py --report: expected label=run_dir, got {s!r}")
        runs.append(tuple(s.split("=", 1)))
    text, loaded = report(runs, scoring)
    os.makedirs(os.path.dirname(os.path.abspath(md_path)), exist_ok=True)
    with open(md_path, "w") as f:
        f.write(text)
    print(text)
    print(f"wrote {md_path}")
    from results import plots
    stem = os.path.splitext(md_path)[0]
    plots.report_figure(loaded, scoring, stem + ".png")
    print(f"wrote {stem}.png")
    logs = [(label, os.path.join(r["dir"], "log.jsonl")) for label, r in loaded]
    logs = [(label, p) for label, p in logs if os.path.isfile(p)]
    if logs:
        plots.training_curves(logs, stem + "_curves.png")
        print(f"wrote {stem}_curves.png")
