"""
The toy corpus as TEXT: the same stories, sentences and bench items as data/toy_enfr/prepare.py, tokenized
with tiktoken and written in the same format (tokenbin.py), for the text topline (a text LM trained and
scored exactly like the speech model, as in the TWIST and SLAM tables).

    .venv/bin/python data/toy_enfr/prepare_text.py                     # ~25 s, writes data/toy_enfr_text/
    .venv/bin/python data/toy_enfr/prepare_text.py --seed=3 --n_train_stories=200 --out_dir=/tmp/toy_text
    .venv/bin/python data/toy_enfr/prepare_text.py --encoding=cl100k_base   # a published encoding (network, once)

What is the same as the unit corpus built with the same story options (--seed, --n_train_stories,
--n_val_stories, --n_bench, --n_speakers: prepare.py's, passed through its configure()): the story records
(prepare.draw_stories), so the same splits, stories, sentence counts, EN k <-> FR k alignment, held-out
bench stories and (prompt, good, bad) items in all four directions; the sentence texts are the generator's
(prepare.sentences). What differs: a sentence is stored as the tokens of its text plus SENTENCE_END ("\\n"),
which marks the sentence edge as the silence frames do in the units, and decoding a sentence's tokens gives
that text back exactly. Bench items are built from the same per-sentence tokens, so a prompt is the
concatenation of its sentences' tokens, as in training. Unlike the units (--shared_names=0), text spells
names alike in both languages, as real text does, and so are a few nouns (frisbee, hamster, zoo): tokens
shared by EN and FR, a cross-lingual cue a model trained on each language alone can already use.

The tokenizer, offline. tiktoken's published encodings download their ranks on first use, so by default the
toy builds its own: byte-level BPE ranks trained on the train split's text (EN + FR), split by GPT-4's
cl100k_base pattern, with train_ranks() below (the algorithm of tiktoken._educational.bpe_train, counting
each distinct pre-token once with its frequency: the same ranks, checked by tests/data/toy_enfr/test_prepare_text.py; on 300
stories, 800 ranks in 3 s against 182 s for the educational trainer, which would take hours on 30,000),
loaded into a tiktoken.Encoding. All 256 bytes are tokens, so any text encodes; each merge adds one token
made of two lower-ranked tokens, so every token is reachable; merges stop at --vocab_size or when every
pre-token is one token. Deterministic: the same text gives the same ranks. Saved as tokenizer.json (base64
token bytes in rank order + pattern) and read back by load_tokenizer(corpus_dir).
On the default corpus the toy's 656 distinct pre-tokens (words with their leading space, "\\n") all end up
whole: 1,638 tokens. A sentence is ~9.5 EN / ~10 FR tokens (the units: ~17 / ~20), a story 62 EN / 66 FR
(at most 87 / 100), a bench item at most 108 tokens: train the text models with --seq_len=128 (two stories
a row, as the units' 256 hold), see the README's text topline.

A published encoding (--encoding=cl100k_base, o200k_base, ...; needs its ranks once, from the network or
tiktoken's cache) has 100k-200k ids, which do not fit uint16. Its ids are remapped to a dense range: corpus id
i = encoding id ids[i], ids (sorted) being every id the corpus uses, stored in tokenizer.json; a text with an
id outside that set cannot be encoded (a clear error). The model's vocabulary is then len(ids) + 1.

meta.json: vocab_size = the tokenizer's n_vocab, story boundary = vocab_size (tokenbin.story_boundary_token).
"""
import base64
import collections
import hashlib
import json
import os
import sys
import time

import numpy as np
import regex
import tiktoken

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, HERE)
import prepare  # noqa: E402  (the story generator: its records and sentences)
import tokenbin  # noqa: E402

