"""
The training-data sampler: which stories, which sentences, in which language, packed into rows.

A row is seq_len + 1 tokens: stories back to back, each preceded by one story-boundary token
(tokenbin.story_boundary_token, 2048 for Mimi), the last story cut at the row end, no padding.
x = row[:-1], y = row[1:], and lang[t] is the language id (index in split.langs) of x[t];
a boundary token gets the language of the sentence that follows it.

Modes (the paper's three stages and its baseline):
    mono        one language per row, drawn with lang_probs: {"en": 1} is EN pretraining,
                {"en": .5, "fr": .5} bilingual fine-tuning and the EN+FR baseline
    interleave  each next sentence of a story in FR with probability p_fr, else EN, so the language
                can only switch at a sentence boundary; switch="story" draws one language per story
                instead (ablation: same language mix, no switch inside a story)
lang_probs defaults to {"en": 1 - p_fr, "fr": p_fr} (so mono with defaults is the EN+FR baseline);
when given it replaces p_fr in both modes.

Stateless: global row g = (step * world_size + rank) * batch_size + b is drawn from its own
generator, np.random.default_rng([seed, g]). A batch is a pure function of (seed, rank, step), so a
resumed run sees exactly the rows it would have seen, ranks never share a row, and the rows of one
step are the same set whenever world_size * batch_size is the same (a resume on another GPU count
keeps its data). Each row starts at a uniformly drawn story (with replacement: no epoch state) at its
first sentence, and every next story of the row is drawn the same way, independently. Starting at
story starts matches evaluation (a boundary token, then a story); the price is that the tail of the
story cut at a row end is seen a little less often than its head.
With gradient accumulation call get_batch(it * grad_accum + micro_step).

Try it:
    python interleave.py data/toy_enfr --show 2                  # rows, language per sentence
    python interleave.py data/toy_enfr --mode mono --lang_probs en=1 --show 1
    python interleave.py data/toy_enfr --switch story --p_fr 0.2 --show 1
Speed (tokens/s of get_batch on one core, seq 2048, batch 8):  python bench.py sampler
"""
import argparse

import numpy as np

import tokenbin

MODES = ("interleave", "mono")
SWITCHES = ("sentence", "story")


