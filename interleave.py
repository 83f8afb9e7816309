"""
interleave.py: the training-data sampler: which stories, which sentences, in which language, packed into rows.

A row is seq_len + 1 tokens cut from a stream of whole stories, each preceded by one story-boundary
token (tokenbin.story_boundary_token, 2048 for Mimi), no padding. x = row[:-1], y = row[1:], and
lang[t] is the language id (index in self.langs) of x[t]; a boundary token gets the language of the
sentence that follows it.

Modes (the paper's three stages and its baseline):
    mono        one language per row, drawn with lang_probs: {"en": 1} is EN pretraining,
                {"en": .5, "fr": .5} bilingual fine-tuning and the EN+FR baseline
    interleave  each next sentence of a story in FR with probability p_fr, else EN, so the language
                can only switch at a sentence boundary; switch="story" draws one language per story
                instead (ablation: same language mix, no switch inside a story)
lang_probs defaults to {"en": 1 - p_fr, "fr": p_fr}; when given it replaces p_fr in both modes. Mono
works on every corpus, paired or not (an unpaired corpus has its own stories per language,
tokenbin.Split.lang_stories); interleave needs a paired corpus and refuses an unpaired one.

Packing: every token of the corpus is equally likely to be seen, whatever its place in its story, as
with concatenate-and-chunk packing. Think of one endless stream of independently drawn stories
(boundary + sentences, languages drawn as the mode says); a row is seq_len + 1 consecutive tokens of
it from a uniformly random point, so the first story of a row is usually entered mid-story and a story
cut at the row end goes on in the stream (its ending is seen as often as its beginning). A uniform
point of such a stream falls in a story with probability proportional to its length, at a uniform
place inside it, so it is drawn exactly without rejection: one stream token, weighting a boundary by 1
and a token of language l by l's probability (mono: the row's language), i.e. a boundary of a uniform
story with probability N / W, else language l with probability p_l T_l / W (N stories, T_l tokens of
l, W the sum), then a uniform token of l's file; its sentence and story follow from the index, and the
rest of that story draws its languages as the mode says. After it, whole stories drawn uniformly.
tests/test_interleave.py measures the coverage per sentence position; `python -m dev.bench sampler`
prints it. The price: a row usually starts mid-sentence without the boundary context; evaluation
scores boundary + story, which rows hold whenever a story starts inside them.

Stateless: global row g = (step * world_size + rank) * batch_size + b is drawn from its own
generator, np.random.default_rng([seed, g]). A batch is a pure function of (seed, rank, step), so a
resumed run sees exactly the rows it would have seen, ranks never share a row, and the rows of one
step are the same set whenever world_size * batch_size is the same. With gradient accumulation call
get_batch(it * grad_accum + micro_step).

Mixtures (Mixture): several corpora with weights, e.g. {"data/libriheavy_en": 56, "data/stories_enfr":
20}; row g first draws its corpus from its own generator, then is packed from that corpus alone, so
token shares follow the weights and the mixture stays stateless. Corpora share vocab_size; language ids
index the union of their languages (Mixture.langs). An interleave mixture needs every corpus paired.

    .venv/bin/python interleave.py data/toy_enfr --show 2                  # rows, language per sentence
    .venv/bin/python interleave.py data/toy_enfr --mode mono --lang_probs en=1 --show 1
    .venv/bin/python interleave.py data/toy_enfr --switch story --p_fr 0.2 --show 1
    .venv/bin/python -m dev.bench sampler                                  # tokens/s and coverage
"""
import argparse
import math
import os

import numpy as np

import tokenbin

MODES = ("interleave", "mono")
SWITCHES = ("sentence", "story")
STATE_VERSION = 2  # the packing's version: a checkpoint of another version drew other rows


class DataError(ValueError):
    """Settings or corpora the sampler cannot draw from; the message names the corpus and the fix."""


