"""tokenize_audio.py on a few seconds of synthetic audio with a random Mimi, loaded by path.

The Mimi is tests/conftest.py's mimi_path: moshi's own get_mimi(None) with random centroids in its
semantic codebook, saved as safetensors and loaded by path, the same code path as real weights.
Run: .venv/bin/python -m pytest -q tests/test_tokenize_audio.py
"""
import json
import math
import os
import re
import shutil
import subprocess
import sys
import wave

import numpy as np
import pytest
import torch

import tokenbin
import tokenize_audio as ta
from audio.decode import load_audio
from audio.mimi import encode_batch, load_mimi, sha256_file
from audio.shards import read_shards
from audio.demo import RATE, signal, write_wav

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# (name, seconds, rate, channels) -- 16 kHz stereo clips exercise resampling and downmix
GOOD = {"A_en0": (1.3, 24000, 1), "A_en1": (0.9, 16000, 2), "A_fr0": (1.1, 16000, 2), "A_fr1": (1.7, 24000, 1),
        "B_en0": (1.0, 24000, 1), "C_en0": (1.2, 16000, 2), "C_fr0": (0.8, 24000, 1), "C_en1": (0.6, 24000, 1),
        "C_fr1": (1.0, 16000, 1), "D_fr1": (0.5, 24000, 1), "E_en0": (0.7, 24000, 1), "D_en1": (3.0, 24000, 1),
        "F_en0": (0.6, 24000, 1), "F_fr0": (0.7, 24000, 1)}
# expected skip reason per (story, sentence, lang); everything else is written
EXPECTED_SKIPS = {("B", 0, "en"): "story_dropped", ("B", 0, "fr"): "unreadable",
                  ("D", 0, "en"): "empty", ("D", 0, "fr"): "silent", ("D", 1, "en"): "too_long",
                  ("D", 1, "fr"): "story_dropped", ("E", 0, "en"): "story_dropped",
                  # sentence 1 fails in BOTH languages: the indices still match, but the story has a hole
                  ("F", 0, "en"): "story_dropped", ("F", 0, "fr"): "story_dropped",
                  ("F", 1, "en"): "empty", ("F", 1, "fr"): "silent"}


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("audio")
    for k, (name, (sec, sr, ch)) in enumerate(GOOD.items()):
        write_wav(d / f"{name}.wav", signal(k + 1, sec, sr, ch), sr)
    write_wav(d / "D_en0.wav", np.zeros((1, 0)), RATE)          # empty
    write_wav(d / "D_fr0.wav", np.zeros((1, RATE)), RATE)       # digital silence
    write_wav(d / "F_en1.wav", np.zeros((1, 0)), RATE)          # empty
    write_wav(d / "F_fr1.wav", np.zeros((1, RATE)), RATE)       # digital silence
    (d / "B_fr0.wav").write_bytes(b"RIFF\x10\x00\x00\x00garbage, not a wave file" * 4)  # corrupt
    rows = [("A", 0, "en"), ("A", 1, "fr"), ("A", 0, "fr"), ("A", 1, "en"), ("B", 0, "en"), ("B", 0, "fr"),
            ("E", 0, "en"), ("C", 1, "en"), ("C", 0, "en"), ("C", 0, "fr"), ("C", 1, "fr"),
            ("D", 0, "en"), ("D", 0, "fr"), ("D", 1, "en"), ("D", 1, "fr"),
            ("F", 0, "en"), ("F", 0, "fr"), ("F", 1, "en"), ("F", 1, "fr")]
    split = {"A": "train", "B": "train", "E": "train", "C": "val", "D": "val", "F": "train"}
    with open(d / "clips.jsonl", "w") as f:
        for story, s, lang in rows:
            f.write(json.dumps(dict(audio=f"{story}_{lang}{s}.wav", story=story, sentence=s, lang=lang,
                                    split=split[story])) + "\n")
    bench = [dict(name="ssc_en-fr", prompt=["A_en0.wav", "A_en1.wav"], good="A_fr0.wav", bad="A_fr1.wav"),
             dict(name="ssc_en-fr", prompt="C_en0.wav", good="C_fr0.wav", bad="C_fr1.wav"),
             dict(name="swuggy", prompt=None, good=str(d / "C_en1.wav"), bad="A_en1.wav"),
             dict(name="swuggy", prompt=None, good="B_fr0.wav", bad="C_en1.wav")]
    with open(d / "bench.jsonl", "w") as f:
        f.writelines(json.dumps(b) + "\n" for b in bench)
    return d


def args_for(data, mimi_path, out_dir, *extra):
    return ["--manifest", str(data / "clips.jsonl"), "--bench_manifest", str(data / "bench.jsonl"),
            "--out_dir", str(out_dir), "--mimi_weights", mimi_path, "--max_seconds", "2.5", "--threads", "1",
            *extra]


