"""
Merging: encoded clips -> the sentences and stories of each split, by the Rules in tokenize_audio.py's
docstring (paired: a story with a hole or a missing translation is dropped from both languages;
unpaired: a document is split at a hole), and the cloze items of each bench set with its total.
"""
import glob
import os

import numpy as np

from audio.manifests import LANGS, SPLITS


def assemble_split(clips, split, done, seconds):
    """One split, by the Rules in the module docstring.
    -> ({lang: [codes per sentence]}, story starts, audio seconds, [(clip, reason, detail)], n dropped)"""
    ok = lambda i: not isinstance(done[i], tuple)  # noqa: E731  (a tuple is (reason, detail))
    stories = {}  # story id -> {lang: {sentence index: clip index}}; dicts keep first-appearance order
    for i, c in enumerate(clips):
        if c["split"] == split:
            stories.setdefault(c["story"], {lang: {} for lang in LANGS})[c["lang"]][c["sentence"]] = i
    sentences, starts, secs, skips, dropped = {lang: [] for lang in LANGS}, [], 0.0, [], 0
    for by_lang in stories.values():
        have = {lang: sorted(by_lang[lang]) for lang in LANGS}  # sentence indices in the manifest
        hole = {(lang, s) for lang in LANGS for s, i in by_lang[lang].items() if not ok(i)}
        whole = list(range(len(have[LANGS[0]])))  # 0, 1, ..., n-1: an index missing in both is a hole too
        if not hole and all(have[lang] == whole for lang in LANGS):
            starts.append(len(sentences[LANGS[0]]))
            for lang in LANGS:
                sentences[lang] += [done[by_lang[lang][s]] for s in have[lang]]
                secs += sum(seconds[by_lang[lang][s]] for s in have[lang])
            continue
        dropped += 1
        every = range(max(max(have[lang], default=-1) for lang in LANGS) + 1)
        why = "; ".join(f"{lang} sentence {s}: " + (done[by_lang[lang][s]][0] if s in by_lang[lang]
                                                    else "no clip in the manifest")
                        for lang in LANGS for s in every if s not in have[lang] or (lang, s) in hole)
        skips += [(i, *done[i]) if not ok(i) else (i, "story_dropped", f"story not aligned: {why}")
                  for lang in LANGS for i in by_lang[lang].values()]
    return sentences, starts, secs, skips, dropped


def assemble_paired(clips, split, done, seconds):
    """-> (skips, None or ((sentences, story starts), counts)) of one split of a paired corpus."""
    sentences, starts, secs, skips, dropped = assemble_split(clips, split, done, seconds)
    if not starts:
        if dropped:
            print(f"tokenize_audio.py: warning: all {dropped} {split} stories dropped, no {split} split")
        return skips, None
    counts = dict(stories=len(starts), stories_dropped=dropped, hours=round(secs / 3600, 4),
                  sentences=len(sentences[LANGS[0]]), tokens={lang: sum(map(len, sentences[lang])) for lang in LANGS})
    return skips, ((sentences, starts), counts)


def assemble_unpaired(clips, split, done, seconds):
    """One split of an unpaired corpus: per language, each document's segments in index order. A run of
    consecutive indices whose clips were all encoded is one story; a hole (an index the manifest lacks,
    or a skipped clip) splits the document there, as the speech on either side is continuous but not
    across the gap. Only skipped clips are lost. -> (skips, None or ((sentences, starts), counts))."""
    docs = {}  # lang -> document id -> {sentence index: clip index}; first-appearance order
    for i, c in enumerate(clips):
        if c["split"] == split:
            docs.setdefault(c["lang"], {}).setdefault(c["story"], {})[c["sentence"]] = i
    sentences, starts, secs, skips = {}, {}, 0.0, []
    for lang in order_langs(docs):
        for by_index in docs[lang].values():
            prev = None
            for k in sorted(by_index):
                i = by_index[k]
                if isinstance(done[i], tuple):  # (reason, detail)
                    skips.append((i, *done[i]))
                    prev = None
                    continue
                if prev is None or k != prev + 1:
                    starts.setdefault(lang, []).append(len(sentences.get(lang, [])))
                sentences.setdefault(lang, []).append(done[i])
                secs, prev = secs + seconds[i], k
    if not sentences:
        return skips, None
    counts = dict(stories={lang: len(st) for lang, st in starts.items()}, hours=round(secs / 3600, 4),
                  documents={lang: len(docs[lang]) for lang in sentences},
                  sentences={lang: len(s) for lang, s in sentences.items()},
                  tokens={lang: sum(map(len, s)) for lang, s in sentences.items()})
    return skips, ((sentences, starts), counts)


