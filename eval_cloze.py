"""
eval_cloze.py: spoken cloze accuracy (sSC, sTC in EN, FR, EN>FR, FR>EN, plus any minimal-pair set)
of a model on the bench sets of a corpus, and the results table of several models.

    .venv/bin/python eval_cloze.py out/toy/interleave                          # every bench set of its corpus
    .venv/bin/python eval_cloze.py out/toy/interleave/ckpt --sets ssc_en-fr stc_en-fr --scoring sum
    .venv/bin/python eval_cloze.py Qwen/Qwen2.5-0.5B --corpus data/enfr --device cuda   # bf16 autocast, fp32 head
    .venv/bin/python eval_cloze.py --report out/toy/report.md baseline=out/toy/baseline \
        interleave=out/toy/interleave ft=out/toy/finetune

What is scored. Each item of a set `bench/{task}_{direction}` gives two sequences,
    good = [boundary] + prompt + good_ending      bad = [boundary] + prompt + bad_ending
where `boundary` is the story-boundary token (tokenbin.story_boundary_token(meta)): the model saw one
before every story in training, so it is the "start of story" context here. It is input only, never a
target. In a sequence s of length T, every token after it, s[1] .. s[T-1], is a target predicted from
its prefix: log p(s[t] | s[:t]) for t = 1 .. T-1 (the prompt tokens as well as the ending tokens). The
model wins an item when the good sequence scores higher than the bad one; an exact tie counts 0.5.

Scoring conventions (all three come from one pass: the per-token log-probs are shared):
    mean    mean log p(s[t] | s[:t]) over t = 1 .. T-1, i.e. minus the mean NLL of the whole sequence
            (prompt + ending); slamkit's convention, the default. With a shared prompt, a longer ending
            dilutes the prompt's share, so this is not the same ranking as `sum`.
    sum     summed log p over t = 1 .. T-1 (whole-sequence log-likelihood; favours shorter endings).
    ending  mean log p over the ending tokens only, t = 1 + len(prompt) .. T-1 (conditioned on the
            prompt). For a set with an empty prompt it equals `mean`.

Batching: the sequences of all sets are deduplicated (identical sequences are scored once, so a tie is
an exact tie, and sTC's good sequences, the same as sSC's, cost nothing), sorted by length, cut into
batches of at most --batch_size sequences and --batch_tokens padded tokens (default 512 on CPU, no cap
on CUDA), and right-padded. Attention is causal, so padding after a sequence cannot change its
positions, and padded positions are masked out of every score (per-token log-probs are gathered,
then only each sequence's own positions are kept and reduced).

Precision (--dtype auto): bf16 autocast on CUDA (SDPA's fused GQA kernels need bf16/fp16; in fp32 it
falls back to the slow math kernel), plain float32 on CPU. The final norm, the head and the log-softmax
run in fp32 (--no-fp32_head to see why: bf16 logits move log-probs by a few hundredths of a nat,
enough to flip close items; docs/LOG.md has the counts). --compile: torch.compile with dynamic shapes
(batch and time symbolic), so sequences of new lengths reuse one graph instead of recompiling per
length; its first pass pays the compilation, worth it on a GPU or a large suite, not on the toy.

Corpus: --corpus, or by default the one the model was trained on (its checkpoint records it; an
export_hf.py folder too; an HF text model needs --corpus). It must hold the model's units (the same
tokenizer: tokenbin.py's "units"), else a clear error: scores of other units mean nothing.

Output: a table like the paper's, and one JSON per convention, cloze_{mean,sum,ending}.json next to
the checkpoint (--out_dir to put them elsewhere; --out FILE writes only --scoring's). A file that holds
results on another corpus directory is never replaced: the run stops before scoring and asks for
--out_dir (or --out):
    {"scoring", "checkpoint", "corpus", "corpus_dir" (absolute), "units", "dtype", "fp32_head",
     "results": {set: {"accuracy", "n", "ci95": [lo, hi], "ci95_method", "per_item": [1 | 0.5 | 0, ...],
                       "bench_sha1", and for a set with bench/{set}.groups.npy: "n_groups", "groups",
                       "pair_accuracy" (the plain item mean; no interval, its items are correlated);
                       for a set with bench/{set}.total.npy: "n_total", "n_groups_total", "complete"}}}
accuracy and ci95 are fractions (0.5, not 50); intervals as results/stats.py says (Wilson over items; with
groups, sLM21's mean over groups of the within-group accuracy, bootstrap over groups). A set that lost
items to clips tokenization skipped ("complete": false) is printed and reported as n of N, never as a
bare number: it is not the set's score (the corpus's skipped.jsonl lists the clips).
`--wandb` also logs the accuracies (cloze/{scoring}/{set}, with ci95_lo and ci95_hi) to wandb, into the
training run's own wandb run when it was tracked (training/track.py).
`--report MD label=run ...` (results/report.py): the table of several runs, each against the first as a paired
difference with its 95% interval under each convention, a verdict table, and figures.
"""
import argparse
import json
import os
import hashlib
import sys
import time

