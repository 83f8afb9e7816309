"""audio/shards.py: a shard is on disk before its name says done, and reads back what was written.
Run: .venv/bin/python -m pytest -q tests/audio/test_shards.py"""
import os

import numpy as np

from audio.shards import read_shards, write_shard


def test_write_shard_syncs_before_rename(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(os, "fsync", lambda fd: calls.append("fsync"))
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (calls.append("replace"), real_replace(a, b)))
    write_shard(str(tmp_path), [("c3", np.arange(4, dtype=np.uint16), 0.3, "d3")], [("c5", "silent", "peak 0")])
    assert calls == ["fsync", "replace"] and os.listdir(tmp_path) == ["shard_c3.npz"]
    done, seconds, digests = read_shards(str(tmp_path))
    assert done["c5"] == ("silent", "peak 0") and done["c3"].tolist() == [0, 1, 2, 3]
    assert seconds == {"c3": 0.3} and digests == {"c3": "d3"}
    assert read_shards(str(tmp_path), keys={"c5"})[0] == {"c5": ("silent", "peak 0")}
