"""audio/manifests.py: every malformed line is an error naming the file and line, never a traceback.
Run: .venv/bin/python -m pytest -q tests/audio/test_manifests.py"""
import json

import pytest

from audio import manifests


@pytest.mark.parametrize("kind, line, error", [
    ("clips", "5", r"clips.jsonl:2: each line must be a JSON object"),
    ("clips", '{"audio": "a.wav", "story": "s", "sentence": true, "lang": "en", "split": "train"}',
     r"clips.jsonl:2: need audio .* sentence \(integer >= 0\)"),
    ("clips", '{"audio": "a.wav", "story": null, "sentence": 0, "lang": "en", "split": "train"}',
     r"clips.jsonl:2: need audio"),
    ("clips", '{"audio": "a.wav", "story": "s", "sentence": 0, "lang": "English", "split": "train"}',
     r"clips.jsonl:2: need .*lang \(a 2-3 letter lowercase language code"),
    ("clips", '{"audio": "a.wav", "story": "s", "sentence": 0, "lang": "pt-br", "split": "train"}',
     r"clips.jsonl:2: need .*lang \(a 2-3 letter"),
    ("bench", '{"name": "x", "prompt": null, "good": "g.wav", "bad": "g.wav"}',
     r"bench.jsonl:2: 'good' and 'bad' are the same clip"),
    ("clips", '{"audio": "a.wav", "start": 1.0, "story": "s", "sentence": 0, "lang": "en", "split": "train"}',
     r"clips.jsonl:2: a segment needs both 'start' and 'end'"),
    ("bench", '["a.wav", "b.wav"]', r"bench.jsonl:2: each line must be a JSON object"),
    ("bench", '{"name": "x", "prompt": 5, "good": "g.wav", "bad": "b.wav"}', r"bench.jsonl:2: 'prompt' must be"),
    ("bench", '{"name": "x", "prompt": null, "good": "g.wav"}', r"bench.jsonl:2: missing 'bad'"),
    ("bench", '{"name": "x", "prompt": [3], "good": "g.wav", "bad": "b.wav"}', r"bench.jsonl:2: audio path must"),
])
def test_malformed_manifest_lines_are_numbered_errors(tmp_path, kind, line, error):
    good = dict(clips='{"audio": "a.wav", "story": "s", "sentence": 0, "lang": "en", "split": "train"}',
                bench='{"name": "x", "prompt": null, "good": "g.wav", "bad": "b.wav"}')[kind]
    path = tmp_path / f"{kind}.jsonl"
    path.write_text(good + "\n" + line + "\n")
    read = manifests.read_manifest if kind == "clips" else manifests.read_bench_manifest
    with pytest.raises(SystemExit, match=error):
        read(str(path))


def test_segments_and_other_languages(tmp_path):
    lines = [dict(audio="long.flac", start=1.5, end=3, story="ch1", sentence=0, lang="de", split="train"),
             dict(audio="/abs/x.wav", story=7, sentence=1, lang="de", split="val")]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines))
    clips = manifests.read_manifest(str(path))  # any 2-3 letter code, paired or not
    assert [(c["path"], c["start"], c["end"], c["line"], c["lang"]) for c in clips] == [
        (str(tmp_path / "long.flac"), 1.5, 3, 1, "de"), ("/abs/x.wav", None, None, 2, "de")]


def test_bench_groups_are_all_or_none_per_set(tmp_path):
    """'group' (audio/slm21.py's pair key) becomes ids by first appearance; a set scored half per group and
    half per item would mean nothing, so it is an error; a bool is not a group."""
    import numpy as np
    from audio.assembly import assemble_benches
    from audio.manifests import read_bench_manifest
    path = tmp_path / "bench.jsonl"
    lines = [dict(name="swuggy_en", prompt=None, good=f"g{i}.wav", bad=f"b{i}.wav", group=g)
             for i, g in enumerate(["w7", "w7", 3, "w7"])] + [dict(name="x", good="g9.wav", bad="b9.wav")]
    path.write_text("".join(json.dumps(l) + "\n" for l in lines))
    items = read_bench_manifest(str(path))
    index = {it[k]: 2 * i + j for i, it in enumerate(items) for j, k in enumerate(("good", "bad"))}
    done = {i: np.array([i], np.uint16) for i in range(2 * len(items))}
    sets, skipped, groups = assemble_benches(items, index, done)
    assert groups == {"swuggy_en": [0, 0, 1, 0], "x": None} and len(sets["swuggy_en"]) == 4 and not skipped
    items[1]["group"] = None
    with pytest.raises(SystemExit, match=r"bench set swuggy_en: 1 of 4 items have no 'group' \(first at manifest line 2\)"):
        assemble_benches(items, index, done)
    path.write_text(json.dumps(dict(lines[0], group=True)) + "\n")
    with pytest.raises(SystemExit, match=r"bench.jsonl:1: 'group' must be a string or an integer"):
        read_bench_manifest(str(path))