class Sampler:
    def __init__(self, split, seq_len, batch_size, mode="interleave", p_fr=0.5, lang_probs=None,
                 switch="sentence", seed=0, rank=0, world_size=1, boundary_token=2048):
        where = f"interleave.py: {split.path} {split.split}"
        if mode not in MODES:
            raise DataError(f"interleave.py: mode must be one of {MODES}, got {mode!r}")
        if switch not in SWITCHES:
            raise DataError(f"interleave.py: switch must be one of {SWITCHES}, got {switch!r}")
        if not (seq_len >= 1 and batch_size >= 1 and world_size >= 1 and 0 <= rank < world_size):
            raise DataError(f"interleave.py: need seq_len, batch_size >= 1 and 0 <= rank < world_size, "
                            f"got seq_len={seq_len} batch_size={batch_size} rank={rank} "
                            f"world_size={world_size}")
        if not 0 <= boundary_token < 65536:  # rows are assembled in uint16, like the corpus
            raise DataError(f"interleave.py: boundary_token {boundary_token} does not fit uint16")
        if mode == "interleave" and not split.paired:
            raise DataError(f"{where} is an unpaired corpus (meta.json \"paired\": false): its "
                            f"languages are not sentence translations of each other, so it cannot be "
                            f"interleaved. Interleave a paired corpus (sentence k of each language "
                            f"translates the others), or use mode mono on this one.")
        self.split, self.langs = split, list(split.langs)
        self.seq_len, self.batch_size = int(seq_len), int(batch_size)
        self.mode, self.switch, self.p_fr = mode, switch, float(p_fr)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.boundary_token = int(boundary_token)
        self.lang_probs = self._resolve_probs(lang_probs, where)  # {lang: prob} over every language
        # language draw: id = number of cumulative probabilities <= u, for u uniform in [0, 1)
        self._cum = np.cumsum([self.lang_probs[lang] for lang in self.langs])
        self._cum[-1] = 1.0  # so rounding can never draw past the last language
        # plain ndarray views: slicing a np.memmap builds a memmap object each time (slow); no copies
        self._tok = [np.asarray(split.tokens[lang]) for lang in self.langs]  # uint16 (n_tokens,)
        self._off = [np.asarray(split.offsets[lang]) for lang in self.langs]  # int64 (n_sent + 1,)
        self._st = [np.asarray(split.lang_stories[lang]) for lang in self.langs]  # int64 (n_stories+1,)
        self._n_st = [len(s) - 1 for s in self._st]
        self._n_tok = [len(t) for t in self._tok]
        for i, lang in enumerate(self.langs):
            if self.lang_probs[lang] > 0 and self._n_tok[i] == 0:
                raise DataError(f"{where}: language {lang} has lang_probs {self.lang_probs[lang]} but "
                                f"no tokens; give it probability 0 or build the corpus with it")
        # interleave: where the stream point falls: a boundary (weight 1 per story), or a token of
        # language l (weight p_l each); cumulative over [boundaries, lang 0, lang 1, ...]
        self._start_cum = np.cumsum([self._n_st[0]] + [self.lang_probs[l] * n for l, n in
                                                       zip(self.langs, self._n_tok)], dtype=np.float64)
        self._bnd = np.array([self.boundary_token], dtype=np.uint16)

    def _resolve_probs(self, lang_probs, where):
        if lang_probs is None:
            if not ("en" in self.langs and "fr" in self.langs):
                raise DataError(f"{where}: p_fr needs languages en and fr, the corpus has "
                                f"{self.langs}; pass lang_probs instead (e.g. {{'en': 1}})")
            if not 0.0 <= self.p_fr <= 1.0:
                raise DataError(f"interleave.py: p_fr must lie in [0, 1], got {self.p_fr}")
            lang_probs = {"en": 1.0 - self.p_fr, "fr": self.p_fr}
        unknown = set(lang_probs) - set(self.langs)
        probs = {lang: float(lang_probs.get(lang, 0.0)) for lang in self.langs}
        if unknown or min(probs.values()) < 0 or abs(sum(probs.values()) - 1.0) > 1e-6:
            raise DataError(f"{where}: lang_probs must give each of the corpus's languages "
                            f"{self.langs} a probability >= 0, summing to 1; got {lang_probs}")
        return probs

    def _draw(self, rng, n=None):
        """Language ids drawn with lang_probs: one int (n=None) or an int array (n,)."""
        return np.searchsorted(self._cum, rng.random(n), side="right")

    def _row(self, g):
        """Global row g -> (tokens uint16 (seq_len+1,), lang int8 (seq_len+1,), stories used)."""
        return self._fill(np.random.default_rng([self.seed, g]))

    def _fill(self, rng):
        """One row from rng -> (tokens uint16 (seq_len+1,), lang int8 (seq_len+1,),
        [(story, first sentence, lang ids of its sentences from there, tokens skipped)])."""
        need = self.seq_len + 1
        mono = self.mode == "mono"
        row_lang = int(self._draw(rng)) if mono else -1  # mono: the one language of the whole row
        # the row's start: a uniform point of the stream (module docstring)
        if mono:
            u = int(rng.integers(self._n_st[row_lang] + self._n_tok[row_lang]))
            at = -1 if u < self._n_st[row_lang] else row_lang  # -1: a boundary, else a token's language
            u = u if at < 0 else u - self._n_st[row_lang]
        else:
            at = int(np.searchsorted(self._start_cum, rng.random() * self._start_cum[-1], side="right")) - 1
            at = min(at, len(self.langs) - 1)  # rounding at the very top
            u = int(rng.integers(self._n_st[0] if at < 0 else self._n_tok[at]))
        if at < 0:  # the row starts at story u's boundary
            s, skip, first = u, 0, None
        else:  # inside sentence j of language `at`, `skip` tokens into it
            off, st = self._off[at], self._st[at]
            j = int(np.searchsorted(off, u, side="right")) - 1
            s = int(np.searchsorted(st, j, side="right")) - 1
            skip, first = u - int(off[j]), j
        pieces, piece_langs, used = [], [], []
        n = 0
        while n < need:
            if s is None:  # a next whole story
                s = int(rng.integers(self._n_st[row_lang if mono else 0]))
            st = self._st[row_lang if mono else 0]
            a, b = int(st[s]), int(st[s + 1])  # sentences [a, b) of story s
            j0 = a if first is None else first
            if mono or self.switch == "story":
                lang = row_lang if mono else (int(self._draw(rng)) if first is None else at)
                langs = np.full(b - j0, lang)
                off = self._off[lang]
                if first is None:
                    pieces.append(self._bnd)
                    piece_langs.append(lang)
                piece = self._tok[lang][off[j0] + skip:off[b]]  # the story's sentences are contiguous
                pieces.append(piece)
                piece_langs.append(lang)
                n += len(piece) + (first is None)
            else:
                langs = self._draw(rng, b - j0)
                if first is not None:
                    langs[0] = at
                else:
                    pieces.append(self._bnd)  # the boundary takes the language of what follows
                    piece_langs.append(langs[0])
                    n += 1
                ls, k = langs.tolist(), 0
                while k < len(ls) and n < need:  # one slice per run of sentences in one language
                    lang, e = ls[k], k + 1
                    while e < len(ls) and ls[e] == lang:
                        e += 1
                    off = self._off[lang]
                    piece = self._tok[lang][off[j0 + k] + (skip if k == 0 else 0):off[j0 + e]]
                    pieces.append(piece)
                    piece_langs.append(lang)
                    n += len(piece)
                    k = e
            used.append((s, j0, langs, skip))
            s, first, skip = None, None, 0
        row = np.concatenate(pieces)[:need]
        lang = np.repeat(np.array(piece_langs, dtype=np.int8), [len(p) for p in pieces])[:need]
        return row, lang, used

    def get_batch(self, step):
        """-> x int64 (B, T), y int64 (B, T) (x shifted by one), lang int8 (B, T) (language of x)."""
        return _batch(self, step)

    # ------------------------------------------------------------------ resume checks
    def state_dict(self):
        """The settings that decide the data (no position: the sampler is stateless)."""
        return dict(version=STATE_VERSION, mix=None, seq_len=self.seq_len, batch_size=self.batch_size,
                    mode=self.mode, p_fr=self.p_fr, lang_probs=dict(self.lang_probs), switch=self.switch,
                    seed=self.seed, world_size=self.world_size, boundary_token=self.boundary_token,
                    langs=list(self.langs), paired=self.split.paired,
                    n_stories={lang: n for lang, n in zip(self.langs, self._n_st)},
                    n_sentences={lang: len(o) - 1 for lang, o in zip(self.langs, self._off)},
                    n_tokens={lang: n for lang, n in zip(self.langs, self._n_tok)})

    def load_state_dict(self, d):
        """Check that a resumed run draws the same data as the checkpoint; raise if not.
        world_size and batch_size may change as long as their product (rows per step) does not."""
        _check_resume(self.state_dict(), d, ("batch_size", "world_size", "p_fr"))


