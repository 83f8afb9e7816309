"""tokenbin.py: the format round-trips, and each kind of damage gives its own clear error."""
import json
import os

import numpy as np
import pytest

import tokenbin as tb


def make_corpus(tmp_path, n_stories=3, vocab=2048, seed=0):
    rng = np.random.default_rng(seed)
    sentences = {"en": [], "fr": []}
    story_starts = []
    for s in range(n_stories):
        story_starts.append(len(sentences["en"]))
        for _ in range(2 + s):
            for lang in ("en", "fr"):
                sentences[lang].append(rng.integers(0, vocab, size=rng.integers(1, 20)))
    d = str(tmp_path / "corpus")
    tb.write_split(d, "train", sentences, story_starts, vocab)
    tb.write_meta(d, {"vocab_size": vocab, "languages": ["en", "fr"]})
    return d, sentences, story_starts


def test_split_round_trip(tmp_path):
    d, sentences, story_starts = make_corpus(tmp_path)
    split = tb.load_split(d, "train")
    assert split.langs == ["en", "fr"]
    assert split.n_stories == len(story_starts)
    assert split.n_sentences == len(sentences["en"])
    assert list(split.stories[:-1]) == story_starts
    for lang in ("en", "fr"):
        for k, sent in enumerate(sentences[lang]):
            np.testing.assert_array_equal(split.sentence(lang, k), sent)
        assert split.tokens[lang].dtype == np.uint16


def test_header_layout(tmp_path):
    path = str(tmp_path / "x.bin")
    tb.write_bin(path, np.array([5, 0, 2047]), 2048)
    raw = open(path, "rb").read()
    header = np.frombuffer(raw[:1024], dtype="<i4")
    assert list(header[:4]) == [20251201, 1, 3, 2048] and not header[4:].any()
    assert np.frombuffer(raw[1024:], dtype="<u2").tolist() == [5, 0, 2047]


def test_bench_round_trip(tmp_path):
    d = str(tmp_path)
    items = [(np.array([1, 2, 3]), np.array([4, 5]), np.array([6])),
             (np.array([], dtype=np.int64), np.array([7]), np.array([8, 9]))]  # minimal pair: no prompt
    tb.write_bench(d, "ssc_en-fr", items, 2048)
    tokens, ranges = tb.load_bench(d, "ssc_en-fr", 2048)
    assert ranges.shape == (2, 6) and ranges.dtype == np.int64
    for (p0, p1, g0, g1, b0, b1), (prompt, good, bad) in zip(ranges, items):
        np.testing.assert_array_equal(tokens[p0:p1], prompt)
        np.testing.assert_array_equal(tokens[g0:g1], good)
        np.testing.assert_array_equal(tokens[b0:b1], bad)
    assert tb.list_benches(d) == ["ssc_en-fr"]


def test_truncated_file(tmp_path):
    d, _, _ = make_corpus(tmp_path)
    path = os.path.join(d, "train_fr.bin")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 2)
    with pytest.raises(tb.FormatError, match=r"train_fr\.bin.*truncated"):
        tb.load_split(d, "train")


def test_wrong_magic(tmp_path):
    d, _, _ = make_corpus(tmp_path)
    path = os.path.join(d, "train_en.bin")
    with open(path, "r+b") as f:
        f.write(np.array([1234], dtype="<i4").tobytes())
    with pytest.raises(tb.FormatError, match=r"train_en\.bin.*wrong magic"):
        tb.load_split(d, "train")


def test_token_out_of_range(tmp_path):
    d, _, _ = make_corpus(tmp_path)
    path = os.path.join(d, "train_en.bin")
    with open(path, "r+b") as f:
        f.seek(1024 + 2 * 3)
        f.write(np.array([3000], dtype="<u2").tobytes())
    with pytest.raises(tb.FormatError, match=r"train_en\.bin.*token id 3000 out of range.*position 3"):
        tb.load_split(d, "train")


def test_sentence_counts_differ(tmp_path):
    d, sentences, story_starts = make_corpus(tmp_path)
    # rewrite fr with one sentence fewer, bypassing write_split's own check
    fr = sentences["fr"][:-1]
    tb.write_bin(os.path.join(d, "train_fr.bin"), np.concatenate(fr), 2048)
    np.save(os.path.join(d, "train_fr.idx.npy"), np.concatenate([[0], np.cumsum([len(s) for s in fr])]))
    with pytest.raises(tb.FormatError, match=r"train sentence counts differ"):
        tb.load_split(d, "train")
    with pytest.raises(ValueError, match="same number of sentences"):
        tb.write_split(d, "val", {"en": sentences["en"], "fr": fr}, story_starts, 2048)


def test_index_not_matching_tokens(tmp_path):
    d, _, _ = make_corpus(tmp_path)
    path = os.path.join(d, "train_en.idx.npy")
    idx = np.load(path)
    idx[2], idx[3] = idx[3], idx[2]  # no longer monotone
    np.save(path, idx)
    with pytest.raises(tb.FormatError, match=r"train_en\.idx\.npy.*without decreasing"):
        tb.load_split(d, "train")