# ----------------------------------------------------------------------------- config (--key=value)
out_dir = os.path.join(os.path.dirname(HERE), "toy_enfr_text")  # data/toy_enfr_text/
vocab_size = 2048        # most tokens of the built encoding (256 bytes + merges); Mimi's inventory size
encoding = ""            # "" = build the toy's own; or a published tiktoken encoding name (network)
OWN_OPTIONS = ("out_dir", "vocab_size", "encoding")
STORY_OPTIONS = ("seed", "n_train_stories", "n_val_stories", "n_bench", "n_speakers")  # prepare.py's, passed on

# GPT-4's split (tiktoken cl100k_base): words with their leading space, punctuation runs, newlines
PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
           r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
SENTENCE_END = "\n"      # appended to every sentence's text: the sentence edge
TOY_ENCODING = "toy_enfr_bpe"


# ----------------------------------------------------------------------------- the tokenizer

def train_ranks(texts, max_vocab, pat_str=PATTERN):
    """Byte-level BPE ranks {token bytes: rank} from texts (an iterable of str), deterministic.
    tiktoken._educational.bpe_train's algorithm on "".join(texts) when no pre-token spans two texts (true
    for SENTENCE_END-terminated sentences): merge the most frequent adjacent pair, ties to the pair seen
    first. Here each distinct pre-token is kept once with its count, in first-seen order, so pair counts
    and their tie order are the same. Stops at max_vocab tokens or when no pair is left."""
    if max_vocab < 256:
        raise ValueError(f"prepare_text.py: vocab_size {max_vocab} < 256; every byte needs a token")
    pat, counts = regex.compile(pat_str), collections.Counter()
    for text, n in collections.Counter(texts).items():  # sentences repeat a lot: split each once
        for piece in pat.findall(text):
            counts[piece] += n
    words = [([bytes([b]) for b in piece.encode("utf-8")], n) for piece, n in counts.items()]
    ranks = {bytes([i]): i for i in range(256)}
    while len(ranks) < max_vocab:
        stats = {}
        for parts, n in words:
            for pair in zip(parts[:-1], parts[1:]):
                stats[pair] = stats.get(pair, 0) + n
        if not stats:  # every pre-token is one token
            break
        best = max(stats, key=stats.get)  # first of the most frequent, in first-seen order
        merged = best[0] + best[1]
        ranks.setdefault(merged, len(ranks))  # the same bytes reached by another pair: no new token
        for parts, _ in words:
            i = 0
            while i < len(parts) - 1:
                if (parts[i], parts[i + 1]) == best:
                    parts[i:i + 2] = [merged]
                i += 1
    return ranks


class TextTokenizer:
    """A tiktoken.Encoding seen through the corpus's ids: the same ids for the toy's own encoding; for a
    published one, corpus id i = encoding id ids[i] (dense, so it fits uint16)."""

    def __init__(self, enc, ids=None):
        self.enc = enc
        self.ids = None if ids is None else np.asarray(ids, dtype=np.int64)
        self.n_vocab = enc.n_vocab if ids is None else len(self.ids)

    def encode(self, text):  # -> int64 (n,) corpus ids
        raw = np.array(self.enc.encode_ordinary(text), dtype=np.int64)
        if self.ids is None:
            return raw
        pos = np.searchsorted(self.ids, raw).clip(0, len(self.ids) - 1)
        if np.any(self.ids[pos] != raw):
            raise ValueError(f"prepare_text.py: {text!r} has {self.enc.name} tokens this corpus never used, "
                             f"so they have no corpus id; rebuild the corpus with that text in it")
        return pos

    def decode(self, ids):
        ids = np.asarray(ids, dtype=np.int64)
        return self.enc.decode((ids if self.ids is None else self.ids[ids]).tolist())


def toy_encoding(ranks, pat_str=PATTERN):
    return tiktoken.Encoding(name=TOY_ENCODING, pat_str=pat_str, mergeable_ranks=ranks, special_tokens={})


def save_tokenizer(corpus_dir, tok):
    if tok.ids is None:
        by_rank = sorted(tok.enc._mergeable_ranks.items(), key=lambda kv: kv[1])
        assert [r for _, r in by_rank] == list(range(len(by_rank))), "ranks must be 0..n-1"
        data = dict(encoding=TOY_ENCODING, pat_str=tok.enc._pat_str,
                    ranks=[base64.b64encode(b).decode("ascii") for b, _ in by_rank])
    else:
        data = dict(encoding=tok.enc.name, ids=tok.ids.tolist())
    with open(os.path.join(corpus_dir, "tokenizer.json"), "w") as f:
        json.dump(data, f)


