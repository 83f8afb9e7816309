"""manifests.py: every malformed line is an error naming the file and line, never a traceback.
Run: python -m pytest -q tests/test_manifests.py"""
import json

import pytest

import manifests


@pytest.mark.parametrize("kind, line, error", [
    ("clips", "5", r"clips.jsonl:2: each line must be a JSON object"),
    ("clips", '{"audio": "a.wav", "story": "s", "sentence": true, "lang": "en", "split": "train"}',
     r"clips.jsonl:2: need audio .* sentence \(integer >= 0\)"),
    ("clips", '{"audio": "a.wav", "story": null, "sentence": 0, "lang": "en", "split": "train"}',
     r"clips.jsonl:2: need audio"),
    ("clips", '{"audio": "a.wav", "story": "s", "sentence": 0, "lang": "de", "split": "train"}',
     r"clips.jsonl:2: need .*other languages need --unpaired"),
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
    clips = manifests.read_manifest(str(path), unpaired=True)
    assert [(c["path"], c["start"], c["end"], c["line"]) for c in clips] == [
        (str(tmp_path / "long.flac"), 1.5, 3, 1), ("/abs/x.wav", None, None, 2)]
    with pytest.raises(SystemExit, match="m.jsonl:1: need .*other languages need --unpaired"):
        manifests.read_manifest(str(path))
