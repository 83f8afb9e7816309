"""
Audio files -> mono float32 at Mimi's 24 kHz, checked: what tokenize_audio.py encodes.

A file is decoded (sphn: WAV, FLAC, MP3, Ogg Vorbis; Ogg Opus through sphn's Opus reader), downmixed
to mono and resampled to 24 kHz. It is skipped, with a reason, when it is
    unreadable    missing, sphn cannot open or decode it, or it holds non-finite samples
    not_a_file    not a regular file (a named pipe would block the run forever, a directory ...)
    empty         0 samples
    truncated     it decodes more than TRUNCATED_S shorter than its header says: a file cut short
                  (an interrupted download or copy). Decoders stop quietly at the cut, so without this
                  check a third of a sentence would be written as if it were the sentence. Only a file
                  whose header states its length can be checked (docs/robustness.md lists which)
    too_long      longer than --max_seconds (a whole-file clip, or one segment)
    too_short     shorter than --min_seconds: a 10 ms blip is not a sentence
    out_of_range  a sample beyond MAX_PEAK: not audio at full scale 1 (a float file holding int16
                  values, a writer's wrong scale, 1e30); rescale the file, nothing is guessed here
    silent        peak below --min_peak
A segment (start, end in seconds; end None: to the end of the file) of a long file is cut from the
decoded 24 kHz audio at sample precision, samples round(start * 24000) to round(end * 24000), so its
codes equal those of the same samples saved and encoded as their own 24 kHz file. A segment is
skipped as
    bad_segment      end <= start, or start < 0
    segment_outside  it starts at or after the file's end, or ends more than SEGMENT_SLACK_S past it
                     (times rounded to centiseconds may overshoot the end a little: cut at the end)
"""
import math
import os
import stat

import numpy as np
import sphn

# Decoded vs header duration: MP3 encoders pad up to ~50 ms (priming + last frame) and the Xing
# header already accounts for it (a whole MP3 decodes to its header's length exactly);
# 0.1 s is above any codec padding and far below a cut that matters (a third of a 3 s clip).
TRUNCATED_S = 0.1
SEGMENT_SLACK_S = 0.05
# Integer PCM decodes into [-1, 1); float files and resamplers overshoot full scale a little (docs/LOG.md).
# Twice full scale is beyond any of that and far below the scales of the writer bugs it catches
# (x32768, x30, 1e30).
MAX_PEAK = 2.0
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
    """(channels, n) float32 at the file's own rate, and that rate. One call = one full decode.
    sphn.read has no Opus codec: an Ogg file whose first page says OpusHead goes to sphn.read_opus."""
    try:
        return sphn.read(path)
    except Exception:
        with open(path, "rb") as f:
            head = f.read(64)
        if head[:4] == b"OggS" and b"OpusHead" in head:
            return sphn.read_opus(path)
        raise


def header_seconds(path):
    """The duration a file's header states (sphn reads headers only), or None when it states none.
    A WAV streamed with an unknown length (data chunk size 0xFFFFFFFF, as pipes write it) states none."""
    with open(path, "rb") as f:
        head = f.read(4096)
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        pos = 12
        while pos + 8 <= len(head):  # chunks: 4-byte id, 4-byte little-endian size, data (even-padded)
            size = int.from_bytes(head[pos + 4:pos + 8], "little")
            if head[pos:pos + 4] == b"data":
                if size == 0xFFFFFFFF:
                    return None
                break
            pos += 8 + size + size % 2
    return sphn.durations([path])[0]


