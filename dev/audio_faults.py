"""
dev/audio_faults.py: tokenize_audio.py against bad and tricky inputs, each run as a user runs it (a
subprocess, `python tokenize_audio.py ...`), each outcome classified. The fast checks of the same cases
are tests (tests/test_tokenize_audio.py, tests/audio/); this is the table to read, for any checkout.

    OMP_NUM_THREADS=1 .venv/bin/python -m dev.audio_faults                   # this checkout (~2 min on 2 cores)
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.audio_faults --root /tmp/old   # another tree, e.g. an older commit

Each case expects either a clear error or a correct corpus. Outcomes:
    correct      exit 0 and the corpus is what the case says (a clip skipped with its reason, re-encoded ...)
    clear error  exit != 0, the last line `tokenize_audio.py: error: ...`, no traceback
    unprefixed   exit != 0 with a message, but not in that one-line form
    traceback    a Python traceback
    hang         still running after --timeout seconds
    silent       exit 0 and a wrong corpus (or an error that was expected and did not come)
    refused      a correct input refused (or a route this tree does not have)
"""
import argparse
import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import numpy as np

from audio.demo import RATE, random_mimi, signal, write_wav

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def float_wav(path, x):
    data = np.asarray(x, "<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32)
    with open(path, "wb") as f:
        f.write(b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
                + b"data" + struct.pack("<I", len(data)) + data)


def clip(audio, story="s", k=0, lang="en", split="train", **kw):
    return dict(audio=audio, story=story, sentence=k, lang=lang, split=split, **kw)


def jsonl(path, rows, gz=False):
    text = "".join(json.dumps(r) + "\n" for r in rows).encode()
    with open(path, "wb") as f:
        f.write(gzip.compress(text) if gz else text)
    return path


def skipped(out):
    path = os.path.join(out, "skipped.jsonl")
    return [json.loads(line)["reason"] for line in open(path)] if os.path.isfile(path) else []


def written(out):
    path = os.path.join(out, "meta.json")
    return json.load(open(path))["counts"].get("clips_written") if os.path.isfile(path) else None


def cases(d):
    """-> [(name, [argv per run], what happens between runs or None, "error" or a check of out_dir)]."""
    names = iter(range(10**6))  # every case its own manifest file
    ok = lambda *extra: [["--manifest", jsonl(f"{d}/ok_{next(names)}.jsonl", [clip("ok.wav"), *extra]), "--unpaired"]]  # noqa
    bad_clip = lambda name, reason: (name, ok(clip(f"{name}.wav", k=1)), None,  # noqa: E731
                                     lambda o: written(o) == 1 and skipped(o) == [reason])
    latin = f"{d}/latin1.jsonl"
    open(latin, "wb").write(json.dumps(clip("ok.wav", story="caf\u00e9"), ensure_ascii=False).encode("latin-1") + b"\n")
    open(f"{d}/cut.jsonl.gz", "wb").write(gzip.compress(open(latin, "rb").read() * 20)[:30])
    open(f"{d}/a_file", "w").close()
    en_fr = [clip("ok.wav"), clip("other.wav", lang="fr")]

    def fix_truncated():
        shutil.copy(f"{d}/full.wav", f"{d}/trunc.wav")

    def replace():
        st = os.stat(f"{d}/swap.wav")
        write_wav(f"{d}/swap.wav", signal(99, 0.8, RATE), RATE)
        os.utime(f"{d}/swap.wav", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    return [
        ("manifest not UTF-8 (latin-1)", [["--manifest", latin, "--unpaired"]], None, "error"),
        ("gzipped manifest", [["--manifest", jsonl(f"{d}/ok.jsonl.gz", [clip("ok.wav")], gz=True), "--unpaired"]],
         None, lambda o: written(o) == 1),
        ("gzipped manifest cut short", [["--manifest", f"{d}/cut.jsonl.gz", "--unpaired"]], None, "error"),
        ("out_dir is a file", [["--manifest", jsonl(f"{d}/m1.jsonl", [clip("ok.wav")]), "--unpaired",
                                "--out_dir", f"{d}/a_file"]], None, "error"),
        ("0-row dataset (parquet)", [["--hf_dataset", f"{d}/empty.parquet", "--lang", "en", "--split", "train",
                                      "--unpaired"]], None, "error"),
        ("another model's safetensors", [["--manifest", jsonl(f"{d}/m2.jsonl", [clip("ok.wav")]), "--unpaired",
                                          "--mimi_weights", f"{d}/other.safetensors"]], None, "error"),
        ("segment 1e305 s into its file", ok(clip("ok.wav", k=1, start=1e305, end=2e305)), None,
         lambda o: written(o) == 1 and skipped(o) == ["segment_outside"]),
        bad_clip("fifo", "not_a_file"), bad_clip("one_sample", "too_short"), bad_clip("ten_ms", "too_short"),
        bad_clip("x30", "out_of_range"), bad_clip("int16_in_float", "out_of_range"), bad_clip("huge", "out_of_range"),
        ("streamed WAV (size 0xFFFFFFFF)", ok(clip("stream.wav", k=1)), None, lambda o: written(o) == 2),
        ("EN-only manifest without --unpaired", [["--manifest", jsonl(f"{d}/en.jsonl", [clip("ok.wav")])]],
         None, "error"),
        ("every clip silent", [["--manifest", jsonl(f"{d}/sil.jsonl", [clip("silent.wav")]), "--unpaired"]],
         None, "error"),
        ("bench item with good = bad", [["--manifest", jsonl(f"{d}/m3.jsonl", en_fr), "--bench_manifest",
                                         jsonl(f"{d}/b.jsonl", [dict(name="x", prompt=None, good="ok.wav",
                                                                     bad="ok.wav")])]], None, "error"),
        ("truncated, then fixed", [["--manifest", jsonl(f"{d}/t.jsonl", [clip("ok.wav"), clip("trunc.wav", k=1)]),
                                    "--unpaired"]] * 2, fix_truncated, lambda o: written(o) == 2),
        ("file replaced in place", [["--manifest", jsonl(f"{d}/r.jsonl", [clip("swap.wav")]), "--unpaired"]] * 2,
         replace, lambda o: same_codes(o, f"{d}/swap.wav", f"{d}/mimi.safetensors")),
        ("dataset row with audio None", [["--hf_dataset", f"{d}/none_ds", "--lang", "en", "--split", "train",
                                          "--unpaired"]], None, lambda o: written(o) == 1 and skipped(o) == ["no_audio"]),
        ("dataset bench item, good and bad the same audio",
         [["--manifest", jsonl(f"{d}/m4.jsonl", en_fr), "--hf_bench", f"{d}/same_ds", "--bench_name", "x"]], None,
         lambda o: written(o) == 2 and skipped(o) == ["same_audio"]),
        ("Kaldi dir with a piped wav.scp", [["--kaldi_dir", f"{d}/kaldi", "--lang", "en", "--unpaired"]], None, "error"),
        ("lhotse CutSet, gzipped", [["--cuts", f"{d}/cuts.jsonl.gz", "--lang", "en", "--unpaired"]], None,
         lambda o: written(o) == 2),
    ]


def same_codes(out, wav, weights):
    """The corpus's en sentence 0 equals the file's own codes (it was re-encoded after a replacement)."""
    sys.path.insert(0, ROOT)
    import tokenbin
    from audio.decode import load_audio
    from audio.mimi import encode_batch, load_mimi
    x, _ = load_audio(wav, RATE, 60.0, 1e-3)
    want = encode_batch(load_mimi(weights, "cpu"), [x], "cpu")[0]
    return np.array_equal(np.asarray(tokenbin.load_split(out, "train").sentence("en", 0)), want)


def write_inputs(d):
    x = signal(1, 0.8, RATE)
    for name, seed in (("ok", 1), ("other", 2), ("swap", 3)):
        write_wav(f"{d}/{name}.wav", signal(seed, 0.8, RATE), RATE)
    write_wav(f"{d}/full.wav", signal(4, 0.9, RATE), RATE)
    open(f"{d}/trunc.wav", "wb").write(open(f"{d}/full.wav", "rb").read()[:15000])
    write_wav(f"{d}/one_sample.wav", x[:, :1], RATE)
    write_wav(f"{d}/ten_ms.wav", x[:, :240], RATE)
    write_wav(f"{d}/silent.wav", np.zeros((1, RATE)), RATE)
    float_wav(f"{d}/x30.wav", 30 * x[0])
    float_wav(f"{d}/int16_in_float.wav", np.round(x[0] * 32767))
    float_wav(f"{d}/huge.wav", np.where(np.arange(x.shape[1]) == 9, 1e30, x[0]))
    w = open(f"{d}/ok.wav", "rb").read()
    k = w.find(b"data")
    open(f"{d}/stream.wav", "wb").write(w[:4] + b"\xff" * 4 + w[8:k + 4] + b"\xff" * 4 + w[k + 8:])
    os.mkfifo(f"{d}/fifo.wav")
    os.makedirs(f"{d}/kaldi")
    open(f"{d}/kaldi/wav.scp", "w").write(f"r1 sox {d}/ok.wav -t wav - |\n")
    cut = lambda i, src: {"id": f"c{i}", "start": 0, "duration": 0.8, "channel": 0, "type": "MonoCut",  # noqa: E731
                          "supervisions": [{"id": f"s{i}", "recording_id": f"r{i}", "start": 0.0, "duration": 0.8,
                                            "channel": 0, "language": "English"}],
                          "recording": {"id": f"r{i}", "sources": [{"type": "file", "channels": [0], "source": src}],
                                        "sampling_rate": RATE, "num_samples": int(0.8 * RATE), "duration": 0.8,
                                        "channel_ids": [0]}}
    jsonl(f"{d}/cuts.jsonl.gz", [cut(0, f"{d}/ok.wav"), cut(1, f"{d}/other.wav")], gz=True)
    import torch
    from safetensors.torch import save_file
    save_file({"x": torch.zeros(3)}, f"{d}/other.safetensors")
    import datasets
    datasets.Dataset.from_dict({"audio": [], "lang": []}).to_parquet(f"{d}/empty.parquet")
    cell = {"bytes": open(f"{d}/ok.wav", "rb").read(), "path": "ok.wav"}
    struct_of = {"bytes": datasets.Value("binary"), "path": datasets.Value("string")}  # an Audio column's storage
    for name, cols in (("none_ds", {"audio": [cell, None]}), ("same_ds", {"good": [cell], "bad": [cell]})):
        ds = datasets.Dataset.from_dict(cols, features=datasets.Features(dict.fromkeys(cols, struct_of)))
        for c in cols:
            ds = ds.cast_column(c, datasets.Audio())
        ds.save_to_disk(f"{d}/{name}")
    random_mimi(f"{d}/mimi.safetensors")


def classify(runs, expect, out):
    rc, err = runs[-1]
    if rc is None:
        return "hang"
    if any("Traceback" in e for _, e in runs):
        return "traceback"
    last = err.strip().splitlines()[-1] if err.strip() else ""
    if "unrecognized arguments" in last:  # a route or flag this tree does not have
        return "refused"
    if expect == "error":
        if rc == 0:
            return "silent"
        return "clear error" if last.startswith("tokenize_audio.py: error: ") else "unprefixed"
    if rc != 0:
        return "refused"
    return "correct" if expect(out) else "silent"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--root", default=ROOT, help="the tree whose tokenize_audio.py runs")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before a run counts as a hang")
    a = ap.parse_args(argv)
    d = tempfile.mkdtemp(prefix="audio_faults_")
    write_inputs(d)
    table = {}
    for n, (name, runs, between, expect) in enumerate(cases(d)):
        out, got = f"{d}/out{n}", []
        for r, args in enumerate(runs):
            if r and between:
                between()
            argv = [sys.executable, os.path.join(a.root, "tokenize_audio.py"), "--threads", "1", "--out_dir", out,
                    "--mimi_weights", f"{d}/mimi.safetensors", *args]
            try:
                p = subprocess.run(argv, cwd=d, capture_output=True, text=True, timeout=a.timeout,
                                   env=dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=a.root))
                got.append((p.returncode, p.stderr))
            except subprocess.TimeoutExpired:
                got.append((None, ""))
                break
        table[name] = outcome = classify(got, expect, out)
        print(f"{outcome:12s} {name}" + (f"   [{got[-1][1].strip().splitlines()[-1][:110]}]"
                                          if got[-1][1].strip() and outcome != "correct" else ""), flush=True)
    kinds = ("correct", "clear error", "unprefixed", "traceback", "hang", "silent", "refused")
    print(f"\n{len(table)} inputs: " + ", ".join(f"{sum(v == k for v in table.values())} {k}" for k in kinds))
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
