"""The toy corpus as text (data/toy_enfr/prepare_text.py): its own tiktoken encoding (the same ranks as
tiktoken's educational trainer, deterministic, every token reachable, exact round trip), and the same
stories, sentences and bench items as the unit corpus built with the same options.

    .venv/bin/python -m pytest -q tests/data/toy_enfr/test_prepare_text.py        # ~15 s: small unit and text corpora in a temp dir
"""
import base64
import filecmp
import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tiktoken
from tiktoken._educational import bpe_train

import tokenbin

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
TOY = os.path.join(ROOT, "data", "toy_enfr")
SMALL = ["--n_train_stories=200", "--n_val_stories=20", "--n_bench=30", "--seed=3"]
DIRECTIONS = {"en": ("en", "en"), "fr": ("fr", "fr"), "en-fr": ("en", "fr"), "fr-en": ("fr", "en")}


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOY, f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pt = load_module("prepare_text")
prepare = pt.prepare  # the very module prepare_text draws its stories with


def run(script, out_dir, *args):
    r = subprocess.run([sys.executable, os.path.join(TOY, script), f"--out_dir={out_dir}", *SMALL, *args],
                       capture_output=True, text=True)
    assert r.returncode == 0, f"{script} failed:\n{r.stderr}"
    return str(out_dir)


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    base = tmp_path_factory.mktemp("toy_text")
    return dict(units=run("prepare.py", base / "units"), a=run("prepare_text.py", base / "a"),
                b=run("prepare_text.py", base / "b"))


def generator_sentences(split):
    """Sentences straight from the generator, per story, for SMALL's options."""
    prepare.configure(SMALL)
    splits, _ = prepare.draw_stories()
    return [{lang: prepare.sentences(s, lang) for lang in ("en", "fr")} for s in splits[split]]


def test_train_ranks_equal_tiktokens_educational_trainer():
    prepare.configure(SMALL)
    splits, _ = prepare.draw_stories()
    texts = [t for s in splits["train"][:8] for lang in ("en", "fr") for t in pt.story_texts([s], lang)[0]]
    ours = pt.train_ranks(texts, 400)
    ref = bpe_train("".join(texts), 400, pt.PATTERN, visualise=None)
    assert len(ours) == 400 and ours == ref


def test_train_ranks_stop_when_every_pretoken_is_one_token():
    ranks = pt.train_ranks(["ab ab\n", "abc\n"], 10_000)
    # pre-tokens "ab", " ab", "\n", "abc": merges ab, " ab" (via " "+"ab"), abc; then nothing is left
    assert sorted(b for b in ranks if len(b) > 1) == [b" ab", b"ab", b"abc"] and len(ranks) == 259
    with pytest.raises(ValueError, match="256"):
        pt.train_ranks(["a"], 100)


def test_same_options_give_identical_files_and_ranks(corpora):
    files = sorted(os.path.relpath(os.path.join(r, f), corpora["a"])
                   for r, _, fs in os.walk(corpora["a"]) for f in fs)
    assert "tokenizer.json" in files and "train_en.bin" in files and "bench/ssc_en-fr.items.npy" in files
    _, mismatch, errors = filecmp.cmpfiles(corpora["a"], corpora["b"], files, shallow=False)
    assert mismatch == [] and errors == []


def test_encoding_dense_reachable_and_in_meta(corpora):
    with open(os.path.join(corpora["a"], "tokenizer.json")) as f:
        ranks = [base64.b64decode(b) for b in json.load(f)["ranks"]]  # rank = position
    assert ranks[:256] == [bytes([i]) for i in range(256)] and len(set(ranks)) == len(ranks)
    rank = {b: r for r, b in enumerate(ranks)}
    for r, b in enumerate(ranks[256:], 256):  # each merge: two tokens of lower rank
        assert any(rank.get(b[:i], r) < r and rank.get(b[i:], r) < r for i in range(1, len(b))), b
    tok = pt.load_tokenizer(corpora["a"])
    assert isinstance(tok.enc, tiktoken.Encoding) and tok.n_vocab == len(ranks)
    meta = tokenbin.read_meta(corpora["a"])
    assert meta["vocab_size"] == len(ranks) < 65535 and meta["special_tokens"]["story_boundary"] == len(ranks)
    assert meta["tokenizer"]["encoding"] == "toy_enfr_bpe" and meta["config"]["seed"] == 3


def test_round_trip_is_exact(corpora):
    tok = pt.load_tokenizer(corpora["a"])
    texts = ["il était une fois une petite fille qui s'appelait Zoé\n", "the red kite", "",
             "unseen: Größe 🚀 ½ \t tabs\r\nand  spaces  ", "là-bas elles ont vu une biche près de l'étang\n"]
    for text in texts:
        ids = tok.encode(text)
        assert ids.dtype == np.int64 and tok.decode(ids) == text
    assert len(tok.encode("the red kite\n")) == 4  # seen words are whole tokens: "the", " red", " kite", "\n"


