"""align_probe.py on constructed truth: FR identical to EN (retrieval 1, large centred gap), FR unrelated (chance, ~0)."""
import json

import numpy as np
import pytest
import torch

import align_probe
import tokenbin
from model import PRESETS, Decoder, ModelConfig
from training.checkpoint import save_training_state

UNITS = 50                    # unit ids 0..49; the boundary token is 50



@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    cfg = ModelConfig(**{**PRESETS["tiny"], "vocab_size": UNITS + 1, "n_layer": 3, "d_model": 32, "n_head": 4,
                         "n_kv_head": 2, "d_ff": 64, "max_seq_len": 128})
    m = Decoder(cfg)
    with torch.no_grad():            # weights far from the init scale: distinct sentences, distinct states
        for p in m.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
    return m.eval()


def make_corpus(d, fr_equals_en, n_stories=8, seed=0):
    rng = np.random.default_rng(seed)
    en, starts = [], []
    for _ in range(n_stories):
        starts.append(len(en))
        en += [rng.integers(0, UNITS, int(rng.integers(2, 20))) for _ in range(int(rng.integers(2, 5)))]
    # unrelated FR: random tokens and random lengths (translations' correlated lengths alone give a gap)
    fr = [s.copy() if fr_equals_en else rng.integers(0, UNITS, int(rng.integers(2, 20))) for s in en]
    tokenbin.write_meta(d, {"vocab_size": UNITS, "languages": ["en", "fr"]})
    tokenbin.write_split(d, "val", {"en": en, "fr": fr}, starts, UNITS)
    return en


@pytest.mark.parametrize("embeddings", [False, True])
def test_identical_languages_match_exactly(model, tmp_path, embeddings):
    """FR = EN token for token: matched cosine 1, retrieval 1 both ways and a large centred gap at every
    layer (the embedding layer too)."""
    d = str(tmp_path / "same")
    make_corpus(d, fr_equals_en=True, n_stories=20)
    res = align_probe.probe(model, d, "val", n_pairs=1000, batch_size=4, embeddings=embeddings)
    L = model.cfg.n_layer
    assert res["layers"] == list(range(0 if embeddings else 1, L + 1)) and res["n_pairs"] > 40
    n_layers = len(res["layers"])
    np.testing.assert_allclose(res["matched"], np.ones(n_layers), atol=1e-5)
    np.testing.assert_allclose(res["centered_matched"], np.ones(n_layers), atol=1e-4)
    assert all(mm < 1 - 1e-3 for mm in res["mismatched"])
    assert all(g > 1e-3 for g in res["gap"])
    assert all(g > 0.5 for g in res["centered_gap"]) and res["mean_centered_gap"] > 0.5
    assert all(g > 0.5 for g in res["centered_same_position_gap"])
    for way in ("en->fr", "fr->en"):
        np.testing.assert_allclose(res["retrieval_at_1"][way], np.ones(n_layers))
    assert res["mean_retrieval_at_1"] == 1 and res["chance"] == 1 / res["n_pairs"]
    assert res["mean_matched"] == pytest.approx(1, abs=1e-5) and res["mean_gap"] > 0
    # means over layers are over the block outputs 1..L only, with or without the embeddings
    assert res["mean_gap"] == pytest.approx(np.mean(res["gap"][1:] if embeddings else res["gap"]))
    # per-pair values average to the means; their bootstrap interval holds the mean
    assert np.mean(res["per_pair_centered_gap"]) == pytest.approx(res["mean_centered_gap"])
    assert np.mean(res["per_pair_retrieval"]) == pytest.approx(1) and res["mean_retrieval_at_1_ci95"] == [1, 1]
    lo, hi = res["mean_centered_gap_ci95"]
    assert lo < res["mean_centered_gap"] < hi and len(res["pair_ids"]) == res["n_pairs"]


