"""slm21.py: the sLM21 release layout -> bench manifest lines, pairs and groups as sLM21 forms them."""
import csv
import json
import os

import pytest

import slm21

LEX_COLS = ["id", "filename", "voice", "frequency", "word", "phones", "correct"]
SYN_COLS = ["filename", "type", "subtype", "id", "voice", "transcription", "correct"]


def write_task(root, task, cols, rows):
    folder = os.path.join(root, task, "dev")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "gold.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, cols)
        w.writeheader()
        for r in rows:
            w.writerow(r)
            open(os.path.join(folder, r["filename"] + ".wav"), "wb").close()
    return folder


def lexical_rows():  # 2 words x 2 voices; gold order mixes words and non-words as the release does
    rows = []
    for i, (w, nw) in enumerate((("ball", "bopp"), ("tree", "trii"))):
        for v in ("Alex", "Bruce"):
            rows += [dict(id=f"w{i}", filename=f"{w}_{v}", voice=v, frequency="f1", word=w, phones="x", correct=1),
                     dict(id=f"w{i}", filename=f"{nw}_{v}", voice=v, frequency="f1", word=nw, phones="y", correct=0)]
    return rows


def syntactic_rows():  # the same id in two subtypes is two pairs
    rows = []
    for sub in ("a", "b"):
        for v in ("Alex", "Bruce"):
            rows += [dict(filename=f"{sub}_ok_{v}", type="t", subtype=sub, id="1", voice=v, transcription="x", correct=1),
                     dict(filename=f"{sub}_ko_{v}", type="t", subtype=sub, id="1", voice=v, transcription="y", correct=0)]
    return rows


def test_pairs_voices_and_groups(tmp_path):
    root = str(tmp_path)
    lex = write_task(root, "lexical", LEX_COLS, lexical_rows())
    write_task(root, "syntactic", SYN_COLS, syntactic_rows())
    out = str(tmp_path / "bench.jsonl")
    slm21.main([root, "--out", out])
    lines = [json.loads(l) for l in open(out)]
    lexl = [l for l in lines if l["name"] == "swuggy_en"]
    synl = [l for l in lines if l["name"] == "sblimp_en"]
    assert len(lexl) == 4 and len(synl) == 4
    assert {l["group"] for l in lexl} == {"w0", "w1"} and {l["group"] for l in synl} == {"t/a/1", "t/b/1"}
    for l in lexl:  # good is the word, bad its non-word, same voice
        assert l["prompt"] is None and os.path.dirname(l["good"]) == lex
        word = {"w0": "ball", "w1": "tree"}[l["group"]]
        assert os.path.basename(l["good"]) == f"{word}_{l['voice']}.wav"
        assert os.path.basename(l["bad"]).endswith(f"_{l['voice']}.wav") and word not in l["bad"]
    for l in synl:
        assert "_ok_" in l["good"] and "_ko_" in l["bad"] and l["good"].endswith(l["voice"] + ".wav")


@pytest.mark.parametrize("damage, message", [
    (lambda rows: rows[:-1], "has no bad partner"),
    (lambda rows: rows + [dict(rows[0], filename="extra")], "a second good file"),
    (lambda rows: [dict(r, correct=2) if i == 3 else r for i, r in enumerate(rows)], "correct must be 0 or 1"),
])
def test_broken_gold_is_a_clear_error(tmp_path, damage, message):
    write_task(str(tmp_path), "lexical", LEX_COLS, damage(lexical_rows()))
    with pytest.raises(SystemExit, match=message):
        slm21.main([str(tmp_path), "--tasks", "lexical", "--out", str(tmp_path / "b.jsonl")])


def test_missing_files_and_columns(tmp_path):
    with pytest.raises(SystemExit, match="gold.csv not found.*--split dev"):
        slm21.main([str(tmp_path), "--out", str(tmp_path / "b.jsonl")])
    folder = write_task(str(tmp_path), "lexical", LEX_COLS, lexical_rows())
    os.remove(os.path.join(folder, "ball_Alex.wav"))
    with pytest.raises(SystemExit, match=r"gold.csv:2: .*ball_Alex.wav not found"):
        slm21.main([str(tmp_path), "--tasks", "lexical", "--out", str(tmp_path / "b.jsonl")])
    write_task(str(tmp_path), "syntactic", SYN_COLS[:-1], [{k: v for k, v in r.items() if k != "correct"}
                                                           for r in syntactic_rows()])
    with pytest.raises(SystemExit, match=r"no column \['correct'\]"):
        slm21.main([str(tmp_path), "--tasks", "syntactic", "--out", str(tmp_path / "b.jsonl")])
