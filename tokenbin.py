"""
The on-disk token format: the one reader and the one writer every other file uses.

A corpus directory data/<corpus>/ holds, per split (train, val) and language (en, fr, ...):

    {split}_{lang}.bin      header of 256 little-endian int32
                              [0] magic 20251201  [1] version 1  [2] n_tokens  [3] vocab_size  (rest 0)
                            then n_tokens little-endian uint16: every sentence of every story, in order
    {split}_{lang}.idx.npy  int64 (n_sentences + 1,): token offset where each sentence starts, then the end
    {split}.stories.npy     int64 (n_stories + 1,): first sentence of each story, then n_sentences
                            (paired corpora: shared by the languages)
    {split}_{lang}.stories.npy   the same, one per language (unpaired corpora, instead of the shared one)
    meta.json               vocab_size, languages, paired, units, tokenizer, counts, how the corpus was made
    bench/{task}_{direction}.bin + .items.npy   cloze sets: items int64 (n_items, 6) =
                            [prompt_start, prompt_end, good_start, good_end, bad_start, bad_end]
    bench/{name}.groups.npy optional, int64 (n_items,): a group id per item (sLM21 sets: the items of
                            one word or one sentence pair across voices); a set's score is then the
                            mean over groups of the within-group accuracy, as sLM21 aggregates
    bench/{name}.total.npy  optional, int64 (2,): [items, groups] of the source the set was made from
                            (groups 0 for a set without groups). A set holding fewer (an item whose
                            clip tokenization skipped is left out; skipped.jsonl says which) is
                            incomplete: eval_cloze.py scores it as n of N, never as the set's score.
                            No file: the writer made no claim (the toy corpus's sets)

Paired corpora (meta.json "paired": true, or no "paired" key: every corpus written before unpaired
ones existed): sentence k of `en` and sentence k of `fr` are translations of each other, so both
languages of a split have the same number of sentences and share the stories file. Only a paired
corpus can be interleaved.
Unpaired corpora ("paired": false): one language (EN-only LibriHeavy), or languages that are not
translations of each other. Each language has its own stories file and its own sentence count; a
"story" is a document (a LibriHeavy chapter, an episode) and a "sentence" one segment of it.

Every story has at least one sentence (the writer refuses less, readers check it).

What the ids mean (meta.json "units"): {"tokenizer": name, "sha256": hex, "vocab_size": n}, the identity
of the tokenizer that wrote the corpus. Two corpora hold the same units only if all three agree; models,
mixtures and evaluations check it (unit_identity, units_mismatch). sha256: of the weights file (Mimi:
"mimi", sha256 of the safetensors file), of the generator's unit-defining settings (the toy:
"toy_enfr pseudo-units", data/toy_enfr/prepare.py), of the tokenizer file (a text corpus: "tiktoken").
A corpus written before "units" existed is read by what it recorded: the name of its "tokenizer" record
and its weights_sha256 (every tokenize_audio.py corpus has both, so it is checked fully); what it did not
record (the old toy's settings hash, a test corpus's tokenizer) is unknown and not compared, and
unit_identity says so ("recorded": false). Re-create the corpus to record it.

Readers memory-map (a 42k-hour corpus is ~2 GB of tokens per language, no need to load it) and
check everything cheap to check, failing with a message that names the file and what to do.

Try it:  .venv/bin/python tokenbin.py data/toy_enfr        (prints what the corpus holds, after checking it)
"""
import hashlib
import json
import os
import sys
from dataclasses import dataclass

import numpy as np

MAGIC = 20251201
VERSION = 1
HEADER_INTS = 256
HEADER_BYTES = HEADER_INTS * 4
TOKEN_DTYPE = np.dtype("<u2")  # uint16, little-endian: Mimi has 2048 units, plenty of room above


class FormatError(ValueError):
    """A corpus file is not what the format promises. The message names the file and the fix."""


