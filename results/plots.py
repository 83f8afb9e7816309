"""
results/plots.py: the figures a reader of the results wants.

    .venv/bin/python -m results.plots out/toy/pretrain out/toy/baseline out/toy/interleave out/toy/finetune \
        --out out/toy/curves.png          # training curves, one panel per run, from each log.jsonl

report_figure (written by `eval_cloze.py --report`): top, accuracy per set per model with its 95%
interval (a set that lost items to skipped clips is marked "incomplete" under its label); bottom, the
probe by layer per model: raw cosine (matched solid, mismatched dashed), the mean-centred gap (matched -
mismatched after removing each language's mean vector), and retrieval@1 (mean of both directions)
against chance.
training_curves: per run, train loss per language (log steps) and val loss per language (every eval)
over training tokens, from train.py's log.jsonl (keys tokens, loss_<lang>, val_loss_<lang>): each whole
run on a log axis, and below it the run's last half zoomed to where the curves differ (y_window).
"""
import argparse
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402

from results import stats  # noqa: E402
from results.names import PAPER_COLUMNS, set_label  # noqa: E402


def report_figure(loaded, scoring, path):
    """loaded: [(label, run)] as report.load_run gives; writes a PNG."""
    names = {s for _, r in loaded if r["cloze"].get(scoring) for s in r["cloze"][scoring]["results"]}
    cols = [c for c in PAPER_COLUMNS if c in names] + sorted(names - set(PAPER_COLUMNS))
    probes = [(i, label, r["align"]) for i, (label, r) in enumerate(loaded) if r["align"]]
    fig = plt.figure(figsize=(max(9, 1.1 * len(cols) + 2), 7.5 if probes else 4))
    grid = fig.add_gridspec(2 if probes else 1, 3, height_ratios=[1.2, 1] if probes else [1])
    ax = fig.add_subplot(grid[0, :])
    width = 0.8 / len(loaded)
    for i, (label, r) in enumerate(loaded):
        res = r["cloze"].get(scoring, {"results": {}})["results"]
        xs = [j + (i - (len(loaded) - 1) / 2) * width for j, c in enumerate(cols) if c in res]
        acc = [100 * res[c]["accuracy"] for c in cols if c in res]
        ci = [[max(0, 100 * (res[c]["accuracy"] - res[c].get("ci95", [1, 0])[0])) for c in cols if c in res],
              [max(0, 100 * (res[c].get("ci95", [1, 0])[1] - res[c]["accuracy"])) for c in cols if c in res]]
        ax.bar(xs, acc, width * 0.9, yerr=ci, capsize=2, color=f"C{i}", label=label, error_kw={"lw": 0.8})
    ax.axhline(50, color="grey", lw=0.7, ls=":")
    lost = {c for _, r in loaded for c, x in r["cloze"].get(scoring, {"results": {}})["results"].items()
            if stats.incomplete(x)}                     # n of N in the report; here a mark under the label
    ax.set_xticks(range(len(cols)), [set_label(c) + ("\n(incomplete)" if c in lost else "") for c in cols],
                  fontsize=8)
    ax.set_ylabel(f"accuracy % ({scoring}), 95% interval")
    ends = [100 * e for _, r in loaded if r["cloze"].get(scoring)
            for x in r["cloze"][scoring]["results"].values() for e in x.get("ci95", [x["accuracy"]] * 2)]
    ax.set_ylim(max(0, min(ends + [45]) - 5), min(100, max(ends + [55]) + 8))   # room for the legend
    ax.legend(fontsize=8, ncol=len(loaded), loc="upper right")
    if probes:
        panels = [("raw cosine (matched -, mismatched --)", None), ("centred gap", "centered_gap"),
                  ("retrieval@1 (mean of both ways)", "retrieval")]
        for k, (title, key) in enumerate(panels):
            ax = fig.add_subplot(grid[1, k])
            for i, label, a in probes:
                if key is None:
                    ax.plot(a["layers"], a["matched"], "-o", ms=3, color=f"C{i}", label=label)
                    ax.plot(a["layers"], a["mismatched"], "--", color=f"C{i}")
                elif key == "centered_gap" and key in a:
                    ax.plot(a["layers"], a[key], "-o", ms=3, color=f"C{i}", label=label)
                elif key == "retrieval" and "retrieval_at_1" in a:
                    ways = list(a["retrieval_at_1"].values())
                    ax.plot(a["layers"], [sum(v) / len(v) for v in zip(*ways)], "-o", ms=3, color=f"C{i}",
                            label=label)
            if key == "retrieval" and "chance" in probes[0][2]:
                ax.axhline(probes[0][2]["chance"], color="grey", lw=0.7, ls=":", label="chance")
            if key == "centered_gap":
                ax.axhline(0, color="grey", lw=0.7, ls=":")
            ax.set_title(title, fontsize=9)
            ax.set_xlabel("layer", fontsize=8)
            ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
            ax.tick_params(labelsize=7)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def read_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def curve_points(recs):
    """log.jsonl records -> {(kind, lang): [(tokens in M, loss)]}, kind "train" (loss_<lang>, log steps)
    or "val" (val_loss_<lang>, eval steps); languages in the order they first appear. Per-corpus val
    losses of a mixture (val_loss_<corpus>_<lang>) are left out: a language code has no "_"."""
    out = {}
    for r in recs:
        for key, value in r.items():
            if (m := re.fullmatch(r"(val_)?loss_([^_]+)", key)) and isinstance(value, (int, float)):
                out.setdefault(("val" if m[1] else "train", m[2]), []).append((r["tokens"] / 1e6, value))
    return out


