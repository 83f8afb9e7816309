"""sample.py and data/toy_enfr/lexicon.py: Mimi decoding length, toy units read back as the generator's words,
the continuation score against oracle continuations, the CLI.

    .venv/bin/python -m pytest -q tests/test_sample.py
"""
import difflib
import json
import os
import sys

import numpy as np
import pytest
import torch

import sample
import tokenbin
from audio.mimi import decode_units
from model import Decoder, ModelConfig
from training.checkpoint import save_training_state

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def corpus(small_toy_corpus):
    return small_toy_corpus


@pytest.fixture(scope="module")
def lex(corpus):
    return sample.toy_lexicon(corpus)


def test_wilson_hand_values():
    lo, hi = sample.wilson(5, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.2366, 0.7634)
    assert sample.wilson(0, 20)[0] == 0.0 and sample.wilson(20, 20)[1] == pytest.approx(1.0)


def test_mimi_decode_length_and_audio_prompt(tmp_path):
    import sphn
    from moshi.models import loaders
    torch.manual_seed(0)
    mimi = loaders.get_mimi(None, device="cpu", num_codebooks=1).eval()  # random weights, first codebook
    units = np.random.default_rng(0).integers(0, 2048, 7)
    wav = decode_units(mimi, units)
    assert mimi.sample_rate == 24000 and mimi.frame_size == 1920
    assert wav.shape == (7 * 1920,) and wav.dtype == np.float32 and np.isfinite(wav).all()
    path = str(tmp_path / "p.wav")  # the audio prompt path: 1.3 s -> ceil(31200 / 1920) = 17 frames
    sphn.write_wav(path, 0.3 * np.sin(np.arange(31200) / 7.0).astype(np.float32), 24000)
    prompt = sample.audio_prompt(path, mimi, boundary=2048)
    assert prompt[0] == 2048 and len(prompt) == 1 + 17 and prompt[1:].max() < 2048
    # the CLI: weights on disk (as tokenize_audio.py reads them), audio prompt in, wavs out
    from safetensors.torch import save_file
    save_file({k: v.contiguous() for k, v in mimi.state_dict().items()}, str(tmp_path / "mimi.safetensors"))
    m = Decoder(ModelConfig.preset("tiny", vocab_size=2049))
    save_training_state(str(tmp_path), m, None, True, step=0, config={}, phase="pretrain", meta={}, sampler={})
    sample.main([str(tmp_path), "--audio", path, "--mimi_weights", str(tmp_path / "mimi.safetensors"),
                 "--wav_dir", str(tmp_path / "wavs"), "--n", "2", "--max_new_tokens", "5", "--temperature", "0",
                 "--out", str(tmp_path / "a.json")])
    res = json.loads((tmp_path / "a.json").read_text())
    for j, cont in enumerate(res["continuations"]):
        pcm, sr = sphn.read(str(tmp_path / "wavs" / f"sample{j}.wav"))
        assert sr == 24000 and pcm.shape[-1] == len(cont) * 1920
    assert sphn.read(str(tmp_path / "wavs" / "prompt.wav"))[0].shape[-1] == 17 * 1920


def test_toy_units_read_back_as_the_story_text(corpus, lex):
    from lexicon import P, facts, text_words
    sp, stories = tokenbin.load_split(corpus, "val"), lex.val_stories()
    assert len(stories) == sp.n_stories == 40
    words_ok = words_all = lang_ok = facts_ok = n = 0
    for i, s in enumerate(stories[:20]):
        for lang in ("en", "fr"):
            for j, text in enumerate(P.sentences(s, lang)):  # the generator's text of what is on disk
                got = lex.decode(sp.sentence(lang, int(sp.stories[i]) + j))
                truth = text_words(text)
                n += 1
                if len(got) != 1:
                    continue  # a noise unit in a sentence-edge silence merges or splits sentences (rare)
                glang, gw = got[0]
                lang_ok += glang == lang
                words_ok += sum(b.size for b in difflib.SequenceMatcher(None, gw, truth).get_matching_blocks())
                words_all += len(truth)
                facts_ok += facts(gw, lang) == facts(truth, lang)
    print(f"languages {lang_ok}/{n}, words {words_ok}/{words_all}, facts {facts_ok}/{n}")
    assert lang_ok >= 0.95 * n and words_ok >= 0.95 * words_all and facts_ok >= 0.95 * n


