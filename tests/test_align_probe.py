"""align_probe.py on a corpus whose FR is EN token for token: matched cosine 1 at every layer, positive gap."""
import json
from dataclasses import asdict

import numpy as np
import pytest
import torch

import align_probe
import tokenbin
from model import PRESETS, Decoder, ModelConfig

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
    fr = [s.copy() if fr_equals_en else rng.integers(0, UNITS, len(s) + 1) for s in en]
    tokenbin.write_meta(d, {"vocab_size": UNITS, "languages": ["en", "fr"]})
    tokenbin.write_split(d, "val", {"en": en, "fr": fr}, starts, UNITS)
    return en


def test_identical_languages_match_exactly(model, tmp_path):
    d = str(tmp_path / "same")
    make_corpus(d, fr_equals_en=True)
    res = align_probe.probe(model, d, "val", n_pairs=1000, batch_size=4)
    L = model.cfg.n_layer
    assert res["layers"] == list(range(1, L + 1)) and res["n_pairs"] > 10
    np.testing.assert_allclose(res["matched"], np.ones(L), atol=1e-5)
    assert all(mm < 1 - 1e-3 for mm in res["mismatched"])
    assert all(g > 1e-3 for g in res["gap"])
    assert res["mean_matched"] == pytest.approx(1, abs=1e-5) and res["mean_gap"] > 0


def test_unrelated_languages_have_no_gap(model, tmp_path):
    """FR random and unrelated to EN: matched pairs are no closer than mismatched ones."""
    d = str(tmp_path / "unrelated")
    make_corpus(d, fr_equals_en=False, n_stories=30)
    res = align_probe.probe(model, d, "val", n_pairs=1000, batch_size=16)
    assert max(res["matched"]) < 1 - 1e-3
    assert abs(res["mean_gap"]) < 0.05


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


def test_cli_writes_json_and_png(model, tmp_path, capsys):
    d = str(tmp_path / "same")
    make_corpus(d, fr_equals_en=True)
    run = tmp_path / "run"
    run.mkdir()
    torch.save({"model_config": asdict(model.cfg), "model": model.state_dict(), "optimizer": {}, "step": 0,
                "config": {}, "phase": "pretrain", "meta": {}}, run / "ckpt.pt")
    align_probe.main([str(run), "--corpus", d, "--n_pairs", "12", "--batch_size", "5"])
    res = json.load(open(run / "align.json"))
    assert res["checkpoint"] == str(run) and res["n_pairs"] == 12
    for k in ("matched", "mismatched", "gap", "matched_std", "mismatched_std"):
        assert len(res[k]) == model.cfg.n_layer
    np.testing.assert_allclose(res["gap"], np.subtract(res["matched"], res["mismatched"]), atol=1e-12)
    assert res["mean_matched"] == pytest.approx(1, abs=1e-5)
    png = run / "align.png"
    assert png.is_file() and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert "mismatched" in capsys.readouterr().out


def test_one_pair_is_refused():
    # one pair has no other sentence to mismatch with: the control would equal the matched pair
    with pytest.raises(SystemExit, match="at least 2 pairs"):
        align_probe.choose_pairs(10, 1)
