"""
Audio files -> mono float32 at Mimi's 24 kHz, checked: what tokenize_audio.py encodes.

A file is decoded (sphn: WAV, FLAC, MP3, Ogg/Opus...), downmixed to mono and resampled to 24 kHz. It
is skipped, with a reason, when it is
    unreadable   sphn cannot open or decode it, or it holds non-finite samples
    empty        0 samples
    truncated    it decodes more than TRUNCATED_S shorter than its header says: a file cut short
                 (an interrupted download or copy). Decoders stop quietly at the cut, so without this
                 check a third of a sentence would be written as if it were the sentence.
    too_long     longer than --max_seconds (a whole-file clip, or one segment)
    silent       peak below --min_peak
A segment (start, end in seconds) of a long file is cut from the decoded 24 kHz audio at sample
precision, samples round(start * 24000) to round(end * 24000), so its codes equal those of the
same samples saved and encoded as their own 24 kHz file. A segment is skipped as
    bad_segment      end <= start, or start < 0
    segment_outside  it starts at or after the file's end, or ends more than SEGMENT_SLACK_S past it
                     (times rounded to centiseconds may overshoot the end a little: cut at the end)
"""
import math

import numpy as np
import sphn

# Decoded vs header duration: MP3 encoders pad up to ~50 ms (priming + last frame) and the Xing
# header already accounts for it (a whole MP3 decodes to its header's length exactly);
# 0.1 s is above any codec padding and far below a cut that matters (a third of a 3 s clip).
TRUNCATED_S = 0.1
SEGMENT_SLACK_S = 0.05
_DELAY = {}  # source rate -> sphn resampler delay in output samples (resample)


def resample(x, sr, target):
    """(n,) float32 at sr -> (round(n * target / sr),) float32 at target, time-aligned.
    sphn.resample (rubato, FFT-based) delays its output by a fixed number of samples and rounds the
    length up to its chunk size; we measure the delay once per rate with an impulse, feed enough
    trailing zeros, and cut out exactly the aligned samples."""
    if sr not in _DELAY:
        probe = np.zeros(2 * sr, np.float32)
        probe[0] = 1.0
        _DELAY[sr] = int(np.argmax(np.abs(sphn.resample(probe, sr, target))))
    delay, n_out = _DELAY[sr], (len(x) * target + sr // 2) // sr
    pad = np.zeros(math.ceil((delay + 4096) * sr / target), np.float32)
    y = sphn.resample(np.concatenate([x, pad]).astype(np.float32), sr, target)
    return np.ascontiguousarray(y[delay:delay + n_out])


def read_file(path):
    """(channels, n) float32 at the file's own rate, and that rate. One call = one full decode."""
    return sphn.read(path)


def decode(path, sample_rate, max_seconds=None):
    """A whole file -> (float32 (n,) mono at sample_rate, None) or (None, (reason, detail)).
    max_seconds: refuse longer files before resampling them (None: no limit, for long recordings)."""
    try:
        data, sr = read_file(path)
    except Exception as e:  # missing, corrupt, unsupported codec: sphn says which in the message
        return None, ("unreadable", str(e))
    if data.size == 0:
        return None, ("empty", "0 samples")
    header = sphn.durations([path])[0]  # header only; None when the header gives no duration
    got = data.shape[-1] / sr
    if header is not None and got < header - TRUNCATED_S:
        return None, ("truncated", f"decodes to {got:.3f} s, its header says {header:.3f} s: the file "
                                   f"was cut short; fetch it again")
    if max_seconds is not None and data.shape[-1] > max_seconds * sr:
        return None, ("too_long", f"{got:.2f} s > --max_seconds {max_seconds}")
    x = data.mean(axis=0, dtype=np.float32)  # downmix
    if not np.all(np.isfinite(x)):
        return None, ("unreadable", "non-finite samples")
    return (resample(x, sr, sample_rate) if sr != sample_rate else x), None


def _loud_enough(x, min_peak):
    peak = float(np.abs(x).max()) if x.size else 0.0
    return None if x.size and peak >= min_peak else ("silent", f"peak {peak:.2e} < --min_peak {min_peak}")


def load_audio(path, sample_rate, max_seconds, min_peak):
    """One whole-file clip -> (float32 (n,) mono at sample_rate, None) or (None, (reason, detail))."""
    x, why = decode(path, sample_rate, max_seconds)
    why = why or _loud_enough(x, min_peak)
    return (None, why) if why else (x, None)


def cut(x, start, end, sample_rate, max_seconds, min_peak):
    """One segment of decoded audio x (n,) -> (float32 (m,), None) or (None, (reason, detail))."""
    if not end > start >= 0:
        return None, ("bad_segment", f"start {start} s, end {end} s: need 0 <= start < end")
    a, b = round(start * sample_rate), round(end * sample_rate)
    if a >= len(x) or b > len(x) + round(SEGMENT_SLACK_S * sample_rate):
        return None, ("segment_outside", f"{start}-{end} s of a {len(x) / sample_rate:.3f} s file")
    if end - start > max_seconds:
        return None, ("too_long", f"{end - start:.2f} s > --max_seconds {max_seconds}")
    seg = x[a:min(b, len(x))]
    why = _loud_enough(seg, min_peak)
    return (None, why) if why else (seg, None)


def load_unit(path, cuts, sample_rate, max_seconds, min_peak):
    """One file and what to take from it: cuts [(start, end)], (None, None) for the whole file.
    -> one (audio, why) per cut. The file is decoded once however many segments it holds."""
    if cuts == [(None, None)]:
        return [load_audio(path, sample_rate, max_seconds, min_peak)]
    x, why = decode(path, sample_rate)
    return [(None, why) if why else whole(x, sample_rate, max_seconds, min_peak) if s is None else
            cut(x, s, e, sample_rate, max_seconds, min_peak) for s, e in cuts]


def whole(x, sample_rate, max_seconds, min_peak):
    """All of decoded audio x as one clip, checked like load_audio."""
    if len(x) > max_seconds * sample_rate:
        return None, ("too_long", f"{len(x) / sample_rate:.2f} s > --max_seconds {max_seconds}")
    why = _loud_enough(x, min_peak)
    return (None, why) if why else (x, None)
