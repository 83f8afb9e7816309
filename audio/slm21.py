"""
audio/slm21.py: the ZeroSpeech 2021 sLM21 sets (sWUGGY lexical, sBLiMP syntactic; EN) as a crosstalk bench manifest.

    .venv/bin/python -m audio.slm21 /data/zerospeech2021 --split dev --out data/slm21_dev.jsonl
    .venv/bin/python tokenize_audio.py --bench_manifest data/slm21_dev.jsonl --out_dir data/slm21_dev   # -> bench/
    .venv/bin/python eval_cloze.py out/paper_360m_finetune --corpus data/slm21_dev --sets swuggy_en swuggyiv_en sblimp_en
    .venv/bin/python -m audio.slm21 out/slm21_demo --demo --out out/slm21_demo/bench.jsonl   # a tiny synthetic release

The release layout (its documentation and gold tables), with the columns the official scorer
(zerospeech-benchmarks, tasks lexical and syntactic) reads; a gold.csv without one is refused, as the
official scorer would fail on it:
    {root}/lexical/{dev,test}/{filename}.wav     one spoken word or non-word per file
    {root}/lexical/{split}/gold.csv              id, filename, voice, frequency, word, phones, length, correct
    {root}/syntactic/{dev,test}/{filename}.wav   one spoken sentence per file
    {root}/syntactic/{split}/gold.csv            filename, type, subtype, id, voice, transcription, correct
correct is 1 for the word (the grammatical sentence) and 0 for its non-word (ungrammatical) partner;
frequency is the word's count in LibriSpeech (a whole number; the non-words' is not read); length its
length in phones (the official scorer's by-length table; crosstalk does not use it). A pair is the two
files that share the pair's key and voice: id for lexical, (type, subtype, id) for syntactic; each pair
is read by several voices. Every key and voice must have exactly one correct and one incorrect file:
anything else is an error naming the gold file and the key (no pair is dropped).

Each (pair, voice) becomes one minimal-pair bench item {"name", "prompt": null, "good", "bad", "group"}
with group = the pair's key. The scores follow the official aggregation: a voice scores 1 when good >
bad, 0.5 on a tie, 0 otherwise; a pair's score is the mean over its voices; a set's score is the mean
over pairs. tokenize_audio.py writes the groups to bench/{name}.groups.npy and eval_cloze.py reports that
mean over groups (and the plain item accuracy beside it). The official scorer reports sWUGGY twice,
"all" and "in-vocab" (the pairs whose word has frequency >= 1: its frequency bands but 'oov' = [0, 1),
weighted by their pair counts, i.e. the mean over those pairs; NaN there if a band is empty), so sWUGGY
is two sets: swuggy_en (all) and swuggyiv_en (in-vocab), the same items twice (scored once: eval_cloze.py
runs identical sequences once). The paper's columns: sWUGGY EN = swuggy_en, sBLiMP EN = sblimp_en.
Pairing: crosstalk pairs by key and voice. The official lexical scorer does too; its syntactic scorer
pairs the k-th correct row of gold.csv with its k-th incorrect row. Where those differ on a gold file
this prints a warning naming the rows: the official sBLiMP number on that file is not crosstalk's.
A set whose items lost a clip in tokenization is incomplete, and eval_cloze.py says so (n of N).
The test split's gold.csv was withheld at release; where it is absent, use dev (as most papers do).
"""
import argparse
import csv
import json
import os
import sys

TASKS = {  # sLM21 folder -> (bench set name, gold columns that name a pair, columns the official scorer reads)
    "lexical": ("swuggy_en", ("id",),
                ("id", "filename", "voice", "frequency", "word", "phones", "length", "correct")),
    "syntactic": ("sblimp_en", ("type", "subtype", "id"),
                  ("filename", "type", "subtype", "id", "voice", "transcription", "correct")),
}
IN_VOCAB = "swuggyiv_en"  # sWUGGY's pairs whose word has frequency >= 1 (the official "in-vocab" score)