@pytest.fixture(scope="module")
def one_rank(data, mimi_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("one_rank")
    # small batches (several clips each, several batches) and a shard file per batch: resume has work
    result = ta.main(args_for(data, mimi_path, out, "--batch_size", "4", "--shard_seconds", "0"))
    return out, result


def corpus_files(out):
    return {os.path.relpath(os.path.join(r, f), out): open(os.path.join(r, f), "rb").read()
            for r, _, fs in os.walk(out) for f in fs if "shards" not in os.path.relpath(r, out)}


def own_codes(mimi, path):
    x, why = load_audio(str(path), RATE, 60.0, 1e-3)
    assert why is None
    return encode_batch(mimi, [x], "cpu")[0], len(x)


def test_corpus_codes_frames_and_batching(one_rank, data, mimi_path):
    out, result = one_rank
    # clips not skipped on their own; the bench files are clips of the corpus, known by content: encoded once
    assert result["n_encoded"] == 13 and result["n_reused"] == 0
    mimi = load_mimi(mimi_path, "cpu")
    meta = tokenbin.read_meta(out)
    assert meta["vocab_size"] == 2048 and meta["languages"] == ["en", "fr"]
    assert meta["tokenizer"]["weights_sha256"] == sha256_file(mimi_path)
    assert meta["tokenizer"]["frame_rate"] == 12.5 and meta["tokenizer"]["codebooks"] == 1
    seen = set()
    for split, story in [("train", "A"), ("val", "C")]:
        sp = tokenbin.load_split(out, split)
        assert sp.n_stories == 1 and sp.n_sentences == 2
        for lang in ("en", "fr"):
            for s in range(2):
                codes = np.asarray(sp.sentence(lang, s))
                ref, n24 = own_codes(mimi, data / f"{story}_{lang}{s}.wav")
                sec, sr, _ = GOOD[f"{story}_{lang}{s}"]
                assert n24 == round(int(sec * sr) * RATE / sr)  # resampled length
                assert len(codes) == math.ceil(n24 / 1920) == math.ceil(n24 / RATE * 12.5)
                np.testing.assert_array_equal(codes, ref)  # batched and padded == alone, exactly
                seen |= set(codes.tolist())
    assert len(seen) > 8, "the random codebook collapsed: the comparison above would prove nothing"


def test_every_clip_written_or_skipped_with_reason(one_rank):
    out, result = one_rank
    recs = [json.loads(line) for line in open(out / "skipped.jsonl")]
    clips = {(r["story"], r["sentence"], r["lang"]): r for r in recs if r["kind"] == "clip"}
    assert {k: r["reason"] for k, r in clips.items()} == EXPECTED_SKIPS
    assert "fr sentence 0: unreadable" in clips[("B", 0, "en")]["detail"]
    assert "fr sentence 0: no clip in the manifest" in clips[("E", 0, "en")]["detail"]
    c = result["counts"]
    assert "en sentence 1: empty" in clips[("F", 0, "fr")]["detail"]
    assert (c["clips_written"], c["clips_skipped"], c["clips_total"]) == (8, 11, 19)
    assert c["train"]["sentences"] == c["val"]["sentences"] == 2
    assert c["skip_reasons"] == {"empty": 2, "silent": 2, "story_dropped": 5, "too_long": 1, "unreadable": 1}
    bench = [r for r in recs if r["kind"] == "bench"]
    assert len(bench) == 1 and bench[0]["name"] == "swuggy" and "unreadable" in bench[0]["detail"]


def test_bench_sets(one_rank, data, mimi_path):
    out, _ = one_rank
    assert tokenbin.list_benches(out) == ["ssc_en-fr", "swuggy"]
    tokens, items = tokenbin.load_bench(out, "ssc_en-fr")
    train = tokenbin.load_split(out, "train")
    assert items.shape == (2, 6)
    p0, p1, g0, g1, b0, b1 = items[0]
    prompt = np.concatenate([train.sentence("en", 0), train.sentence("en", 1)])
    np.testing.assert_array_equal(tokens[p0:p1], prompt)  # two prompt clips, in order
    np.testing.assert_array_equal(tokens[g0:g1], train.sentence("fr", 0))
    np.testing.assert_array_equal(tokens[b0:b1], train.sentence("fr", 1))
    assert items[1, 0] == items[0, 5]  # items back to back
    assert tokenbin.load_bench_total(out, "ssc_en-fr", 2) == (2, 0)
    tokens, items = tokenbin.load_bench(out, "swuggy")
    assert items.shape == (1, 6) and items[0, 0] == items[0, 1]  # no prompt: empty range
    assert tokenbin.load_bench_total(out, "swuggy", 1) == (2, 0)  # one of its 2 items lost a clip
    val = tokenbin.load_split(out, "val")
    np.testing.assert_array_equal(tokens[items[0, 2]:items[0, 3]], val.sentence("en", 1))


def test_resume_does_not_reencode(one_rank, data, mimi_path, tmp_path):
    out, _ = one_rank
    before = corpus_files(out)
    shards = sorted((out / "shards").glob("shard_*.npz"))
    assert len(shards) > 2
    mtimes = {p: p.stat().st_mtime_ns for p in shards}
    again = ta.main(args_for(data, mimi_path, out))  # finished run: only re-merges
    assert again["n_encoded"] == 0
    assert {p: p.stat().st_mtime_ns for p in shards} == mtimes
    assert corpus_files(out) == before
    # an interrupted run: one shard lost -> exactly its clips are encoded again, same corpus
    with np.load(shards[1]) as z:
        n_lost = len(z["keys"])
    shards[1].unlink()
    again = ta.main(args_for(data, mimi_path, out))
    assert again["n_encoded"] == n_lost > 0
    assert corpus_files(out) == before
    with pytest.raises(SystemExit, match=r"other weights or settings \(min_peak 0.001 then, 0.01 now\)"):
        ta.main(args_for(data, mimi_path, out, "--min_peak", "0.01"))


def test_two_ranks_match_one_rank(one_rank, data, mimi_path, tmp_path):
    out, _ = one_rank
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           os.path.join(ROOT, "tokenize_audio.py"), *args_for(data, mimi_path, tmp_path / "two")]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert re.search(r"8 clips written \([0-9.]+ h\) \+ 11 skipped = 19", r.stdout), r.stdout[-2000:]
    one, two = corpus_files(out), corpus_files(tmp_path / "two")
    assert sorted(one) == sorted(two)
    assert all(one[f] == two[f] for f in one), [f for f in one if one[f] != two[f]]