import numpy as np
import torch
from tqdm import tqdm

import tokenbin
from results import stats
from results.names import DIRECTIONS, SCORING_HELP, SCORINGS, TASKS
from training import track
from training.checkpoint import CheckpointError
from training.corpus import CorpusError, model_corpus
from training.cpu_malloc import keep_freed_memory


class EvalError(ValueError):
    """A model, corpus or setting the evaluation cannot use; the message says what to do."""


class NonFiniteError(ValueError):
    """The model produced NaN/inf scores: a broken checkpoint, never an accuracy."""


# what eval_cloze.py and align_probe.py report as one line `<script>: error: ...` (anything else is a bug)
EXPECTED_ERRORS = (EvalError, NonFiniteError, CorpusError, CheckpointError, tokenbin.FormatError)

# ----------------------------------------------------------------------------- model loading

def load_for_corpus(spec, meta, device="cpu"):
    """Load a model spec (checkpoint / out_dir / HF folder or id) ready to read this corpus's tokens.
    An HF body gets a fresh embedding of the corpus vocabulary (units + boundary token); a checkpoint's
    vocabulary is checked against it (a model trained on another corpus is a clear error)."""
    from model import load_model
    if torch.device(device).type == "cpu":
        keep_freed_memory()  # training/cpu_malloc.py: no kernel round trip for each batch's logits
    try:
        model = load_model(spec, vocab_size=tokenbin.model_vocab_size(meta), map_location="cpu")
    except (ValueError, FileNotFoundError) as e:
        raise EvalError(f"cannot evaluate {spec} on this corpus: {e}") from None
    return model.to(device).eval()


def open_corpus(spec, corpus, device):
    """The corpus to score spec on (--corpus, else the model's own), checked to hold the model's units
    (training/corpus.py), and the device checked -> (corpus_dir, meta)."""
    if torch.device(device).type == "cuda" and not torch.cuda.is_available():
        raise EvalError(f"--device {device}: this machine has no CUDA device; use --device cpu")
    return model_corpus(spec, corpus)


def corpus_record(corpus, meta):
    """What a result file records of its corpus: the path as given, the absolute one and its units."""
    return {"corpus": corpus, "corpus_dir": os.path.abspath(corpus), "units": tokenbin.unit_identity(meta)}


