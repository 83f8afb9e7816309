"""
sample.py: continue a spoken prompt with a trained model; hear it (Mimi) or, on the toy, read it as words.

    # a val story's first 3 EN sentences, 4 continuations of 80 units (toy: printed as toy words)
    .venv/bin/python sample.py out/toy/interleave --corpus data/toy_enfr --story 5 --k 3 --lang en --n 4
    # a bench item's prompt (the story minus its ending)
    .venv/bin/python sample.py out/toy/interleave --corpus data/toy_enfr --bench stc_en-fr --item 0
    # an audio file through Mimi, continuations decoded back to 24 kHz wavs
    .venv/bin/python sample.py out/run --audio prompt.wav --mimi_weights mimi.safetensors --wav_dir out/wavs
    # the toy's cross-lingual continuation score (below), baseline against interleave
    .venv/bin/python sample.py baseline=out/toy/baseline interleave=out/toy/interleave --score \\
        --corpus data/toy_enfr --n_stories 200 --n 4

Output: the units of every continuation (JSON with --out), cut at the story boundary token if the model
ends the story; on the toy corpus each is read back as words (data/toy_enfr/lexicon.py): language, the
words, and the children and objects it names. On a Mimi corpus (or an audio prompt) with --mimi_weights
and --wav_dir, the prompt and each continuation are decoded to wav by Mimi's decoder.

What that audio sounds like: these models see Mimi's FIRST codebook only, the semantic one (distilled from
WavLM: mostly what is said). Mimi reconstructs speech from a residual stack of codebooks (moshi uses 8 of
the released 32); the other 7, the acoustic detail (voice timbre, pitch, recording conditions), are absent
here, so the decoder gets only the first quantizer's contribution. Expect degraded audio: muffled, robotic,
voice-less speech in which words are at best partly intelligible; judge content, not sound. (Users of
kyutai-labs/moshi report that even dropping the levels beyond 8 sounds bad, issue #122.) The toy corpus's
units are not Mimi codes at all: decoding them would be noise, so sample.py reads them as words instead.

Cross-lingual continuation score (--score, toy corpus): for the first n_stories val stories, prompt with the
first k sentences in EN (then FR), sample n continuations per prompt (max_new_tokens ~ 3 sentences), and
read them as words. A continuation "switches" when its first sentence is in the OTHER language. Among
switched continuations that name a child or an object in their complete sentences (all but a cut-off last
one), "kept" = they name at least one entity the prompt set up (the hero, the companion, the hero's object)
and no child the prompt did not name (a new object may join: "Tom played with a red ball" is a true
continuation; a new child or only other objects means the model lost the story). Reported per model and
direction: the rate with a 95% Wilson interval; and, paired by prompt, the difference between two models
in the share of all continuations that switch language AND keep the story (mean over prompts, 95% normal
interval). For reference, the same "kept" rate of the continuations that stay in the prompt's language.
Yardsticks on data/toy_enfr (150 val stories, k=3, 60 units; the oracles of tests/test_sample.py): the true
continuation, translated, scores 0.86 EN->FR / 0.92 FR->EN (not 1: a true next sentence may name only a
new object, e.g. with a relative as companion); another story's continuation scores 0.03 / 0.06.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

import tokenbin
from model import load_model
from training.checkpoint import CheckpointError
from training.corpus import CorpusError, model_corpus, trained_on
from training.hf_weights import HFError


class SampleError(ValueError):
    """A prompt, model or setting sample.py cannot use; the message says what to do."""


def corpus_prompt(corpus, split, story, k, lang):
    """[boundary] + the first k sentences of story `story` of a split, in one language -> (T,) int64."""
    meta, sp = tokenbin.read_meta(corpus), tokenbin.load_split(corpus, split)
    if lang not in sp.langs:
        raise SampleError(f"{corpus} has languages {sp.langs}, not --lang {lang}")
    stories = sp.lang_stories[lang]  # paired or not
    if not 0 <= story < len(stories) - 1:
        raise SampleError(f"{corpus} {split} has {len(stories) - 1} {lang} stories, no story {story}")
    a = int(stories[story])
    k = min(k, int(stories[story + 1]) - a)
    units = [np.asarray(sp.sentence(lang, j), np.int64) for j in range(a, a + k)]
    return np.concatenate([[tokenbin.story_boundary_token(meta)], *units])


def bench_prompt(corpus, name, item):
    meta = tokenbin.read_meta(corpus)
    tokens, items = tokenbin.load_bench(corpus, name)
    if not 0 <= item < len(items):
        raise SampleError(f"bench {name} of {corpus} has {len(items)} items, no item {item}")
    ps, pe = items[item][:2]
    return np.concatenate([[tokenbin.story_boundary_token(meta)], np.asarray(tokens[ps:pe], np.int64)])


def open_mimi(weights, units):
    """Mimi from a safetensors file (never a pickle: audio/mimi.check_safetensors), checked to be the Mimi
    whose units the model was trained on (units: the model's, training/corpus.py; None: not recorded)."""
    from audio.mimi import check_safetensors, load_mimi, sha256_file
    if not weights or not os.path.isfile(weights):
        raise SampleError(f"--mimi_weights {weights!r} not found (Mimi's safetensors, as for tokenize_audio.py)")
    check_safetensors(weights, "sample.py")
    if units is not None and units.get("tokenizer") not in (None, "mimi"):
        raise SampleError(f"the model was trained on {tokenbin.describe_units(units)}, not Mimi codes: Mimi "
                          f"would encode and decode other units than it knows. Prompt it from its corpus (--corpus).")
    if units is not None and units.get("sha256") and units["sha256"] != (sha := sha256_file(weights)):
        raise SampleError(f"--mimi_weights {weights} (sha256 {sha[:12]}...) is another Mimi than the one the "
                          f"model's corpus was made with ({tokenbin.describe_units(units)}): its units mean "
                          f"other sounds. Pass the weights tokenize_audio.py used (meta.json's tokenizer names them).")
    return load_mimi(weights, "cpu")


def audio_prompt(path, mimi, boundary):
    from audio.decode import load_audio
    from audio.mimi import encode_batch
    wav, why = load_audio(path, mimi.sample_rate, max_seconds=600, min_peak=1e-4)
    if wav is None:
        raise SampleError(f"--audio {path}: {why[0]} ({why[1]})")
    return np.concatenate([[boundary], encode_batch(mimi, [wav], "cpu")[0].astype(np.int64)])


def continue_prompt(model, prompt, n, max_new_tokens, temperature=1.0, top_k=None, top_p=None, seed=0):
    """n continuations of one prompt (T,) -> list of (<= max_new_tokens,) int64, each cut before a story
    boundary token (the model ending the story)."""
    boundary = model.cfg.vocab_size - 1
    idx = torch.as_tensor(prompt, dtype=torch.long)[None].repeat(n, 1)  # (n, T): one batch, same length
    g = torch.Generator().manual_seed(seed)
    out = model.generate(idx, max_new_tokens, temperature, top_k or None, top_p, generator=g)[:, len(prompt):]
    conts = []
    for row in out.numpy():
        stop = np.flatnonzero(row == boundary)
        conts.append(row[:stop[0]] if len(stop) else row)
    return conts


def show(lex, units):
    """One toy continuation as words: [(lang, "words", [names], [objects])] per sentence."""
    from lexicon import ENTITIES, facts
    obj_words = {(ent, lang): " ".join(phrase) for lang, phrase, ent in ENTITIES}
    rows = []
    for lang, words in lex.decode(units):
        f = facts(words, lang)
        rows.append((lang, " ".join(words), sorted(n for kind, n, *_ in f if kind == "name"),
                     sorted(obj_words[(e, lang)] for e in f if e[0] == "obj")))
    return rows


def toy_lexicon(corpus):
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "toy_enfr"))
    from lexicon import ToyLexicon
    try:
        return ToyLexicon(corpus)
    except ValueError:
        return None  # not the toy corpus: units stay units