def _atomic_write(path, write_fn):
    # write to a temporary name and rename: a crash mid-write never leaves a half file behind
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        write_fn(f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _save_npy(path, array):
    _atomic_write(path, lambda f: np.save(f, np.asarray(array, dtype=np.int64)))


# ----------------------------------------------------------------------------- token bins

def write_bin(path, tokens, vocab_size):
    """Write a 1-D array of token ids (all < vocab_size) as a .bin file."""
    tokens = np.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"{path}: tokens must be 1-D, got shape {tokens.shape}")
    if tokens.size >= 2**31:  # the header's token count is an int32
        raise ValueError(f"{path}: {tokens.size:,} tokens do not fit one file (at most 2^31 - 1, about "
                         f"47k hours at 12.5 Hz); split the corpus into several corpus directories")
    if not 0 < vocab_size <= 65536:
        raise ValueError(f"{path}: vocab_size {vocab_size} does not fit uint16 tokens")
    if tokens.size and (tokens.min() < 0 or tokens.max() >= vocab_size):
        raise ValueError(f"{path}: token ids must lie in [0, {vocab_size}), "
                         f"got [{tokens.min()}, {tokens.max()}]")
    header = np.zeros(HEADER_INTS, dtype="<i4")
    header[:4] = (MAGIC, VERSION, tokens.size, vocab_size)

    def write(f):
        f.write(header.tobytes())
        f.write(tokens.astype(TOKEN_DTYPE).tobytes())
    _atomic_write(path, write)


def read_header(path):
    """Return (n_tokens, vocab_size) after checking magic, version and file size."""
    if not os.path.isfile(path):
        raise FormatError(f"{path}: no such token file. Build the corpus first "
                          f"(data/toy_enfr/prepare.py or tokenize_audio.py).")
    size = os.path.getsize(path)
    if size < HEADER_BYTES:
        raise FormatError(f"{path}: truncated ({size} bytes, the header alone is {HEADER_BYTES}). "
                          f"Re-create it.")
    header = np.fromfile(path, dtype="<i4", count=HEADER_INTS)
    if header[0] != MAGIC:
        raise FormatError(f"{path}: wrong magic number {header[0]} (expected {MAGIC}): "
                          f"not a crosstalk token file.")
    if header[1] != VERSION:
        raise FormatError(f"{path}: format version {header[1]}, this code reads version {VERSION}.")
    n_tokens, vocab_size = int(header[2]), int(header[3])
    expected = HEADER_BYTES + 2 * n_tokens
    if size != expected:
        raise FormatError(f"{path}: header says {n_tokens} tokens ({expected} bytes) but the file has "
                          f"{size} bytes: truncated or corrupted. Re-create it.")
    return n_tokens, vocab_size


def read_bin(path, vocab_size=None, check_range=True):
    """Memory-map a .bin file as uint16 tokens, checked against the header (and vocab_size if given)."""
    n_tokens, file_vocab = read_header(path)
    if vocab_size is not None and file_vocab != vocab_size:
        raise FormatError(f"{path}: vocabulary size {file_vocab}, expected {vocab_size} "
                          f"(meta.json or the model disagrees with the file).")
    if n_tokens == 0:
        return np.zeros(0, dtype=TOKEN_DTYPE)
    tokens = np.memmap(path, dtype=TOKEN_DTYPE, mode="r", offset=HEADER_BYTES, shape=(n_tokens,))
    if check_range:  # one pass over the file; ~1 s per GB, cheap next to training on it
        top = int(tokens.max())
        if top >= file_vocab:
            where = int(np.argmax(tokens >= file_vocab))
            raise FormatError(f"{path}: token id {top} out of range for vocabulary {file_vocab} "
                              f"(first at position {where}). The file is corrupted or was written "
                              f"with another vocabulary; re-create it.")
    return tokens


# ----------------------------------------------------------------------------- corpus splits

@dataclass
class Split:
    """One split of a corpus: per language a token memmap, sentence offsets and story starts."""
    path: str
    split: str
    langs: list        # language codes in meta.json order; a token's language id is its index here
    tokens: dict       # lang -> uint16 memmap (n_tokens,)
    offsets: dict      # lang -> int64 (n_sentences + 1,)
    lang_stories: dict  # lang -> int64 (n_stories + 1,); paired: one array shared by every language
    paired: bool       # sentence k of every language translates the others (interleaving needs it)

    @property
    def stories(self):
        """The shared story starts of a paired corpus, int64 (n_stories + 1,)."""
        if not self.paired:
            raise ValueError(f"{self.path} {self.split}: an unpaired corpus has one story index per "
                             f"language: use split.lang_stories[lang]")
        return self.lang_stories[self.langs[0]]

    @property
    def n_sentences(self):
        return int(self.stories[-1])

    @property
    def n_stories(self):
        return len(self.stories) - 1

    def sentence(self, lang, k):
        return self.tokens[lang][self.offsets[lang][k]:self.offsets[lang][k + 1]]