def decode(path, sample_rate, max_seconds=None):
    """A whole file -> (float32 (n,) mono at sample_rate, None) or (None, (reason, detail)).
    max_seconds: refuse longer files before resampling them (None: no limit, for long recordings)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        return None, ("unreadable", f"{e.strerror}: {path}")
    if not stat.S_ISREG(mode):  # opening a named pipe blocks until a writer comes: never open one
        kind = "a named pipe" if stat.S_ISFIFO(mode) else "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        return None, ("not_a_file", f"{path} is {kind}; list audio files only")
    try:
        data, sr = read_file(path)
    except Exception as e:  # corrupt, unsupported codec: sphn says which in the message
        return None, ("unreadable", str(e))
    if data.size == 0:
        return None, ("empty", "0 samples")
    header = header_seconds(path)  # None when the header gives no duration
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


def check_clip(x, sample_rate, min_seconds, min_peak):
    """None if the decoded clip x is one to encode, else (reason, detail): too_short, out_of_range, silent."""
    if len(x) < round(min_seconds * sample_rate) or not x.size:  # round: 0.2 * 24000 is 4800.000000000001
        return "too_short", f"{len(x) / sample_rate:.3f} s < --min_seconds {min_seconds}"
    peak = float(np.abs(x).max())
    if not peak <= MAX_PEAK:  # NaN and inf too
        hint = ("a float file holding int16 values? divide by 32768" if 1000 < peak < 40000
                else "rescale it to full scale 1")
        return "out_of_range", f"peak {peak:.3g} > {MAX_PEAK} (full scale is 1): {hint}"
    if peak < min_peak:
        return "silent", f"peak {peak:.2e} < --min_peak {min_peak}"
    return None


def load_audio(path, sample_rate, max_seconds, min_peak, min_seconds=0.0):
    """One whole-file clip -> (float32 (n,) mono at sample_rate, None) or (None, (reason, detail))."""
    x, why = decode(path, sample_rate, max_seconds)
    why = why or check_clip(x, sample_rate, min_seconds, min_peak)
    return (None, why) if why else (x, None)


def cut(x, start, end, sample_rate, max_seconds, min_peak, min_seconds=0.0):
    """One segment of decoded audio x (n,) -> (float32 (m,), None) or (None, (reason, detail)).
    end None: to the end of x (a Kaldi segment ending at -1)."""
    n, rate = len(x), sample_rate
    if not (end is None or end > start) or not start >= 0:
        return None, ("bad_segment", f"start {start} s, end {end} s: need 0 <= start < end")
    if start * rate >= n or (end is not None and end * rate > n + SEGMENT_SLACK_S * rate):  # in seconds
        return None, ("segment_outside", f"{start}-{end} s of a {n / rate:.3f} s file")  # first: 1e305 s
    a, b = round(start * rate), n if end is None else min(round(end * rate), n)
    if a >= n:
        return None, ("segment_outside", f"{start}-{end} s of a {n / rate:.3f} s file")
    if (b - a) > max_seconds * rate:
        return None, ("too_long", f"{(b - a) / rate:.2f} s > --max_seconds {max_seconds}")
    seg = x[a:b]
    why = check_clip(seg, rate, min_seconds, min_peak)
    return (None, why) if why else (seg, None)


def load_unit(path, cuts, sample_rate, max_seconds, min_peak, min_seconds=0.0):
    """One file and what to take from it: cuts [(start, end)], (None, None) for the whole file.
    -> one (audio, why) per cut. The file is decoded once however many segments it holds."""
    if cuts == [(None, None)]:
        return [load_audio(path, sample_rate, max_seconds, min_peak, min_seconds)]
    x, why = decode(path, sample_rate)
    return [(None, why) if why else whole(x, sample_rate, max_seconds, min_peak, min_seconds) if s is None else
            cut(x, s, e, sample_rate, max_seconds, min_peak, min_seconds) for s, e in cuts]


def whole(x, sample_rate, max_seconds, min_peak, min_seconds=0.0):
    """All of decoded audio x as one clip, checked like load_audio."""
    if len(x) > max_seconds * sample_rate:
        return None, ("too_long", f"{len(x) / sample_rate:.2f} s > --max_seconds {max_seconds}")
    why = check_clip(x, sample_rate, min_seconds, min_peak)
    return (None, why) if why else (x, None)