@pytest.mark.parametrize("cut", [0, 0.5])
def test_broken_shard_is_named(one_rank, data, mimi_path, tmp_path, cut):
    import shutil
    out = tmp_path / "out"
    shutil.copytree(one_rank[0], out)
    shard = sorted((out / "shards").glob("shard_*.npz"))[1]
    shard.write_bytes(shard.read_bytes()[:int(cut * shard.stat().st_size)])  # zero-byte / half-written
    with pytest.raises(SystemExit, match=rf"{shard.name}: unreadable shard .*Delete it and re-run"):
        ta.main(args_for(data, mimi_path, out))
    shard.unlink()  # the advice works: exactly its clips are encoded again
    assert ta.main(args_for(data, mimi_path, out))["n_encoded"] > 0
    assert corpus_files(out) == corpus_files(one_rank[0])


def test_rerun_with_fewer_splits_and_benches_leaves_no_stale_files(data, mimi_path, tmp_path):
    clip = lambda story, lang, split: dict(audio=f"{story}_{lang}0.wav", story=story, sentence=0, lang=lang,
                                           split=split)  # noqa: E731
    rows = [clip("A", "en", "train"), clip("A", "fr", "train"), clip("C", "en", "val"), clip("C", "fr", "val")]
    (tmp_path / "m1.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (tmp_path / "m2.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[:2]))
    (tmp_path / "b.jsonl").write_text(json.dumps(dict(name="pairs", prompt=None, good="A_en0.wav",
                                                      bad="A_fr0.wav")) + "\n")
    for r in ("m1", "m2", "b"):  # the clips live in the data folder: point there by absolute paths
        (tmp_path / f"{r}.jsonl").write_text((tmp_path / f"{r}.jsonl").read_text().replace(
            '"audio": "', f'"audio": "{data}/').replace('"good": "', f'"good": "{data}/').replace(
            '"bad": "', f'"bad": "{data}/'))
    out = tmp_path / "out"
    common = ["--out_dir", str(out), "--mimi_weights", mimi_path, "--threads", "1"]
    ta.main(["--manifest", str(tmp_path / "m1.jsonl"), "--bench_manifest", str(tmp_path / "b.jsonl"), *common])
    assert (out / "val_en.bin").exists() and tokenbin.list_benches(out) == ["pairs"]
    import shutil
    shutil.rmtree(out / "shards")  # what the fingerprint error advises
    ta.main(["--manifest", str(tmp_path / "m2.jsonl"), *common])
    meta = tokenbin.read_meta(out)
    listed = {os.path.relpath(f, out) for f in tokenbin.split_files(str(out), "train", meta)}
    assert set(meta["counts"]) >= {"train"} and "val" not in meta["counts"] and meta["counts"]["bench"] == {}
    assert set(corpus_files(out)) == listed | {"meta.json", "skipped.jsonl"}
    assert tokenbin.list_benches(out) == []