def _check_story_starts(where, stories, n_sentences):
    if len(stories) < 2 or stories[0] != 0 or stories[-1] != n_sentences or np.any(np.diff(stories) <= 0):
        return (f"{where}: story starts must run from 0 to n_sentences ({n_sentences}) and increase "
                f"strictly (every story has at least one sentence)")
    return None


def write_split(corpus_dir, split, sentences, story_starts, vocab_size, paired=True):
    """sentences: {lang: [1-D int array per sentence, story order]}; story_starts: first sentence
    index of each story (paired), or {lang: first sentence indices} (paired=False).
    Writes the .bin and .idx.npy of each language and the stories file(s)."""
    os.makedirs(corpus_dir, exist_ok=True)
    counts = {lang: len(s) for lang, s in sentences.items()}
    if paired and len(set(counts.values())) != 1:
        raise ValueError(f"{corpus_dir} {split}: languages must have the same number of sentences "
                         f"(sentence k of each is a translation), got {counts}")
    starts = {lang: story_starts for lang in sentences} if paired else story_starts
    if set(starts) != set(sentences):
        raise ValueError(f"{corpus_dir} {split}: story_starts must give every language of sentences "
                         f"{sorted(sentences)}, got {sorted(starts)}")
    stories = {lang: np.append(np.asarray(starts[lang], dtype=np.int64), counts[lang]) for lang in sentences}
    for lang, st in stories.items():
        if (err := _check_story_starts(f"{corpus_dir} {split} {lang}", st, counts[lang])):
            raise ValueError(err)
    for lang, sents in sentences.items():
        lengths = np.array([len(s) for s in sents], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        flat = np.concatenate(sents) if sents else np.zeros(0, dtype=np.int64)
        write_bin(os.path.join(corpus_dir, f"{split}_{lang}.bin"), flat, vocab_size)
        _save_npy(os.path.join(corpus_dir, f"{split}_{lang}.idx.npy"), offsets)
        if not paired:
            _save_npy(os.path.join(corpus_dir, f"{split}_{lang}.stories.npy"), stories[lang])
    if paired:
        _save_npy(os.path.join(corpus_dir, f"{split}.stories.npy"), next(iter(stories.values())))


def split_files(corpus_dir, split, meta):
    """The files one split of this corpus consists of (what load_split reads), for cleaners and checks."""
    langs = meta["languages"]
    files = [f"{split}_{lang}{ext}" for lang in langs for ext in (".bin", ".idx.npy")]
    files += [f"{split}.stories.npy"] if is_paired(meta) else [f"{split}_{lang}.stories.npy" for lang in langs]
    return [os.path.join(corpus_dir, f) for f in files]


def fingerprint(corpus_dir, meta, splits=("train", "val")):
    """{file name: [bytes, sha256]} of every file of these splits (split_files): what a run records of its
    corpus, so that a resume refuses a corpus changed under it. The whole content is hashed, not sampled
    blocks: a rewrite confined to a few sentences (one clip re-encoded) would slip between samples. sha256
    runs at 0.5-1.4 GB/s on a loaded 2-core CPU: 3-8 s per start for a 42k-hour corpus (3.8 GB of tokens),
    against a run of hours (docs/LOG.md)."""
    out = {}
    for path in (p for split in splits for p in split_files(corpus_dir, split, meta)):
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 24), b""):
                h.update(block)
        out[os.path.basename(path)] = [os.path.getsize(path), h.hexdigest()]
    return out


def _load_index(path):
    if not os.path.isfile(path):
        raise FormatError(f"{path}: missing. Build the corpus first (data/toy_enfr/prepare.py or "
                          f"tokenize_audio.py).")
    try:
        array = np.load(path, allow_pickle=False)
    except Exception as e:  # truncated, not an .npy file, ...
        raise FormatError(f"{path}: unreadable ({e}). Re-create it.") from None
    if array.dtype != np.int64 or array.ndim != 1:
        raise FormatError(f"{path}: expected a 1-D int64 array, got {array.dtype} {array.shape}.")
    return array