class Mixture:
    """Rows from several corpora: row g draws its corpus with probability weight / sum of weights,
    then is packed from that corpus by its own Sampler (the module docstring). splits {name: Split},
    weights {name: weight > 0}; the other arguments are Sampler's, the same for every corpus."""

    def __init__(self, splits, weights, seq_len, batch_size, seed=0, rank=0, world_size=1, **kw):
        if not splits or set(splits) != set(weights) or not all(
                isinstance(w, (int, float)) and math.isfinite(w) and w > 0 for w in weights.values()):
            raise DataError(f"interleave.py: a mixture needs a weight > 0 for each of its corpora "
                            f"{sorted(splits)}, got {weights}")
        self.names = list(splits)
        self.samplers = {n: Sampler(splits[n], seq_len, batch_size, seed=seed, rank=rank,
                                    world_size=world_size, **kw) for n in self.names}
        self.langs = list(dict.fromkeys(l for s in self.samplers.values() for l in s.langs))  # union
        self._ids = {n: np.array([self.langs.index(l) for l in s.langs], dtype=np.int8)
                     for n, s in self.samplers.items()}  # corpus language id -> mixture language id
        total = sum(weights.values())
        self.shares = {n: weights[n] / total for n in self.names}
        self._cum = np.cumsum([self.shares[n] for n in self.names])
        self._cum[-1] = 1.0
        self.seq_len, self.batch_size = int(seq_len), int(batch_size)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.lang_probs = {n: s.lang_probs for n, s in self.samplers.items()}

    def _row(self, g):
        """Global row g -> (tokens, lang ids in self.langs, (corpus name, stories used))."""
        rng = np.random.default_rng([self.seed, g])
        name = self.names[int(np.searchsorted(self._cum, rng.random(), side="right"))]
        row, lang, used = self.samplers[name]._fill(rng)  # the same generator goes on: no correlation
        return row, self._ids[name][lang], (name, used)

    def get_batch(self, step):
        """As Sampler.get_batch; lang indexes self.langs."""
        return _batch(self, step)

    def state_dict(self):
        return dict(version=STATE_VERSION, mix=dict(self.shares), batch_size=self.batch_size,
                    world_size=self.world_size,
                    corpora={n: s.state_dict() for n, s in self.samplers.items()})

    def load_state_dict(self, d):
        mine = self.state_dict()
        mine["corpora"] = {n: {k: v for k, v in c.items() if k not in ("batch_size", "world_size", "p_fr")}
                           for n, c in mine["corpora"].items()}
        theirs = dict(d, corpora={n: {k: v for k, v in c.items() if k not in ("batch_size", "world_size",
                                                                              "p_fr")}
                                  for n, c in (d.get("corpora") or {}).items()})
        _check_resume(mine, theirs, ("batch_size", "world_size"))