def check_overwrite(path, corpus):
    """A result never replaces one computed on another corpus: CorpusError if path holds results of
    another corpus directory (a file written before corpus_dir was recorded: its "corpus" path)."""
    try:
        with open(path) as f:
            old = json.load(f)
        was = os.path.abspath(old.get("corpus_dir") or old["corpus"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return  # nothing there, or nothing that names a corpus
    if was != os.path.abspath(corpus):
        raise CorpusError(f"{path} holds results on {was}; these are on {os.path.abspath(corpus)} and would "
                          f"replace them. Give --out_dir (or --out) for these, or remove that file.")


def default_out(spec, name):
    """cloze_<scoring>.json / align.json next to a train.py checkpoint (the run's out_dir); for an HF
    folder or id, out/eval/<its name>/ (not inside someone's model folder)."""
    from training.checkpoint import CKPT, is_checkpoint
    if is_checkpoint(spec):  # an out_dir, or its ckpt/ directory
        run = spec if os.path.isdir(os.path.join(spec, CKPT)) else os.path.dirname(os.path.abspath(spec))
        return os.path.join(run, name)
    tag = os.path.basename(os.path.normpath(spec)) if os.path.isdir(spec) else spec.replace("/", "__")
    return os.path.join("out", "eval", tag, name)


# ----------------------------------------------------------------------------- scoring

def length_batches(lengths, batch_size, batch_tokens=0):
    """Indices sorted by length (longest first, so memory trouble shows at once), cut into batches of
    <= batch_size sequences and, if batch_tokens > 0, <= batch_tokens padded tokens."""
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, cur = [], []
    for i in order:
        width = lengths[cur[0]] if cur else lengths[i]                  # longest in the batch = first
        if cur and (len(cur) >= batch_size or (batch_tokens and (len(cur) + 1) * width > batch_tokens)):
            batches.append(cur)
            cur = []
        cur.append(int(i))
    if cur:
        batches.append(cur)
    return batches


# On CPU a batch pays off only while its (B, T, vocab) logits stay in the cache (docs/LOG.md); GPUs want
# big batches
CPU_BATCH_TOKENS = 512


def default_batch_tokens(device, batch_tokens=None):
    if batch_tokens is not None:
        return batch_tokens
    return 0 if str(device).startswith("cuda") else CPU_BATCH_TOKENS


def pad_batch(seqs, pad=0):
    """Right-pad a list of 1-D int arrays into (B, T) long, with their lengths (B,)."""
    lens = torch.tensor([len(s) for s in seqs])
    idx = torch.full((len(seqs), int(lens.max())), pad, dtype=torch.long)
    for b, s in enumerate(seqs):
        idx[b, :len(s)] = torch.as_tensor(np.asarray(s, dtype=np.int64))
    return idx, lens


def resolve_dtype(device, dtype):
    """'auto' -> bfloat16 on CUDA, float32 elsewhere; None -> float32; anything else as given."""
    if dtype == "auto":
        return "bfloat16" if torch.device(device).type == "cuda" else "float32"
    return dtype or "float32"


def autocast_ctx(device, dtype):
    """bf16/fp16 autocast where asked for, else a no-op (float32 weights and math)."""
    dtype = resolve_dtype(device, dtype)
    if dtype == "float32":
        return torch.autocast(device_type=torch.device(device).type, enabled=False)
    return torch.autocast(device_type=torch.device(device).type, dtype=getattr(torch, dtype))


def compile_for_eval(model, backend="inductor"):
    """torch.compile with batch and time symbolic (dynamic=True): new lengths reuse the graph."""
    return torch.compile(model, dynamic=True, backend=backend)


@torch.inference_mode()
def token_logprobs(model, seqs, batch_size=64, batch_tokens=0, dtype=None, progress=False, desc="score",
                   fp32_head=True):
    """Per-token log-probabilities: for each sequence s (T tokens) an array (T-1,) float64 whose entry
    t-1 is log p(s[t] | s[:t]). Identical sequences are run once. fp32_head: the final norm, head and
    log-softmax in fp32 even under autocast."""
    device = next(model.parameters()).device
    keys, uniq, where = {}, [], []
    for s in seqs:
        k = np.asarray(s, dtype=np.int64).tobytes()
        if k not in keys:
            keys[k] = len(uniq)
            uniq.append(np.asarray(s, dtype=np.int64))
        where.append(keys[k])
    if any(len(s) < 2 for s in uniq):
        raise ValueError("eval_cloze.py: every sequence needs the boundary token and at least one token")
    out = [None] * len(uniq)
    batches = length_batches([len(s) for s in uniq], batch_size, batch_tokens)
    for batch in tqdm(batches, desc=desc, disable=not progress, unit="batch", leave=False):
        idx, lens = pad_batch([uniq[i] for i in batch])
        idx = idx.to(device)
        with autocast_ctx(device, dtype):
            logits = model(idx[:, :-1], fp32_head=fp32_head)                  # (B, T-1, V)
        logits = logits.float()
        tgt = idx[:, 1:]                                                       # (B, T-1)
        lp = logits.gather(-1, tgt.unsqueeze(-1)).squeeze(-1) - logits.logsumexp(-1)   # (B, T-1)
        lp = lp.double().cpu().numpy()
        for b, i in enumerate(batch):
            out[i] = lp[b, :int(lens[b]) - 1]                                  # drop the padded tail
            if not np.isfinite(out[i]).all():
                raise NonFiniteError(f"the model gives non-finite log-probabilities (NaN/inf) on a sequence "
                                     f"of {len(uniq[i])} tokens: its weights are broken (a diverged run?); "
                                     f"evaluate an earlier checkpoint")
    return [out[j] for j in where]


def reduce_scores(lps, scoring, prompt_lens=None):
    """Per-token log-probs -> one score per sequence, higher is better (see the module docstring)."""
    if scoring not in SCORINGS:
        raise ValueError(f"eval_cloze.py: unknown scoring {scoring!r}; use one of {SCORINGS}")
    if scoring == "ending":
        if prompt_lens is None:
            raise ValueError("eval_cloze.py: scoring='ending' needs prompt_lens")
        # lp[t-1] predicts s[t]; the ending starts at s[1 + prompt_len], i.e. lp[prompt_len:]
        return np.array([lp[p:].mean() for lp, p in zip(lps, prompt_lens)])
    return np.array([lp.mean() if scoring == "mean" else lp.sum() for lp in lps])


def score_sequences(model, seqs, scoring="mean", prompt_lens=None, batch_size=64, batch_tokens=0,
                    dtype=None, progress=False, desc="score", fp32_head=True):
    """Score sequences that start with the boundary token. seqs: list of 1-D int arrays; prompt_lens:
    tokens of prompt after the boundary token (needed for 'ending'). Returns (N,) float64, higher wins."""
    lps = token_logprobs(model, seqs, batch_size, batch_tokens, dtype, progress, desc, fp32_head)
    return reduce_scores(lps, scoring, prompt_lens)


def item_sequences(tokens, items, boundary):
    """Bench items (n, 6) -> 2n sequences [good_0, bad_0, good_1, ...] with their prompt lengths."""
    seqs, plens = [], []
    head = np.array([boundary], dtype=np.int64)
    for ps, pe, gs, ge, bs, be in np.asarray(items):
        if ge <= gs or be <= bs:
            raise ValueError(f"eval_cloze.py: bench item {[ps, pe, gs, ge, bs, be]} has an empty ending")
        prompt = np.asarray(tokens[ps:pe], dtype=np.int64)
        for s, e in ((gs, ge), (bs, be)):
            seqs.append(np.concatenate([head, prompt, np.asarray(tokens[s:e], dtype=np.int64)]))
            plens.append(pe - ps)
    return seqs, plens


def outcomes(good, bad):
    """Per item: 1 where good > bad, 0.5 for an exact tie, 0 otherwise."""
    good, bad = np.asarray(good), np.asarray(bad)
    return (good > bad) + 0.5 * (good == bad)


def accuracy(good, bad):
    """Share of items where good > bad; an exact tie counts 0.5."""
    return float(outcomes(good, bad).mean())


def evaluate_all(model, corpus_dir, sets=None, batch_size=64, batch_tokens=0, dtype=None, progress=False,
                 fp32_head=True):
    """Every convention from one scoring pass: {scoring: {set: stats.summarize(...) + bench_sha1}}."""
    meta = tokenbin.read_meta(corpus_dir)
    boundary = tokenbin.story_boundary_token(meta)
    available = tokenbin.list_benches(corpus_dir)
    names = available if sets is None else list(sets)
    missing = [s for s in names if s not in available]
    if missing:
        raise EvalError(f"no bench set {missing} in {corpus_dir}/bench (has {available})")
    if not names:
        raise EvalError(f"{corpus_dir}/bench has no sets; run the corpus's prepare step")
    # all sets in one pass: a sequence that occurs in several sets (sTC reuses sSC's prompt and good
    # ending) is scored once, and batches are filled across sets
    seqs, plens, spans, extra = [], [], {}, {}
    for name in names:
        tokens, items = tokenbin.load_bench(corpus_dir, name, vocab_size=meta["vocab_size"])
        s, p = item_sequences(tokens, items, boundary)
        spans[name] = (len(seqs), len(items))
        digest = hashlib.sha1(np.ascontiguousarray(items).tobytes())
        digest.update(np.asarray(tokens).tobytes())          # so --report pairs only identical item lists
        groups = tokenbin.load_bench_groups(corpus_dir, name, len(items))
        total = tokenbin.load_bench_total(corpus_dir, name, len(items),
                                          0 if groups is None else len(np.unique(groups)))
        extra[name] = (groups, total, digest.hexdigest())
        seqs += s
        plens += p
    context = model.cfg.max_seq_len  # RoPE positions: a longer sequence has none
    if (longest := max(len(x) for x in seqs)) > context:
        name = next(n for n, (a, k) in spans.items() if any(len(x) == longest for x in seqs[a:a + 2 * k]))
        raise EvalError(f"bench/{name} of {corpus_dir} has an item of {longest} tokens (with the boundary), "
                        f"longer than the model's context of {context}: score sets whose items fit "
                        f"(--sets), or cut that item")
    lps = token_logprobs(model, seqs, batch_size, batch_tokens, dtype, progress, f"{len(names)} sets",
                         fp32_head)
    results = {}
    for scoring in SCORINGS:
        scores = reduce_scores(lps, scoring, plens)
        results[scoring] = {}
        for name, (start, n) in spans.items():
            s = scores[start:start + 2 * n]
            groups, total, sha = extra[name]
            results[scoring][name] = {**stats.summarize(outcomes(s[0::2], s[1::2]), groups, total),
                                      "bench_sha1": sha}
    return results


def evaluate(model, corpus_dir, sets=None, scoring="mean", batch_size=64, batch_tokens=0, dtype=None,
             progress=False, fp32_head=True):
    """One convention's results {set: {"accuracy", "n", "ci95", ...}} (evaluate_all scores all three)."""
    if scoring not in SCORINGS:
        raise ValueError(f"eval_cloze.py: unknown scoring {scoring!r}; use one of {SCORINGS}")
    return evaluate_all(model, corpus_dir, sets, batch_size, batch_tokens, dtype, progress, fp32_head)[scoring]


# ----------------------------------------------------------------------------- tables

def format_table(results, scoring):
    """The paper's grid (rows sSC, sTC; columns EN, FR, EN>FR, FR>EN; accuracy %), then n per row,
    then any other set on its own line; an incomplete set (stats.incomplete) is marked ! with n of N."""
    grid = {f"{t}_{d}" for t, _ in TASKS for d, _ in DIRECTIONS}
    lines = [f"scoring: {scoring} ({SCORING_HELP[scoring]})",
             f"{'':6}" + "".join(f"{lab:>9}" for _, lab in DIRECTIONS) + "   n"]
    lost = {name: why for name, r in results.items() if (why := stats.incomplete(r))}
    for t, tlab in TASKS:
        row = [results.get(f"{t}_{d}") for d, _ in DIRECTIONS]
        if not any(row):
            continue
        cells = "".join(f"{'-':>9}" if not r else f"{100 * r['accuracy']:8.2f}!" if f"{t}_{d}" in lost
                        else f"{100 * r['accuracy']:9.2f}" for r, (d, _) in zip(row, DIRECTIONS))
        ns = sorted({r["n"] for r in row if r})
        lines.append(f"{tlab:6}{cells}   {'/'.join(map(str, ns))}")
    for name in sorted(set(results) - grid):
        lines.append(f"{name}: {100 * results[name]['accuracy']:.2f} (n={results[name]['n']})"
                     + (f" INCOMPLETE: {lost[name]}" if name in lost else ""))
    lines += [f"! {name} INCOMPLETE: {why}" for name, why in sorted(lost.items()) if name in grid]
    if lost:
        lines.append("incomplete sets lost items to clips tokenization skipped (the corpus's skipped.jsonl "
                     "lists them): their scores are not the sets' scores")
    return "\n".join(lines)



# ----------------------------------------------------------------------------- command line

def write_json(path, record):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(record, f, indent=1, allow_nan=False)   # a NaN never reaches a results file
    os.replace(tmp, path)                                     # a crash never leaves half a JSON


def run(args):
    if args.report:
        from results import report
        return report.main(args.report, args.specs, args.scoring)
    if len(args.specs) != 1:
        raise EvalError("give one model (or use --report for several runs)")
    spec = args.specs[0]
    if args.threads:
        torch.set_num_threads(args.threads)
    corpus, meta = open_corpus(spec, args.corpus, args.device)
    outs = {scoring: args.out or (os.path.join(args.out_dir, f"cloze_{scoring}.json") if args.out_dir
                                  else default_out(spec, f"cloze_{scoring}.json"))
            for scoring in ([args.scoring] if args.out else SCORINGS)}
    for out in outs.values():  # before the work, not after it
        check_overwrite(out, corpus)
    model = load_for_corpus(spec, meta, args.device)
    dtype = resolve_dtype(args.device, args.dtype)
    t0 = time.time()
    results = evaluate_all(compile_for_eval(model) if args.compile else model, corpus,
                           args.sets or None, args.batch_size, default_batch_tokens(args.device, args.batch_tokens),
                           dtype, progress=True, fp32_head=args.fp32_head)
    dt = time.time() - t0
    n_pairs = sum(r["n"] for r in results[args.scoring].values())
    print(f"{spec} on {corpus}: {n_pairs} pairs in {dt:.1f}s ({n_pairs / dt:.1f} pairs/s, "
          f"{args.device}, {dtype}, head {'float32' if args.fp32_head else dtype})")
    print(format_table(results[args.scoring], args.scoring))
    for scoring, out in outs.items():
        write_json(out, {"scoring": scoring, "checkpoint": spec, **corpus_record(corpus, meta), "dtype": dtype,
                         "fp32_head": args.fp32_head, "results": results[scoring]})
        print(f"wrote {out}")
    if args.wandb:  # into the training run's own wandb run (training/track.py)
        run_dir = spec if os.path.isdir(spec) else os.path.dirname(spec) if os.path.isfile(spec) else None
        track.log_eval(run_dir, spec, results, os.path.dirname(os.path.abspath(out)))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="eval_cloze.py", description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("specs", nargs="+", help="model: a run's out_dir or its ckpt/, HF folder or id; "
                    "with --report: label=run_dir (or label=file.json) ..., the first is the baseline")
    ap.add_argument("--corpus", default=None, help="corpus directory with bench/ (default: the one the model "
                    "was trained on; it must hold the model's units)")
    ap.add_argument("--sets", nargs="*", default=None, help="bench sets to score (default: all)")
    ap.add_argument("--scoring", default="mean", choices=SCORINGS,
                    help="the convention printed (and, with --out, the one written); all three are scored")
    ap.add_argument("--batch_size", type=int, default=64, help="max sequences per batch")
    ap.add_argument("--batch_tokens", type=int, default=None, help="max padded tokens per batch, 0: no cap "
                    f"(default: {CPU_BATCH_TOKENS} on CPU, where bigger batches only spill the cache; 0 on CUDA)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--dtype", default="auto", choices=("auto", "float32", "bfloat16", "float16"),
                    help="autocast dtype (weights stay float32); auto: bfloat16 on CUDA, float32 on CPU")
    ap.add_argument("--fp32_head", action=argparse.BooleanOptionalAction, default=True,
                    help="final norm + head + log-softmax in float32 under autocast (default: yes)")
    ap.add_argument("--compile", action="store_true", help="torch.compile, dynamic shapes (no per-length recompiles)")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads, 0: torch's default. 1 because "
                    "a small model's ops are too small to split, and with other jobs on the cores threads stall")
    ap.add_argument("--out_dir", default=None, help="folder for cloze_{mean,sum,ending}.json "
                    "(default: beside the checkpoint)")
    ap.add_argument("--out", default=None, help="write only --scoring's JSON, to this path")
    ap.add_argument("--wandb", action="store_true", help="also log the accuracies to wandb: to the run's own "
                    "wandb run when train.py tracked it (its config.json), else to a new one (training/track.py)")
    ap.add_argument("--report", default=None, metavar="MD", help="write a results table of label=run ... "
                    "(results/report.py) and its figures beside it")
    args = ap.parse_args(argv)
    try:
        run(args)
    except EXPECTED_ERRORS + (track.TrackError,) as e:  # bad input: one clean line, exit 1, as train.py
        print(f"eval_cloze.py: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main(sys.argv[1:])
