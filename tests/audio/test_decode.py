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
