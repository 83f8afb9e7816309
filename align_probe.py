"""
align_probe.py: how close are a model's EN and FR representations of the same sentence, layer by layer?

    .venv/bin/python align_probe.py out/toy/interleave                       # its corpus, val split, 500 pairs
    .venv/bin/python align_probe.py out/toy/baseline --n_pairs 1000 --split train --seed 1 --embeddings
    .venv/bin/python align_probe.py Qwen/Qwen2.5-0.5B --corpus data/enfr --device cuda

Pairs. Sentence k of `{split}_en` and of `{split}_fr` are translations (the corpus format, tokenbin.py's
docstring, guarantees it). We take --n_pairs sentence indices (a seeded choice without replacement).
Matched pairs: (EN k, FR k). Mismatched pairs, the control: (EN k, FR m) with m != k, m given by a seeded
derangement of the chosen indices (a single cycle through them in random order). Same-position control:
(EN k, FR m') with m' the sentence at the same position (sentence index within the story) in another,
randomly drawn story: it removes what sentence position alone shares (openings, endings), so matched
minus this control is closer to "same meaning" than matched minus any sentence.

Representation. Each utterance is run alone: [boundary] + its sentence tokens, where boundary is the
story-boundary token (the start-of-story context the model saw in training). Per layer i (h_i = residual
stream after block i, model(idx, return_hidden=True); with --embeddings also layer 0 = the token
embeddings, as in transformers' output_hidden_states), the utterance vector is the mean of h_i over the
sentence's own tokens, positions 1 .. len; the boundary token's position is excluded (its state is the
same for every utterance). Utterances run in length-sorted, right-padded batches; padding is masked out.

Measures, per layer and as means over layers:
    raw        mean cosine of matched pairs, of mismatched pairs, gap = matched - mismatched. The raw
               matched cosine is the paper's "mean EN-FR cosine" (0.73 -> 0.76 at 1B); it is dominated by
               a direction all vectors share, so it moves without any alignment.
    centred    the same after subtracting, per layer, each language's mean vector over its n sentences
               (JSON mean_centered_gap): only what distinguishes a sentence from the others is compared.
    retrieval  on centred vectors, by cosine: is the true FR translation the nearest of the n FR vectors
               to an EN sentence (EN->FR), and the reverse (FR->EN); ties share the credit. Chance 1/n.
    same pos.  mismatched cosine and gap against the same-position control, raw and centred.
Intervals: mean_centered_gap_ci95 and mean_retrieval_at_1_ci95 bootstrap the pairs (results/stats.py), given
the n candidates; per_pair_centered_gap / per_pair_retrieval (means over layers 1 .. L, and both ways)
let `eval_cloze.py --report` compare two models on the same pairs (pair_ids) with a paired bootstrap.
The means over layers (mean_*) use layers 1 .. L, the block outputs, never the embeddings (with
--embeddings layer 0 is only shown per layer); mean_matched over 1 .. L is the number we compare with
the paper's. Our h_L is before the final norm (transformers' last entry is after it).
Corpus: --corpus, or the one the model was trained on; it must hold the model's units (eval_cloze.py's
rules). Writes --out (default align.json next to the checkpoint; with "corpus", "corpus_dir", "units")
and a PNG beside it; an align.json of another corpus is never replaced.
"""
import argparse
import os
import sys

import numpy as np
import torch
from tqdm import tqdm

import tokenbin
from results import stats
from eval_cloze import (EXPECTED_ERRORS, NonFiniteError, autocast_ctx, check_overwrite, corpus_record,
                        default_batch_tokens, default_out, length_batches, load_for_corpus, open_corpus, pad_batch,
                        write_json)


def choose_pairs(n_sentences, n_pairs, seed=0):
    """-> (idx, other): idx sorted sentence indices (n,), other[j] != idx[j] its mismatched partner."""
    if min(n_sentences, n_pairs) < 2:  # one pair has no other sentence to mismatch with
        raise SystemExit(f"align_probe.py: error: need at least 2 pairs (--n_pairs {n_pairs}, "
                         f"{n_sentences} sentences in the split)")
    rng = np.random.default_rng(seed)
    n = min(n_pairs, n_sentences)
    idx = np.sort(rng.choice(n_sentences, size=n, replace=False))
    cycle = rng.permutation(n)                                  # visit the chosen pairs in random order
    other = np.empty(n, dtype=np.int64)
    other[cycle] = idx[np.roll(cycle, -1)]                      # each points to the next on the cycle
    return idx, other