def _check_monotone(path, array, start, end, what):
    if len(array) == 0 or array[0] != start or array[-1] != end or np.any(np.diff(array) < 0):
        raise FormatError(f"{path}: {what} must run from {start} to {end} without decreasing, "
                          f"got {len(array)} entries from {array[:1]} to {array[-1:]}. "
                          f"The index and the data disagree; re-create the corpus.")


def load_split(corpus_dir, split, vocab_size=None):
    """Open and check one split of a corpus. Returns a Split; fails with FormatError."""
    meta = read_meta(corpus_dir)
    vocab_size = meta["vocab_size"] if vocab_size is None else vocab_size
    paired = is_paired(meta)
    tokens, offsets, stories = {}, {}, {}
    for lang in meta["languages"]:
        bin_path = os.path.join(corpus_dir, f"{split}_{lang}.bin")
        idx_path = os.path.join(corpus_dir, f"{split}_{lang}.idx.npy")
        tokens[lang] = read_bin(bin_path, vocab_size)
        offsets[lang] = _load_index(idx_path)
        _check_monotone(idx_path, offsets[lang], 0, len(tokens[lang]), "sentence offsets")
    counts = {lang: len(o) - 1 for lang, o in offsets.items()}
    if paired and len(set(counts.values())) != 1:
        raise FormatError(f"{corpus_dir}: {split} sentence counts differ between languages {counts}; "
                          f"sentence k of each language must translate the others. Re-create the "
                          f"corpus (tokenize_audio.py drops stories with a missing translation), or "
                          f"mark it \"paired\": false in meta.json if its languages are not translations.")
    for lang in meta["languages"]:
        path = os.path.join(corpus_dir, f"{split}.stories.npy" if paired else f"{split}_{lang}.stories.npy")
        if paired and stories:
            stories[lang] = next(iter(stories.values()))
            continue
        stories[lang] = _load_index(path)
        if (err := _check_story_starts(path, stories[lang], counts[lang])):
            raise FormatError(f"{err}, got {len(stories[lang])} entries. The index and the data "
                              f"disagree; re-create the corpus.")
    return Split(corpus_dir, split, list(meta["languages"]), tokens, offsets, stories, paired)


# ----------------------------------------------------------------------------- cloze benches

def write_bench(corpus_dir, name, items, vocab_size, groups=None, total=None):
    """items: list of (prompt, good, bad) 1-D int arrays (prompt may be empty: minimal pairs).
    Writes bench/{name}.bin with the three parts of each item back to back, and the item ranges;
    groups (n_items,) ints, optional: bench/{name}.groups.npy; total (items, groups) of the set's
    source, optional: bench/{name}.total.npy (see the module docstring)."""
    bench_dir = os.path.join(corpus_dir, "bench")
    os.makedirs(bench_dir, exist_ok=True)
    parts, ranges, pos = [], [], 0
    for item in items:
        row = []
        for part in item:
            part = np.asarray(part, dtype=np.int64)
            parts.append(part)
            row += [pos, pos + len(part)]
            pos += len(part)
        ranges.append(row)
    flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
    write_bin(os.path.join(bench_dir, f"{name}.bin"), flat, vocab_size)
    _save_npy(os.path.join(bench_dir, f"{name}.items.npy"), np.array(ranges, dtype=np.int64).reshape(-1, 6))
    groups_path = os.path.join(bench_dir, f"{name}.groups.npy")
    if groups is not None and len(groups) != len(items):
        raise ValueError(f"{groups_path}: {len(groups)} group ids for {len(items)} items")
    total_path = os.path.join(bench_dir, f"{name}.total.npy")
    if total is not None and (len(total) != 2 or total[0] < len(items)
                              or total[1] < (len(set(groups)) if groups is not None else 0)):
        raise ValueError(f"{total_path}: a total of {list(total)} [items, groups] is less than the set holds")
    # a stale sidecar from an earlier write would regroup these items, or misstate their total
    for path, array in ((groups_path, groups), (total_path, total)):
        if array is not None:
            _save_npy(path, array)
        elif os.path.exists(path):
            os.remove(path)