def test_unpaired_segments_of_long_recordings(mimi_path, tmp_path, monkeypatch):
    from audio import decode as audio_decode
    long1 = signal(11, 4.0, RATE)
    long1[:, int(3.2 * RATE):int(3.6 * RATE)] = 0  # a silent stretch
    recordings = {"long1.wav": (long1, RATE), "long2.wav": (signal(12, 3.0, RATE), RATE),
                  "long3.wav": (signal(13, 2.5, 16000, 2), 16000), "whole.wav": (signal(14, 0.8, RATE), RATE)}
    for name, (x, sr) in recordings.items():
        write_wav(tmp_path / name, x, sr)
    # (file, start, end, document, sentence index, lang, expected skip reason or None)
    segs = [("long1.wav", 0.2, 1.0, "L1", 0, "en", None), ("long1.wav", 1.0, 1.9, "L1", 1, "en", None),
            ("long2.wav", 0.0, 0.7, "L2", 0, "en", None), ("long1.wav", 2.05, 3.1, "L1", 2, "en", None),
            ("long1.wav", 3.25, 3.55, "L1", 3, "en", "silent"), ("long1.wav", 3.9, 5.0, "L1", 4, "en",
                                                                  "segment_outside"),
            ("long1.wav", 1.5, 1.5, "L1", 5, "en", "bad_segment"), ("long2.wav", 0.7, 1.6, "L2", 1, "en", None),
            ("long2.wav", 2.0, 2.999, "L2", 3, "en", None),  # index 2 missing: L2 splits into two stories
            ("long3.wav", 0.1, 1.2, "F1", 0, "fr", None), ("long3.wav", 1.2, 2.5, "F1", 1, "fr", None),
            ("whole.wav", None, None, "W", 0, "en", None)]
    with open(tmp_path / "segments.jsonl", "w") as f:
        for audio, start, end, doc, k, lang, _ in segs:
            rec = dict(audio=audio, story=doc, sentence=k, lang=lang, split="train")
            f.write(json.dumps(rec if start is None else dict(rec, start=start, end=end)) + "\n")
    decodes = []
    real_read = audio_decode.read_file
    monkeypatch.setattr(audio_decode, "read_file", lambda p: (decodes.append(os.path.basename(p)), real_read(p))[1])
    out = tmp_path / "out"
    result = ta.main(["--manifest", str(tmp_path / "segments.jsonl"), "--out_dir", str(out), "--unpaired",
                      "--mimi_weights", mimi_path, "--threads", "1", "--max_seconds", "2.5", "--batch_size", "3"])
    assert sorted(decodes) == sorted(recordings)  # one decode per file, however many segments it holds
    c = result["counts"]
    assert (c["clips_written"], c["clips_skipped"], c["clips_total"]) == (9, 3, 12)
    recs = [json.loads(line) for line in open(out / "skipped.jsonl")]
    assert {(r["story"], r["sentence"]): r["reason"] for r in recs} == {
        (doc, k): why for _, _, _, doc, k, _, why in segs if why}
    meta = tokenbin.read_meta(out)
    assert meta["paired"] is False and meta["languages"] == ["en", "fr"]
    sp = tokenbin.load_split(out, "train")
    # en: L1 [0, 1, 2], L2 [0, 1] and [3] (split at the hole), W [0]; fr: F1 [0, 1]
    assert sp.lang_stories["en"].tolist() == [0, 3, 5, 6, 7] and sp.lang_stories["fr"].tolist() == [0, 2]
    mimi = load_mimi(mimi_path, "cpu")
    docs = list(dict.fromkeys(s[3] for s in segs))  # corpus order: documents as first listed, then index
    written = sorted([s for s in segs if s[6] is None and s[5] == "en"], key=lambda s: (docs.index(s[3]), s[4]))
    for k, (audio, start, end, *_) in enumerate(written):
        x, sr = recordings[audio]
        if start is not None:  # the same samples, cut first and saved as their own file
            x = x[:, round(start * RATE):round(end * RATE)]
        write_wav(tmp_path / "cut.wav", x, sr)
        np.testing.assert_array_equal(np.asarray(sp.sentence("en", k)), own_codes(mimi, tmp_path / "cut.wav")[0])
    assert len(sp.sentence("fr", 1)) == math.ceil(1.3 * RATE / 1920)  # 16 kHz: resampled whole, then cut


def audio_cells(paths):
    """Dataset rows for wav files: the Audio feature's storage (bytes + name), built without torchcodec."""
    return [dict(bytes=open(p, "rb").read(), path=os.path.basename(p)) for p in paths]


def make_dataset(columns, audio_columns):
    from datasets import Audio, Dataset, Features, Value
    feats = {k: ({"bytes": Value("binary"), "path": Value("string")} if k in audio_columns
                 else Value("int64") if v and isinstance(v[0], int) else Value("string")) for k, v in columns.items()}
    ds = Dataset.from_dict(columns, features=Features(feats))
    for k in audio_columns:
        ds = ds.cast_column(k, Audio())
    return ds


