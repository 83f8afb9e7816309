"""Synthetic audio for the tests: a speech-ish signal and a WAV writer that is not under test (stdlib)."""
import wave

import numpy as np

RATE = 24000  # Mimi's sample rate


def write_wav(path, x, sr):
    """x: (channels, n) float in [-1, 1] -> 16-bit PCM WAV (stdlib, so no writer under test)."""
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").T.copy()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[0])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def signal(seed, seconds, sr, channels=1):
    """A speech-ish test signal: a gliding tone with harmonics, an envelope and some noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 80 * seed % 200 + 60 * np.sin(2 * np.pi * 0.7 * t)
    tone = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / sr) / k for k in (1, 2, 3))
    x = 0.25 * tone * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(len(t))
    return np.stack([x * (1 - 0.3 * c) for c in range(channels)])
