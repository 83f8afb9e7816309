"""audio/decode.py: segment cuts at sample precision and their skip reasons, against hand-computed
sample ranges; resampling aligned in time; files cut short skipped as truncated.
Run: .venv/bin/python -m pytest -q tests/audio/test_decode.py"""
import os

import numpy as np

from audio import decode as ad
from audio.demo import RATE, signal, write_wav

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

SR = 24000


def test_cut_is_sample_exact_and_bounded():
    x = np.linspace(-0.5, 0.5, 2 * SR, dtype=np.float32)  # 2 s, every sample distinct
    seg, why = ad.cut(x, 0.25, 1.1, SR, 60.0, 1e-3)
    assert why is None and np.array_equal(seg, x[6000:26400])
    seg, why = ad.cut(x, 1.5, 2.03, SR, 60.0, 1e-3)  # 30 ms past the end: within the slack, cut at the end
    assert why is None and np.array_equal(seg, x[36000:])
    for start, end, reason in [(1.5, 2.1, "segment_outside"), (2.0, 2.01, "segment_outside"),
                               (1.0, 1.0, "bad_segment"), (-0.1, 0.5, "bad_segment"), (0.0, 1.5, "too_long")]:
        seg, why = ad.cut(x, start, end, SR, 1.2, 1e-3)
        assert seg is None and why[0] == reason, (start, end, why)
    seg, why = ad.cut(np.zeros(SR, np.float32), 0.1, 0.5, SR, 60.0, 1e-3)
    assert seg is None and why[0] == "silent"


