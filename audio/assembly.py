"""
Merging: encoded clips -> the sentences and stories of each split, by the Rules in tokenize_audio.py's
docstring (paired: a story with a hole or a missing translation in any of the corpus's languages is
dropped from all of them; unpaired: a document is split at a hole), and the cloze items of each bench set
with its total; skipped.jsonl's records; tokenize_audio.py --add_bench's update of an existing corpus
(add_bench_sets).
"""
import glob
import json
import os

import numpy as np

import tokenbin
from audio.manifests import SPLITS, order_langs
from audio.mimi import VOCAB_SIZE


def assemble_split(clips, split, done, seconds, langs=("en", "fr")):
    """One split of a paired corpus in languages langs, by the Rules in the module docstring.
    -> ({lang: [codes per sentence]}, story starts, audio seconds, [(clip, reason, detail)], n dropped)"""
    ok = lambda i: not isinstance(done[i], tuple)  # noqa: E731  (a tuple is (reason, detail))
    stories = {}  # story id -> {lang: {sentence index: clip index}}; dicts keep first-appearance order
    for i, c in enumerate(clips):
        if c["split"] == split:
            stories.setdefault(c["story"], {lang: {} for lang in langs})[c["lang"]][c["sentence"]] = i
    sentences, starts, secs, skips, dropped = {lang: [] for lang in langs}, [], 0.0, [], 0
    for by_lang in stories.values():
        have = {lang: sorted(by_lang[lang]) for lang in langs}  # sentence indices in the manifest
        hole = {(lang, s) for lang in langs for s, i in by_lang[lang].items() if not ok(i)}
        whole = list(range(len(have[langs[0]])))  # 0, 1, ..., n-1: an index missing in all is a hole too
        if not hole and all(have[lang] == whole for lang in langs):
            starts.append(len(sentences[langs[0]]))
            for lang in langs:
                sentences[lang] += [done[by_lang[lang][s]] for s in have[lang]]
                secs += sum(seconds[by_lang[lang][s]] for s in have[lang])
            continue
        dropped += 1
        every = range(max(max(have[lang], default=-1) for lang in langs) + 1)
        why = "; ".join(f"{lang} sentence {s}: " + (done[by_lang[lang][s]][0] if s in by_lang[lang]
                                                    else "no clip in the manifest")
                        for lang in langs for s in every if s not in have[lang] or (lang, s) in hole)
        skips += [(i, *done[i]) if not ok(i) else (i, "story_dropped", f"story not aligned: {why}")
                  for lang in langs for i in by_lang[lang].values()]
    return sentences, starts, secs, skips, dropped


def assemble_paired(clips, split, done, seconds, langs):
    """-> (skips, None or ((sentences, story starts), counts)) of one split of a paired corpus."""
    sentences, starts, secs, skips, dropped = assemble_split(clips, split, done, seconds, langs)
    if not starts:
        if dropped:
            print(f"tokenize_audio.py: warning: all {dropped} {split} stories dropped, no {split} split")
        return skips, None
    counts = dict(stories=len(starts), stories_dropped=dropped, hours=round(secs / 3600, 4),
                  sentences=len(sentences[langs[0]]), tokens={lang: sum(map(len, sentences[lang])) for lang in langs})
    return skips, ((sentences, starts), counts)


def assemble_splits(clips, done, seconds, paired):
    """Every split -> ({split: (sentences, starts)}, {split: counts}, skips, the corpus's languages).
    Paired: the languages of all the clips, each story kept when every one has it whole. Unpaired: the
    languages some split holds, and a split lacking one of them is not written (its clips listed)."""
    langs = order_langs({c["lang"] for c in clips})
    splits, counts, skips = {}, {}, []
    for split in SPLITS:
        split_skips, written = (assemble_paired(clips, split, done, seconds, langs) if paired
                                else assemble_unpaired(clips, split, done, seconds))
        skips += split_skips
        if written:
            splits[split], counts[split] = written
    if paired:
        return splits, counts, skips, langs
    langs = order_langs({lang for sentences, _ in splits.values() for lang in sentences}) or langs
    for split in list(splits):
        lacking = [lang for lang in langs if lang not in splits[split][0]]
        if lacking:
            del splits[split], counts[split]
            kept = {i for i, c in enumerate(clips) if c["split"] == split} - {k[0] for k in skips}
            skips += [(i, "split_incomplete", f"no {'/'.join(lacking)} segment of {split} was written: "
                                              f"a split of an unpaired corpus needs every language "
                                              f"of the corpus ({langs})") for i in sorted(kept)]
            print(f"tokenize_audio.py: warning: {split} has no {'/'.join(lacking)} segments, no {split} split")
    return splits, counts, skips, langs


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