def test_hf_dataset_makes_the_same_corpus_as_the_manifest(mimi_path, tmp_path):
    rows = [("P", 0, "en", "train"), ("P", 0, "fr", "train"), ("P", 1, "en", "train"), ("P", 1, "fr", "train"),
            ("R", 0, "fr", "val"), ("R", 0, "en", "val")]
    wavs = []
    for k, (story, s, lang, split) in enumerate(rows):
        wavs.append(tmp_path / f"{story}{s}{lang}.wav")
        write_wav(wavs[-1], signal(20 + k, 0.5 + 0.1 * k, [24000, 16000][k % 2], 1 + k % 2), [24000, 16000][k % 2])
    with open(tmp_path / "clips.jsonl", "w") as f:
        f.writelines(json.dumps(dict(audio=w.name, story=st, sentence=s, lang=lang, split=sp)) + "\n"
                     for w, (st, s, lang, sp) in zip(wavs, rows))
    bench = [(wavs[0], wavs[1], wavs[3]), (wavs[5], wavs[4], wavs[2])]  # (prompt, good, bad)
    with open(tmp_path / "bench.jsonl", "w") as f:
        f.writelines(json.dumps(dict(name="ssc_hf", prompt=p.name, good=g.name, bad=b.name)) + "\n"
                     for p, g, b in bench)
    clips = make_dataset(dict(speech=audio_cells(wavs), story_id=[r[0] for r in rows], position=[r[1] for r in rows],
                              language=[r[2] for r in rows], part=[r[3] for r in rows]), ["speech"])
    items = make_dataset({k: audio_cells([b[j] for b in bench]) for j, k in enumerate(("context", "end1", "end2"))},
                         ["context", "end1", "end2"])
    clips.save_to_disk(str(tmp_path / "clips_disk"))
    items.save_to_disk(str(tmp_path / "bench_disk"))
    (tmp_path / "parquet").mkdir()
    clips.to_parquet(str(tmp_path / "parquet" / "clips-00000.parquet"))
    items.to_parquet(str(tmp_path / "bench.parquet"))
    common = ["--mimi_weights", mimi_path, "--threads", "1", "--batch_size", "4"]
    ta.main(["--manifest", str(tmp_path / "clips.jsonl"), "--bench_manifest", str(tmp_path / "bench.jsonl"),
             "--out_dir", str(tmp_path / "from_jsonl"), *common])
    mapping = ["--audio_column", "speech", "--story_column", "story_id", "--sentence_column", "position",
               "--lang_column", "language", "--split_column", "part", "--prompt_column", "context",
               "--good_column", "end1", "--bad_column", "end2", "--bench_name", "ssc_hf"]
    ref = corpus_files(tmp_path / "from_jsonl")
    meta_ref = json.loads(ref.pop("meta.json"))
    assert meta_ref["counts"]["clips_written"] == 6 and meta_ref["counts"]["bench"] == {"ssc_hf": 2}
    for name, clips_at, bench_at in [("disk", "clips_disk", "bench_disk"), ("parquet", "parquet", "bench.parquet")]:
        result = ta.main(["--hf_dataset", str(tmp_path / clips_at), "--hf_bench", str(tmp_path / bench_at),
                          "--out_dir", str(tmp_path / f"out_{name}"), *mapping, *common])
        got = corpus_files(tmp_path / f"out_{name}")
        meta = json.loads(got.pop("meta.json"))
        assert sorted(got) == sorted(ref) and all(got[f] == ref[f] for f in ref), name  # byte for byte
        assert "Hugging Face" in meta.pop("source") and meta_ref["source"].startswith("tokenize_audio.py from manifest")
        assert "Hugging Face" in meta.pop("bench_sources")["ssc_hf"]
        assert meta == {k: v for k, v in meta_ref.items() if k not in ("source", "bench_sources")}, name
        again = ta.main(["--hf_dataset", str(tmp_path / clips_at), "--hf_bench", str(tmp_path / bench_at),
                         "--out_dir", str(tmp_path / f"out_{name}"), *mapping, *common])
        assert result["n_encoded"] == 6 + 6 and again["n_encoded"] == 0  # resume: nothing encoded twice
    # two torchrun ranks, each reading its own rows: the same corpus again
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           os.path.join(ROOT, "tokenize_audio.py"), "--hf_dataset", str(tmp_path / "clips_disk"),
           "--hf_bench", str(tmp_path / "bench_disk"), "--out_dir", str(tmp_path / "two"), *mapping, *common]
    r = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    got = corpus_files(tmp_path / "two")
    got.pop("meta.json")
    assert sorted(got) == sorted(ref) and all(got[f] == ref[f] for f in ref)


def test_hf_column_defaults_and_rank_blocks(tmp_path):
    from audio import hf_datasets as hf_audio
    from datasets import Dataset
    write_wav(tmp_path / "a.wav", signal(1, 0.2, RATE), RATE)
    ds = make_dataset(dict(audio=audio_cells([tmp_path / "a.wav"] * 5), doc=["x", "y", "x", "x", "y"]), ["audio"])
    ds.save_to_disk(str(tmp_path / "d"))
    base = ["--hf_dataset", str(tmp_path / "d"), "--out_dir", str(tmp_path), "--lang", "en", "--split", "train"]
    clips, _, _ = hf_audio.read_clips(ta.get_args(base))  # sTinyStories-like: one row, one story
    assert [(c["story"], c["sentence"]) for c in clips] == [(r, 0) for r in range(5)]
    clips, rows, _ = hf_audio.read_clips(ta.get_args(base + ["--story_column", "doc"]))
    assert [(c["story"], c["sentence"]) for c in clips] == [("x", 0), ("y", 0), ("x", 1), ("x", 2), ("y", 1)]
    path, temporary = rows.fetch(3, "audio")
    assert temporary and open(path, "rb").read() == (tmp_path / "a.wav").read_bytes()
    os.remove(path)
    with pytest.raises(SystemExit, match="exactly one of --lang_column and --lang"):
        ta.get_args(base[:4] + ["--split", "train"])
    for n, world in [(5, 2), (7, 3), (10, 4)]:  # the same rows as datasets' own contiguous shards
        for rank in range(world):
            want = Dataset.from_dict({"i": list(range(n))}).shard(world, rank, contiguous=True)["i"]
            assert list(ta.rank_block(n, rank, world)) == list(want)