def wilson(k, n, z=1.96):
    if n == 0:
        return float("nan"), float("nan")
    p, d = k / n, 1 + z * z / n
    c, h = (p + z * z / (2 * n)) / d, z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def score(runs, corpus, n_stories=200, k=3, n=4, max_new_tokens=60, temperature=1.0, top_k=None, seed=0):
    """The cross-lingual continuation score (module docstring) of each {name: model}; returns a JSON dict."""
    lex = toy_lexicon(corpus)
    if lex is None:
        raise SampleError(f"--score: {corpus} is not a toy_enfr corpus (needs its lexicon)")
    from lexicon import P, facts, text_words
    stories = lex.val_stories()[:n_stories]
    res, per_prompt = {}, {}
    for name, model in runs.items():
        for lang, other in (("en", "fr"), ("fr", "en")):
            counts = dict(continuations=0, switched=0, switched_naming=0, kept=0, stayed_naming=0, stayed_kept=0)
            joint = []
            for i, s in enumerate(stories):
                setup = set().union(*(facts(text_words(t), lang) for t in P.sentences(s, lang)[:k]))
                conts = continue_prompt(model, corpus_prompt(corpus, "val", i, k, lang), n, max_new_tokens,
                                        temperature, top_k, seed=seed + i)
                good = 0
                for c in conts:
                    sents = lex.decode(c)
                    counts["continuations"] += 1
                    if not sents:
                        continue
                    switched = sents[0][0] == other
                    counts["switched"] += switched
                    complete = sents[:-1] if len(sents) > 1 and len(c) == max_new_tokens else sents
                    named = set().union(*(facts(w, lg) for lg, w in complete))
                    if named:
                        kept = bool(named & setup) and {e for e in named if e[0] == "name"} <= setup
                        pre = "switched_" if switched else "stayed_"
                        counts[pre + "naming"] += 1
                        counts["kept" if switched else "stayed_kept"] += kept
                        good += kept and switched
                joint.append(good / n)
            lo, hi = wilson(counts["kept"], counts["switched_naming"])
            rate = counts["kept"] / counts["switched_naming"] if counts["switched_naming"] else float("nan")
            st = counts["stayed_naming"]  # the same measure when the model stays in the prompt's language
            res[f"{name} {lang}->{other}"] = dict(counts, rate=rate, ci95=[lo, hi],
                                                   stayed_rate=counts["stayed_kept"] / st if st else float("nan"),
                                                   stayed_ci95=list(wilson(counts["stayed_kept"], st)))
            per_prompt[(name, lang)] = np.array(joint)
    names = list(runs)
    for a, b in [(names[i], names[j]) for i in range(len(names)) for j in range(i + 1, len(names))]:
        for lang, other in (("en", "fr"), ("fr", "en")):
            d = per_prompt[(b, lang)] - per_prompt[(a, lang)]
            h = 1.96 * d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
            res[f"{b} - {a} {lang}->{other} (switch and keep, paired)"] = dict(
                diff=float(d.mean()), ci95=[float(d.mean() - h), float(d.mean() + h)], prompts=len(d))
    return res