def test_same_stories_and_sentences_as_the_unit_corpus(corpora):
    units, text = corpora["units"], corpora["a"]
    mu, mt = tokenbin.read_meta(units), tokenbin.read_meta(text)
    for split in ("train", "val"):
        su, st = tokenbin.load_split(units, split), tokenbin.load_split(text, split)
        assert np.array_equal(su.stories, st.stories) and st.n_sentences == su.n_sentences
        assert {k: mt["counts"][split][k] for k in ("stories", "sentences")} == \
               {k: mu["counts"][split][k] for k in ("stories", "sentences")}
    cloze = {k: n for k, n in mu["counts"]["bench"].items() if k.startswith(("ssc_", "stc_"))}
    assert mt["counts"]["bench"] == cloze  # the lex_/syn_ minimal pairs are sounds: unit corpus only


@pytest.mark.parametrize("split", ["train", "val"])
def test_bins_decode_to_the_generators_sentences(corpora, split):
    tok, s = pt.load_tokenizer(corpora["a"]), tokenbin.load_split(corpora["a"], split)
    stories = generator_sentences(split)
    assert s.n_stories == len(stories)
    for i, story in enumerate(stories):
        first = s.stories[i]
        for lang in ("en", "fr"):
            decoded = [tok.decode(s.sentence(lang, first + k)) for k in range(s.stories[i + 1] - first)]
            assert decoded == [t + "\n" for t in story[lang]]  # sentence k of EN and FR: the same story's k


def test_bench_items_decode_to_the_unit_corpus_items(corpora):
    tok = pt.load_tokenizer(corpora["a"])
    with open(os.path.join(corpora["units"], "bench", "items.jsonl"), encoding="utf-8") as f:
        items = [json.loads(line) for line in f]
    assert filecmp.cmp(os.path.join(corpora["units"], "bench", "items.jsonl"),
                       os.path.join(corpora["a"], "bench", "items.jsonl"), shallow=False)
    for task in ("ssc", "stc"):
        for d, (pl, el) in DIRECTIONS.items():
            tokens, rows = tokenbin.load_bench(corpora["a"], f"{task}_{d}")
            assert len(rows) == len(items) == 30
            for row, item in zip(rows, items):
                prompt, good, bad = (tok.decode(tokens[row[j]:row[j + 1]]) for j in (0, 2, 4))
                assert prompt == "".join(t + "\n" for t in item[pl]["prompt"])
                assert (good, bad) == (item[el]["good"] + "\n", item[el][f"{task}_bad"] + "\n")


def test_a_published_encoding_is_remapped_to_dense_ids(tmp_path, monkeypatch):
    # offline stand-in for cl100k_base: the toy's ranks shifted above uint16 (merge order unchanged)
    prepare.configure(SMALL)
    splits, _ = prepare.draw_stories()
    texts = [t for s in splits["train"][:20] for lang in ("en", "fr") for t in pt.story_texts([s], lang)[0]]
    ranks = {b: r + 70_000 for b, r in pt.train_ranks(texts, 600).items()}
    big = tiktoken.Encoding(name="big_test", pat_str=pt.PATTERN, mergeable_ranks=ranks, special_tokens={})
    assert big.n_vocab > 65536
    monkeypatch.setattr(pt.tiktoken, "get_encoding", lambda name: big if name == "big_test" else None)
    for option in ("out_dir", "encoding"):  # main() sets them: restored after the test
        monkeypatch.setattr(pt, option, getattr(pt, option))
    pt.main([f"--out_dir={tmp_path}", "--encoding=big_test", *SMALL])
    tok, meta = pt.load_tokenizer(str(tmp_path)), tokenbin.read_meta(str(tmp_path))
    assert meta["vocab_size"] == tok.n_vocab == len(tok.ids) < 2000 and meta["tokenizer"]["dense_ids"]
    assert np.all(np.diff(tok.ids) > 0) and tok.ids.min() >= 70_000
    s = tokenbin.load_split(str(tmp_path), "val")
    story = generator_sentences("val")[0]
    assert [tok.decode(s.sentence("fr", k)) for k in range(s.stories[1])] == [t + "\n" for t in story["fr"]]
    assert tok.decode(tok.encode(story["en"][0] + "\n")) == story["en"][0] + "\n"
    with pytest.raises(ValueError, match="never used"):
        tok.encode("🚀")


def test_an_option_that_changes_nothing_is_refused(tmp_path):
    r = subprocess.run([sys.executable, os.path.join(TOY, "prepare_text.py"), f"--out_dir={tmp_path}",
                        "--noise=0.1"], capture_output=True, text=True)
    assert r.returncode != 0 and "unknown option '--noise=0.1'" in r.stderr and "--n_bench" in r.stderr
    assert not os.path.exists(tmp_path / "meta.json")
