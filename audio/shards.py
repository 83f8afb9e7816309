"""
Shards: tokenize_audio.py's resumable work in progress, out_dir/shards/shard_*.npz.

A shard holds the codes of some work items (clips, segments, bench files), keyed by their index in
the run's work list, and the items skipped with their reasons. It is written atomically (temporary
name, fsync, rename) and named by its smallest index, so ranks and resumed runs never collide.
fingerprint.json says which manifest, weights and settings made them: shards of another run are
refused, never mixed in. An unreadable shard (a full disk, a copy cut short) is an error naming it.
"""
import glob
import json
import os

import numpy as np


def read_shards(shard_dir, index_only=False):
    """-> {clip index: codes uint16 array | (reason, detail)}, and audio seconds per encoded clip.
    index_only: -> just the set of indices some shard holds (reads only the small index arrays)."""
    done, seconds = {}, {}
    for f in sorted(glob.glob(os.path.join(shard_dir, "shard_*.npz"))):
        try:  # a zero-byte or half-written shard (a full disk, a copy cut short) must name itself
            with np.load(f, allow_pickle=False) as z:
                if index_only:
                    done.update(dict.fromkeys(z["idx"].tolist() + z["skip_idx"].tolist()))
                    continue
                idx, off, codes, secs = z["idx"], z["offsets"], z["codes"], z["seconds"]
                for k, i in enumerate(idx.tolist()):
                    done[i], seconds[i] = codes[off[k]:off[k + 1]], float(secs[k])
                for i, reason, detail in zip(z["skip_idx"].tolist(), z["skip_reason"], z["skip_detail"]):
                    done[i] = (str(reason), str(detail))
        except Exception as e:
            raise SystemExit(f"{f}: unreadable shard ({type(e).__name__}: {e}). Delete it and re-run the "
                             f"same command: its clips are encoded again.") from None
    return set(done) if index_only else (done, seconds)


def write_shard(shard_dir, encoded, skipped):
    """encoded: [(index, codes, seconds)], skipped: [(index, reason, detail)]; atomic. Named by the
    smallest index in it, which no other shard can hold, so ranks and resumed runs never collide."""
    first = min([e[0] for e in encoded] + [s[0] for s in skipped])
    path = os.path.join(shard_dir, f"shard_{first:010d}.npz")
    arrays = dict(idx=np.array([e[0] for e in encoded], np.int64),
                  offsets=np.concatenate([[0], np.cumsum([len(e[1]) for e in encoded])]).astype(np.int64),
                  codes=np.concatenate([e[1] for e in encoded] or [np.zeros(0, np.uint16)]),
                  seconds=np.array([e[2] for e in encoded], np.float64),
                  skip_idx=np.array([s[0] for s in skipped], np.int64),
                  skip_reason=np.array([s[1] for s in skipped], dtype=str).reshape(-1),
                  skip_detail=np.array([s[2] for s in skipped], dtype=str).reshape(-1))
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
        f.flush()
        os.fsync(f.fileno())  # on disk before the name says "done": a crash cannot leave a half shard
    os.replace(tmp, path)


def check_fingerprint(shard_dir, fingerprint):
    """Shards from another manifest, weights or settings must not be mixed into this corpus."""
    path = os.path.join(shard_dir, "fingerprint.json")
    if os.path.isfile(path):
        with open(path) as f:
            old = json.load(f)
        if old != fingerprint:
            raise SystemExit(f"{path}: shards were made from another manifest, weights or settings "
                             f"({', '.join(k for k in fingerprint if old.get(k) != fingerprint[k])} "
                             f"differ). Use a new --out_dir or delete {shard_dir} to start over.")
        return
    tmp = f"{path}.tmp{os.getpid()}"  # every rank writes the same bytes: the race is harmless
    with open(tmp, "w") as f:
        json.dump(fingerprint, f, indent=1, sort_keys=True)
    os.replace(tmp, path)