def _batch(sampler, step):
    first = (int(step) * sampler.world_size + sampler.rank) * sampler.batch_size
    rows, langs = zip(*(sampler._row(g)[:2] for g in range(first, first + sampler.batch_size)))
    rows = np.stack(rows).astype(np.int64)  # (B, T+1)
    lang = np.stack(langs)[:, :-1]
    return (np.ascontiguousarray(rows[:, :-1]), np.ascontiguousarray(rows[:, 1:]),
            np.ascontiguousarray(lang))


def _check_resume(mine, d, free):
    diffs = [f"{k}: checkpoint {d.get(k)!r}, now {mine[k]!r}" for k in mine
             if k not in free and d.get(k) != mine[k]]
    rows_then = d.get("batch_size", 0) * d.get("world_size", 0)
    if rows_then != mine["batch_size"] * mine["world_size"]:
        diffs.append(f"rows per step (batch_size * world_size): checkpoint {rows_then}, "
                     f"now {mine['batch_size'] * mine['world_size']}")
    if d.get("version") != mine["version"]:
        diffs.append(f"the packing changed (sampler version {d.get('version')} -> {mine['version']}): "
                     f"this code cannot draw the checkpoint's rows")
    if diffs:
        raise DataError("interleave.py: this run's data settings differ from the checkpoint's, so "
                        "a resume would not see the same data:\n  " + "\n  ".join(diffs) +
                        "\nRun with the checkpoint's settings, or start a new out_dir.")