def frequency(value, where):
    """A word's frequency in gold.csv -> int. The official scorer reads it as an integer and cuts it into
    bands: a non-number stops it at reading, an empty one at the bands (both are refused here)."""
    try:
        number = float(value)
    except ValueError:
        number = None
    if number is None or not number.is_integer():
        raise SystemExit(f"audio/slm21.py: {where}: a word's frequency must be a whole number of occurrences "
                         f"in LibriSpeech (0 if none), got {value!r}; the official scorer fails on it")
    return int(number)


def positional_mismatches(good_rows, bad_rows):
    """The official syntactic pairing (k-th correct row with k-th incorrect row) against crosstalk's by
    key: the (good, bad) rows (line, key, voice) it joins that are not one pair."""
    return [(g, b) for g, b in zip(good_rows, bad_rows) if g[1:] != b[1:]]


def read_pairs(root, task, split):
    """gold.csv of one task and split -> ([(group key, voice, good wav, bad wav)] in gold order, the groups
    whose word has frequency >= 1 (lexical; None for syntactic))."""
    folder = os.path.join(root, task, split)
    gold = os.path.join(folder, "gold.csv")
    if not os.path.isfile(gold):
        raise SystemExit(f"audio/slm21.py: {gold} not found; is {root} the sLM21 release (folders lexical/ and "
                         f"syntactic/ with dev/ and test/)? The test gold was withheld: use --split dev.")
    _, keys, need = TASKS[task]
    lexical = task == "lexical"
    # (group, voice) -> {correct: (line, wav)}; group -> (frequency, line); correct -> [(line, group, voice)]
    by_key, freq, rows_by = {}, {}, {"1": [], "0": []}
    with open(gold, newline="") as f:
        rows = csv.DictReader(f)
        missing = [c for c in need if c not in (rows.fieldnames or [])]
        if missing:
            raise SystemExit(f"audio/slm21.py: {gold}: no column {missing} (has {rows.fieldnames}); the official "
                             f"scorer reads {list(need)}")
        for line, row in enumerate(rows, 2):
            if row["correct"] not in ("0", "1"):
                raise SystemExit(f"audio/slm21.py: {gold}:{line}: correct must be 0 or 1, got {row['correct']!r}")
            wav = os.path.join(folder, row["filename"] + ".wav")
            if not os.path.isfile(wav):
                raise SystemExit(f"audio/slm21.py: {gold}:{line}: {wav} not found; the release is incomplete")
            group = "/".join(row[k] for k in keys)
            slot = by_key.setdefault((group, row["voice"]), {})
            if row["correct"] in slot:
                kind = 'good' if row['correct'] == '1' else 'bad'
                raise SystemExit(f"audio/slm21.py: {gold}:{line}: a second {kind} file for pair {group!r} voice "
                                 f"{row['voice']!r} (first at line {slot[row['correct']][0]}); cannot tell which "
                                 f"pairs with which")
            slot[row["correct"]] = (line, wav)
            rows_by[row["correct"]].append((line, group, row["voice"]))
            if lexical and row["correct"] == "1":  # a pair's frequency is its word's, the same for every voice
                n = frequency(row["frequency"], f"{gold}:{line}")
                first = freq.setdefault(group, (n, line))
                if first[0] != n:
                    raise SystemExit(f"audio/slm21.py: {gold}:{line}: pair {group!r} has frequency {n}, but "
                                     f"{first[0]} at line {first[1]}; a word has one frequency")
    pairs = []
    for (group, voice), slot in by_key.items():
        if set(slot) != {"0", "1"}:
            line = next(iter(slot.values()))[0]
            raise SystemExit(f"audio/slm21.py: {gold}:{line}: pair {group!r} voice {voice!r} has no "
                             f"{'bad' if '1' in slot else 'good'} partner")
        pairs.append((group, voice, slot["1"][1], slot["0"][1]))
    if not pairs:
        raise SystemExit(f"audio/slm21.py: {gold}: no pairs")
    if not lexical and (off := positional_mismatches(rows_by["1"], rows_by["0"])):
        shown = "; ".join(f"line {g[0]} ({g[1]} {g[2]}) with line {b[0]} ({b[1]} {b[2]})" for g, b in off[:3])
        print(f"audio/slm21.py: warning: {gold}: the official syntactic scorer pairs the k-th correct row with "
              f"the k-th incorrect row; {len(off)} of {len(pairs)} of those are not one pair here: {shown}"
              f"{f' and {len(off) - 3} more' if len(off) > 3 else ''}. crosstalk pairs by (type, subtype, id) "
              f"and voice, so the official {TASKS[task][0]} number on this file is not crosstalk's", file=sys.stderr)
    in_vocab = {g for g, (n, _) in freq.items() if n >= 1} if lexical else None
    return pairs, in_vocab