def test_vocab_mismatch_and_missing(tmp_path):
    d, _, _ = make_corpus(tmp_path)
    with pytest.raises(tb.FormatError, match=r"vocabulary size 2048, expected 4096"):
        tb.load_split(d, "train", vocab_size=4096)
    with pytest.raises(tb.FormatError, match=r"val_en\.bin: no such token file"):
        tb.load_split(d, "val")
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump({"languages": ["en", "fr"]}, f)
    with pytest.raises(tb.FormatError, match=r"meta\.json: has no 'vocab_size'"):
        tb.read_meta(d)


def test_bench_ranges_checked(tmp_path):
    d = str(tmp_path)
    tb.write_bench(d, "stc_en", [(np.array([1]), np.array([2]), np.array([3]))], 2048)
    np.save(os.path.join(d, "bench", "stc_en.items.npy"), np.array([[0, 1, 1, 2, 2, 9]], dtype=np.int64))
    with pytest.raises(tb.FormatError, match=r"stc_en\.items\.npy: item ranges outside"):
        tb.load_bench(d, "stc_en")


def test_story_with_no_sentence_is_refused_by_reader_and_writer(tmp_path):
    d, _, story_starts = make_corpus(tmp_path)
    path = os.path.join(d, "train.stories.npy")
    stories = np.load(path)
    np.save(path, np.insert(stories, 1, stories[1]))  # story 1 now starts where story 0's successor does
    with pytest.raises(tb.FormatError, match=r"train\.stories\.npy: story starts .* increase strictly"):
        tb.load_split(d, "train")
    with pytest.raises(ValueError, match="increase strictly"):
        tb.write_split(d, "train", {"en": [np.array([1]), np.array([2])]}, [0, 1, 1], 2048)


def test_unpaired_corpus_round_trip(tmp_path):
    """One story index per language, sentence counts free; paired-only views refuse clearly."""
    d = str(tmp_path / "mono")
    en = [np.array([1, 2]), np.array([3]), np.array([4, 5, 6])]
    fr = [np.array([7]), np.array([8, 9])]
    tb.write_split(d, "train", {"en": en, "fr": fr}, {"en": [0, 2], "fr": [0]}, 2048, paired=False)
    tb.write_meta(d, {"vocab_size": 2048, "languages": ["en", "fr"], "paired": False})
    assert not os.path.exists(os.path.join(d, "train.stories.npy"))
    split = tb.load_split(d, "train")
    assert not split.paired
    assert split.lang_stories["en"].tolist() == [0, 2, 3] and split.lang_stories["fr"].tolist() == [0, 2]
    for lang, sents in (("en", en), ("fr", fr)):
        for k, sent in enumerate(sents):
            np.testing.assert_array_equal(split.sentence(lang, k), sent)
    with pytest.raises(ValueError, match="one story index per language"):
        split.stories
    assert [os.path.basename(f) for f in tb.split_files(d, "train", tb.read_meta(d))] == [
        "train_en.bin", "train_en.idx.npy", "train_fr.bin", "train_fr.idx.npy",
        "train_en.stories.npy", "train_fr.stories.npy"]
    # the same files read as paired (a meta.json that lies) fail on the counts, naming the fix
    tb.write_meta(d, {"vocab_size": 2048, "languages": ["en", "fr"]})
    with pytest.raises(tb.FormatError, match='sentence counts differ.*"paired": false'):
        tb.load_split(d, "train")


def test_paired_is_the_default_for_old_corpora(tmp_path):
    d, sentences, _ = make_corpus(tmp_path)
    meta = tb.read_meta(d)
    assert "paired" not in meta and tb.is_paired(meta)
    split = tb.load_split(d, "train")
    assert split.paired and split.lang_stories["en"] is split.lang_stories["fr"]


def test_bench_groups_round_trip_and_stale_sidecar(tmp_path):
    d = str(tmp_path)
    items = [(np.array([], dtype=np.int64), np.array([1]), np.array([2]))] * 3
    tb.write_bench(d, "swuggy_en", items, 2048, groups=[0, 0, 1])
    assert tb.load_bench_groups(d, "swuggy_en", 3).tolist() == [0, 0, 1]
    with pytest.raises(tb.FormatError, match="3 group ids for 2 items"):
        tb.load_bench_groups(d, "swuggy_en", 2)
    tb.write_bench(d, "swuggy_en", items, 2048)  # rewritten without groups: the old sidecar goes
    assert tb.load_bench_groups(d, "swuggy_en", 3) is None