def mixture_meta(corpus_dirs):
    """meta.json of each corpus dir -> ({dir: name}, the meta the mixture trains with: vocab_size
    (which every corpus must share), languages = their union in order). Names are the directories'
    base names (log keys val_loss_<name>_<lang>) and must differ."""
    metas = {d: tokenbin.read_meta(d) for d in corpus_dirs}
    vocabs = {d: m["vocab_size"] for d, m in metas.items()}
    if len(set(vocabs.values())) != 1:
        raise DataError(f"interleave.py: the corpora of a mixture must share one vocabulary (the same "
                        f"tokenizer), got vocab_size {vocabs}")
    first, units = next(iter(metas)), {d: tokenbin.unit_identity(m) for d, m in metas.items()}
    for d, u in units.items():  # the same vocabulary size is not the same units (tokenbin.py's docstring)
        if (diff := tokenbin.units_mismatch(units[first], u)):
            raise DataError(f"interleave.py: the corpora of a mixture must hold the same units, but {first} holds "
                            f"{tokenbin.describe_units(units[first])} and {d} {tokenbin.describe_units(u)} "
                            f"({diff}). Mix corpora made with the same tokenizer.")
    names = {d: os.path.basename(os.path.normpath(d)) for d in corpus_dirs}
    if len(set(names.values())) != len(names):
        raise DataError(f"interleave.py: corpora of a mixture need distinct directory names (they "
                        f"name the val losses), got {list(corpus_dirs)}")
    meta = dict(metas[next(iter(corpus_dirs))])
    meta["languages"] = list(dict.fromkeys(l for m in metas.values() for l in m["languages"]))
    meta["mixture"] = {names[d]: metas[d] for d in corpus_dirs}
    return names, meta


def _parse_probs(text):
    return None if text is None else {k: float(v) for k, v in (kv.split("=") for kv in text.split(","))}


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="Show what the sampler feeds training.")
    ap.add_argument("corpus", nargs="?", default="data/toy_enfr")
    ap.add_argument("--split", default="train")
    ap.add_argument("--mode", default="interleave", choices=MODES)
    ap.add_argument("--switch", default="sentence", choices=SWITCHES)
    ap.add_argument("--p_fr", type=float, default=0.5)
    ap.add_argument("--lang_probs", default=None, help="e.g. en=0.5,fr=0.5 (replaces --p_fr)")
    ap.add_argument("--seq_len", type=int, default=2048)
    ap.add_argument("--batch_size", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--step", type=int, default=0)
    ap.add_argument("--show", type=int, default=2, help="rows to print")
    args = ap.parse_args()
    meta = tokenbin.read_meta(args.corpus)
    split = tokenbin.load_split(args.corpus, args.split)
    sampler = Sampler(split, args.seq_len, args.batch_size, mode=args.mode, p_fr=args.p_fr,
                      lang_probs=_parse_probs(args.lang_probs), switch=args.switch, seed=args.seed,
                      boundary_token=tokenbin.story_boundary_token(meta))
    print(f"{args.corpus} {args.split}: stories {dict(zip(sampler.langs, sampler._n_st))}; mode "
          f"{args.mode}, switch {args.switch}, lang_probs {sampler.lang_probs}, seq_len {args.seq_len}")
    x, y, lang = sampler.get_batch(args.step)
    first = (args.step * sampler.world_size + sampler.rank) * sampler.batch_size
    for b in range(min(args.show, args.batch_size)):
        _, _, used = sampler._row(first + b)
        print(f"row {b}: x[:12] = {x[b, :12].tolist()}")
        for i, (s, j0, langs, skip) in enumerate(used):
            sents = " ".join(f"{sampler.langs[l]}{j0 + k}" for k, l in enumerate(langs))
            head = f"  (from token {skip} of its sentence {j0}) " if i == 0 and (skip or j0 > 0) else " <bnd> "
            tail = " | the row ends inside this story" if i == len(used) - 1 else ""
            print(f" {head}story {s}: {sents}{tail}")
    shares = ", ".join(f"{l} {np.mean(lang == i):.3f}" for i, l in enumerate(sampler.langs))
    print(f"batch of step {args.step}, x {x.shape}: token share {shares}")