def main(argv=None):
    p = argparse.ArgumentParser(prog="sample.py", description="continue a spoken prompt (see the module docstring)")
    p.add_argument("runs", nargs="+", help="checkpoint / out_dir / HF folder; with --score: name=path ...")
    p.add_argument("--corpus", help="corpus directory (prompts from its splits or benches; toy: read as words)")
    p.add_argument("--split", default="val")
    p.add_argument("--story", type=int, default=0)
    p.add_argument("--k", type=int, default=3, help="prompt sentences")
    p.add_argument("--lang", default="en")
    p.add_argument("--bench", help="bench set name: prompt = an item's prompt (with --item)")
    p.add_argument("--item", type=int, default=0)
    p.add_argument("--audio", help="an audio file as the prompt (encoded by Mimi, first codebook)")
    p.add_argument("--mimi_weights", help="Mimi safetensors (as tokenize_audio.py): --audio and wav decoding")
    p.add_argument("--wav_dir", help="write the prompt and the continuations here as 24 kHz wavs (Mimi only)")
    p.add_argument("--n", type=int, default=4, help="continuations per prompt")
    p.add_argument("--max_new_tokens", type=int, default=80)
    p.add_argument("--temperature", type=float, default=0.8, help="0: greedy")
    p.add_argument("--top_k", type=int, default=0, help="0: no cut")
    p.add_argument("--top_p", type=float, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--score", action="store_true", help="the toy's cross-lingual continuation score")
    p.add_argument("--n_stories", type=int, default=200, help="--score: val stories used as prompts")
    p.add_argument("--out", help="write the results as JSON here")
    a = p.parse_args(argv)
    try:
        run(a)
    except (SampleError, CorpusError, CheckpointError, HFError, tokenbin.FormatError, FileNotFoundError) as e:
        print(f"sample.py: error: {e}", file=sys.stderr)  # expected: one line; anything else is a bug
        sys.exit(1)


def check_args(a):
    """Values that make no sense are refused, not sampled with."""
    bad = [f"--{k} {getattr(a, k)}: {why}" for k, ok, why in (
        ("n", a.n >= 1, "at least 1"), ("max_new_tokens", a.max_new_tokens >= 1, "at least 1"),
        ("temperature", a.temperature >= 0, ">= 0 (0: greedy; a negative one samples the least likely units)"),
        ("top_k", a.top_k >= 0, ">= 0 (0: no cut)"), ("k", a.k >= 1, "at least 1 prompt sentence"),
        ("top_p", a.top_p is None or 0 < a.top_p <= 1, "in (0, 1] (leave it out for no nucleus cut)"),
        ("n_stories", a.n_stories >= 1, "at least 1")) if not ok]
    if bad:
        raise SampleError("; ".join(bad))


def load(run, corpus):
    """A model, checked to hold the units of the corpus its prompts come from (if one is given)."""
    if corpus:
        model_corpus(run, corpus)
    return load_model(run).eval()


def fits(model, prompt, max_new_tokens):
    if len(prompt) + max_new_tokens > model.cfg.max_seq_len:
        raise SampleError(f"a prompt of {len(prompt)} units + --max_new_tokens {max_new_tokens} exceeds the "
                          f"model's context of {model.cfg.max_seq_len}: shorten the prompt (--k) or the continuation")


def run(a):
    check_args(a)
    torch.manual_seed(a.seed)
    if a.score:
        if not a.corpus:
            raise SampleError("--score needs --corpus (the toy corpus)")
        runs = dict(r.split("=", 1) if "=" in r else (os.path.basename(os.path.normpath(r)), r) for r in a.runs)
        res = score({k: load(v, a.corpus) for k, v in runs.items()}, a.corpus, a.n_stories, a.k, a.n,
                    a.max_new_tokens, a.temperature, a.top_k or None, a.seed)
        for key, r in res.items():
            if "rate" in r:
                print(f"{key:>22}: kept {r['kept']:4d}/{r['switched_naming']:<4d} = {r['rate']:.3f} "
                      f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]  (switched {r['switched']}/{r['continuations']}); "
                      f"staying in {key.split()[-1][:2]}: kept {r['stayed_kept']}/{r['stayed_naming']} = "
                      f"{r['stayed_rate']:.3f} [{r['stayed_ci95'][0]:.3f}, {r['stayed_ci95'][1]:.3f}]")
            else:
                print(f"{key}: {r['diff']:+.3f} [{r['ci95'][0]:+.3f}, {r['ci95'][1]:+.3f}] over {r['prompts']} prompts")
        out = dict(runs=runs, corpus=a.corpus, n_stories=a.n_stories, k=a.k, n=a.n,
                   max_new_tokens=a.max_new_tokens, temperature=a.temperature, top_k=a.top_k, results=res)
    else:
        model = load(a.runs[0], a.corpus)
        mimi = (open_mimi(a.mimi_weights, trained_on(a.runs[0])[0]) if a.audio or (a.mimi_weights and a.wav_dir)
                else None)
        if a.audio:
            prompt = audio_prompt(a.audio, mimi, model.cfg.vocab_size - 1)
        elif a.corpus and a.bench:
            prompt = bench_prompt(a.corpus, a.bench, a.item)
        elif a.corpus:
            prompt = corpus_prompt(a.corpus, a.split, a.story, a.k, a.lang)
        else:
            raise SampleError("give a prompt: --corpus DIR [--bench SET --item I], or --audio FILE")
        fits(model, prompt, a.max_new_tokens)
        conts = continue_prompt(model, prompt, a.n, a.max_new_tokens, a.temperature, a.top_k, a.top_p, a.seed)
        lex = toy_lexicon(a.corpus) if a.corpus else None
        out = dict(run=a.runs[0], prompt=prompt.tolist(), continuations=[c.tolist() for c in conts])
        for name, units in [("prompt", prompt[1:])] + [(f"sample {j}", c) for j, c in enumerate(conts)]:
            print(f"--- {name}: {len(units)} units")
            if lex is not None:
                for lang, words, names, objs in show(lex, units):
                    print(f"  ({lang}) {words}   names: {', '.join(names) or '-'}; objects: {', '.join(objs) or '-'}")
            else:
                print("  " + " ".join(map(str, units)))
        if lex is not None:
            out["words"] = [show(lex, c) for c in conts]
        if mimi is not None and a.wav_dir:
            import sphn
            from audio.mimi import decode_units
            os.makedirs(a.wav_dir, exist_ok=True)
            for name, units in [("prompt", prompt[1:])] + [(f"sample{j}", c) for j, c in enumerate(conts)]:
                sphn.write_wav(os.path.join(a.wav_dir, f"{name}.wav"), decode_units(mimi, units), mimi.sample_rate)
            print(f"{a.wav_dir}: prompt.wav, sample*.wav (first codebook only: degraded, see sample.py's docstring)")
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            json.dump(out, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