def y_window(runs, tail=0.5):
    """runs: [curve_points(...)] -> (lo, hi) of the losses in the last `tail` of each run's tokens, of
    the languages it trains on: where the curves differ. Left out: the start (a fresh model's ~ln(vocab))
    and a language a run never trains on, whose val loss only climbs."""
    inside = []
    for pts in runs:
        end = max((t for xs in pts.values() for t, _ in xs), default=0.0)
        trained = [xs for (kind, lang), xs in pts.items() if ("train", lang) in pts] or list(pts.values())
        inside += [v for xs in trained for t, v in xs if t >= tail * end]
    lo, hi = min(inside), max(inside)
    pad = 0.08 * (hi - lo) or 0.05 * abs(hi) or 0.1
    return lo - pad, hi + pad


def _curves(ax, pts, langs, hi=None):
    """Train (line) and val (markers at every eval) losses per language; above hi: marked at the top edge."""
    for (kind, lang), xy in pts.items():
        colour = f"C{[0, 3, 2, 1, 4, 5, 6][langs.index(lang) % 7]}"
        t, v = zip(*xy)
        ax.plot(t, [v_ if hi is None else min(v_, hi) for v_ in v], "-" if kind == "train" else "o--",
                color=colour, ms=3, lw=1 if kind == "train" else 0.8, alpha=0.6 if kind == "train" else 1.0,
                label=f"{kind} {lang.upper()}")
        if hi is not None and any(v_ > hi for v_ in v):
            ax.plot([x for x, v_ in zip(t, v) if v_ > hi], [hi] * sum(v_ > hi for v_ in v), "^", color=colour, ms=5)
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3, lw=0.5)


def training_curves(logs, path, tail=0.5):
    """logs: [(label, log.jsonl path)] -> one column per run: on top the whole run (log y), below its
    last `tail` of tokens zoomed to y_window (shared by all runs), where the curves differ."""
    runs = [(label, curve_points(read_log(log))) for label, log in logs]
    lo, hi = y_window([pts for _, pts in runs], tail)
    langs = list(dict.fromkeys(lang for _, pts in runs for _, lang in pts))
    fig, axes = plt.subplots(2, len(runs), figsize=(4.2 * len(runs), 6.0), squeeze=False, sharey="row")
    for j, (label, pts) in enumerate(runs):
        top, zoom = axes[0][j], axes[1][j]
        _curves(top, pts, langs)
        top.set_yscale("log")
        top.set_title(f"{label}: whole run", fontsize=9)
        top.legend(fontsize=7, loc="upper right")
        _curves(zoom, pts, langs, hi)
        end = max(t for xs in pts.values() for t, _ in xs)
        zoom.set_xlim(tail * end - 0.02 * end, end * 1.02)
        zoom.set_ylim(lo, hi + 0.02 * (hi - lo))
        zoom.set_title(f"last {tail:.0%} of its tokens (zoom; ^ off scale)", fontsize=8)
        zoom.set_xlabel("training tokens (M)", fontsize=8)
    for row in axes:
        row[0].set_ylabel("cross-entropy (nats/token)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description="training curves of train.py runs from their log.jsonl")
    ap.add_argument("runs", nargs="+", help="run folders (each with log.jsonl), or label=folder")
    ap.add_argument("--out", required=True, help="PNG path")
    args = ap.parse_args(argv)
    logs = []
    for spec in args.runs:
        label, _, d = spec.partition("=") if "=" in spec else (os.path.basename(os.path.normpath(spec)), "", spec)
        if not os.path.isfile(os.path.join(d, "log.jsonl")):
            raise SystemExit(f"results/plots.py: {d} has no log.jsonl; is it a train.py out_dir?")
        logs.append((label, os.path.join(d, "log.jsonl")))
    training_curves(logs, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
