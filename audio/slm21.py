"""
audio/slm21.py: the ZeroSpeech 2021 sLM21 sets (sWUGGY lexical, sBLiMP syntactic; EN) as a crosstalk bench manifest.

    .venv/bin/python -m audio.slm21 /data/zerospeech2021 --split dev --out data/slm21_dev.jsonl
    .venv/bin/python tokenize_audio.py --bench_manifest data/slm21_dev.jsonl --out_dir data/slm21_dev   # -> bench/
    .venv/bin/python eval_cloze.py out/paper_360m_finetune --corpus data/slm21_dev --sets swuggy_en sblimp_en

The release layout (its documentation and gold tables):
    {root}/lexical/{dev,test}/{filename}.wav     one spoken word or non-word per file
    {root}/lexical/{split}/gold.csv              id, filename, voice, frequency, word, phones, correct
    {root}/syntactic/{dev,test}/{filename}.wav   one spoken sentence per file
    {root}/syntactic/{split}/gold.csv            filename, type, subtype, id, voice, transcription, correct
correct is 1 for the word (the grammatical sentence) and 0 for its non-word (ungrammatical) partner. A
pair is the two files that share the pair's key and voice: id for lexical, (type, subtype, id) for
syntactic; each pair is read by several voices. Every key and voice must have exactly one correct and
one incorrect file: anything else is an error naming the gold file and the key (no pair is dropped).

Each (pair, voice) becomes one minimal-pair bench item {"name", "prompt": null, "good", "bad", "group"}
with group = the pair's key. The scores follow sLM21's own aggregation (its evaluation code): a voice
scores 1 when good > bad, 0.5 on a tie, 0 otherwise; a pair's score is the mean over its voices; a set's
score is the mean over pairs. tokenize_audio.py writes the groups to bench/{name}.groups.npy and
eval_cloze.py reports that mean over groups (and the plain item accuracy beside it). The paper's
columns: sWUGGY EN = swuggy_en, sBLiMP EN = sblimp_en.
The test split's gold.csv was withheld at release; where it is absent, use dev (as most papers do).
"""
import argparse
import csv
import json
import os
import sys

TASKS = {  # sLM21 folder -> (bench set name, gold columns that name a pair)
    "lexical": ("swuggy_en", ("id",)),
    "syntactic": ("sblimp_en", ("type", "subtype", "id")),
}


def read_pairs(root, task, split):
    """gold.csv of one task and split -> [(group key, voice, good wav, bad wav)] in gold order."""
    folder = os.path.join(root, task, split)
    gold = os.path.join(folder, "gold.csv")
    if not os.path.isfile(gold):
        raise SystemExit(f"audio/slm21.py: {gold} not found; is {root} the sLM21 release (folders lexical/ and "
                         f"syntactic/ with dev/ and test/)? The test gold was withheld: use --split dev.")
    keys = TASKS[task][1]
    need = {"filename", "voice", "correct", *keys}
    by_key = {}  # (group, voice) -> {correct: (line, wav)}
    with open(gold, newline="") as f:
        rows = csv.DictReader(f)
        missing = need - set(rows.fieldnames or [])
        if missing:
            raise SystemExit(f"audio/slm21.py: {gold}: no column {sorted(missing)} (has {rows.fieldnames})")
        for line, row in enumerate(rows, 2):
            if row["correct"] not in ("0", "1"):
                raise SystemExit(f"audio/slm21.py: {gold}:{line}: correct must be 0 or 1, got {row['correct']!r}")
            wav = os.path.join(folder, row["filename"] + ".wav")
            if not os.path.isfile(wav):
                raise SystemExit(f"audio/slm21.py: {gold}:{line}: {wav} not found; the release is incomplete")
            group = "/".join(row[k] for k in keys)
            slot = by_key.setdefault((group, row["voice"]), {})
            if row["correct"] in slot:
                raise SystemExit(f"audio/slm21.py: {gold}:{line}: a second {'good' if row['correct'] == '1' else 'bad'} "
                                 f"file for pair {group!r} voice {row['voice']!r} (first at line "
                                 f"{slot[row['correct']][0]}); cannot tell which pairs with which")
            slot[row["correct"]] = (line, wav)
    pairs = []
    for (group, voice), slot in by_key.items():
        if set(slot) != {"0", "1"}:
            line = next(iter(slot.values()))[0]
            raise SystemExit(f"audio/slm21.py: {gold}:{line}: pair {group!r} voice {voice!r} has no "
                             f"{'bad' if '1' in slot else 'good'} partner")
        pairs.append((group, voice, slot["1"][1], slot["0"][1]))
    if not pairs:
        raise SystemExit(f"audio/slm21.py: {gold}: no pairs")
    return pairs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("root", help="the sLM21 release folder (holds lexical/ and syntactic/)")
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--tasks", nargs="+", default=list(TASKS), choices=list(TASKS))
    ap.add_argument("--out", required=True, help="bench manifest (JSONL) to write, for tokenize_audio.py")
    args = ap.parse_args(argv)
    lines = []
    for task in args.tasks:
        name = TASKS[task][0]
        pairs = read_pairs(args.root, task, args.split)
        lines += [dict(name=name, prompt=None, good=good, bad=bad, group=group, voice=voice)
                  for group, voice, good, bad in pairs]
        print(f"{task}/{args.split} -> {name}: {len(pairs)} items = {len({p[0] for p in pairs})} pairs x "
              f"{len({p[1] for p in pairs})} voices")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    print(f"wrote {args.out}: {len(lines)} bench items; next: python tokenize_audio.py --bench_manifest "
          f"{args.out} --out_dir <corpus>")


if __name__ == "__main__":
    main(sys.argv[1:])