def load_tokenizer(corpus_dir):
    """The corpus's TextTokenizer, from its tokenizer.json."""
    path = os.path.join(corpus_dir, "tokenizer.json")
    if not os.path.isfile(path):
        raise tokenbin.FormatError(f"{path}: missing; is {corpus_dir} a text corpus? Build one with "
                                   f"data/toy_enfr/prepare_text.py.")
    with open(path) as f:
        data = json.load(f)
    if "ranks" in data:
        ranks = {base64.b64decode(b): r for r, b in enumerate(data["ranks"])}
        return TextTokenizer(toy_encoding(ranks, data["pat_str"]))
    return TextTokenizer(tiktoken.get_encoding(data["encoding"]), data["ids"])


# ----------------------------------------------------------------------------- the corpus

def story_texts(stories, lang):
    """[[sentence text + SENTENCE_END, ...] per story] in one language."""
    return [[t + SENTENCE_END for t in prepare.sentences(s, lang)] for s in stories]


def bench_parts(items, lang):
    """Per item, in one language: (prompt sentences, good, sSC bad, sTC bad) as stored texts."""
    return [([t + SENTENCE_END for t in it[lang]["prompt"]], it[lang]["good"] + SENTENCE_END,
             it[lang]["ssc_bad"] + SENTENCE_END, it[lang]["stc_bad"] + SENTENCE_END) for it in items]