def same_position_partners(stories, idx, seed=0):
    """stories: int64 (n_stories + 1,) first sentence of each story; idx (n,) chosen sentences -> (n,)
    for each, a sentence at the same position in another story (seeded), -1 where no other story is
    long enough."""
    story_of = np.searchsorted(stories, idx, side="right") - 1
    pos = idx - stories[story_of]
    lengths = np.diff(stories)
    rng = np.random.default_rng(seed + 1)
    by_pos, partner = {}, np.full(len(idx), -1, dtype=np.int64)
    for j, (s, p) in enumerate(zip(story_of, pos)):
        if p not in by_pos:
            by_pos[p] = np.flatnonzero(lengths > p)                     # stories that have a sentence p
        cand = by_pos[p]
        if len(cand) > 1 or (len(cand) == 1 and cand[0] != s):
            t = s
            while t == s:
                t = cand[rng.integers(len(cand))]
            partner[j] = stories[t] + p
    return partner


@torch.inference_mode()
def pooled_states(model, seqs, batch_size=64, dtype=None, progress=False, batch_tokens=0, embeddings=False):
    """seqs: 1-D int arrays, each [boundary] + sentence. -> (N, L, d) float32 (L + 1 with embeddings,
    layer 0 first): per layer, the mean of the hidden state over positions 1 .. len-1 (the boundary
    position 0 and the padding excluded)."""
    device = next(model.parameters()).device
    out = None
    for batch in tqdm(length_batches([len(s) for s in seqs], batch_size, batch_tokens), desc="hidden states",
                      disable=not progress, unit="batch", leave=False):
        idx, lens = pad_batch([seqs[i] for i in batch])
        idx = idx.to(device)
        with autocast_ctx(device, dtype):
            _, hidden = model(idx, return_hidden=True)                        # L x (B, T, d)
        if embeddings:
            hidden = [model.tok_emb(idx)] + list(hidden)
        T = idx.shape[1]
        pos = torch.arange(T)
        mask = ((pos >= 1) & (pos < lens[:, None])).to(device)               # (B, T) sentence tokens
        w = (mask / mask.sum(1, keepdim=True)).float()                        # (B, T) mean weights
        pooled = torch.stack([torch.einsum("bt,btd->bd", w, h.float()) for h in hidden], 1)  # (B, L, d)
        if out is None:
            out = torch.empty(len(seqs), *pooled.shape[1:])
        out[batch] = pooled.cpu()
    if not torch.isfinite(out).all():
        raise NonFiniteError("the model's hidden states are non-finite (NaN/inf): its weights are broken "
                             "(a diverged run?); probe an earlier checkpoint")
    return out


def retrieval_hits(A, B):
    """A, B (n, d), row i of each a translation pair -> (n,) float64: 1 where row i of B is the nearest
    row of B to row i of A by cosine, 0 where another is nearer, 1/k for a k-way tie at the top. O(n^2 d)."""
    S = torch.nn.functional.normalize(A.double(), dim=-1) @ torch.nn.functional.normalize(B.double(), dim=-1).T
    diag = S.diagonal()[:, None]                                              # (n, 1)
    return torch.where((S > diag).any(1), 0.0, 1.0 / (S == diag).sum(1))


def retrieval_at_1(A, B):
    """Share of rows of A whose nearest row of B is their own translation (retrieval_hits' mean)."""
    return float(retrieval_hits(A, B).mean())


