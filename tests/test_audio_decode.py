"""audio_decode.py: segment cuts at sample precision and their skip reasons, against hand-computed
sample ranges. Run: python -m pytest -q tests/test_audio_decode.py"""
import numpy as np

import audio_decode as ad

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