def order_langs(langs):
    """Corpus language order (a token's language id is its index): en, fr, then others alphabetically."""
    return [lang for lang in LANGS if lang in langs] + sorted(set(langs) - set(LANGS))


def assemble_benches(items, index, done):
    """-> {name: [(prompt, good, bad) codes]}, skipped.jsonl records for items with a skipped clip,
    {name: group ids (one per written item, numbered by first appearance) or None}."""
    sets, skipped, keys = {}, [], {}
    for item in items:
        parts = [item["prompt"], [item["good"]], [item["bad"]]]
        bad = [(p, done[index[p]]) for part in parts for p in part if isinstance(done[index[p]], tuple)]
        if bad:
            skipped.append(dict(kind="bench", line=item["line"], name=item["name"], reason="clip_skipped",
                                detail="; ".join(f"{p}: {r} ({d})" for p, (r, d) in bad)))
            continue
        cat = lambda part: np.concatenate([done[index[p]] for p in part] or [np.zeros(0, np.uint16)])  # noqa
        sets.setdefault(item["name"], []).append(tuple(cat(part) for part in parts))
        keys.setdefault(item["name"], []).append((item.get("group"), item["line"]))
    groups = {}
    for name, ks in keys.items():
        missing = [line for g, line in ks if g is None]
        if len(missing) == len(ks):
            groups[name] = None
            continue
        if missing:  # a set is scored per group or per item, never half and half
            raise SystemExit(f"tokenize_audio.py: bench set {name}: {len(missing)} of {len(ks)} items have "
                             f"no 'group' (first at manifest line {missing[0]}); give every item of the set "
                             f"a group, or none")
        ids = {}
        groups[name] = [ids.setdefault(g, len(ids)) for g, _ in ks]
    return sets, skipped, groups


def bench_totals(items):
    """{name: (items, groups)} of each set as the bench manifest lists it, skipped items included (groups
    0 when the set has none): bench/{name}.total.npy, so a set that lost items says so."""
    listed = {}
    for item in items:
        listed.setdefault(item["name"], []).append(item.get("group"))
    return {name: (len(gs), len({g for g in gs if g is not None})) for name, gs in listed.items()}


def remove_stale(out_dir, keep):
    """Delete the corpus files of earlier runs that this run does not write (a split or bench set
    no longer in the manifest), so that out_dir holds exactly what meta.json lists: readers find a
    split or a bench set by its files, and an old val_* would be read as this corpus's. They are
    derived files (the audio and shards make them again), so removing beats refusing; only names
    of the corpus format are touched, nothing else a user keeps in out_dir."""
    patterns = [f"{split}{tail}" for split in SPLITS for tail in ("_*.bin", "_*.idx.npy", ".stories.npy",
                                                                   "_*.stories.npy")]
    patterns += [os.path.join("bench", f"*{ext}") for ext in (".bin", ".items.npy", ".groups.npy", ".total.npy")]
    keep = {os.path.abspath(f) for f in keep}
    stale = sorted({f for pat in patterns for f in glob.glob(os.path.join(out_dir, pat))
                    if os.path.abspath(f) not in keep})
    for f in stale:
        os.remove(f)
    if stale:
        print(f"tokenize_audio.py: removed {len(stale)} files of an earlier run that this run does not "
              f"write: {', '.join(os.path.relpath(f, out_dir) for f in stale)}")
    return stale