def test_unrelated_languages_have_no_gap(model, tmp_path):
    """FR random and unrelated to EN: matched pairs are no closer than mismatched ones, retrieval at chance."""
    d = str(tmp_path / "unrelated")
    make_corpus(d, fr_equals_en=False, n_stories=120)
    res = align_probe.probe(model, d, "val", n_pairs=1000, batch_size=16)
    n = res["n_pairs"]
    assert n > 100 and max(res["matched"]) < 1 - 1e-3
    assert abs(res["mean_gap"]) < 0.05
    assert all(abs(g) < 0.05 for g in res["centered_gap"])             # identical FR gives > 0.5
    assert res["mean_retrieval_at_1"] < 5 / n                          # chance 1/n; identical FR gives 1
    assert res["mean_centered_gap_ci95"][0] < 0.02 and res["mean_centered_gap_ci95"][1] > -0.02
    assert np.mean(res["per_pair_retrieval"]) == pytest.approx(res["mean_retrieval_at_1"])


def test_retrieval_at_1_hand_example():
    A = torch.tensor([[1.0, 0], [0, 1], [-1, 0]])
    B = torch.tensor([[2.0, 0.1], [0.1, -1], [-1, 0]])                 # row 1 points away from A's row 1
    assert align_probe.retrieval_at_1(A, B) == pytest.approx(2 / 3)
    tied = torch.tensor([[1.0, 0], [1, 0], [0, 1]])                    # rows 0 and 1 identical: half credit each
    assert align_probe.retrieval_at_1(tied, tied) == pytest.approx((0.5 + 0.5 + 1) / 3)


def test_same_position_partners():
    stories = np.array([0, 3, 5, 9, 10])                               # lengths 3, 2, 4, 1
    idx = np.array([0, 2, 3, 4, 7, 8, 9])
    part = align_probe.same_position_partners(stories, idx, seed=0)
    story = np.searchsorted(stories, np.maximum(part, 0), side="right") - 1
    pos_of = lambda k: k - stories[np.searchsorted(stories, k, side="right") - 1]
    for k, m, s in zip(idx, part, story):
        if k in (7, 8):                                                # positions 2, 3: only story 0 / none
            continue
        assert m >= 0 and pos_of(m) == pos_of(k) and s != np.searchsorted(stories, k, side="right") - 1
    assert part[idx.tolist().index(8)] == -1                          # position 3 exists in story 2 only
    assert part[idx.tolist().index(7)] == 2                           # position 2: story 0's sentence 2


def test_pooling_matches_reference(model):
    """Batched, padded mean pooling = mean of each layer's states over positions 1.. of the sequence alone."""
    rng = np.random.default_rng(2)
    seqs = [np.concatenate([[UNITS], rng.integers(0, UNITS, n)]) for n in (1, 7, 3, 30, 12)]
    got = align_probe.pooled_states(model, seqs, batch_size=3)                   # (N, L, d)
    for i, s in enumerate(seqs):
        with torch.no_grad():
            _, hs = model(torch.tensor(s)[None], return_hidden=True)
        ref = torch.stack([h[0, 1:].mean(0) for h in hs])                        # boundary excluded
        torch.testing.assert_close(got[i], ref, atol=1e-5, rtol=1e-5)


def test_pairs_are_a_seeded_derangement():
    idx, other = align_probe.choose_pairs(100, 40, seed=3)
    assert len(set(idx.tolist())) == 40 and np.all(np.diff(idx) > 0)
    assert np.all(other != idx) and sorted(other.tolist()) == idx.tolist()
    i2, o2 = align_probe.choose_pairs(100, 40, seed=3)
    assert np.array_equal(i2, idx) and np.array_equal(o2, other)
    _, o3 = align_probe.choose_pairs(100, 40, seed=4)
    assert not np.array_equal(o3, other)


def save(model, run):  # a train.py checkpoint of the weights (training/checkpoint.py)
    save_training_state(str(run), model, None, True, step=0, config={}, phase="pretrain", meta={}, sampler={})


