"""The bundled toy corpus (data/toy_enfr/prepare.py): deterministic, in the format, aligned, benches sound.

    .venv/bin/python -m pytest -q tests/data/toy_enfr/test_prepare.py        # ~5 s: three small corpora in a temp dir
"""
import filecmp
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import tokenbin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PREPARE = os.path.join(ROOT, "data", "toy_enfr", "prepare.py")
SMALL = ["--n_train_stories=200", "--n_val_stories=20", "--n_bench=30", "--n_pairs=40"]
DIRECTIONS = ("en", "fr", "en-fr", "fr-en")


def prepare(out_dir, *args):
    r = subprocess.run([sys.executable, PREPARE, f"--out_dir={out_dir}", *SMALL, *args],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"prepare.py failed:\n{r.stderr}"
    return str(out_dir)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy")
    return dict(a=prepare(base / "a", "--seed=3"), b=prepare(base / "b", "--seed=3"),
                c=prepare(base / "c", "--seed=4"))


def all_files(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def test_same_seed_gives_identical_files(corpora):
    files = all_files(corpora["a"])
    assert files == all_files(corpora["b"])
    assert "train_en.bin" in files and "meta.json" in files and "bench/ssc_en-fr.items.npy" in files
    _, mismatch, errors = filecmp.cmpfiles(corpora["a"], corpora["b"], files, shallow=False)
    assert mismatch == [] and errors == []


def test_different_seed_differs(corpora):
    for f in ("train_en.bin", "train_fr.bin", "bench/stc_en.bin"):
        assert not filecmp.cmp(os.path.join(corpora["a"], f), os.path.join(corpora["c"], f), shallow=False)


def test_splits_load_and_are_sentence_aligned(corpora):
    d = corpora["a"]
    meta = tokenbin.read_meta(d)
    assert meta["vocab_size"] == 2048 and meta["languages"] == ["en", "fr"]
    assert meta["tokenizer"]["name"] == "toy_enfr pseudo-units" and meta["seed"] == 3
    for split, n in (("train", 200), ("val", 20)):
        s = tokenbin.load_split(d, split)
        assert s.n_stories == n and meta["counts"][split]["stories"] == n
        assert len(s.offsets["en"]) == len(s.offsets["fr"]) == s.n_sentences + 1
        assert meta["counts"][split]["sentences"] == s.n_sentences
        assert np.all(np.isin(np.diff(s.stories), [5, 6, 7, 8]))  # 5-8 sentences, the same in EN and FR
        for lang in s.langs:
            assert meta["counts"][split]["tokens"][lang] == len(s.tokens[lang])
            assert int(s.tokens[lang].max()) < 2048
            lengths = np.diff(s.offsets[lang])
            assert lengths.min() >= 5 and 12 <= lengths.mean() <= 30  # ~2 units a word (see prepare.py)


def test_benches_all_present_with_the_design_shapes(corpora):
    d = corpora["a"]
    names = [f"{t}_{x}" for t in ("ssc", "stc") for x in DIRECTIONS]
    pairs = [f"{t}_{x}" for t in ("lex", "syn") for x in ("en", "fr")]
    assert tokenbin.list_benches(d) == sorted(names + pairs)
    for name in names:
        tokens, items = tokenbin.load_bench(d, name, vocab_size=2048)
        assert items.shape == (30, 6) and items.dtype == np.int64
        assert np.all(items[:, 1] > items[:, 0])  # the prompt is the story, never empty here
        assert np.all(items[:, 1:] >= items[:, :-1]) and items[-1, 5] == len(tokens)
        assert int(tokens.max()) < 2048
        for p0, p1, g0, g1, b0, b1 in items:
            assert not np.array_equal(tokens[g0:g1], tokens[b0:b1])


def test_directions_reuse_the_same_renderings(corpora):
    # en-fr = the EN prompt of the en set with the endings of the fr set (and so on)
    d = corpora["a"]
    for task in ("ssc", "stc"):
        sets = {x: tokenbin.load_bench(d, f"{task}_{x}") for x in DIRECTIONS}
        part = lambda x, i, k: sets[x][0][sets[x][1][i, 2 * k]:sets[x][1][i, 2 * k + 1]]  # noqa: E731
        for i in range(30):
            for x, (p, e) in {"en-fr": ("en", "fr"), "fr-en": ("fr", "en")}.items():
                assert np.array_equal(part(x, i, 0), part(p, i, 0))
                assert np.array_equal(part(x, i, 1), part(e, i, 1))
                assert np.array_equal(part(x, i, 2), part(e, i, 2))


def test_bench_endings_are_what_they_claim(corpora):
    with open(os.path.join(corpora["a"], "bench", "items.jsonl"), encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    assert len(items) == 30
    for it in items:
        assert len(it["en"]["prompt"]) == len(it["fr"]["prompt"]) >= 4  # aligned, story minus ending
        for lang in ("en", "fr"):
            good, ssc_bad = it[lang]["good"].split(), it[lang]["ssc_bad"].split()
            assert good != ssc_bad
            if len(good) == len(ssc_bad):  # same frame, at most a contraction or agreement more
                assert sum(a != b for a, b in zip(good, ssc_bad)) <= 3
            other = items[it["stc_other"]]  # sTC: the ending of another story, on another topic
            assert it["stc_other"] != it["item"] and other["topic"] != it["topic"]
            assert it[lang]["stc_bad"] == other[lang]["good"]


def load_prepare():
    spec = importlib.util.spec_from_file_location("toy_prepare", PREPARE)
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    return prep


def test_languages_share_no_word_pronunciation():
    # the reason a monolingual model cannot link EN and FR: no word sounds alike across languages
    prep = load_prepare()
    voice = prep.Voice(3)
    r = prep.random.Random(0)
    for s in [prep.make_story(r) for _ in range(300)]:
        for lang in ("en", "fr"):
            for text in prep.sentences(s, lang):
                voice.word_ids(lang, text)
    pron = {lang: {tuple(voice.pron[lang][i]) for w, i in voice.words[lang].items() if w != "<sil>"}
            for lang in ("en", "fr")}
    assert len(pron["en"]) > 150 and len(pron["fr"]) > 150
    assert not pron["en"] & pron["fr"]
    en_phones = set(np.concatenate([np.array(p) for p in pron["en"]]))
    fr_phones = set(np.concatenate([np.array(p) for p in pron["fr"]]))
    assert len(en_phones & fr_phones) <= 6  # the few shared phones (none of them a whole word)


def test_bad_option_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, PREPARE, f"--out_dir={tmp_path}", "--n_stories=5"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "unknown option" in r.stderr and "--n_train_stories" in r.stderr


def test_shared_names_knob():
    prep = load_prepare()
    voice = prep.Voice(3)
    assert not np.array_equal(voice._pronounce("en", "Lily"), voice._pronounce("fr", "Lily"))
    prep.shared_names = 1  # real speech keeps names alike across languages: the knob turns that on
    assert np.array_equal(voice._pronounce("en", "Lily"), voice._pronounce("fr", "Lily"))
    assert not np.array_equal(voice._pronounce("en", "ball"), voice._pronounce("fr", "ball"))


def test_variation_knobs_change_the_rendering(tmp_path):
    # the speech-like knobs are live: the first version's harsher values (1-3 frames a phone, longer
    # words, more pauses) give about a 12.5 Hz rate again, and variation off gives fewer units still
    harsh = prepare(tmp_path / "harsh", "--seed=3", "--vowel_long=0.5", "--cons_long=0.15", "--slow_max=0.35",
                    "--phones_per_letter=0.65", "--max_phones=7", "--pause_prob=0.1", "--speaker_shift=0.2",
                    "--variability=0.03", "--noise=0.01")
    clean = prepare(tmp_path / "clean", "--seed=3", "--vowel_long=0", "--pause_prob=0", "--speaker_shift=0",
                    "--variability=0", "--noise=0")
    s_harsh, s_clean = tokenbin.load_split(harsh, "train"), tokenbin.load_split(clean, "train")
    assert 25 <= np.diff(s_harsh.offsets["en"]).mean() <= 60
    for lang in ("en", "fr"):
        assert len(s_clean.tokens[lang]) < len(s_harsh.tokens[lang]) * 0.6
        # variation off: every unit is a phone's canonical unit or silence, so few distinct ids
        assert len(np.unique(s_clean.tokens[lang])) < len(np.unique(s_harsh.tokens[lang]))
    assert tokenbin.read_meta(harsh)["config"]["vowel_long"] == 0.5


def test_minimal_pair_sets_are_what_they_claim(corpora):
    """lex_*: a word vs a same-length non-word of the language's own phones; syn_*: the same word
    renderings in another order; every pair read by pair_voices (2) speakers, grouped for sLM21's mean."""
    d, prep = corpora["a"], load_prepare()
    voice = prep.Voice(3)
    unit_phone = {int(u): p for p, row in enumerate(voice.units) for u in row}  # every id a phone owns
    pairs = [json.loads(l) for l in open(os.path.join(d, "bench", "pairs.jsonl"), encoding="utf-8")]
    for lang in ("en", "fr"):
        for task in ("lex", "syn"):
            tokens, items = tokenbin.load_bench(d, f"{task}_{lang}")
            groups = tokenbin.load_bench_groups(d, f"{task}_{lang}", len(items))
            assert len(items) == 80 and np.array_equal(np.bincount(groups), np.full(40, 2))
            assert np.all(items[:, 0] == items[:, 1])  # no prompt: whole utterances
            texts = [p for p in pairs if p["set"] == f"{task}_{lang}"]
            assert len(texts) == 40
            for (_, _, g0, g1, b0, b1), gr in zip(items, groups):
                good, bad = tokens[g0:g1].tolist(), tokens[b0:b1].tolist()
                assert good != bad
                if task == "syn":  # the same units, another order: only the word order is wrong
                    assert sorted(good) == sorted(bad) and len(good) == len(bad)
                    t = texts[gr]
                    assert sorted(t["good"].split()) == sorted(t["bad"].split()) and t["good"] != t["bad"]
        own = set(voice.cons[lang]) | set(voice.vow[lang])
        lexicon = {tuple(p) for p in (t["good_phones"] for t in pairs if t["set"] == f"lex_{lang}")}
        for t in (t for t in pairs if t["set"] == f"lex_{lang}"):
            nw = t["bad_phones"]
            assert len(nw) == len(t["good_phones"]) and set(nw) <= own
            assert tuple(nw) not in lexicon and not set(nw) <= set(prep.SHARED_PHONES.tolist())
            assert tuple(voice._pronounce(lang, t["good"]).tolist()) == tuple(t["good_phones"])
    # silence-stripped word renderings: every unit of a lex item belongs to some phone or is noise
    tokens, items = tokenbin.load_bench(d, "lex_en")
    owned = np.mean([int(u) in unit_phone for u in tokens])
    assert owned > 0.98


def test_words_first_met_after_the_non_words_keep_their_own_phones(tmp_path):
    """A word first met in a held-out syn_ story (a small corpus has not seen every word) joins the
    lexicon after lex_'s non-words were added to the pronunciations: it must still be said with its own
    phones, not a non-word's (a syn_ pair would then hold non-words)."""
    prep = load_prepare()
    prep.configure([f"--out_dir={tmp_path}", "--n_train_stories=2", "--n_val_stories=1", "--n_bench=2",
                    "--n_pairs=20"])
    voice = prep.Voice(prep.seed)
    splits, bench = prep.draw_stories()
    for i, (split, stories) in enumerate(splits.items()):
        prep.build_split(voice, split, stories, i)
    prep.build_benches(voice, bench, 2)
    before = {lang: len(voice.words[lang]) for lang in ("en", "fr")}
    prep.build_minimal_pairs(voice, 3, {prep.story_key(s) for v in splits.values() for s in v})
    for lang in ("en", "fr"):
        assert len(voice.words[lang]) > before[lang], "the case under test: new words after the non-words"
        wrong = [w for w, i in voice.words[lang].items()
                 if w != "<sil>" and not np.array_equal(voice.pron[lang][i], voice._pronounce(lang, w))]
        assert not wrong, f"{lang}: words said with another entry's phones: {wrong[:5]}"


def test_syn_pairs_never_swap_words_that_sound_alike(tmp_path):
    """Short words share a pronunciation (one phone), so swapping two of them changes no unit and the
    pair is a certain tie. With --seed=3 and 250 pairs the choice lands on such words (it did: "Sam had a
    red hat", red and hat both one phone): every syn_ item must differ in its units."""
    d = prepare(tmp_path / "many", "--seed=3", "--n_pairs=250")
    for lang in ("en", "fr"):
        tokens, items = tokenbin.load_bench(d, f"syn_{lang}")
        same = [i for i, (_, _, g0, g1, b0, b1) in enumerate(items)
                if np.array_equal(tokens[g0:g1], tokens[b0:b1])]
        assert not same, f"syn_{lang}: items {same} swap two words with the same units"
