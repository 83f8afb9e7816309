"""audio/assembly.py: a paired story with a hole in both languages is dropped from both, every clip named.
Run: .venv/bin/python -m pytest -q tests/audio/test_assembly.py"""
import numpy as np

from audio.assembly import assemble_split


def test_story_with_a_hole_in_both_languages_is_dropped():
    rows = [("A", s, lang) for s in (0, 1) for lang in ("en", "fr")] + \
           [("H", s, lang) for s in (0, 1, 3) for lang in ("en", "fr")]  # sentence 2 missing in both
    clips = [dict(audio=f"{st}{s}{lang}.wav", story=st, sentence=s, lang=lang, split="train", line=k + 1)
             for k, (st, s, lang) in enumerate(rows)]
    done = {i: np.full(3, i, np.uint16) for i in range(len(clips))}
    sentences, starts, _, skips, dropped = assemble_split(clips, "train", done, dict.fromkeys(done, 1.0))
    assert starts == [0] and dropped == 1 and [len(sentences[lang]) for lang in ("en", "fr")] == [2, 2]
    assert sorted(i for i, *_ in skips) == list(range(4, 10))
    assert all(r == "story_dropped" and "en sentence 2: no clip in the manifest" in d for _, r, d in skips)


def test_a_bench_item_with_one_audio_twice_is_skipped_but_a_tie_of_units_is_kept():
    """Issue 17 item 8: good and bad the same audio (the same decoded samples: one digest) would score 0.5
    whatever the model: skipped as same_audio. Two different clips that give the same units are a tie, as
    sLM21's scorer counts it: kept."""
    from audio.assembly import assemble_benches
    items = [dict(name="x", line=1, prompt=[], good="a", bad="b"), dict(name="x", line=2, prompt=[], good="a", bad="c")]
    index = {"a": "ka", "b": "kb", "c": "kc"}
    done = {k: np.array([5, 6], np.uint16) for k in ("ka", "kb", "kc")}  # all three give the same units
    sets, skipped, _ = assemble_benches(items, index, done, digests={"ka": "d1", "kb": "d1", "kc": "d2"})
    assert len(sets["x"]) == 1 and [(r["line"], r["reason"]) for r in skipped] == [(1, "same_audio")]