def test_units_identity_recorded_legacy_and_compared():
    """meta.json "units" names what the ids mean; a corpus written before it is read by its tokenizer
    record, and only what both sides know is compared."""
    mimi = {"vocab_size": 2048, "languages": ["en"], "units": {"tokenizer": "mimi", "sha256": "ab" * 32, "vocab_size": 2048}}
    old_mimi = {"vocab_size": 2048, "languages": ["en"], "tokenizer": {"name": "mimi", "weights_sha256": "ab" * 32}}
    old_toy = {"vocab_size": 2048, "languages": ["en"], "tokenizer": {"name": "toy_enfr pseudo-units", "weights": None}}
    bare = {"vocab_size": 2048, "languages": ["en"]}
    assert tb.unit_identity(mimi) == {**mimi["units"], "recorded": True}
    assert tb.unit_identity(old_mimi) == {**mimi["units"], "recorded": False}  # an old Mimi corpus: fully known
    assert tb.unit_identity(old_toy) == {"tokenizer": "toy_enfr pseudo-units", "sha256": None, "vocab_size": 2048,
                                         "recorded": False}
    ids = {k: tb.unit_identity(m) for k, m in (("mimi", mimi), ("old_mimi", old_mimi), ("old_toy", old_toy), ("bare", bare))}
    assert tb.units_mismatch(ids["mimi"], ids["old_mimi"]) is None
    assert tb.units_mismatch(ids["mimi"], ids["old_toy"]) == "tokenizer 'mimi' vs 'toy_enfr pseudo-units'"
    assert tb.units_mismatch(ids["mimi"], ids["bare"]) is None                     # nothing known to compare
    other = dict(ids["mimi"], sha256="cd" * 32)
    assert tb.units_mismatch(ids["mimi"], other) == "sha256 differs"
    assert tb.units_mismatch(ids["bare"], dict(ids["bare"], vocab_size=64)) == "vocab_size 2048 vs 64"


def test_meta_units_are_checked_on_write_and_read(tmp_path):
    d = str(tmp_path / "c")
    with pytest.raises(ValueError, match="'units' must be"):
        tb.write_meta(d, {"vocab_size": 64, "languages": ["en"], "units": {"tokenizer": "x", "sha256": "y", "vocab_size": 65}})
    tb.write_meta(d, {"vocab_size": 64, "languages": ["en"], "units": {"tokenizer": "x", "sha256": "y", "vocab_size": 64}})
    meta = json.load(open(os.path.join(d, "meta.json")))
    meta["units"]["vocab_size"] = 2048
    json.dump(meta, open(os.path.join(d, "meta.json"), "w"))
    with pytest.raises(tb.FormatError, match="'units' must be"):
        tb.read_meta(d)


def test_fingerprint_sees_a_same_length_rewrite(tmp_path):
    d, _, _ = make_corpus(tmp_path)
    meta = tb.read_meta(d)
    before = tb.fingerprint(d, meta, ("train",))
    assert sorted(before) == ["train.stories.npy", "train_en.bin", "train_en.idx.npy", "train_fr.bin", "train_fr.idx.npy"]
    path = os.path.join(d, "train_fr.bin")
    data = bytearray(open(path, "rb").read())
    data[-2] ^= 1  # one token of the last sentence, same length
    open(path, "wb").write(bytes(data))
    after = tb.fingerprint(d, meta, ("train",))
    assert [k for k in before if before[k] != after[k]] == ["train_fr.bin"] and after["train_fr.bin"][0] == len(data)


def test_toy_units_follow_its_unit_settings_not_its_sizes(tmp_path):
    """data/toy_enfr/prepare.py: another seed is other units, fewer stories the same units."""
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    small = ["--n_train_stories=5", "--n_val_stories=3", "--n_bench=2", "--n_pairs=2"]
    units = {}
    for name, extra in (("a", []), ("b", ["--n_train_stories=7", "--n_bench=3"]), ("c", ["--seed=7"])):
        subprocess.run([sys.executable, os.path.join(root, "data/toy_enfr/prepare.py"), f"--out_dir={tmp_path / name}",
                        *small, *extra], check=True, capture_output=True)
        units[name] = tb.unit_identity(tb.read_meta(str(tmp_path / name)))
    assert units["a"]["tokenizer"] == "toy_enfr pseudo-units" and units["a"]["recorded"]
    assert units["a"] == units["b"] and tb.units_mismatch(units["a"], units["c"]).startswith("sha256")


def test_bench_total_round_trip_checks_and_stale_sidecar(tmp_path):
    d = str(tmp_path)
    items = [(np.array([], dtype=np.int64), np.array([1]), np.array([2]))] * 3
    tb.write_bench(d, "swuggy_en", items, 2048, groups=[0, 0, 1], total=(5, 3))  # 2 items, 1 group lost
    assert tb.load_bench_total(d, "swuggy_en", 3, 2) == (5, 3)
    with pytest.raises(tb.FormatError, match=r"total \[5, 3\] .* a set of 6 items .*cannot be smaller"):
        tb.load_bench_total(d, "swuggy_en", 6, 2)
    with pytest.raises(ValueError, match="less than the set holds"):      # the writer refuses it too
        tb.write_bench(d, "swuggy_en", items, 2048, groups=[0, 1, 2], total=(3, 2))
    tb.write_bench(d, "swuggy_en", items, 2048)  # rewritten without a total: the old one goes
    assert tb.load_bench_total(d, "swuggy_en", 3) is None