def probe(model, corpus_dir, split="val", n_pairs=500, seed=0, batch_size=64, dtype=None, langs=None,
          progress=False, batch_tokens=0, embeddings=False):
    """Per-layer raw, centred, retrieval and same-position measures of `model` on aligned sentence
    pairs (see the module docstring); lists over layers and their means over layers 1 .. L."""
    meta = tokenbin.read_meta(corpus_dir)
    boundary = tokenbin.story_boundary_token(meta)
    sp = tokenbin.load_split(corpus_dir, split, vocab_size=meta["vocab_size"])
    if len(sp.langs) < 2:
        raise SystemExit(f"align_probe.py: error: {corpus_dir} has one language ({sp.langs}); the probe "
                         f"compares two (sentence k of each a translation). Use a bilingual corpus.")
    if not sp.paired:  # sentence k of each language is not a translation: there are no pairs
        raise SystemExit(f"align_probe.py: error: {corpus_dir} is unpaired (meta.json \"paired\": false): its "
                         f"languages are not sentence translations of each other, so there are no EN-FR "
                         f"pairs to compare. Probe a paired corpus.")
    a, b = langs or sp.langs[:2]
    if a not in sp.langs or b not in sp.langs:
        raise SystemExit(f"align_probe.py: error: {corpus_dir} has languages {sp.langs}, not {a} and {b}")
    idx, other = choose_pairs(sp.n_sentences, n_pairs, seed)
    same = same_position_partners(sp.stories, idx, seed)
    has_same = same >= 0
    head = np.array([boundary], dtype=np.int64)
    sents = [(a, k) for k in idx] + [(b, k) for k in idx] + [(b, k) for k in same[has_same]]
    seqs = [np.concatenate([head, np.asarray(sp.sentence(lang, int(k)), dtype=np.int64)]) for lang, k in sents]
    if min(len(s) for s in seqs) < 2:
        raise SystemExit(f"align_probe.py: error: {corpus_dir} {split} has an empty sentence; check the corpus")
    H = pooled_states(model, seqs, batch_size, dtype, progress, batch_tokens, embeddings)  # (2n + n_same, L, d)
    n = len(idx)
    ha, hb, hs = H[:n], H[n:2 * n], H[2 * n:]
    pos = {int(k): j for j, k in enumerate(idx)}
    hb_other = hb[[pos[int(m)] for m in other]]                               # FR of the partner sentence
    mu_a, mu_b = ha.mean(0), hb.mean(0)                                       # (L, d) per-language means
    cos = lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim=-1).double().mean(0)  # (L,)
    first = 1 if embeddings else 0                                            # means skip layer 0
    res = {"corpus": corpus_dir, "split": split, "langs": [a, b], "n_pairs": n, "seed": seed,
           "pooling": "mean over the sentence tokens of each layer's residual stream; boundary token excluded",
           "embeddings": embeddings, "layers": list(range(H.shape[1])) if embeddings else list(range(1, H.shape[1] + 1)),
           "mean_layers": f"1..{H.shape[1] - first} (block outputs; embeddings excluded)",
           "chance": 1.0 / n, "n_same_position": int(has_same.sum())}
    ca, cb = ha - mu_a, hb - mu_b
    curves = {
        "matched": cos(ha, hb), "mismatched": cos(ha, hb_other), "same_position_mismatched": cos(ha[has_same], hs),
        "centered_matched": cos(ca, cb), "centered_mismatched": cos(ca, cb[[pos[int(m)] for m in other]]),
        "centered_same_position_mismatched": cos(ca[has_same], hs - mu_b)}
    for pre, (x, y) in (("", (ha, hb)), ("centered_", (ca, cb))):
        curves[pre + "gap"] = curves[pre + "matched"] - curves[pre + "mismatched"]
        # matched over the same pairs as the control (pairs with no same-position partner left out)
        curves[pre + "same_position_gap"] = cos(x[has_same], y[has_same]) - curves[pre + "same_position_mismatched"]
    for key, v in curves.items():
        res[key] = v.tolist()
        res["mean_" + key] = float(v[first:].mean())
    res["matched_std"] = torch.nn.functional.cosine_similarity(ha, hb, dim=-1).std(0).tolist()
    res["mismatched_std"] = torch.nn.functional.cosine_similarity(ha, hb_other, dim=-1).std(0).tolist()
    dev = next(model.parameters()).device                                     # n^2 d per layer: on the GPU if any
    hits = torch.stack([torch.stack([retrieval_hits(x[:, l].to(dev), y[:, l].to(dev)).cpu()
                                     for l in range(H.shape[1])], 1)
                        for x, y in ((ca, cb), (cb, ca))])                    # (2 ways, n, L) pair i's queries
    res["retrieval_at_1"] = {f"{a}->{b}": hits[0].mean(0).tolist(), f"{b}->{a}": hits[1].mean(0).tolist()}
    res["mean_retrieval_at_1"] = float(hits[:, :, first:].mean())
    # per pair, averaged over layers 1..L (and both ways): the means above are their means, so two models
    # probed on the same pairs (same corpus, split, n_pairs, seed: pair_ids) can be compared pair by pair
    cpair = lambda x, y: torch.nn.functional.cosine_similarity(x, y, dim=-1).double()[:, first:].mean(1)
    for key, mean_key, v in (("centered_gap", "mean_centered_gap",
                              cpair(ca, cb) - cpair(ca, cb[[pos[int(m)] for m in other]])),
                             ("retrieval", "mean_retrieval_at_1", hits[:, :, first:].mean((0, 2)))):
        res[f"per_pair_{key}"] = v.tolist()
        res[f"{mean_key}_ci95"] = stats.bootstrap_ci(v.numpy())
    res["pair_ids"] = idx.tolist()
    return res