def test_cli_writes_json_and_png(model, tmp_path, capsys):
    d = str(tmp_path / "same")
    make_corpus(d, fr_equals_en=True)
    run = tmp_path / "run"
    save(model, run)
    align_probe.main([str(run), "--corpus", d, "--n_pairs", "12", "--batch_size", "5"])
    res = json.load(open(run / "align.json"))
    assert res["checkpoint"] == str(run) and res["n_pairs"] == 12
    for k in ("matched", "mismatched", "gap", "matched_std", "mismatched_std", "centered_matched",
              "centered_mismatched", "centered_gap", "same_position_mismatched", "same_position_gap",
              "centered_same_position_mismatched", "centered_same_position_gap"):
        assert len(res[k]) == model.cfg.n_layer, k
    for k in ("mean_matched", "mean_gap", "mean_centered_gap", "mean_retrieval_at_1", "chance",
              "mean_same_position_gap", "mean_centered_same_position_gap"):
        assert isinstance(res[k], float), k
    np.testing.assert_allclose(res["gap"], np.subtract(res["matched"], res["mismatched"]), atol=1e-12)
    assert res["mean_matched"] == pytest.approx(1, abs=1e-5)
    png = run / "align.png"
    assert png.is_file() and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "retrieval@1" in capsys.readouterr().out


def test_guards_nan_one_language_format_error(model, tmp_path, capsys):
    d = str(tmp_path / "same")
    make_corpus(d, fr_equals_en=True)
    bad = Decoder(model.cfg)
    bad.load_state_dict(model.state_dict())
    with torch.no_grad():
        bad.blocks[0].attn.o.weight[3] = 3e38  # finite (a checkpoint refuses NaN weights); its sums overflow
    run = tmp_path / "nan"
    save(bad, run)
    with pytest.raises(SystemExit) as e:                                # NaN model: an error, not NaN in JSON
        align_probe.main([str(run), "--corpus", d, "--n_pairs", "12"])
    assert e.value.code == 1 and not (run / "align.json").exists()
    err = capsys.readouterr().err
    assert "align_probe.py: error: the model's hidden states are non-finite" in err and "Traceback" not in err

    one = str(tmp_path / "one")                                         # a one-language corpus
    tokenbin.write_meta(one, {"vocab_size": UNITS, "languages": ["en"]})
    tokenbin.write_split(one, "val", {"en": [np.arange(5), np.arange(3)]}, [0], UNITS)
    save(model, tmp_path / "run_ok")
    with pytest.raises(SystemExit, match="one language"):
        align_probe.main([str(tmp_path / "run_ok"), "--corpus", one])

    open(f"{d}/val.stories.npy", "wb").write(b"not an npy")               # a corpus FormatError
    with pytest.raises(SystemExit) as e:
        align_probe.main([str(tmp_path / "run_ok"), "--corpus", d])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and err[-1].startswith("align_probe.py: error: ") and "val.stories.npy" in err[-1]


def test_one_pair_is_refused():
    # one pair has no other sentence to mismatch with: the control would equal the matched pair
    with pytest.raises(SystemExit, match="at least 2 pairs"):
        align_probe.choose_pairs(10, 1)


def test_unpaired_corpus_is_a_clear_error(model, tmp_path):
    """An unpaired corpus (meta.json "paired": false) has no translation pairs: the probe says so and
    what to do, instead of a traceback from deep in tokenbin that advises split.lang_stories."""
    d = str(tmp_path / "unpaired")
    tokenbin.write_meta(d, {"vocab_size": UNITS, "languages": ["en", "fr"], "paired": False})
    tokenbin.write_split(d, "val", {"en": [np.arange(5), np.arange(3)], "fr": [np.arange(4)]},
                         {"en": [0], "fr": [0]}, UNITS, paired=False)
    with pytest.raises(SystemExit, match="unpaired.*paired corpus"):
        align_probe.probe(model, d, n_pairs=2)