def build(texts, items):
    """texts {split: {lang: story_texts}}, items: prepare.bench_text. Tokenizes and writes out_dir."""
    if encoding:
        tok = TextTokenizer(tiktoken.get_encoding(encoding))
    else:
        train = (t for lang in ("en", "fr") for story in texts["train"][lang] for t in story)
        tok = TextTokenizer(toy_encoding(train_ranks(train, vocab_size)))
    cache = {}
    enc = lambda t: cache[t] if t in cache else cache.setdefault(t, tok.encode(t))  # noqa: E731

    def tokens(tree):  # nested lists of texts -> the same nesting of token arrays
        return enc(tree) if isinstance(tree, str) else [tokens(x) for x in tree]
    split_tokens = {split: {lang: tokens(texts[split][lang]) for lang in ("en", "fr")} for split in texts}
    bench_tokens = {lang: tokens(bench_parts(items, lang)) for lang in ("en", "fr")}
    if encoding:  # a published encoding: dense ids over every id the corpus uses, so they fit uint16
        flat = [t for lang_tree in (*split_tokens.values(), bench_tokens) for tree in lang_tree.values()
                for t in _leaves(tree)]
        tok = TextTokenizer(tok.enc, np.unique(np.concatenate(flat)))
        split_tokens = _map_leaves(split_tokens, lambda a: np.searchsorted(tok.ids, a))
        bench_tokens = _map_leaves(bench_tokens, lambda a: np.searchsorted(tok.ids, a))
    if tok.n_vocab >= 65536:  # the story boundary (= vocab_size) must fit uint16 too
        raise SystemExit(f"prepare_text.py: {tok.n_vocab} tokens do not fit uint16 with the boundary token")
    os.makedirs(out_dir, exist_ok=True)
    counts = {}
    for split, langs in split_tokens.items():
        starts = np.cumsum([0] + [len(story) for story in langs["en"][:-1]])
        sents = {lang: [t for story in langs[lang] for t in story] for lang in ("en", "fr")}
        tokenbin.write_split(out_dir, split, sents, starts, tok.n_vocab)
        counts[split] = dict(stories=len(starts), sentences=len(sents["en"]),
                             tokens={lang: int(sum(len(t) for t in s)) for lang, s in sents.items()})
    for task in ("ssc", "stc"):
        for d, (pl, el) in prepare.DIRECTIONS.items():
            bad = 2 if task == "ssc" else 3
            rows = [(np.concatenate(p[0]), e[1], e[bad]) for p, e in zip(bench_tokens[pl], bench_tokens[el])]
            tokenbin.write_bench(out_dir, f"{task}_{d}", rows, tok.n_vocab)
    counts["bench"] = {f"{task}_{d}": len(items) for task in ("ssc", "stc") for d in prepare.DIRECTIONS}
    with open(os.path.join(out_dir, "bench", "items.jsonl"), "w", encoding="utf-8") as f:
        for item in items:
            f.write(json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n")
    save_tokenizer(out_dir, tok)
    return tok, counts


def _leaves(tree):
    return [tree] if isinstance(tree, np.ndarray) else [x for t in tree for x in _leaves(t)]


def _map_leaves(tree, fn):
    if isinstance(tree, np.ndarray):
        return fn(tree)
    if isinstance(tree, dict):
        return {k: _map_leaves(v, fn) for k, v in tree.items()}
    return [_map_leaves(x, fn) for x in tree]


def main(argv):
    g, own = globals(), [a for a in argv if a.lstrip("-").partition("=")[0] in OWN_OPTIONS]
    for arg in own:  # nanoGPT-style overrides: --key=value, typed like the default
        key, _, val = arg.lstrip("-").partition("=")
        try:
            g[key] = type(g[key])(val)
        except ValueError:
            sys.exit(f"data/toy_enfr/prepare_text.py: --{key} needs a {type(g[key]).__name__}, got {val!r}")
    rest = [a for a in argv if a not in own]
    for arg in rest:  # prepare.py's pronunciation options would change nothing here: refused, not ignored
        if arg.lstrip("-").partition("=")[0] not in STORY_OPTIONS:
            sys.exit(f"data/toy_enfr/prepare_text.py: unknown option {arg!r}; options (as --key=value): "
                     + " ".join("--" + k for k in OWN_OPTIONS + STORY_OPTIONS))
    prepare.configure(rest)
    t0 = time.time()
    splits, bench = prepare.draw_stories()
    texts = {split: {lang: story_texts(stories, lang) for lang in ("en", "fr")} for split, stories in splits.items()}
    tok, counts = build(texts, prepare.bench_text(bench))
    with open(os.path.join(out_dir, "tokenizer.json"), "rb") as f:  # the ids mean what this file says
        units = dict(tokenizer="tiktoken", sha256=hashlib.sha256(f.read()).hexdigest(), vocab_size=tok.n_vocab)
    tokenbin.write_meta(out_dir, dict(
        vocab_size=tok.n_vocab, languages=["en", "fr"], counts=counts, seed=prepare.seed, units=units,
        config={k: getattr(prepare, k) for k in STORY_OPTIONS},
        special_tokens={"story_boundary": tokenbin.story_boundary_token({"vocab_size": tok.n_vocab})},
        tokenizer=dict(name="tiktoken", encoding=tok.enc.name, file="tokenizer.json", sentence_end=SENTENCE_END,
                       dense_ids=tok.ids is not None,
                       note="the toy's own byte-level BPE trained on its train text" if not encoding else
                            "a published encoding, ids remapped densely (tokenizer.json ids)"),
        source="data/toy_enfr/prepare_text.py: the toy stories of data/toy_enfr/prepare.py as text "
               "(the same records, sentences and bench items), tokenized with tiktoken"))
    per_story = counts["train"]["tokens"]["en"] / counts["train"]["stories"]
    print(f"{out_dir}: vocab {tok.n_vocab} ({tok.enc.name}); " + "; ".join(
        f"{s} {c['stories']} stories, {c['sentences']} sentences, {c['tokens']['en']:,} EN / {c['tokens']['fr']:,} "
        f"FR tokens" for s, c in counts.items() if s != "bench")
        + f"; {per_story:.1f} EN tokens a story; {len(counts['bench'])} bench sets; {time.time() - t0:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