def load_bench(corpus_dir, name, vocab_size=None):
    """Returns (tokens uint16 memmap, items int64 (n_items, 6)), checked."""
    bin_path = os.path.join(corpus_dir, "bench", f"{name}.bin")
    items_path = os.path.join(corpus_dir, "bench", f"{name}.items.npy")
    tokens = read_bin(bin_path, vocab_size)
    if not os.path.isfile(items_path):
        raise FormatError(f"{items_path}: missing; every bench .bin needs its .items.npy.")
    try:
        items = np.load(items_path, allow_pickle=False)
    except Exception as e:
        raise FormatError(f"{items_path}: unreadable ({e}). Re-create it.") from None
    if items.dtype != np.int64 or items.ndim != 2 or items.shape[1] != 6:
        raise FormatError(f"{items_path}: expected int64 (n_items, 6), got {items.dtype} {items.shape}.")
    starts, ends = items[:, 0::2], items[:, 1::2]
    if np.any(starts < 0) or np.any(ends > len(tokens)) or np.any(ends < starts):
        raise FormatError(f"{items_path}: item ranges outside {bin_path} ({len(tokens)} tokens) or "
                          f"reversed. Re-create the bench set.")
    if np.any(ends[:, 1:] == starts[:, 1:]):
        raise FormatError(f"{items_path}: an item has an empty ending; every item needs a good and a "
                          f"bad ending (only the prompt may be empty).")
    return tokens, items


def load_bench_groups(corpus_dir, name, n_items):
    """bench/{name}.groups.npy as int64 (n_items,), or None when the set has no groups file."""
    path = os.path.join(corpus_dir, "bench", f"{name}.groups.npy")
    if not os.path.exists(path):
        return None
    groups = _load_index(path)
    if len(groups) != n_items:
        raise FormatError(f"{path}: {len(groups)} group ids for {n_items} items in bench/{name}. "
                          f"Re-create the bench set.")
    return groups


def load_bench_total(corpus_dir, name, n_items, n_groups=0):
    """bench/{name}.total.npy as (items, groups) ints, or None when the set has no total file. The set
    holds n_items items in n_groups groups (0: no groups); a total below them is corrupt."""
    path = os.path.join(corpus_dir, "bench", f"{name}.total.npy")
    if not os.path.exists(path):
        return None
    total = _load_index(path)
    if len(total) != 2 or total[0] < n_items or total[1] < n_groups:
        raise FormatError(f"{path}: total {total.tolist()} [items, groups] for a set of {n_items} items in "
                          f"{n_groups} groups (bench/{name}): the total cannot be smaller. Re-create the bench set.")
    return int(total[0]), int(total[1])


def list_benches(corpus_dir):
    bench_dir = os.path.join(corpus_dir, "bench")
    if not os.path.isdir(bench_dir):
        return []
    return sorted(f[:-len(".items.npy")] for f in os.listdir(bench_dir) if f.endswith(".items.npy"))


# ----------------------------------------------------------------------------- meta

def write_meta(corpus_dir, meta):
    for key in ("vocab_size", "languages"):
        if key not in meta:
            raise ValueError(f"meta.json for {corpus_dir} needs '{key}'")
    if not isinstance(meta.get("paired", True), bool):
        raise ValueError(f"meta.json for {corpus_dir}: 'paired' must be true or false")
    units = meta.get("units", {"tokenizer": "", "sha256": "", "vocab_size": meta["vocab_size"]})
    if set(units) != {"tokenizer", "sha256", "vocab_size"} or units["vocab_size"] != meta["vocab_size"]:
        raise ValueError(f"meta.json for {corpus_dir}: 'units' must be {{tokenizer, sha256, vocab_size}} "
                         f"with vocab_size {meta['vocab_size']}, got {units!r}")
    os.makedirs(corpus_dir, exist_ok=True)
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    _atomic_write(os.path.join(corpus_dir, "meta.json"), lambda f: f.write(text.encode()))