def test_windows_fill_batches_when_durations_are_unknown():
    units = [(f"row{i}", [i]) for i in range(10)]
    seconds = dict.fromkeys(range(10), 60.0)  # unknown durations count as --max_seconds
    windows = ta.make_windows(units, seconds, 120.0, 4)
    assert [len(w) for w in windows] == [4, 4, 2]  # not 2 clips a window: batches of 4 can fill
    long_file = [("long.flac", list(range(10, 30)))]  # one long file's segments stay in one window
    assert ta.make_windows(long_file + units[:1], {**seconds, **dict.fromkeys(range(10, 30), 3.0)}, 30.0, 1) \
        == [long_file, units[:1]]


def test_a_rank_reads_only_its_own_rows(mimi_path, tmp_path, monkeypatch):
    from audio import hf_datasets as hf_audio
    wavs = []
    for k in range(5):
        wavs.append(tmp_path / f"{k}.wav")
        write_wav(wavs[-1], signal(30 + k, 0.3, RATE), RATE)
    make_dataset(dict(audio=audio_cells(wavs)), ["audio"]).save_to_disk(str(tmp_path / "d"))
    args = ta.get_args(["--hf_dataset", str(tmp_path / "d"), "--out_dir", str(tmp_path / "out"), "--lang", "en",
                        "--split", "train", "--unpaired", "--threads", "1"])
    clips, rows, _ = hf_audio.read_clips(args)
    read = []
    real_fetch = hf_audio.AudioRows.fetch
    monkeypatch.setattr(hf_audio.AudioRows, "fetch", lambda self, r, c, k=None: (read.append(r), real_fetch(self, r, c, k))[1])
    work, keys, _ = ta.work_list(clips, [], rows.cells)
    (tmp_path / "out" / "shards").mkdir(parents=True)
    n = ta.encode_all(args, work, str(tmp_path / "out" / "shards"), mimi_path, rank=1, world=2, cells=rows.cells)
    assert n == 2 and sorted(read) == [3, 4]  # rank 1 of 2: rows 3-4, as datasets' shard(2, 1, contiguous)
    assert read_shards(str(tmp_path / "out" / "shards"), index_only=True) == set(keys[3:])


def test_long_recordings_into_pretraining_mixed_with_a_paired_corpus(mimi_path, tmp_path, small_toy_corpus):
    """Issue 12's path end to end: segments of long EN recordings (train and val) -> an unpaired corpus ->
    pretraining on a mixture with a paired corpus: both corpora are drawn (their token shares near the
    weights over many rows), and log.jsonl has the val loss of each corpus."""
    import interleave
    import train
    for name, seed, sec in (("book_a.wav", 21, 3.0), ("book_b.wav", 22, 2.4)):
        write_wav(tmp_path / name, signal(seed, sec, RATE), RATE)
    segs = [("book_a.wav", 0.0, 0.8, "A", 0, "train"), ("book_a.wav", 0.8, 1.7, "A", 1, "train"),
            ("book_a.wav", 1.7, 3.0, "A", 2, "train"), ("book_b.wav", 0.0, 1.1, "B", 0, "val"),
            ("book_b.wav", 1.1, 2.4, "B", 1, "val")]
    with open(tmp_path / "segments.jsonl", "w") as f:
        for audio, start, end, doc, k, split in segs:
            f.write(json.dumps(dict(audio=audio, start=start, end=end, story=doc, sentence=k, lang="en",
                                    split=split)) + "\n")
    books = str(tmp_path / "books")
    c = ta.main(["--manifest", str(tmp_path / "segments.jsonl"), "--out_dir", books, "--unpaired",
                 "--mimi_weights", mimi_path, "--threads", "1"])["counts"]
    assert (c["clips_written"], c["clips_skipped"]) == (5, 0)
    # a mixture needs one tokenizer's units (tokenbin.units_mismatch): the toy's pseudo-units relabelled as
    # this Mimi's stand in for a paired Mimi corpus (the ids are plumbing here)
    paired = str(tmp_path / "paired")
    shutil.copytree(small_toy_corpus, paired)
    meta = tokenbin.read_meta(paired)
    tokenbin.write_meta(paired, dict(meta, units=tokenbin.read_meta(books)["units"]))
    mix = {books: 3, paired: 1}
    out = str(tmp_path / "pre")
    train.main(["--seq_len=32", "--batch_size=4", "--log_interval=1", "--eval_interval=2", "--eval_iters=1",
                "--model_preset=tiny", "--phase=pretrain", f"--out_dir={out}", "--max_iters=2",
                f"--data_mix={mix!r}"])
    recs = [json.loads(line) for line in open(os.path.join(out, "log.jsonl"))]
    toy = os.path.basename(paired)
    last_val = [r for r in recs if "val_loss" in r][-1]
    assert {"val_loss_books_en", f"val_loss_{toy}_en", f"val_loss_{toy}_fr"} <= set(last_val)
    assert "val_loss_books_fr" not in last_val  # an EN-only corpus has no FR val loss
    names, _ = interleave.mixture_meta(mix)
    split = {names[d]: tokenbin.load_split(d, "train") for d in mix}
    sampler = interleave.Mixture(split, {names[d]: w for d, w in mix.items()}, 32, 64, mode="mono",
                                 lang_probs={"en": 1.0}, seed=0, boundary_token=2048)
    share = np.mean([sampler._row(g)[2][0] == "books" for g in range(4000)])  # rows are all seq_len + 1 long
    assert abs(share - 0.75) < 0.02, share


