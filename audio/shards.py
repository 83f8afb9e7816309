"""
Shards: tokenize_audio.py's resumable work in progress, out_dir/shards/shard_*.npz.

A shard holds the codes of some clips (clips, segments, bench files) and the clips skipped with their
reasons, each known by its content key (content_key): the clip's file path and segment times with
the file's size and modification time (a dataset cell: the dataset's fingerprint, row and column).
So a re-run encodes exactly what is new or changed, whatever else the manifest gained or lost: a file
fixed after it was skipped as truncated, or replaced in place, has a new key and is encoded again; a
clip whose key is in a shard is reused (the run counts them). Size and mtime, not a hash of the
bytes: stat is free, while hashing would read every file on every rank at every start (LibriHeavy is
terabytes), and make and rsync trust the same pair. What they miss: a file rewritten with the same
size and the same mtime (cp -p or touch -r from a same-length file, a 1-2 s mtime filesystem
rewritten within the second). To encode everything again, delete out_dir/shards.

A shard is written atomically (temporary name, fsync, rename) and named by its smallest key, which no
other shard holds (a run encodes only keys no shard has; ranks share none), so ranks and resumed runs
never collide. fingerprint.json holds the settings that change codes or skip decisions (weights,
dtype, limits): shards made with others are refused, never mixed in. An unreadable shard (a full disk,
a copy cut short) is an error naming it.
"""
import glob
import hashlib
import json
import os

import numpy as np

FORMAT = "content-keyed 2"  # fingerprint.json's "shards": shards of older runs were keyed by position


def file_stamp(path):
    """What a file's key knows of it: [absolute path, size, mtime in ns], or [absolute path, "missing"]
    (a file that does not exist yet is encoded once it appears). The path is part of the key: audio
    moved elsewhere is encoded again."""
    try:
        st = os.stat(path)
        return [os.path.abspath(path), st.st_size, st.st_mtime_ns]
    except OSError:
        return [os.path.abspath(path), "missing"]


def content_key(source, start, end, stamp=None):
    """The key of one clip: sha256 of its source, segment times and its file's stamp (file_stamp;
    None for a dataset cell, whose source names the dataset's fingerprint)."""
    return hashlib.sha256(json.dumps([source, start, end, stamp]).encode()).hexdigest()


def read_shards(shard_dir, keys=None, index_only=False):
    """-> {key: codes uint16 array | (reason, detail)}, and per encoded clip its audio seconds and the
    digest of its decoded samples (two clips with one digest are the same audio); keys: keep only these
    (shards also hold clips of earlier manifests and earlier versions of changed files).
    index_only: -> just the set of keys some shard holds (reads only the small key arrays)."""
    done, seconds, digests = {}, {}, {}
    for f in sorted(glob.glob(os.path.join(shard_dir, "shard_*.npz"))):
        try:  # a zero-byte or half-written shard (a full disk, a copy cut short) must name itself
            with np.load(f, allow_pickle=False) as z:
                if index_only:
                    done.update(dict.fromkeys(z["keys"].tolist() + z["skip_keys"].tolist()))
                    continue
                ks, off, codes, secs, dig = z["keys"].tolist(), z["offsets"], z["codes"], z["seconds"], z["digests"]
                for k, key in enumerate(ks):
                    if keys is None or key in keys:
                        done[key], seconds[key], digests[key] = codes[off[k]:off[k + 1]], float(secs[k]), str(dig[k])
                for key, reason, detail in zip(z["skip_keys"].tolist(), z["skip_reason"], z["skip_detail"]):
                    if keys is None or key in keys:
                        done[key] = (str(reason), str(detail))
        except Exception as e:
            raise SystemExit(f"{f}: unreadable shard ({type(e).__name__}: {e}). Delete it and re-run the "
                             f"same command: its clips are encoded again.") from None
    return set(done) if index_only else (done, seconds, digests)


def audio_digest(x):
    """What identifies a clip's audio: sha1 of its decoded 24 kHz float32 samples (16 hex digits)."""
    return hashlib.sha1(np.ascontiguousarray(x, np.float32).tobytes()).hexdigest()[:16]


def write_shard(shard_dir, encoded, skipped):
    """encoded: [(key, codes, seconds, audio digest)], skipped: [(key, reason, detail)]; atomic, named
    by the smallest key in it."""
    first = min([e[0] for e in encoded] + [s[0] for s in skipped])
    path = os.path.join(shard_dir, f"shard_{first}.npz")
    arrays = dict(keys=np.array([e[0] for e in encoded], dtype=str).reshape(-1),
                  offsets=np.concatenate([[0], np.cumsum([len(e[1]) for e in encoded])]).astype(np.int64),
                  codes=np.concatenate([e[1] for e in encoded] or [np.zeros(0, np.uint16)]),
                  seconds=np.array([e[2] for e in encoded], np.float64),
                  digests=np.array([e[3] for e in encoded], dtype=str).reshape(-1),
                  skip_keys=np.array([s[0] for s in skipped], dtype=str).reshape(-1),
                  skip_reason=np.array([s[1] for s in skipped], dtype=str).reshape(-1),
                  skip_detail=np.array([s[2] for s in skipped], dtype=str).reshape(-1))
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())  # on disk before the name says "done": a crash cannot leave a half shard
    os.replace(tmp, path)


def check_fingerprint(shard_dir, fingerprint):
    """Shards made with other weights or settings must not be mixed into this corpus."""
    fingerprint = dict(fingerprint, shards=FORMAT)
    path = os.path.join(shard_dir, "fingerprint.json")
    if os.path.isfile(path):
        try:
            with open(path) as f:
                old = json.load(f)
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: unreadable ({e}); delete {shard_dir} to start over") from None
        if old.get("shards") != FORMAT:
            raise SystemExit(f"{path}: these shards were made by an older tokenize_audio.py (keyed by "
                             f"position in the manifest, not by content); delete {shard_dir} to encode again")
        if old != fingerprint:
            differ = ", ".join(f"{k} {old.get(k)!r} then, {fingerprint[k]!r} now" for k in fingerprint
                               if old.get(k) != fingerprint[k])
            raise SystemExit(f"{path}: shards were made with other weights or settings ({differ}). Pass the "
                             f"earlier values (they made this corpus), or use a new --out_dir, or delete "
                             f"{shard_dir} to start over.")
        return
    tmp = f"{path}.tmp{os.getpid()}"  # every rank writes the same bytes: the race is harmless
    with open(tmp, "w") as f:
        json.dump(fingerprint, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
