"""
align_probe.py: how close are a model's EN and FR representations of the same sentence, layer by layer?

    python align_probe.py out/toy_interleave                       # data/toy_enfr, val split, 500 pairs
    python align_probe.py out/toy_baseline --n_pairs 1000 --split train --seed 1
    python align_probe.py Qwen/Qwen2.5-0.5B --corpus data/enfr --device cuda

Pairs. Sentence k of `{split}_en` and of `{split}_fr` are translations (the corpus format guarantees it).
We take --n_pairs sentence indices (a seeded choice without replacement). Matched pairs: (EN k, FR k).
Mismatched pairs, the control: (EN k, FR m) with m != k, m given by a seeded derangement of the chosen
indices (a single cycle through them in random order, so no sentence is paired with itself).

Representation. Each utterance is run alone: [boundary] + its sentence tokens, where boundary is the
story-boundary token (the start-of-story context the model saw in training; see CONTRACT.md). Per layer
i (h_i = residual stream after block i, model(idx, return_hidden=True)), the utterance vector is the mean
of h_i over the sentence's own tokens, positions 1 .. len; the boundary token's position is excluded
(its state is the same for every utterance and would pull all vectors together). Utterances are run in
length-sorted, right-padded batches; padding is masked out of the mean (and, attention being causal,
cannot change the real positions).

Per layer: mean cosine over matched pairs, over mismatched pairs, and the gap (matched - mismatched).
A cosine alone says little (all vectors of a layer share a common direction); the gap is the signal.
Writes --out (default align.json next to the checkpoint) with per-layer arrays and the mean over
layers (mean_matched is the number comparable to the paper's "mean EN-FR cosine"), and a PNG beside it.
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
from tqdm import tqdm

import tokenbin
from eval_cloze import (autocast_ctx, default_batch_tokens, default_out, length_batches, load_for_corpus,
                        pad_batch)


def choose_pairs(n_sentences, n_pairs, seed=0):
    """-> (idx, other): idx sorted sentence indices (n,), other[j] != idx[j] its mismatched partner."""
    if min(n_sentences, n_pairs) < 2:  # one pair has no other sentence to mismatch with
        raise SystemExit(f"align_probe.py: need at least 2 pairs (--n_pairs {n_pairs}, "
                         f"{n_sentences} sentences in the split)")
    rng = np.random.default_rng(seed)
    n = min(n_pairs, n_sentences)
    idx = np.sort(rng.choice(n_sentences, size=n, replace=False))
    cycle = rng.permutation(n)                                  # visit the chosen pairs in random order
    other = np.empty(n, dtype=np.int64)
    other[cycle] = idx[np.roll(cycle, -1)]                      # each points to the next on the cycle
    return idx, other


@torch.inference_mode()
def pooled_states(model, seqs, batch_size=64, dtype=None, progress=False, batch_tokens=0):
    """seqs: 1-D int arrays, each [boundary] + sentence. -> (N, L, d) float32: per layer, the mean of
    the hidden state over positions 1 .. len-1 (the boundary position 0 and the padding excluded)."""
    device = next(model.parameters()).device
    out = None
    for batch in tqdm(length_batches([len(s) for s in seqs], batch_size, batch_tokens), desc="hidden states",
                      disable=not progress, unit="batch", leave=False):
        idx, lens = pad_batch([seqs[i] for i in batch])
        with autocast_ctx(device, dtype):
            _, hidden = model(idx.to(device), return_hidden=True)             # L x (B, T, d)
        T = idx.shape[1]
        pos = torch.arange(T)
        mask = ((pos >= 1) & (pos < lens[:, None])).to(device)               # (B, T) sentence tokens
        w = (mask / mask.sum(1, keepdim=True)).float()                        # (B, T) mean weights
        pooled = torch.stack([torch.einsum("bt,btd->bd", w, h.float()) for h in hidden], 1)  # (B, L, d)
        if out is None:
            out = torch.empty(len(seqs), *pooled.shape[1:])
        out[batch] = pooled.cpu()
    return out


def probe(model, corpus_dir, split="val", n_pairs=500, seed=0, batch_size=64, dtype=None, langs=None,
          progress=False, batch_tokens=0):
    """Per-layer matched / mismatched cosine of `model` on aligned sentence pairs. Returns a dict with
    lists over layers ("layers", "matched", "mismatched", "gap", "matched_std", "mismatched_std") and
    their means over layers ("mean_matched", "mean_mismatched", "mean_gap")."""
    meta = tokenbin.read_meta(corpus_dir)
    boundary = tokenbin.story_boundary_token(meta)
    sp = tokenbin.load_split(corpus_dir, split, vocab_size=meta["vocab_size"])
    a, b = langs or sp.langs[:2]
    if a not in sp.langs or b not in sp.langs:
        raise SystemExit(f"align_probe.py: {corpus_dir} has languages {sp.langs}, not {a} and {b}")
    idx, other = choose_pairs(sp.n_sentences, n_pairs, seed)
    head = np.array([boundary], dtype=np.int64)
    seqs = [np.concatenate([head, np.asarray(sp.sentence(lang, int(k)), dtype=np.int64)])
            for lang in (a, b) for k in idx]                                   # [a_0..a_n-1, b_0..b_n-1]
    if min(len(s) for s in seqs) < 2:
        raise SystemExit(f"align_probe.py: {corpus_dir} {split} has an empty sentence; check the corpus")
    H = pooled_states(model, seqs, batch_size, dtype, progress, batch_tokens)  # (2n, L, d)
    n = len(idx)
    ha, hb = H[:n], H[n:]
    pos = {int(k): j for j, k in enumerate(idx)}
    hb_other = hb[[pos[int(m)] for m in other]]                               # FR of the partner sentence
    matched = torch.nn.functional.cosine_similarity(ha, hb, dim=-1).double()         # (n, L)
    mismatched = torch.nn.functional.cosine_similarity(ha, hb_other, dim=-1).double()  # (n, L)
    m, mm = matched.mean(0), mismatched.mean(0)
    return {
        "corpus": corpus_dir, "split": split, "langs": [a, b], "n_pairs": n, "seed": seed,
        "pooling": "mean over the sentence tokens of each layer's residual stream; boundary token excluded",
        "layers": list(range(1, H.shape[1] + 1)),
        "matched": m.tolist(), "mismatched": mm.tolist(), "gap": (m - mm).tolist(),
        "matched_std": matched.std(0).tolist(), "mismatched_std": mismatched.std(0).tolist(),
        "mean_matched": float(m.mean()), "mean_mismatched": float(mm.mean()), "mean_gap": float((m - mm).mean()),
    }


def plot(res, path, title=""):
    """The three curves by layer."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, ax = plt.subplots(figsize=(6, 4))
    a, b = (x.upper() for x in res["langs"])
    ax.plot(res["layers"], res["matched"], "-o", ms=3, label=f"matched {a}-{b}")
    ax.plot(res["layers"], res["mismatched"], "-s", ms=3, label="mismatched (control)")
    ax.plot(res["layers"], res["gap"], "-^", ms=3, label="gap")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_xlabel("layer")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("cosine of mean-pooled hidden states")
    ax.set_title(title or f"{res['n_pairs']} {res['split']} pairs", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def format_table(res):
    lines = [f"{res['n_pairs']} {res['split']} pairs ({'/'.join(res['langs'])}); {res['pooling']}",
             f"{'layer':>5} {'matched':>9} {'mismatched':>11} {'gap':>8}"]
    for l, m, mm, g in zip(res["layers"], res["matched"], res["mismatched"], res["gap"]):
        lines.append(f"{l:5d} {m:9.4f} {mm:11.4f} {g:8.4f}")
    lines.append(f"{'mean':>5} {res['mean_matched']:9.4f} {res['mean_mismatched']:11.4f} {res['mean_gap']:8.4f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="model: ckpt.pt, out_dir, HF folder or id")
    ap.add_argument("--corpus", default="data/toy_enfr")
    ap.add_argument("--split", default="val")
    ap.add_argument("--langs", nargs=2, default=None, help="the two languages (default: meta order)")
    ap.add_argument("--n_pairs", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--batch_tokens", type=int, default=None, help="max padded tokens per batch, 0: no cap "
                    "(default: eval_cloze.py's, small on CPU, none on CUDA)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16", "float16"))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads, 0: torch's default. 1 because "
                    "a small model's ops are too small to split, and with other jobs on the cores threads stall "
                    "(toy suite, 2 shared cores: 41 s with 1 thread, 291 s with 2)")
    ap.add_argument("--out", default=None, help="JSON path (default: align.json beside the checkpoint); "
                    "the PNG goes beside it")
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    meta = tokenbin.read_meta(args.corpus)
    model = load_for_corpus(args.spec, meta, args.device)
    res = probe(model, args.corpus, args.split, args.n_pairs, args.seed, args.batch_size, args.dtype,
                args.langs, progress=True, batch_tokens=default_batch_tokens(args.device, args.batch_tokens))
    res["checkpoint"] = args.spec
    print(format_table(res))
    out = args.out or default_out(args.spec, "align.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        json.dump(res, f, indent=1)
    os.replace(tmp, out)
    png = os.path.splitext(out)[0] + ".png"
    plot(res, png, title=f"{args.spec}: {res['n_pairs']} {args.split} pairs")
    print(f"wrote {out} and {png}")


if __name__ == "__main__":
    main(sys.argv[1:])
