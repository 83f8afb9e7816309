"""audio/slm21.py: the sLM21 release layout -> bench manifest lines, pairs and groups as sLM21 forms them,
and the scores of the official scorer (zerospeech-benchmarks), computed by hand on a fixture in its layout."""
import csv
import json
import os

import numpy as np
import pytest

from audio import slm21

LEX_COLS = ["id", "filename", "voice", "frequency", "word", "phones", "length", "correct"]
SYN_COLS = ["filename", "type", "subtype", "id", "voice", "transcription", "correct"]


def write_task(root, task, cols, rows, touch=True):
    folder = os.path.join(root, task, "dev")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "gold.csv"), "w", newline="") as f:
        w = csv.DictWriter(f, cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
            if touch:
                open(os.path.join(folder, r["filename"] + ".wav"), "wb").close()
    return folder


def lexical_rows(freqs=("1", "1")):  # 2 words x 2 voices; gold order mixes words and non-words as the release does
    rows = []
    for i, ((w, nw), fq) in enumerate(zip((("ball", "bopp"), ("tree", "trii")), freqs)):
        for v in ("Alex", "Bruce"):
            rows += [dict(id=f"w{i}", filename=f"{w}_{v}", voice=v, frequency=fq, word=w, phones="x", length=4,
                          correct=1),
                     dict(id=f"w{i}", filename=f"{nw}_{v}", voice=v, frequency="", word=nw, phones="y", length=4,
                          correct=0)]
    return rows


def syntactic_rows():  # the same id in two subtypes is two pairs
    rows = []
    for sub in ("a", "b"):
        for v in ("Alex", "Bruce"):
            rows += [dict(filename=f"{sub}_ok_{v}", type="t", subtype=sub, id="1", voice=v, transcription="x", correct=1),
                     dict(filename=f"{sub}_ko_{v}", type="t", subtype=sub, id="1", voice=v, transcription="y", correct=0)]
    return rows


def test_pairs_voices_and_groups(tmp_path, capsys):
    root = str(tmp_path)
    lex = write_task(root, "lexical", LEX_COLS, lexical_rows())
    write_task(root, "syntactic", SYN_COLS, syntactic_rows())
    out = str(tmp_path / "bench.jsonl")
    slm21.main([root, "--out", out])
    assert "warning" not in capsys.readouterr().err  # aligned gold: the official pairing is the same
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


@pytest.mark.parametrize("freqs, in_vocab", [(("1", "0"), {"w0"}), (("250", "-1"), {"w0"}), (("0", "0"), set()),
                                             (("3", "7.0"), {"w0", "w1"})])
def test_in_vocab_set_is_the_pairs_with_frequency_at_least_1(tmp_path, freqs, in_vocab):
    """The official in-vocab score leaves out the 'oov' band [0, 1) and what falls in no band (< 0)."""
    write_task(str(tmp_path), "lexical", LEX_COLS, lexical_rows(freqs))
    out = str(tmp_path / "bench.jsonl")
    slm21.main([str(tmp_path), "--tasks", "lexical", "--out", out])
    lines = [json.loads(l) for l in open(out)]
    iv = [l for l in lines if l["name"] == "swuggyiv_en"]
    assert {l["group"] for l in iv} == in_vocab and len(iv) == 2 * len(in_vocab)
    every = {(l["good"], l["bad"], l["group"]) for l in lines if l["name"] == "swuggy_en"}
    assert {(l["good"], l["bad"], l["group"]) for l in iv} <= every and len(every) == 4


@pytest.mark.parametrize("damage, message", [
    (lambda rows: rows[:-1], "has no bad partner"),
    (lambda rows: rows + [dict(rows[0], filename="extra")], "a second good file"),
    (lambda rows: [dict(r, correct=2) if i == 3 else r for i, r in enumerate(rows)], "correct must be 0 or 1"),
    (lambda rows: [dict(r, frequency="f1") if i == 0 else r for i, r in enumerate(rows)],
     r"gold.csv:2: a word's frequency must be a whole number .*got 'f1'; the official scorer fails on it"),
    (lambda rows: [dict(r, frequency="") if i == 4 else r for i, r in enumerate(rows)],  # empty: its bands fail
     r"gold.csv:6: a word's frequency must be a whole number .*got ''"),
    (lambda rows: [dict(r, frequency="2") if i == 2 else r for i, r in enumerate(rows)],
     r"gold.csv:4: pair 'w0' has frequency 2, but 1 at line 2; a word has one frequency"),
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
    write_task(str(tmp_path), "syntactic", SYN_COLS[:-1], syntactic_rows())
    with pytest.raises(SystemExit, match=r"no column \['correct'\]"):
        slm21.main([str(tmp_path), "--tasks", "syntactic", "--out", str(tmp_path / "b.jsonl")])
    # the official scorer needs length (its by-length table) though crosstalk does not use it
    write_task(str(tmp_path), "lexical", [c for c in LEX_COLS if c != "length"], lexical_rows())
    with pytest.raises(SystemExit, match=r"no column \['length'\] .*the official scorer reads"):
        slm21.main([str(tmp_path), "--tasks", "lexical", "--out", str(tmp_path / "b.jsonl")])


def test_positional_pairing_disagreement_is_named(tmp_path, capsys):
    """The official syntactic scorer joins the k-th correct row with the k-th incorrect row: here the
    incorrect rows of subtype b come first, so it would join a with b; crosstalk warns, naming the rows."""
    rows = syntactic_rows()
    good, bad = [r for r in rows if r["correct"] == 1], [r for r in rows if r["correct"] == 0]
    write_task(str(tmp_path), "syntactic", SYN_COLS, good + bad[2:] + bad[:2])
    out = str(tmp_path / "b.jsonl")
    slm21.main([str(tmp_path), "--tasks", "syntactic", "--out", out])
    err = capsys.readouterr().err
    assert "warning" in err and "4 of 4 of those are not one pair here" in err
    # header is line 1: the good rows are lines 2-5 (a, a, b, b), the bad rows 6-9 (b, b, a, a)
    assert "line 2 (t/a/1 Alex) with line 6 (t/b/1 Alex); line 3 (t/a/1 Bruce) with line 7" in err
    assert "and 1 more. crosstalk pairs by (type, subtype, id) and voice" in err
    assert len(open(out).readlines()) == 4  # the by-key pairs are still written


def official_scores(lex_rows, syn_rows, score):
    """The official aggregation (zerospeech-benchmarks: its lexical and syntactic tasks and its sLM21
    submission scores), written out by hand from per-file scores: lexical joins a word and its non-word
    on (voice, id); syntactic joins the k-th correct row with the k-th incorrect row; a voice scores 1 /
    0.5 / 0, a pair is the mean over its voices (by id; by the correct row's type, subtype, id), a set
    the mean over pairs; in-vocab the pair-count-weighted mean of the frequency bands but 'oov'."""
    def outcome(g, b):
        return 1.0 if score[g] > score[b] else 0.5 if score[g] == score[b] else 0.0
    words = [r for r in lex_rows if r["correct"] == 1]
    non = {(r["voice"], r["id"]): r for r in lex_rows if r["correct"] == 0}
    by_id = {}
    for w in words:
        by_id.setdefault(w["id"], []).append(outcome(w["filename"], non[w["voice"], w["id"]]["filename"]))
    freq = {}
    for w in words:  # the first row of each id, as the official by_pair takes it
        freq.setdefault(w["id"], int(w["frequency"]))
    pair = {i: np.mean(v) for i, v in by_id.items()}
    bands = {}  # [0,1) oov, [1,5), [5,20), [20,100), [100,inf)
    for i, s in pair.items():
        if freq[i] >= 0:
            bands.setdefault(sum(freq[i] >= e for e in (1, 5, 20, 100)), []).append(s)
    assert sorted(bands) == [0, 1, 2, 3, 4], "a band is empty: the official in-vocab would be NaN"
    kept = [(np.mean(v), len(v)) for b, v in bands.items() if b > 0]
    in_vocab = sum(m * n for m, n in kept) / sum(n for _, n in kept)
    good = [r for r in syn_rows if r["correct"] == 1]
    bad = [r for r in syn_rows if r["correct"] == 0]
    by_key = {}
    for g, b in zip(good, bad):
        by_key.setdefault((g["type"], g["subtype"], g["id"]), []).append(outcome(g["filename"], b["filename"]))
    return (np.mean(list(pair.values())), in_vocab, np.mean([np.mean(v) for v in by_key.values()]),
            np.mean([x for v in by_id.values() for x in v]))


def test_end_to_end_equals_the_official_aggregation(tmp_path, mimi_path):
    """A fixture in the official layout (gold.csv + real wavs: slm21.write_demo) -> audio/slm21.py ->
    tokenize_audio.py (random Mimi) -> eval_cloze: sWUGGY all and in-vocab and sBLiMP equal the official
    aggregation computed by hand from per-file scores. Uneven voices per id (3, 1, 2, 1, 1, 1),
    a word in each frequency band and oov, so a plain item mean or an unweighted band mean would
    differ. Then one clip goes silent: the set that lost its items says n of N in the JSON, the table
    and the report."""
    import torch
    import eval_cloze
    import tokenbin
    import tokenize_audio
    from model import Decoder, ModelConfig
    from audio.demo import RATE, write_wav
    from results import report
    root = slm21.write_demo(str(tmp_path / "slm21"))
    lex = os.path.join(root, "lexical", "dev")
    lex_rows, syn_rows = ([dict(r, correct=int(r["correct"])) for r in csv.DictReader(open(gold))]
                          for gold in (os.path.join(root, t, "dev", "gold.csv") for t in ("lexical", "syntactic")))
    manifest, corpus = str(tmp_path / "bench.jsonl"), str(tmp_path / "corpus")
    slm21.main([root, "--out", manifest])
    tokenize_audio.main(["--bench_manifest", manifest, "--out_dir", corpus, "--mimi_weights", mimi_path])
    torch.manual_seed(0)
    model = Decoder(ModelConfig.preset("tiny", vocab_size=2049)).eval()
    got = eval_cloze.evaluate_all(model, corpus)["mean"]

    def mean_ll(codes):  # mean log-likelihood after the boundary token, one sequence, by hand
        idx = torch.tensor(np.r_[2048, codes], dtype=torch.long)[None]
        with torch.no_grad():
            lp = torch.log_softmax(model(idx[:, :-1]).double(), -1)[0]
        return lp.gather(-1, idx[0, 1:, None]).mean().item()
    score, lines = {}, [json.loads(l) for l in open(manifest)]
    for name in ("swuggy_en", "sblimp_en"):
        tokens, items = tokenbin.load_bench(corpus, name)
        for line, (_, _, g0, g1, b0, b1) in zip([l for l in lines if l["name"] == name], items):
            score[os.path.basename(line["good"])[:-4]] = mean_ll(tokens[g0:g1])
            score[os.path.basename(line["bad"])[:-4]] = mean_ll(tokens[b0:b1])
    lex_all, lex_iv, syn_all, lex_items = official_scores(lex_rows, syn_rows, score)
    print(f"official aggregation by hand: sWUGGY all {lex_all:.4f} in-vocab {lex_iv:.4f} sBLiMP {syn_all:.4f}")
    assert len(set(score.values())) > 10, "the random model ties everything: the comparison would prove nothing"
    assert got["swuggy_en"]["accuracy"] == pytest.approx(lex_all) and got["swuggy_en"]["n_groups"] == 6
    assert got["swuggy_en"]["pair_accuracy"] == pytest.approx(lex_items)
    assert got["swuggyiv_en"]["accuracy"] == pytest.approx(lex_iv) and got["swuggyiv_en"]["n_groups"] == 5
    assert got["sblimp_en"]["accuracy"] == pytest.approx(syn_all) and got["sblimp_en"]["n_groups"] == 2
    assert all(r["complete"] for r in got.values())
    assert "INCOMPLETE" not in eval_cloze.format_table(got, "mean")

    # w1 has one voice: silencing its word removes the pair from sWUGGY (the lexical sets alone, to save time)
    write_wav(os.path.join(lex, "w1_ok_Alex.wav"), np.zeros((1, RATE // 2)), RATE)
    manifest2, corpus2 = str(tmp_path / "lexical.jsonl"), str(tmp_path / "corpus2")
    slm21.main([root, "--tasks", "lexical", "--out", manifest2])
    tokenize_audio.main(["--bench_manifest", manifest2, "--out_dir", corpus2, "--mimi_weights", mimi_path])
    lost = eval_cloze.evaluate_all(model, corpus2)["mean"]
    r = lost["swuggy_en"]
    assert (r["n"], r["n_total"], r["n_groups"], r["n_groups_total"], r["complete"]) == (8, 9, 5, 6, False)
    assert lost["swuggyiv_en"]["complete"]  # w1 is oov: not in-vocab
    assert r["accuracy"] == pytest.approx(np.mean([v for k, v in official_pairs(lex_rows, score).items() if k != "w1"]))
    table = eval_cloze.format_table(lost, "mean")
    assert "swuggy_en: " in table and "INCOMPLETE: 5 of 6 groups, 8 of 9 items" in table
    run = tmp_path / "run"
    run.mkdir()
    (run / "cloze_mean.json").write_text(json.dumps({"scoring": "mean", "results": lost}))
    md, loaded = report.report([("m", str(run))])
    from results import plots
    plots.report_figure(loaded, "mean", str(tmp_path / "fig.png"))  # marks the incomplete set's label
    assert os.path.isfile(tmp_path / "fig.png")
    row = next(l for l in md.splitlines() if l.startswith("| m |"))
    assert f"| {100 * r['accuracy']:.2f} (5 of 6 groups) |" in row
    assert f"| {100 * lost['swuggyiv_en']['accuracy']:.2f} |" in row  # the complete set: its bare number
    assert "Incomplete sets, scored as n of N" in md and "sWUGGY EN 5 of 6 groups, 8 of 9 items" in md


def official_pairs(lex_rows, score):
    """Per-id official pair scores (the mean over voices), for the sets a test trims by hand."""
    non = {(r["voice"], r["id"]): r["filename"] for r in lex_rows if r["correct"] == 0}
    by_id = {}
    for w in (r for r in lex_rows if r["correct"] == 1):
        g, b = score[w["filename"]], score[non[w["voice"], w["id"]]]
        by_id.setdefault(w["id"], []).append(1.0 if g > b else 0.5 if g == b else 0.0)
    return {i: np.mean(v) for i, v in by_id.items()}
