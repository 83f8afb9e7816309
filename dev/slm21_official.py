"""
dev/slm21_official.py: crosstalk's sLM21 scores next to the official scorer's (zerospeech-benchmarks), on
the same per-file scores.

    .venv/bin/python -m dev.slm21_official submit out/slm21_check     # a synthetic release, a random Mimi and model
    .venv/bin/python -m dev.slm21_official submit out/slm21_check --root /data/zerospeech2021 \
        --model out/paper_360m_finetune --mimi_weights /models/mimi.safetensors --device cuda
    python3 -m venv /tmp/zsb && /tmp/zsb/bin/pip install zerospeech-benchmarks "pandas==2.0.3" "numpy<2"
    /tmp/zsb/bin/python dev/slm21_official.py official out/slm21_check  # in the official scorer's own Python

submit: audio/slm21.py -> tokenize_audio.py -> eval_cloze.py (scoring mean) on the dev split, then
  {out}/crosstalk.json (swuggy_en, swuggyiv_en, sblimp_en: accuracy, n of N) and the official
  submission files {out}/submission/{lexical,syntactic}/dev.txt ("<filename> <score>" per wav, the
  score the mean log-likelihood eval_cloze.py's `mean` gives the file after the boundary token).
  Without --root it writes audio/slm21.py's synthetic release into {out}/release.
official: runs the official lexical and syntactic evaluation on those files (its own functions; the
  in-vocab score as its leaderboard computes it: the frequency bands but 'oov', weighted by their pair
  counts) and prints both. It imports only the official package, so it runs in that package's own
  environment, kept apart from .venv (its code reads columns by position and was written for pandas <
  2.2; it fetches an index from the network at import unless $HOME/zr-data/repo.json exists and is more
  than 7 days old: `official` says how to lay one down when it is missing).
Exit status 1 when a score differs by more than 1e-9, or a set is incomplete (no official number then).
"""
import argparse
import json
import os
import sys

SETS = {"lexical": ("swuggy_en", "swuggyiv_en"), "syntactic": ("sblimp_en",)}


def submit(args):
    import numpy as np
    import torch
    import eval_cloze
    import tokenbin
    import tokenize_audio
    from audio import slm21
    from audio.demo import random_mimi
    out = args.out
    root = args.root or slm21.write_demo(os.path.join(out, "release"))
    manifest, corpus = os.path.join(out, "bench.jsonl"), os.path.join(out, "corpus")
    slm21.main([root, "--split", "dev", "--out", manifest])
    mimi = args.mimi_weights or str(random_mimi(os.path.join(out, "mimi_random.safetensors")))
    tokenize_audio.main(["--bench_manifest", manifest, "--out_dir", corpus, "--mimi_weights", mimi,
                         "--device", args.device])
    meta = tokenbin.read_meta(corpus)
    if args.model:
        model = eval_cloze.load_for_corpus(args.model, meta, args.device)
    else:  # a random tiny model: the scores are noise, but the same noise for both scorers
        from model import Decoder, ModelConfig
        torch.manual_seed(0)
        model = Decoder(ModelConfig.preset("tiny", vocab_size=tokenbin.model_vocab_size(meta))).to(args.device).eval()
    dtype = eval_cloze.resolve_dtype(args.device, "auto")
    results = eval_cloze.evaluate_all(model, corpus, dtype=dtype)["mean"]
    record = {name: {k: results[name].get(k) for k in ("accuracy", "n", "n_total", "n_groups", "n_groups_total",
                                                       "complete")} for names in SETS.values() for name in names}
    with open(os.path.join(out, "crosstalk.json"), "w") as f:
        json.dump(dict(root=os.path.abspath(root), results=record), f, indent=1)
    lines = [json.loads(line) for line in open(manifest)]
    boundary = np.array([tokenbin.story_boundary_token(meta)])
    for task, (name, *_) in SETS.items():
        if not results[name].get("complete"):
            raise SystemExit(f"dev/slm21_official.py: {name} is incomplete ({results[name].get('n')} of "
                             f"{results[name].get('n_total')} items): the official scorer needs every file")
        tokens, items = tokenbin.load_bench(corpus, name)
        files, seqs = [], []
        for line, (_, _, g0, g1, b0, b1) in zip([x for x in lines if x["name"] == name], items):
            for path, (s, e) in ((line["good"], (g0, g1)), (line["bad"], (b0, b1))):
                files.append(os.path.splitext(os.path.basename(path))[0])
                seqs.append(np.r_[boundary, np.asarray(tokens[s:e], dtype=np.int64)])
        scores = eval_cloze.score_sequences(model, seqs, "mean", dtype=dtype)
        path = os.path.join(out, "submission", task, "dev.txt")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.writelines(f"{name} {score!r}\n" for name, score in dict(zip(files, scores.tolist())).items())
    print(f"wrote {out}/crosstalk.json and {out}/submission/{{lexical,syntactic}}/dev.txt; next, with the "
          f"official scorer's Python: dev/slm21_official.py official {out}")


def official(args):
    index = os.path.join(os.path.expanduser("~"), "zr-data", "repo.json")
    if not os.path.isfile(index):
        raise SystemExit(f"dev/slm21_official.py: {index} missing: the official package would fetch it at import. "
                         f"Offline: mkdir -p {os.path.dirname(index)}; echo '{{}}' > {index}; "
                         f"touch -d 2020-01-01 {index}")
    from pathlib import Path
    import numpy as np
    from zerospeech.tasks.lm.lexical import LexicalTask
    from zerospeech.tasks.lm.syntactic import SyntacticTask
    ours = json.load(open(os.path.join(args.out, "crosstalk.json")))
    root, sub = Path(ours["root"]), Path(args.out) / "submission"
    by_pair, by_frequency, _ = LexicalTask(quiet=True).run_lexical_eval(sub / "lexical" / "dev.txt",
                                                                        root / "lexical" / "dev" / "gold.csv")
    bands = by_frequency[by_frequency["frequency"] != "oov"]
    theirs = {"swuggy_en": by_pair["score"].mean(),
              "swuggyiv_en": np.average(bands["score"].to_numpy(), weights=bands["n"].to_numpy())}
    syn_pair, _ = SyntacticTask(quiet=True).run_syntactic_comparison(root / "syntactic" / "dev" / "gold.csv",
                                                                     sub / "syntactic" / "dev.txt")
    theirs["sblimp_en"] = syn_pair["score"].mean()
    bad = 0
    print(f"{'set':12} {'crosstalk':>10} {'official':>10}  pairs")
    for name, score in theirs.items():
        r = ours["results"][name]
        same = abs(r["accuracy"] - score) <= 1e-9 and r["complete"]
        bad += not same
        print(f"{name:12} {r['accuracy']:10.6f} {score:10.6f}  {r['n_groups']} of {r['n_groups_total']}"
              f"{'' if same else '   DIFFERENT'}")
    sys.exit(1 if bad else 0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=("submit", "official"))
    ap.add_argument("out", help="working folder: release/ (synthetic), corpus/, submission/, crosstalk.json")
    ap.add_argument("--root", default=None, help="submit: an sLM21 release (default: write a synthetic one)")
    ap.add_argument("--model", default=None, help="submit: a model spec for eval_cloze.py (default: random tiny)")
    ap.add_argument("--mimi_weights", default=None, help="submit: Mimi weights (default: random, audio/demo.py)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    (submit if args.mode == "submit" else official)(args)


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1:])
