"""
audio/demo.py: "your own audio" in miniature, offline: synthetic sentence clips of paired EN/FR stories,
their clips manifest, a cloze bench manifest (sSC and sTC in all four directions) and a random-weight
Mimi, all in one folder. It is plumbing, not speech: the units mean nothing and no result does. It
shows the formats and lets the README's commands run as printed; then replace the wavs, manifests and
weights with yours.

    .venv/bin/python -m audio.demo out/my_audio          # ~10 s: wav/, clips.jsonl, bench.jsonl, mimi_random.safetensors

What it writes (the formats tokenize_audio.py reads; paths relative to the manifest's folder):
    clips.jsonl   {"audio": "wav/s03_fr_1.wav", "story": "s03", "sentence": 1, "lang": "fr", "split": "train"}
    bench.jsonl   {"name": "ssc_en-fr", "prompt": ["wav/s10_en_0.wav", ...], "good": "wav/s10_fr_3.wav", "bad": ...}
The random Mimi is moshi's own architecture (loaders.get_mimi(None)) with random centroids in its
first codebook around the latents it produces (get_mimi(None) leaves the codebooks at zero, which
would map everything to one unit), saved as safetensors like kyutai's release (bf16): the same code path
as real weights.
"""
import argparse
import json
import os
import wave

import numpy as np

RATE = 24000  # Mimi's sample rate


def write_wav(path, x, sr):
    """x: (channels, n) float in [-1, 1] -> 16-bit PCM WAV (the standard library's writer)."""
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2").T.copy()
    with wave.open(str(path), "wb") as w:
        w.setnchannels(x.shape[0])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def signal(seed, seconds, sr, channels=1):
    """A speech-ish signal: a gliding tone with harmonics, an envelope and some noise -> (channels, n)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    f0 = 120 + 80 * seed % 200 + 60 * np.sin(2 * np.pi * 0.7 * t)
    tone = sum(np.sin(2 * np.pi * k * np.cumsum(f0) / sr) / k for k in (1, 2, 3))
    x = 0.25 * tone * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t)) + 0.05 * rng.standard_normal(len(t))
    return np.stack([x * (1 - 0.3 * c) for c in range(channels)])


def random_mimi(path, seed=0):
    """A random-weight Mimi at path (.safetensors), loadable by audio.mimi.load_mimi like real weights."""
    import torch
    from moshi.models import loaders
    from safetensors.torch import save_file
    torch.manual_seed(seed)
    mimi = loaders.get_mimi(None, device="cpu", num_codebooks=1)
    x = torch.tensor(np.stack([signal(s, 2.0, RATE)[0] for s in range(3)])[:, None], dtype=torch.float32)
    with torch.no_grad():  # latents of real-ish input, projected into the first codebook's space
        z = mimi.quantizer.rvq_first.input_proj(mimi._encode_to_unquantized_latent(x))
    z = z.transpose(1, 2).reshape(-1, z.shape[1])  # (frames, 256)
    codebook = mimi.quantizer.rvq_first.vq.layers[0]._codebook
    g = torch.Generator().manual_seed(seed)
    codebook.embedding_sum.copy_(z.mean(0) + z.std(0) * torch.randn(codebook.embedding_sum.shape, generator=g))
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in mimi.state_dict().items()}, str(path))
    return str(path)


def write_demo(out, n_train=10, n_val=4, n_sentences=4, langs=("en", "fr"), seed=0, seconds=(0.5, 1.2), mimi=True):
    """Clips of n_train + n_val stories x n_sentences x langs (durations uniform in seconds), the two
    manifests, and the random Mimi (mimi=False: not it)."""
    os.makedirs(os.path.join(out, "wav"), exist_ok=True)
    rng = np.random.default_rng(seed)
    clips, stories = [], [f"s{i:02d}" for i in range(n_train + n_val)]
    clip = lambda story, lang, k: f"wav/{story}_{lang}_{k}.wav"  # noqa: E731
    for i, story in enumerate(stories):
        for k in range(n_sentences):
            for j, lang in enumerate(langs):
                write_wav(os.path.join(out, clip(story, lang, k)), signal(1000 * j + 10 * i + k, rng.uniform(*seconds),
                                                                          RATE), RATE)
                clips.append(dict(audio=clip(story, lang, k), story=story, sentence=k, lang=lang,
                                  split="train" if i < n_train else "val"))
    items, val = [], stories[n_train:]
    for task in ("ssc", "stc"):  # toy stand-ins: the wrong ending is another sentence (ssc) or story's ending (stc)
        for a in langs:
            for b in langs:
                for i, story in enumerate(val):
                    other = val[(i + 1) % len(val)]
                    wrong = clip(story, b, n_sentences - 2) if task == "ssc" else clip(other, b, n_sentences - 1)
                    items.append(dict(name=f"{task}_{a}" if a == b else f"{task}_{a}-{b}",
                                      prompt=[clip(story, a, k) for k in range(n_sentences - 1)],
                                      good=clip(story, b, n_sentences - 1), bad=wrong))
    for name, rows in (("clips.jsonl", clips), ("bench.jsonl", items)):
        with open(os.path.join(out, name), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in rows)
    if mimi:
        random_mimi(os.path.join(out, "mimi_random.safetensors"), seed)
    return len(clips), len(items)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("out", help="folder to write (created)")
    a = ap.parse_args(argv)
    n_clips, n_items = write_demo(a.out)
    print(f"{a.out}: {n_clips} clips (clips.jsonl), {n_items} cloze items in 8 sets (bench.jsonl), "
          f"mimi_random.safetensors (random weights: plumbing, not speech)")


if __name__ == "__main__":
    main()