# --demo: a small release in the official layout, synthetic audio (words: voices, LibriSpeech frequency)
DEMO_WORDS = ((("Alex", "Bruce", "Carl"), "3"), (("Alex",), "0"), (("Alex", "Bruce"), "7"), (("Bruce",), "1"),
              (("Carl",), "150"), (("Alex",), "50"))
DEMO_SENTENCES = (("a", ("Alex", "Bruce")), ("b", ("Alex",)))


def write_demo(root, split="dev"):
    """Write a tiny sLM21 release under root (gold.csv files + wavs, audio/demo.py's synthetic signals):
    uneven voices per pair and a word in every frequency band of the official scorer (an empty band
    makes its in-vocab score NaN), so that its aggregation differs from a plain item mean and from an
    unweighted band mean."""
    from audio.demo import RATE, signal, write_wav
    seed = 0

    def clip(folder, name):
        nonlocal seed
        write_wav(os.path.join(folder, name + ".wav"), signal(seed, 0.2 + 0.04 * (seed % 5), RATE), RATE)
        seed += 1
        return name
    tables = {"lexical": [], "syntactic": []}
    for task in tables:
        os.makedirs(os.path.join(root, task, split), exist_ok=True)
    lex, syn = (os.path.join(root, task, split) for task in tables)
    for i, (voices, freq) in enumerate(DEMO_WORDS):
        tables["lexical"] += [dict(id=f"w{i}", filename=clip(lex, f"w{i}_{'ok' if c else 'ko'}_{v}"), voice=v,
                                   frequency=freq if c else "", word=f"w{i}_{c}", phones="x y z", length=3, correct=c)
                              for v in voices for c in (1, 0)]
    for sub, voices in DEMO_SENTENCES:
        tables["syntactic"] += [dict(filename=clip(syn, f"{sub}_{'ok' if c else 'ko'}_{v}"), type="t", subtype=sub,
                                     id="1", voice=v, transcription=f"{sub} {c}", correct=c)
                                for v in voices for c in (1, 0)]
    for task, rows in tables.items():
        with open(os.path.join(root, task, split, "gold.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, TASKS[task][2])
            w.writeheader()
            w.writerows(rows)
    return root


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="the sLM21 release folder (holds lexical/ and syntactic/)")
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--out", required=True, help="bench manifest (JSONL) to write, for tokenize_audio.py")
    ap.add_argument("--demo", action="store_true", help="first write a tiny synthetic release into root")
    args = ap.parse_args(argv)
    if args.demo:
        print(f"wrote a synthetic sLM21 release: {write_demo(args.root, args.split)}")
    lines = []
    for task in args.tasks:
        name = TASKS[task][0]
        pairs, in_vocab = read_pairs(args.root, task, args.split)
        lines += [dict(name=name, prompt=None, good=good, bad=bad, group=group, voice=voice)
                  for group, voice, good, bad in pairs]
        print(f"{task}/{args.split} -> {name}: {len(pairs)} items = {len({p[0] for p in pairs})} pairs x "
              f"{len({p[1] for p in pairs})} voices")
        if in_vocab is None:
            continue
        iv = [dict(name=IN_VOCAB, prompt=None, good=good, bad=bad, group=group, voice=voice)
              for group, voice, good, bad in pairs if group in in_vocab]
        lines += iv
        print(f"{task}/{args.split} -> {IN_VOCAB} (in-vocab: frequency >= 1): {len(iv)} items = "
              f"{len(in_vocab)} pairs" if iv else f"{task}/{args.split}: no pair has frequency >= 1, no {IN_VOCAB}")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    print(f"wrote {args.out}: {len(lines)} bench items; next: .venv/bin/python tokenize_audio.py --bench_manifest "
          f"{args.out} --out_dir <corpus>")


if __name__ == "__main__":
    main(sys.argv[1:])