def test_facts_whole_phrases():
    sys.path.insert(0, os.path.join(ROOT, "data", "toy_enfr"))
    from lexicon import facts
    assert facts("Max had a woolly hat".split(), "en") == {("name", "Max"), ("obj", 6, 3)}  # not also "hat"
    assert facts("Lily avait un cerf-volant".split(), "fr") == {("name", "Lily"), ("obj", 0, 0)}
    assert facts("the sun was hot".split(), "en") == set()


class Oracle:
    """A stand-in model whose continuation of val story i's prompt is given: sentences k.. of story `pick(i)`
    in the other language, so the true score is known by construction."""
    def __init__(self, corpus, k, pick):
        self.cfg = ModelConfig(vocab_size=2049)
        sp = tokenbin.load_split(corpus, "val")
        self.table = {}
        for lang, other in (("en", "fr"), ("fr", "en")):
            for i in range(sp.n_stories):
                j = pick(i, sp.n_stories)
                cont = np.concatenate([sp.sentence(other, m) for m in range(sp.stories[j] + k, sp.stories[j + 1])])
                self.table[tuple(sample.corpus_prompt(corpus, "val", i, k, lang))] = cont

    def generate(self, idx, max_new_tokens, *args, **kw):
        cont = torch.as_tensor(self.table[tuple(idx[0].tolist())].astype(np.int64))
        cont = torch.cat([cont, torch.full((max_new_tokens,), 2048)])[:max_new_tokens]  # then: story ends
        return torch.cat([idx, cont.repeat(len(idx), 1)], dim=1)


def test_score_against_oracles(corpus):
    same = Oracle(corpus, 3, lambda i, n: i)  # the true next sentence, translated: keeps the story
    other = Oracle(corpus, 3, lambda i, n: (i + 1) % n)  # another story's: names its own children/objects
    res = sample.score({"same": same, "other": other}, corpus, n_stories=40, k=3, n=2, max_new_tokens=60)
    for lang in ("en->fr", "fr->en"):
        r = res[f"same {lang}"]
        assert r["continuations"] == 80 and r["switched"] >= 76 and r["switched_naming"] >= 60
        assert r["rate"] >= 0.9 and r["ci95"][0] <= r["rate"] <= r["ci95"][1]
        assert res[f"other {lang}"]["rate"] <= 0.2
        assert r["stayed_naming"] == 0 and r["stayed_rate"] != r["stayed_rate"]  # never stays: no rate (nan)
        d = res[f"other - same {lang} (switch and keep, paired)"]
        assert d["diff"] < 0 and d["ci95"][1] < 0 and d["prompts"] == 40


def test_continuations_cut_at_the_boundary(corpus):
    class Fixed:
        cfg = ModelConfig(vocab_size=2049)

        def generate(self, idx, n, *a, **kw):
            return torch.cat([idx, torch.tensor([[5, 6, 2048, 7] + [8] * (n - 4)]).repeat(len(idx), 1)], 1)
    conts = sample.continue_prompt(Fixed(), np.array([2048, 1, 2]), n=3, max_new_tokens=6)
    assert len(conts) == 3 and all(c.tolist() == [5, 6] for c in conts)


def test_cli_on_the_toy(corpus, tmp_path):
    torch.manual_seed(0)
    m = Decoder(ModelConfig.preset("tiny", vocab_size=2049))
    save_training_state(str(tmp_path), m, None, True, step=0, config={}, phase="pretrain", meta={}, sampler={})
    out = tmp_path / "s.json"
    sample.main([str(tmp_path), "--corpus", corpus, "--story", "2", "--n", "3", "--max_new_tokens", "12",
                 "--top_k", "50", "--out", str(out)])
    res = json.loads(out.read_text())
    assert len(res["continuations"]) == 3 and all(len(c) <= 12 for c in res["continuations"])
    assert res["prompt"] == sample.corpus_prompt(corpus, "val", 2, 3, "en").tolist() and len(res["words"]) == 3
    sample.main([str(tmp_path), "--corpus", corpus, "--bench", "stc_en-fr", "--item", "1", "--n", "1",
                 "--max_new_tokens", "4", "--temperature", "0"])