def plot(res, path, title=""):
    """Raw and centred curves by layer (left), retrieval@1 both ways against chance (right)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    a, b = (x.upper() for x in res["langs"])
    L = res["layers"]
    ax.plot(L, res["matched"], "-o", ms=3, color="C0", label=f"raw matched {a}-{b}")
    ax.plot(L, res["mismatched"], "--", color="C0", label="raw mismatched")
    ax.plot(L, res["gap"], "-^", ms=3, color="C1", label="raw gap")
    ax.plot(L, res["centered_gap"], "-s", ms=3, color="C2", label="centred gap")
    ax.plot(L, res["centered_same_position_gap"], ":", color="C2", label="centred gap, same-position control")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("cosine of mean-pooled hidden states")
    for k, (way, v) in enumerate(res["retrieval_at_1"].items()):
        ax2.plot(L, v, "-o", ms=3, color=f"C{3 + k}", label=way.upper().replace("->", " -> "))
    ax2.axhline(res["chance"], color="grey", lw=0.7, ls=":", label=f"chance 1/{res['n_pairs']}")
    ax2.set_ylabel("retrieval@1 (centred, cosine)")
    for x in (ax, ax2):
        x.set_xlabel("layer" + (" (0 = embeddings)" if res.get("embeddings") else ""))
        x.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        x.legend(fontsize=7)
    fig.suptitle(title or f"{res['n_pairs']} {res['split']} pairs", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def format_table(res):
    ways = list(res["retrieval_at_1"])
    lines = [f"{res['n_pairs']} {res['split']} pairs ({'/'.join(res['langs'])}); {res['pooling']}",
             f"raw: matched / mismatched cosine; centred: per-language mean removed; same-pos: gap over the "
             f"same-position control ({res['n_same_position']} pairs); retrieval@1 chance {res['chance']:.4f}",
             f"{'layer':>5} {'matched':>8} {'mismat.':>8} {'gap':>7} {'c.gap':>7} {'c.same-pos':>10} "
             + " ".join(f"{w:>8}" for w in ways)]
    for i, l in enumerate(res["layers"]):
        lines.append(f"{l:5d} {res['matched'][i]:8.4f} {res['mismatched'][i]:8.4f} {res['gap'][i]:7.4f} "
                     f"{res['centered_gap'][i]:7.4f} {res['centered_same_position_gap'][i]:10.4f} "
                     + " ".join(f"{res['retrieval_at_1'][w][i]:8.4f}" for w in ways))
    lines.append(f"{'mean':>5} {res['mean_matched']:8.4f} {res['mean_mismatched']:8.4f} {res['mean_gap']:7.4f} "
                 f"{res['mean_centered_gap']:7.4f} {res['mean_centered_same_position_gap']:10.4f} "
                 f"{res['mean_retrieval_at_1']:8.4f} (both ways)   means over {res['mean_layers']}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="align_probe.py", description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("spec", help="model: a run's out_dir or its ckpt/, HF folder or id")
    ap.add_argument("--corpus", default=None, help="a paired corpus (default: the one the model was trained "
                    "on, as eval_cloze.py; it must hold the model's units)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--langs", nargs=2, default=None, help="the two languages (default: meta order)")
    ap.add_argument("--n_pairs", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--batch_tokens", type=int, default=None, help="max padded tokens per batch, 0: no cap "
                    "(default: eval_cloze.py's, small on CPU, none on CUDA)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"),
                    help="autocast dtype; auto: bfloat16 on CUDA, float32 on CPU")
    ap.add_argument("--embeddings", action="store_true", help="also the token embeddings, as layer 0 "
                    "(shown per layer, not in the means)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads, 0: torch's default. 1 because "
                    "a small model's ops are too small to split, and with other jobs on the cores threads stall")
    ap.add_argument("--out", default=None, help="JSON path (default: align.json beside the checkpoint); "
                    "the PNG goes beside it")
    args = ap.parse_args(argv)
    try:
        run(args)
    except EXPECTED_ERRORS as e:     # bad input: one clean line, exit 1, as train.py
        print(f"align_probe.py: error: {e}", file=sys.stderr)
        sys.exit(1)


def run(args):
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus, meta = open_corpus(args.spec, args.corpus, args.device)
    out = args.out or default_out(args.spec, "align.json")
    check_overwrite(out, corpus)  # never replaces a probe of another corpus (eval_cloze.py's rule)
    model = load_for_corpus(args.spec, meta, args.device)
    res = probe(model, corpus, args.split, args.n_pairs, args.seed, args.batch_size, args.dtype,
                args.langs, progress=True, batch_tokens=default_batch_tokens(args.device, args.batch_tokens),
                embeddings=args.embeddings)
    res.update(corpus_record(corpus, meta), checkpoint=args.spec)
    print(format_table(res))
    write_json(out, res)
    png = os.path.splitext(out)[0] + ".png"
    plot(res, png, title=f"{args.spec}: {res['n_pairs']} {args.split} pairs")
    print(f"wrote {out} and {png}")


if __name__ == "__main__":
    main(sys.argv[1:])