class Sampler:
    def __init__(self, split, seq_len, batch_size, mode="interleave", p_fr=0.5, lang_probs=None,
                 switch="sentence", seed=0, rank=0, world_size=1, boundary_token=2048):
        if mode not in MODES:
            raise ValueError(f"interleave.py: mode must be one of {MODES}, got {mode!r}")
        if switch not in SWITCHES:
            raise ValueError(f"interleave.py: switch must be one of {SWITCHES}, got {switch!r}")
        if not (seq_len >= 1 and batch_size >= 1 and world_size >= 1 and 0 <= rank < world_size):
            raise ValueError(f"interleave.py: need seq_len, batch_size >= 1 and 0 <= rank < world_size, "
                             f"got seq_len={seq_len} batch_size={batch_size} rank={rank} "
                             f"world_size={world_size}")
        if not 0 <= boundary_token < 65536:  # rows are assembled in uint16, like the corpus
            raise ValueError(f"interleave.py: boundary_token {boundary_token} does not fit uint16")
        if split.n_stories < 1:
            raise ValueError(f"interleave.py: {split.path} {split.split} has no stories")
        self.split, self.langs = split, list(split.langs)
        self.seq_len, self.batch_size = int(seq_len), int(batch_size)
        self.mode, self.switch, self.p_fr = mode, switch, float(p_fr)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.boundary_token = int(boundary_token)
        self.lang_probs = self._resolve_probs(lang_probs)  # {lang: prob} over every split language
        # language draw: id = number of cumulative probabilities <= u, for u uniform in [0, 1)
        self._cum = np.cumsum([self.lang_probs[lang] for lang in self.langs])
        self._cum[-1] = 1.0  # so rounding can never draw past the last language
        # plain ndarray views: slicing a np.memmap builds a memmap object each time (slow); no copies
        self._tok = [np.asarray(split.tokens[lang]) for lang in self.langs]  # uint16 (n_tokens,)
        self._off = [np.asarray(split.offsets[lang]) for lang in self.langs]  # int64 (n_sent + 1,)
        self._stories = np.asarray(split.stories)                            # int64 (n_stories + 1,)
        self._bnd = np.array([self.boundary_token], dtype=np.uint16)

    def _resolve_probs(self, lang_probs):
        if lang_probs is None:
            if not ("en" in self.langs and "fr" in self.langs):
                raise ValueError(f"interleave.py: p_fr needs languages en and fr, the corpus has "
                                 f"{self.langs}; pass lang_probs instead")
            if not 0.0 <= self.p_fr <= 1.0:
                raise ValueError(f"interleave.py: p_fr must lie in [0, 1], got {self.p_fr}")
            lang_probs = {"en": 1.0 - self.p_fr, "fr": self.p_fr}
        unknown = set(lang_probs) - set(self.langs)
        probs = {lang: float(lang_probs.get(lang, 0.0)) for lang in self.langs}
        if unknown or min(probs.values()) < 0 or abs(sum(probs.values()) - 1.0) > 1e-6:
            raise ValueError(f"interleave.py: lang_probs must give each of {self.langs} a probability "
                             f">= 0, summing to 1; got {lang_probs}")
        return probs

    def _draw(self, rng, n=None):
        """Language ids drawn with lang_probs: one int (n=None) or an int array (n,)."""
        return np.searchsorted(self._cum, rng.random(n), side="right")

    def _row(self, g):
        """Global row g -> (tokens uint16 (seq_len+1,), lang int8 (seq_len+1,), [(story, lang ids)])."""
        rng = np.random.default_rng([self.seed, g])
        need = self.seq_len + 1
        row_lang = self._draw(rng)  # mono: the one language of the whole row
        pieces, piece_langs, used = [], [], []
        n = 0
        while n < need:
            s = int(rng.integers(self.split.n_stories))
            a, b = int(self._stories[s]), int(self._stories[s + 1])  # sentences [a, b) of story s
            if self.mode == "mono":
                langs = np.full(b - a, row_lang)
            elif self.switch == "story":
                langs = np.full(b - a, self._draw(rng))
            else:
                langs = self._draw(rng, b - a)
            pieces.append(self._bnd)
            piece_langs.append(langs[0])  # the boundary takes the language of what follows
            n += 1
            for k, (j, lang) in enumerate(zip(range(a, b), langs)):
                if n >= need:  # row full: the story is cut here (possibly right after its boundary)
                    langs = langs[:k]
                    break
                off = self._off[lang]
                piece = self._tok[lang][off[j]:off[j + 1]]
                pieces.append(piece)
                piece_langs.append(lang)
                n += len(piece)
            used.append((s, langs))
        row = np.concatenate(pieces)[:need]
        lang = np.repeat(np.array(piece_langs, dtype=np.int8), [len(p) for p in pieces])[:need]
        return row, lang, used

    def get_batch(self, step):
        """-> x int64 (B, T), y int64 (B, T) (x shifted by one), lang int8 (B, T) (language of x)."""
        first = (int(step) * self.world_size + self.rank) * self.batch_size
        rows, langs = zip(*(self._row(g)[:2] for g in range(first, first + self.batch_size)))
        rows = np.stack(rows).astype(np.int64)  # (B, T+1)
        lang = np.stack(langs)[:, :-1]
        return (np.ascontiguousarray(rows[:, :-1]), np.ascontiguousarray(rows[:, 1:]),
                np.ascontiguousarray(lang))

    # ------------------------------------------------------------------ resume checks
    def state_dict(self):
        """The settings that decide the data (no position: the sampler is stateless)."""
        return dict(version=1, seq_len=self.seq_len, batch_size=self.batch_size, mode=self.mode,
                    p_fr=self.p_fr, lang_probs=dict(self.lang_probs), switch=self.switch,
                    seed=self.seed, world_size=self.world_size, boundary_token=self.boundary_token,
                    langs=list(self.langs), n_stories=self.split.n_stories,
                    n_sentences=self.split.n_sentences,
                    n_tokens={lang: int(len(t)) for lang, t in zip(self.langs, self._tok)})

    def load_state_dict(self, d):
        """Check that a resumed run draws the same data as the checkpoint; raise if not.
        world_size and batch_size may change as long as their product (rows per step) does not."""
        mine = self.state_dict()
        diffs = [f"{k}: checkpoint {d.get(k)!r}, now {mine[k]!r}" for k in mine
                 if k not in ("batch_size", "world_size", "p_fr") and d.get(k) != mine[k]]
        rows_then = d.get("batch_size", 0) * d.get("world_size", 0)
        if rows_then != self.batch_size * self.world_size:
            diffs.append(f"rows per step (batch_size * world_size): checkpoint {rows_then}, "
                         f"now {self.batch_size * self.world_size}")
        if diffs:
            raise ValueError("interleave.py: this run's data settings differ from the checkpoint's, so "
                             "a resume would not see the same data:\n  " + "\n  ".join(diffs) +
                             "\nRun with the checkpoint's settings, or start a new out_dir.")


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
    print(f"{args.corpus} {args.split}: {split.n_stories:,} stories; mode {args.mode}, switch "
          f"{args.switch}, lang_probs {sampler.lang_probs}, seq_len {args.seq_len}")
    x, y, lang = sampler.get_batch(args.step)
    first = (args.step * sampler.world_size + sampler.rank) * sampler.batch_size
    for b in range(min(args.show, args.batch_size)):
        _, _, used = sampler._row(first + b)
        print(f"row {b}: x[:12] = {x[b, :12].tolist()}")
        for i, (s, langs) in enumerate(used):
            a = int(split.stories[s])
            sents = " ".join(f"{sampler.langs[l]}{a + k}" for k, l in enumerate(langs))
            cut = " | row ends" if i == len(used) - 1 else ""  # inside the last sentence shown
            print(f"  <story {s}> {sents}{cut}")
    shares = ", ".join(f"{l} {np.mean(lang == i):.3f}" for i, l in enumerate(sampler.langs))
    print(f"batch of step {args.step}, x {x.shape}: token share {shares}")