def assemble_benches(items, index, done, digests=None):
    """index: clip source -> its key in done. -> {name: [(prompt, good, bad) codes]}, skipped.jsonl
    records for items with a skipped clip or whose good and bad are the same audio (digests: key ->
    audio_digest; such an item would score 0.5 whatever the model; two different clips that happen to
    give the same units are kept: a tie, scored 0.5 as sLM21 scores it), {name: group ids (one per
    written item, numbered by first appearance) or None}."""
    sets, skipped, keys = {}, [], {}
    digests = digests or {}
    for item in items:
        parts = [item["prompt"], [item["good"]], [item["bad"]]]
        bad = [(p, done[index[p]]) for part in parts for p in part if isinstance(done[index[p]], tuple)]
        same = not bad and digests.get(index[item["good"]], 0) == digests.get(index[item["bad"]], 1)
        if bad or same:
            skipped.append(dict(kind="bench", line=item["line"], name=item["name"],
                                reason="clip_skipped" if bad else "same_audio",
                                detail="; ".join(f"{p}: {r} ({d})" for p, (r, d) in bad) if bad else
                                f"good {item['good']} and bad {item['bad']} decode to the same samples: the "
                                f"item cannot tell a model's preference"))
            continue
        cat = lambda part: np.concatenate([done[index[p]] for p in part] or [np.zeros(0, np.uint16)])  # noqa
        codes = tuple(cat(part) for part in parts)
        sets.setdefault(item["name"], []).append(codes)
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


def skip_records(clips, skips):
    """skipped.jsonl's records of the clips skipped: [(clip index, reason, detail)] -> dicts."""
    keys = ("line", "audio", "split", "story", "sentence", "lang")
    return [dict(kind="clip", **{k: clips[i][k] for k in keys}, reason=r, detail=d,
                 **({} if clips[i]["start"] is None else dict(start=clips[i]["start"], end=clips[i]["end"])))
            for i, r, d in sorted(skips)]


def bench_counts(names, sets, skipped):
    """-> ({set: items written}, {set: items skipped}) over the set names of a run."""
    return ({name: len(sets.get(name, [])) for name in names},
            {name: sum(r["name"] == name for r in skipped) for name in names})


def write_skipped(out_dir, records):
    with open(os.path.join(out_dir, "skipped.jsonl"), "w") as f:
        f.writelines(json.dumps(rec) + "\n" for rec in records)


def check_tokenizer(out_dir, weights_sha256, dtype):
    """--add_bench: out_dir holds a corpus made by the same Mimi weights and dtype (checked before any
    clip is encoded): a bench set in another tokenizer's units would be scored as garbage."""
    tok = tokenbin.read_meta(out_dir).get("tokenizer") or {}
    for k, v in (("weights_sha256", weights_sha256), ("dtype", dtype)):
        if tok.get(k) != v:
            raise SystemExit(f"{out_dir} was tokenized with {k} {tok.get(k)}, this run with {v}: its bench "
                             f"sets must come from the corpus's own Mimi (pass the same --mimi_weights and --dtype)")


def add_bench_sets(out_dir, items, index, done, digests, source):
    """tokenize_audio.py --add_bench: write this run's bench sets into the corpus at out_dir (replacing
    sets of the same name), keep its splits and other sets (check_tokenizer has checked it). Updates
    meta.json's counts and bench_sources, and skipped.jsonl's bench records."""
    meta = tokenbin.read_meta(out_dir)
    sets, bench_skipped, groups = assemble_benches(items, index, done, digests)
    names = sorted({it["name"] for it in items})
    if not sets:
        raise SystemExit(f"nothing written: all {len(items)} bench items skipped ({bench_skipped[0]['detail']} ...)")
    counts, sources = meta.setdefault("counts", {}), meta.setdefault("bench_sources", {})
    written, skipped = bench_counts(names, sets, bench_skipped)
    totals = bench_totals(items)
    for name in names:
        old = counts.setdefault("bench", {}).pop(name, None)
        for ext in (".bin", ".items.npy", ".groups.npy", ".total.npy"):
            if os.path.exists(f := os.path.join(out_dir, "bench", f"{name}{ext}")):
                os.remove(f)
        if name in sets:
            tokenbin.write_bench(out_dir, name, sets[name], VOCAB_SIZE, groups=groups[name], total=totals[name])
            counts["bench"][name] = written[name]
        print(f"tokenize_audio.py: bench/{name}: {'replaced' if old is not None else 'added'}, {written[name]} "
              f"items written + {skipped[name]} skipped" + ("" if name in sets else f" (warning: no bench/{name} now)"))
        counts.setdefault("bench_skipped", {})[name], sources[name] = skipped[name], f"{source} (--add_bench)"
    path = os.path.join(out_dir, "skipped.jsonl")
    old_lines = [json.loads(line) for line in open(path)] if os.path.isfile(path) else []
    write_skipped(out_dir, [r for r in old_lines if not (r.get("kind") == "bench" and r.get("name") in names)]
                  + bench_skipped)
    counts["bench_items_skipped"] = sum(counts["bench_skipped"].values())
    counts["bench_items_total"] = sum(counts["bench"].values()) + counts["bench_items_skipped"]
    tokenbin.write_meta(out_dir, meta)
    return dict(counts, run_items=len(items), run_skipped=len(bench_skipped))
