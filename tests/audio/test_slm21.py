"""audio/slm21.py: the sLM21 release layout -> bench manifest lines, pairs and groups as sLM21 forms them."""
import csv
import json
import os

import pytest

from audio import slm21

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


def test_end_to_end_scores_as_slm21_aggregates(tmp_path, mimi_path):
    """sLM21 layout (real wavs) -> audio/slm21.py -> tokenize_audio.py (random Mimi) -> eval_cloze: the headline
    equals sLM21's own recipe computed by hand from per-file scores: pair the i-th correct row with
    the i-th incorrect row of gold.csv, mean over voices per id, then mean over ids. Uneven voices per
    id (3 and 1), so a plain item mean would differ."""
    import numpy as np
    import torch
    import eval_cloze
    import tokenbin
    import tokenize_audio
    from model import Decoder, ModelConfig
    from audio.demo import RATE, signal, write_wav
    root = str(tmp_path / "slm21")
    folder = os.path.join(root, "lexical", "dev")
    os.makedirs(folder)
    rows, seed = [], 0
    for i, voices in ((0, ("Alex", "Bruce", "Carl")), (1, ("Alex",))):
        for v in voices:
            for correct in (1, 0):
                name = f"w{i}_{'ok' if correct else 'ko'}_{v}"
                write_wav(os.path.join(folder, name + ".wav"), signal(seed, 0.4 + 0.1 * seed, RATE), RATE)
                seed += 1
                rows.append(dict(id=f"w{i}", filename=name, voice=v, frequency="f", word=name, phones="x",
                                 correct=correct))
    with open(os.path.join(folder, "gold.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, LEX_COLS)
        w.writeheader()
        w.writerows(rows)
    manifest, corpus = str(tmp_path / "bench.jsonl"), str(tmp_path / "corpus")
    slm21.main([root, "--tasks", "lexical", "--out", manifest])
    tokenize_audio.main(["--bench_manifest", manifest, "--out_dir", corpus, "--mimi_weights", mimi_path])
    tokens, items = tokenbin.load_bench(corpus, "swuggy_en")
    assert tokenbin.load_bench_groups(corpus, "swuggy_en", len(items)).tolist() == [0, 0, 0, 1]
    torch.manual_seed(0)
    model = Decoder(ModelConfig.preset("tiny", vocab_size=2049)).eval()
    got = eval_cloze.evaluate_all(model, corpus, sets=["swuggy_en"])["mean"]["swuggy_en"]

    def score(codes):  # mean log-likelihood after the boundary token, one sequence, by hand
        idx = torch.tensor(np.r_[2048, codes], dtype=torch.long)[None]
        with torch.no_grad():
            lp = torch.log_softmax(model(idx[:, :-1]).double(), -1)[0]
        return lp.gather(-1, idx[0, 1:, None]).mean().item()
    by_file = {}
    for line, (_, _, g0, g1, b0, b1) in zip((json.loads(l) for l in open(manifest)), items):
        by_file[os.path.basename(line["good"])[:-4]] = score(tokens[g0:g1])
        by_file[os.path.basename(line["bad"])[:-4]] = score(tokens[b0:b1])
    good = [r for r in rows if r["correct"] == 1]
    bad = [r for r in rows if r["correct"] == 0]
    per_id = {}
    for g, b in zip(good, bad):  # sLM21's positional pairing
        sg, sb = by_file[g["filename"]], by_file[b["filename"]]
        per_id.setdefault(g["id"], []).append(1.0 if sg > sb else 0.5 if sg == sb else 0.0)
    expect = np.mean([np.mean(v) for v in per_id.values()])
    assert got["accuracy"] == pytest.approx(expect) and got["n_groups"] == 2
    assert got["pair_accuracy"] == pytest.approx(np.mean([x for v in per_id.values() for x in v]))
