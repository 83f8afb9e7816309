"""audio/lhotse_cuts.py and audio/kaldi.py through tokenize_audio.py: a CutSet built by lhotse itself (gzipped,
one cut per recording; plain, one cut per segment) and a Kaldi data dir written by hand give the corpus the
equivalent JSONL manifest gives, byte for byte, with written + skipped = total; what the readers refuse.
Run: .venv/bin/python -m pytest -q tests/audio/test_lhotse_cuts.py"""
import json

import pytest

import tokenize_audio as ta
from audio.demo import signal, write_wav
from audio.lhotse_cuts import read_cuts
from tests.test_tokenize_audio import corpus_files

# recording -> (seconds, rate, channels, split, [(start, duration)]); rec2 is silent from 1.15 s to 1.95 s,
# so its first segment is skipped (a segment outside its file would not do: lhotse's trim drops it)
RECORDINGS = {"rec1": (3.0, 16000, 2, "train", [(0.1, 0.9), (1.0, 0.8), (2.05, 0.7)]),
              "rec3": (1.6, 24000, 1, "train", [(0.2, 1.1)]),
              "rec2": (2.0, 24000, 1, "val", [(1.2, 0.7), (0.0, 0.9)])}


def lhotse_corpus(tmp_path, paired_langs=None):
    """The recordings as wavs, their lhotse CutSets (both layouts, per split) and the equivalent manifest.
    paired_langs: each recording is read once per language (another file each), supervisions carry
    language and custom story, so the CutSet makes a paired corpus."""
    lhotse = pytest.importorskip("lhotse")
    (tmp_path / "wav").mkdir()
    langs = paired_langs or ["en"]
    cuts, lines = {"train": [], "val": []}, []
    for r, (name, (sec, sr, ch, split, segs)) in enumerate(RECORDINGS.items()):
        for j, lang in enumerate(langs):
            rid = f"{name}_{lang}" if paired_langs else name
            x = signal(10 * r + j, sec, sr, ch)
            if name == "rec2":
                x[:, int(1.15 * sr):int(1.95 * sr)] = 0
            write_wav(tmp_path / "wav" / f"{rid}.wav", x, sr)
            rec = lhotse.Recording.from_file(f"wav/{rid}.wav", recording_id=rid)  # relative: from the cwd
            sups = [lhotse.SupervisionSegment(id=f"{rid}-{k}", recording_id=rid, start=s, duration=d,
                                              channel=rec.channel_ids, language=lang if paired_langs else "English",
                                              custom={"story": name} if paired_langs else None)
                    for k, (s, d) in enumerate(segs)]
            cuts[split].append((rec, sups))
            order = sorted(range(len(segs)), key=lambda k: segs[k][0])
            lines += [dict(audio=f"wav/{rid}.wav", start=segs[k][0], end=segs[k][0] + segs[k][1], story=name,
                           sentence=order.index(k), lang=lang, split=split) for k in range(len(segs))]
    files = {}
    for split, recs in cuts.items():
        cs = lhotse.CutSet.from_manifests(recordings=lhotse.RecordingSet.from_recordings([r for r, _ in recs]),
                                          supervisions=lhotse.SupervisionSet.from_segments([s for _, ss in recs for s in ss]))
        cs.to_file(str(tmp_path / f"rec_{split}.jsonl.gz"))                      # one cut per recording
        cs.trim_to_supervisions(keep_overlapping=False, keep_all_channels=True).to_file(str(tmp_path / f"seg_{split}.jsonl"))  # per segment
        files[split] = (f"rec_{split}.jsonl.gz", f"seg_{split}.jsonl")
    (tmp_path / "clips.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return files


def same_corpus(a, b):
    fa, fb = corpus_files(a), corpus_files(b)
    ma, mb = json.loads(fa.pop("meta.json")), json.loads(fb.pop("meta.json"))
    skip = lambda f: sorted((r["split"], r["story"], r["sentence"], r["lang"], r["reason"])  # noqa: E731
                            for r in map(json.loads, f.pop("skipped.jsonl").decode().splitlines()))
    assert skip(fa) == skip(fb) and sorted(fa) == sorted(fb) and all(fa[k] == fb[k] for k in fa), (a, b)
    assert ma["counts"] == mb["counts"] and ma["languages"] == mb["languages"] and ma["paired"] == mb["paired"]
    return ma["counts"]


def test_cutsets_and_kaldi_dirs_make_the_manifests_corpus(tmp_path, mimi_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # lhotse and Kaldi read relative audio paths from the current directory
    files = lhotse_corpus(tmp_path)
    kaldi = {}
    for split in ("train", "val"):  # the same segments as a Kaldi data dir, by hand
        d = tmp_path / f"kaldi_{split}"
        d.mkdir()
        names = [n for n, r in RECORDINGS.items() if r[3] == split]
        (d / "wav.scp").write_text("".join(f"{n} wav/{n}.wav\n" for n in names))
        segs = [(f"{n}-{k}", n, s, s + dur) for n in names for k, (s, dur) in enumerate(RECORDINGS[n][4])]
        (d / "segments").write_text("".join(f"{u} {n} {s} {e}\n" for u, n, s, e in segs))
        (d / "utt2spk").write_text("".join(f"{u} spk1\n" for u, *_ in segs))
        (d / "text").write_text("".join(f"{u} SOME WORDS\n" for u, *_ in segs))
        kaldi[split] = str(d)
    common = ["--unpaired", "--mimi_weights", mimi_path, "--threads", "1"]
    ref = ta.main(["--manifest", "clips.jsonl", "--out_dir", "from_manifest", *common])["counts"]
    assert (ref["clips_written"], ref["clips_skipped"], ref["clips_total"]) == (5, 1, 6)
    assert ref["skip_reasons"] == {"silent": 1}
    for i, name in enumerate(("rec", "seg")):
        ta.main(["--cuts", *(f"{split}={files[split][i]}" for split in files), "--lang", "en",
                 "--out_dir", f"from_{name}", *common])
        assert same_corpus(tmp_path / "from_manifest", tmp_path / f"from_{name}") == ref
    monkeypatch.chdir(tmp_path / "wav")  # elsewhere: --audio_root says where relative paths start
    ta.main(["--kaldi_dir", f"train={kaldi['train']}", f"val={kaldi['val']}", "--lang", "en",
             "--audio_root", str(tmp_path), "--out_dir", str(tmp_path / "from_kaldi"), *common])
    assert same_corpus(tmp_path / "from_manifest", tmp_path / "from_kaldi") == ref


def test_a_paired_cutset_in_other_languages(tmp_path, mimi_path, monkeypatch):
    """Supervisions with a language code and a custom story shared by the translations: a paired de-ja
    corpus, the same as the manifest's (the languages come from the supervisions, not a flag)."""
    monkeypatch.chdir(tmp_path)
    files = lhotse_corpus(tmp_path, paired_langs=["de", "ja"])
    common = ["--mimi_weights", mimi_path, "--threads", "1"]
    ref = ta.main(["--manifest", "clips.jsonl", "--out_dir", "from_manifest", *common])["counts"]
    # rec2's silent segment drops the val story from both languages: written + skipped = total
    assert (ref["clips_written"], ref["clips_skipped"], ref["clips_total"]) == (8, 4, 12)
    assert ref["train"]["stories"] == 2 and "val" not in ref
    ta.main(["--cuts", f"train={files['train'][0]}", f"val={files['val'][0]}", "--out_dir", "from_cuts", *common])
    assert same_corpus(tmp_path / "from_manifest", tmp_path / "from_cuts") == ref
    assert json.load(open(tmp_path / "from_cuts" / "meta.json"))["languages"] == ["de", "ja"]


def cut_line(**change):
    cut = {"id": "c", "start": 0, "duration": 2.0, "channel": 0, "type": "MonoCut",
           "supervisions": [{"id": "s0", "recording_id": "r", "start": 0.5, "duration": 1.0, "channel": 0,
                             "language": "en"}],
           "recording": {"id": "r", "sources": [{"type": "file", "channels": [0], "source": "r.wav"}],
                         "sampling_rate": 16000, "num_samples": 32000, "duration": 2.0, "channel_ids": [0]}}
    for path, value in change.items():
        *parents, last = path.split("__")
        node = cut
        for p in parents:
            node = node[int(p)] if p.isdigit() else node[p]
        node[last] = value
    return json.dumps(cut)


@pytest.mark.parametrize("change, message", [
    (dict(type="MixedCut"), "a 'MixedCut' cut"),
    (dict(recording__sources=[{"type": "url", "channels": [0], "source": "https://x/r.wav"}]), r"sources \['url'\]"),
    (dict(recording__sources=[{"type": "file", "channels": [0], "source": "a.wav"},
                              {"type": "file", "channels": [1], "source": "b.wav"}]), r"sources \['file', 'file'\]"),
    (dict(recording__transforms=[{"name": "Speed", "kwargs": {"factor": 1.1}}]), r"has transforms \['Speed'\]"),
    (dict(recording__channel_ids=[0, 1], channel=[0, 1], supervisions__0__channel=1), "selects channels 1 of"),
    (dict(supervisions__0__language="English"), "has language 'English', not a 2-3 letter code: pass --lang"),
    (dict(supervisions__0__start="0.5"), "needs numeric 'start' and 'duration'"),
])
def test_what_a_cutset_reader_refuses(tmp_path, change, message):
    (tmp_path / "cuts.jsonl").write_text(cut_line(**change) + "\n")
    with pytest.raises(SystemExit, match=f"cuts.jsonl:1: .*{message}"):
        read_cuts(str(tmp_path / "cuts.jsonl"), "train")


def test_a_supervision_in_two_windows_is_one_sentence(tmp_path):
    """Overlapping windows list a supervision twice (at their own offsets): read once; other times for
    the same id is an error."""
    twice = [cut_line(), cut_line(id="c2", start=0.25, supervisions__0__start=0.25)]
    (tmp_path / "cuts.jsonl").write_text("\n".join(twice) + "\n")
    recs = read_cuts(str(tmp_path / "cuts.jsonl"), "val", audio_root="/data")
    assert [(r["path"], r["start"], r["end"], r["story"], r["lang"], r["split"]) for r in recs] == [
        ("/data/r.wav", 0.5, 1.5, "r", "en", "val")]
    (tmp_path / "cuts.jsonl").write_text("\n".join([cut_line(), cut_line(id="c2", start=0.3)]) + "\n")
    with pytest.raises(SystemExit, match="cuts.jsonl:2: supervision 's0' appears again with other times"):
        read_cuts(str(tmp_path / "cuts.jsonl"), "val")


@pytest.mark.parametrize("how", ["trim_overlapping", "windows"])
def test_lhotse_cut_layouts_whose_times_do_not_round_trip(tmp_path, how):
    """lhotse's own trim_to_supervisions() (overlapping neighbours kept, its default) and
    cut_into_windows() list a supervision in several cuts, at offsets whose sum is not the first float
    (0.37 -> 0.3700000000000001): still one sentence per supervision, in order."""
    lhotse = pytest.importorskip("lhotse")
    write_wav(tmp_path / "r.wav", signal(0, 20.0, 16000), 16000)
    rec = lhotse.Recording.from_file(str(tmp_path / "r.wav"), recording_id="r")
    segs = [(0.37, 2.71), (2.93, 3.17), (5.83, 4.41), (10.1, 3.3), (13.3, 2.9)]  # the first two overlap
    sups = [lhotse.SupervisionSegment(id=f"r-{k}", recording_id="r", start=s, duration=d, channel=0, language="en")
            for k, (s, d) in enumerate(segs)]
    cs = lhotse.CutSet.from_manifests(recordings=lhotse.RecordingSet.from_recordings([rec]),
                                      supervisions=lhotse.SupervisionSet.from_segments(sups))
    cs = cs.trim_to_supervisions() if how == "trim_overlapping" else cs.cut_into_windows(duration=2.3)
    cs.to_file(str(tmp_path / "cuts.jsonl"))
    recs = read_cuts(str(tmp_path / "cuts.jsonl"), "train")
    assert [(round(r["start"], 6), round(r["end"], 6)) for r in recs] == [(s, round(s + d, 6)) for s, d in segs]