def write_clips(d, rows, name="clips.jsonl", **extra):
    """rows: (story, sentence, lang, split, seed) -> 0.6 s wavs {story}_{lang}{sentence}.wav and a manifest."""
    lines = []
    for story, k, lang, split, seed in rows:
        write_wav(d / f"{story}_{lang}{k}.wav", signal(seed, 0.6, RATE), RATE)
        lines.append(dict(audio=f"{story}_{lang}{k}.wav", story=story, sentence=k, lang=lang, split=split, **extra))
    (d / name).write_text("".join(json.dumps(r) + "\n" for r in lines))
    return d / name


def test_rerun_encodes_what_changed(mimi_path, tmp_path):
    """Issue 17 item 3: a clip skipped as truncated and then fixed is encoded on the next run (before:
    'encoded 0 clips this run', still skipped); a clip whose file was replaced gets the new file's codes
    (before: the old ones); what was reused is counted."""
    manifest = write_clips(tmp_path, [("A", 0, "en", "train", 1), ("A", 0, "fr", "train", 2),
                                      ("B", 0, "en", "train", 3), ("B", 0, "fr", "train", 4)])
    full = (tmp_path / "B_fr0.wav").read_bytes()
    (tmp_path / "B_fr0.wav").write_bytes(full[:len(full) // 3])  # an interrupted copy
    run = lambda: ta.main(["--manifest", str(manifest), "--out_dir", str(tmp_path / "out"),  # noqa: E731
                           "--mimi_weights", mimi_path, "--threads", "1"])
    first = run()
    assert first["counts"]["skip_reasons"] == {"story_dropped": 1, "truncated": 1} and first["n_encoded"] == 3
    (tmp_path / "B_fr0.wav").write_bytes(full)  # fetched again
    fixed = run()
    assert (fixed["n_encoded"], fixed["n_reused"]) == (1, 3) and fixed["counts"]["clips_written"] == 4
    st = (tmp_path / "A_en0.wav").stat()
    write_wav(tmp_path / "A_en0.wav", signal(9, 0.6, RATE), RATE)  # replaced in place, same length
    os.utime(tmp_path / "A_en0.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert (tmp_path / "A_en0.wav").stat().st_size == st.st_size
    replaced = run()
    assert (replaced["n_encoded"], replaced["n_reused"]) == (1, 3)
    codes = np.asarray(tokenbin.load_split(tmp_path / "out", "train").sentence("en", 0))
    np.testing.assert_array_equal(codes, own_codes(load_mimi(mimi_path, "cpu"), tmp_path / "A_en0.wav")[0])


def test_one_language_needs_unpaired_and_writing_nothing_fails(mimi_path, tmp_path, capsys):
    """Issue 17 item 4: forgetting --unpaired on an EN-only manifest dropped every story and exited 0;
    now it stops before encoding anything. A run that writes nothing (every clip silent) fails."""
    manifest = write_clips(tmp_path, [("A", 0, "en", "train", 1), ("B", 0, "en", "train", 2)])
    args = ["--manifest", str(manifest), "--mimi_weights", mimi_path, "--threads", "1"]
    with pytest.raises(SystemExit, match=r"every clip is en, but a paired corpus .* takes --unpaired"):
        ta.main(args + ["--out_dir", str(tmp_path / "paired")])
    assert not (tmp_path / "paired").exists()
    assert ta.main(args + ["--out_dir", str(tmp_path / "en"), "--unpaired"])["counts"]["clips_written"] == 2
    for name in ("A_en0", "B_en0"):
        write_wav(tmp_path / f"{name}.wav", np.zeros((1, RATE)), RATE)
    with pytest.raises(SystemExit, match=r"nothing written: no split from the 2 clips .*'silent': 2"):
        ta.main(args + ["--out_dir", str(tmp_path / "silent"), "--unpaired"])
    assert sorted(os.listdir(tmp_path / "silent")) == ["shards", "skipped.jsonl"]


def test_expected_failures_are_one_line(mimi_path, tmp_path, capsys):
    """Issue 17 item 9: every expected failure is one line `tokenize_audio.py: error: ...` through the
    script's one handler (ta.cli, what `python tokenize_audio.py` runs), never a traceback. Before:
    tracebacks for latin-1 and gzipped manifests, an out_dir that is a file, a 0-row dataset, another
    model's safetensors, segment times of 1e305; messages without the script's prefix for the rest."""
    from safetensors.torch import save_file
    from audio.demo import write_wav as ww
    ww(tmp_path / "a.wav", signal(1, 0.6, RATE), RATE)
    clip = dict(audio="a.wav", story="s", sentence=0, lang="en", split="train")
    (tmp_path / "latin1.jsonl").write_bytes(json.dumps(dict(clip, story="caf\u00e9"), ensure_ascii=False).encode("latin-1") + b"\n")
    (tmp_path / "cut.jsonl.gz").write_bytes(__import__("gzip").compress((json.dumps(clip) + "\n").encode() * 50)[:40])
    (tmp_path / "ok.jsonl").write_text(json.dumps(clip) + "\n")
    (tmp_path / "same.jsonl").write_text(json.dumps(dict(name="x", prompt=None, good="a.wav", bad="a.wav")) + "\n")
    (tmp_path / "a_file").write_text("")
    save_file({"x": torch.zeros(3)}, str(tmp_path / "other.safetensors"))
    empty = make_dataset(dict(audio=[], lang=[]), ["audio"])
    empty.save_to_disk(str(tmp_path / "empty_ds"))
    empty.to_parquet(str(tmp_path / "empty.parquet"))
    out = ["--out_dir", str(tmp_path / "out"), "--mimi_weights", mimi_path]
    cases = [(["--manifest", str(tmp_path / "latin1.jsonl"), *out], "latin1.jsonl:1: not UTF-8 text"),
             (["--manifest", str(tmp_path / "cut.jsonl.gz"), *out], "cut.jsonl.gz: damaged gzip file"),
             (["--manifest", str(tmp_path / "nope.jsonl"), *out], "manifest .*nope.jsonl not found"),
             (["--manifest", str(tmp_path / "ok.jsonl"), "--out_dir", str(tmp_path / "a_file")], "is a file, not a folder"),
             (["--manifest", str(tmp_path / "ok.jsonl"), "--unpaired", "--out_dir", str(tmp_path / "o2"),
               "--mimi_weights", str(tmp_path / "other.safetensors")], "other.safetensors is not Mimi's weights"),
             (["--hf_dataset", str(tmp_path / "empty_ds"), "--lang", "en", "--split", "train", *out],
              "cannot load this save_to_disk folder .*0 rows"),
             (["--hf_dataset", str(tmp_path / "empty.parquet"), "--lang", "en", "--split", "train", *out],
              "cannot load these parquet files"),
             (["--bench_manifest", str(tmp_path / "same.jsonl"), *out], "same.jsonl:1: 'good' and 'bad' are the same clip"),
             (["--add_bench", "--bench_manifest", str(tmp_path / "ok.jsonl"), *out], r"ok.jsonl:1: 'name' must be"),
             (["--cuts", "test=x.jsonl", *out], r"--cuts test=x.jsonl: write SPLIT=PATH")]
    if not torch.cuda.is_available():
        cases.append((["--manifest", str(tmp_path / "ok.jsonl"), "--device", "cuda", *out], "CUDA is not available"))
    capsys.readouterr()
    for argv, message in [(["--cuts", "val.jsonl.gz", "--split", "val", *out], "--split is for --hf_dataset"),
                          (["--manifest", "m.jsonl", "--lang", "de", *out], "--lang is for --hf_dataset")]:
        with pytest.raises(SystemExit) as e:  # flags another route would take, not silently ignored
            ta.cli(argv)
        assert e.value.code == 2 and message in capsys.readouterr().err
    for argv, message in cases:
        with pytest.raises(SystemExit) as e:
            ta.cli(argv)
        err = capsys.readouterr().err  # the error is the last line; datasets' progress bars may come before
        assert e.value.code == 1 and "Traceback" not in err and err.endswith("\n") and err.count("error:") == 1
        last = err.strip().splitlines()[-1]
        assert re.match(r"tokenize_audio\.py: error: (?!tokenize_audio)", last) and re.search(message, last), (argv, err)
    # a segment 1e305 s into its file is a skip with its reason (it was an OverflowError), the run goes on
    (tmp_path / "far.jsonl").write_text(json.dumps(clip) + "\n" + json.dumps(dict(clip, sentence=1, start=1e305, end=2e305)) + "\n")
    c = ta.cli(["--manifest", str(tmp_path / "far.jsonl"), "--unpaired", "--out_dir", str(tmp_path / "far"),
                "--mimi_weights", mimi_path, "--threads", "1"])["counts"]
    assert (c["clips_written"], c["clips_skipped"], c["skip_reasons"]) == (1, 1, {"segment_outside": 1})
    # gzipped manifests read like plain ones
    (tmp_path / "ok.jsonl.gz").write_bytes(__import__("gzip").compress((tmp_path / "ok.jsonl").read_bytes()))
    c = ta.cli(["--manifest", str(tmp_path / "ok.jsonl.gz"), "--unpaired", "--out_dir", str(tmp_path / "far"),
                "--mimi_weights", mimi_path, "--threads", "1"])["counts"]
    assert c["clips_written"] == 1