def test_resample_is_aligned():
    for sr, n in [(16000, 16001), (44100, 30000), (8000, 5000)]:
        x = np.zeros(n, np.float32)
        x[n // 3] = 1.0
        y = ad.resample(x, sr, RATE)
        assert len(y) == round(n * RATE / sr)
        assert abs(int(np.argmax(y)) - (n // 3) * RATE / sr) <= 1.0


def test_truncated_files_are_skipped(tmp_path):
    # tests/fixtures/tone_2s_xing.mp3: 2 s of a 220 Hz tone at 24 kHz, encoded by ffmpeg 7.0.2 (libmp3lame,
    # 32 kb/s, -fflags +bitexact); its Xing/Info header carries the frame count, as ffmpeg and lame write it
    mp3 = (open(os.path.join(ROOT, "tests", "fixtures", "tone_2s_xing.mp3"), "rb").read(), 2.064)
    write_wav(tmp_path / "full.wav", signal(1, 3.0, RATE), RATE)
    wav = ((tmp_path / "full.wav").read_bytes(), 3.0)
    for ext, (data, seconds), keep in [("wav", wav, 1 / 3), ("mp3", mp3, 1 / 2)]:
        (tmp_path / f"whole.{ext}").write_bytes(data)
        (tmp_path / f"cut.{ext}").write_bytes(data[:int(len(data) * keep)])
        x, why = ad.load_audio(str(tmp_path / f"whole.{ext}"), RATE, 60.0, 1e-3)
        assert why is None and abs(len(x) / RATE - seconds) < 1e-3
        x, why = ad.load_audio(str(tmp_path / f"cut.{ext}"), RATE, 60.0, 1e-3)
        assert x is None and why[0] == "truncated", (ext, why)
        assert f"its header says {seconds:.3f} s" in why[1]


def write_float_wav(path, x, sr):
    """x (n,) float32 as an IEEE-float WAV (format 3): values beyond [-1, 1] are stored as they are."""
    import struct
    data = np.asarray(x, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, sr, sr * 4, 4, 32)
    path.write_bytes(b"RIFF" + struct.pack("<I", 4 + 8 + len(fmt) + 8 + len(data)) + b"WAVE" + b"fmt "
                     + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data)


def test_short_out_of_range_and_non_files_are_skipped(tmp_path):
    """Issue 17 item 4: a 1-sample or 10 ms clip is not a sentence; float WAVs at 30x full scale, holding
    int16-range values or 1e30 are not audio at full scale 1 (written before: 0 of 18 frames agree);
    a named pipe would block the run forever: all skipped, each with its reason."""
    x = signal(3, 1.0, RATE)[0].astype(np.float32)
    write_wav(tmp_path / "one_sample.wav", x[None, :1], RATE)
    write_wav(tmp_path / "ten_ms.wav", x[None, :240], RATE)
    write_float_wav(tmp_path / "ok_float.wav", x, RATE)
    write_float_wav(tmp_path / "x30.wav", 30 * x, RATE)
    write_float_wav(tmp_path / "int16_range.wav", np.round(x * 32767), RATE)
    write_float_wav(tmp_path / "huge.wav", np.where(np.arange(len(x)) == 100, 1e30, x), RATE)
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "folder.wav").mkdir()
    expect = {"one_sample": "too_short", "ten_ms": "too_short", "ok_float": None, "x30": "out_of_range",
              "int16_range": "out_of_range", "huge": "out_of_range", "pipe": "not_a_file",
              "folder": "not_a_file", "missing": "unreadable"}
    for name, reason in expect.items():
        got, why = ad.load_audio(str(tmp_path / f"{name}.wav"), RATE, 60.0, 1e-3, min_seconds=0.2)
        assert (why and why[0]) == reason, (name, why)
        assert (got is None) == (reason is not None)
    assert "divide by 32768" in ad.load_audio(str(tmp_path / "int16_range.wav"), RATE, 60.0, 1e-3)[1][1]
    ok, _ = ad.load_audio(str(tmp_path / "ok_float.wav"), RATE, 60.0, 1e-3)
    np.testing.assert_array_equal(ok, x)  # a float file at full scale is read as it is
    # segments: too short, out of range, and times so large that seconds * rate overflows an int
    y = np.concatenate([x, 40 * x])
    for start, end, reason in [(0.1, 0.15, "too_short"), (1.2, 1.9, "out_of_range"), (1e305, 2e305, "segment_outside"),
                               (0.5, 1e305, "segment_outside"), (0.5, None, "out_of_range"), (0.2, 0.9, None)]:
        seg, why = ad.cut(y, start, end, SR, 60.0, 1e-3, min_seconds=0.2)
        assert (why and why[0]) == reason, (start, end, why)
    seg, _ = ad.cut(x, 0.5, None, SR, 60.0, 1e-3)  # end None (Kaldi's -1): to the end of the file
    assert np.array_equal(seg, x[12000:])


def test_streamed_wav_and_ogg_opus(tmp_path):
    """A WAV streamed with unknown length (data size 0xFFFFFFFF) states no duration: it is read whole,
    not taken for truncated (it was: 'its header says 89478.485 s'). Ogg Opus, which sphn.read cannot
    decode, goes through sphn's Opus reader."""
    import struct
    import sphn
    write_wav(tmp_path / "w.wav", signal(1, 1.0, RATE), RATE)
    w = (tmp_path / "w.wav").read_bytes()
    k = w.find(b"data")
    (tmp_path / "stream.wav").write_bytes(w[:4] + b"\xff" * 4 + w[8:k + 4] + b"\xff" * 4 + w[k + 8:])
    x, why = ad.load_audio(str(tmp_path / "stream.wav"), RATE, 60.0, 1e-3)
    assert why is None and len(x) == RATE
    sphn.write_opus(str(tmp_path / "o.ogg"), signal(2, 1.0, RATE).astype(np.float32), RATE)
    x, why = ad.load_audio(str(tmp_path / "o.ogg"), RATE, 60.0, 1e-3)
    assert why is None and abs(len(x) / RATE - 1.0) < 0.05
    assert struct.unpack("<I", w[k + 4:k + 8])[0] == 2 * RATE  # the fixture's own header did state its size