def read_meta(corpus_dir):
    path = os.path.join(corpus_dir, "meta.json")
    if not os.path.isfile(path):
        raise FormatError(f"{path}: missing; is {corpus_dir} a corpus directory? Build one with "
                          f"data/toy_enfr/prepare.py or tokenize_audio.py.")
    try:
        with open(path) as f:
            meta = json.load(f)
    except json.JSONDecodeError as e:
        raise FormatError(f"{path}: not valid JSON ({e}).") from None
    for key in ("vocab_size", "languages"):
        if key not in meta:
            raise FormatError(f"{path}: has no '{key}'.")
    if not isinstance(meta.get("paired", True), bool) or not meta["languages"]:
        raise FormatError(f"{path}: 'paired' must be true or false and 'languages' non-empty.")
    units = meta.get("units", {})
    if not isinstance(units, dict) or units.get("vocab_size", meta["vocab_size"]) != meta["vocab_size"]:
        raise FormatError(f"{path}: 'units' must be {{\"tokenizer\", \"sha256\", \"vocab_size\"}} with the "
                          f"corpus's vocab_size {meta['vocab_size']}, got {units!r}. Re-create the corpus.")
    return meta


def unit_identity(meta):
    """What the token ids of a corpus mean: {"tokenizer", "sha256", "vocab_size", "recorded"} (the module
    docstring). "recorded": false for a corpus written before meta.json had "units"; its unknown fields
    are None."""
    if "units" in meta:
        u = meta["units"]
        return {"tokenizer": u.get("tokenizer"), "sha256": u.get("sha256"), "vocab_size": u.get("vocab_size"),
                "recorded": True}
    tok = meta.get("tokenizer") or {}
    return {"tokenizer": tok.get("name"), "sha256": tok.get("weights_sha256"), "vocab_size": meta.get("vocab_size"),
            "recorded": False}


def units_mismatch(a, b):
    """Two unit identities (unit_identity) -> None if they can be the same units, else what differs, e.g.
    "tokenizer 'mimi' vs 'toy_enfr pseudo-units'". A field unknown on either side is not compared."""
    diff = ["sha256 differs" if k == "sha256" else f"{k} {a[k]!r} vs {b[k]!r}" for k in ("tokenizer", "sha256", "vocab_size")
            if a.get(k) is not None and b.get(k) is not None and a[k] != b[k]]  # describe_units shows the hashes
    return "; ".join(diff) or None


def describe_units(u):
    """One identity as words, for messages: "mimi (sha256 1a2b3c4d..., 2048 units)"."""
    sha = f"sha256 {u['sha256'][:12]}..." if u.get("sha256") else "no hash recorded"
    return f"{u.get('tokenizer') or 'an unnamed tokenizer'} ({sha}, {u.get('vocab_size')} units)"


def is_paired(meta):
    """True when sentence k of every language translates the others (no key: a corpus written before
    unpaired corpora existed, all of which were paired)."""
    return bool(meta.get("paired", True))


# The sampler puts one story-boundary token before every story it packs, and the evaluations
# start every scored sequence with it: it is the "a story starts here" context the model trained
# on. It is the first id above the speech units, so the model's vocabulary is one larger.
def story_boundary_token(meta):
    return int(meta["vocab_size"])


def model_vocab_size(meta):
    return int(meta["vocab_size"]) + 1


if __name__ == "__main__":
    corpus = sys.argv[1] if len(sys.argv) > 1 else "data/toy_enfr"
    meta = read_meta(corpus)
    units = unit_identity(meta)
    unknown = [k for k in ("tokenizer", "sha256") if units[k] is None]
    print(f"{corpus}: vocab {meta['vocab_size']}, languages {meta['languages']}, units {describe_units(units)}"
          + (f" (no \"units\" in meta.json, and no {' or '.join(unknown)} recorded: not checked)" if unknown else ""))
    for split in ("train", "val"):
        if not os.path.isfile(split_files(corpus, split, meta)[-1]):
            continue
        s = load_split(corpus, split)
        sizes = ", ".join(f"{lang} {len(s.lang_stories[lang]) - 1:,} stories, {len(s.offsets[lang]) - 1:,} "
                          f"sentences, {len(s.tokens[lang]):,} tokens" for lang in s.langs)
        print(f"  {split} ({'paired' if s.paired else 'unpaired'}): {sizes}")
    for name in list_benches(corpus):
        _, items = load_bench(corpus, name, meta["vocab_size"])
        groups = load_bench_groups(corpus, name, len(items))
        n_groups = 0 if groups is None else len(set(groups.tolist()))
        total = load_bench_total(corpus, name, len(items), n_groups)
        of = f" of {total[0]}" + (f", {n_groups} of {total[1]} groups" if total[1] else "") \
            if total and total != (len(items), n_groups) else ""
        print(f"  bench/{name}: {len(items)} items{of}")
