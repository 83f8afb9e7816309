"""audio/kaldi.py: a Kaldi data dir's utterances, end -1, utt2lang / utt2story, and what it refuses
(tests/audio/test_lhotse_cuts.py runs one through tokenize_audio.py against the manifest route).
Run: .venv/bin/python -m pytest -q tests/audio/test_kaldi.py"""
import pytest

from audio.kaldi import read_kaldi_dir
from audio.manifests import clips_from_records


def kaldi_dir(d, wav_scp, segments=None, **tables):
    d.mkdir(exist_ok=True)
    (d / "wav.scp").write_text(wav_scp)
    if segments is not None:
        (d / "segments").write_text(segments)
    for name, text in tables.items():
        (d / name).write_text(text)
    return str(d)


def test_utterances_languages_and_stories(tmp_path):
    d = kaldi_dir(tmp_path / "k", "r_en /a/r_en.flac\nr_fr /a/r_fr.flac\nw_en w.wav\n",
                  "u2 r_en 3.0 -1\nu1 r_en 0.5 3.0\nv1 r_fr 0.0 2.5\nw w_en 0 -1\n",
                  utt2lang="u1 en\nu2 en\nv1 fr\nw en\n", utt2story="u1 s1\nu2 s1\nv1 s1\nw s2\n")
    clips = clips_from_records(read_kaldi_dir(d, "train", audio_root="/root"), d)
    got = [(c["path"], c["start"], c["end"], c["story"], c["sentence"], c["lang"]) for c in clips]
    assert got == [("/a/r_en.flac", 3.0, None, "s1", 1, "en"),  # end -1: to the end; sentence by begin time
                   ("/a/r_en.flac", 0.5, 3.0, "s1", 0, "en"), ("/a/r_fr.flac", 0.0, 2.5, "s1", 0, "fr"),
                   ("/root/w.wav", 0.0, None, "s2", 0, "en")]
    d = kaldi_dir(tmp_path / "whole", "a x/a.wav\nb x/b.wav\n")  # no segments: a recording is an utterance
    clips = clips_from_records(read_kaldi_dir(d, "val", lang="de", audio_root="/r"), d)
    assert [(c["path"], c["start"], c["story"], c["sentence"], c["lang"]) for c in clips] == [
        ("/r/x/a.wav", None, "a", 0, "de"), ("/r/x/b.wav", None, "b", 0, "de")]


@pytest.mark.parametrize("files, message", [
    (dict(wav_scp="r flac -c -d -s /a/r.flac |\n"), r"wav.scp:1: .* is a command \(a piped entry\), not an audio file"),
    (dict(wav_scp="r /a/r.wav\nr /a/s.wav\n"), "wav.scp:2: id 'r' listed twice"),
    (dict(wav_scp="r /a/my file.wav\n"), r"wav.scp:1: .* is not '<recording-id> <path>' .*a path with a space"),
    (dict(wav_scp="r /a/r.wav\n", utt2lang="r en\n", utt2sentence="r one\n"), "utt2sentence:1: sentence of 'r' must be an integer"),
    (dict(wav_scp="r /a/r.wav\n", segments="u r 0 1 1\n"), "segments:1: expected 4 fields, got 5.*downmixes every channel"),
    (dict(wav_scp="r /a/r.wav\n", segments="u q 0 1\n"), "segments:1: recording 'q' of utterance 'u' is not in wav.scp"),
    (dict(wav_scp="r /a/r.wav\n", segments="u r 0 x\n"), "segments:1: begin and end must be seconds"),
    (dict(wav_scp="r /a/r.wav\n", segments="u r 0 inf\n"), "segments:1: begin and end must be finite seconds"),
    (dict(wav_scp="r /a/r.wav\n", segments="u r 0 1\nv r 1 2\n", utt2lang="u en\n"), "segments:2: utterance 'v' is not in .*utt2lang"),
    (dict(wav_scp="r /a/r.wav\n", segments="u r 0 1\n"), "segments:1: utterance 'u' is not in .*utt2lang .*pass --lang"),
    (dict(wav_scp="r /a/r.wav\n", segments="u r 0 1\n", utt2lang="u en\n", utt2story="x s\n"), "not in .*utt2story"),
])
def test_what_a_kaldi_reader_refuses(tmp_path, files, message):
    d = kaldi_dir(tmp_path / "k", files.pop("wav_scp"), files.pop("segments", None), **files)
    with pytest.raises(SystemExit, match=message):
        read_kaldi_dir(d, "train")


def test_utt2sentence_orders_what_string_sorted_files_cannot(tmp_path):
    """Kaldi files are sorted as strings: s_10 and s_11 come before s_2. Without utt2sentence the file
    order numbers the sentences; with it, each utterance has the index it was given."""
    ids = sorted(f"s_en_{k}" for k in range(1, 12))                       # s_en_1, s_en_10, s_en_11, s_en_2 ...
    scp = "".join(f"{u} /a/{u}.wav\n" for u in ids)
    story = "".join(f"{u} s\n" for u in ids)
    d = kaldi_dir(tmp_path / "plain", scp, utt2story=story)
    order = [c["audio"] for c in sorted(clips_from_records(read_kaldi_dir(d, "train", lang="en"), d),
                                        key=lambda c: c["sentence"])]
    assert order[:4] == ["/a/s_en_1.wav", "/a/s_en_10.wav", "/a/s_en_11.wav", "/a/s_en_2.wav"]  # file order
    d = kaldi_dir(tmp_path / "indexed", scp, utt2story=story,
                  utt2sentence="".join(f"{u} {int(u.rsplit('_', 1)[1]) - 1}\n" for u in ids))
    clips = clips_from_records(read_kaldi_dir(d, "train", lang="en"), d)
    assert [c["audio"] for c in sorted(clips, key=lambda c: c["sentence"])] == [f"/a/s_en_{k}.wav" for k in range(1, 12)]
