"""training/checkpoint.py on one process: the sharded directory's round trip, checksums that catch flipped
bytes in a shard and a changed meta.json, an atomic save (a crash mid-write, a kill between the renames, a
full disk), an index pickle that would run code, an older ckpt.pt. Several processes: tests/test_train.py.

    .venv/bin/python -m pytest -q tests/training/test_checkpoint.py
"""
import errno
import json
import os
import pickle

import pytest
import torch
import torch.nn.functional as F

from training import checkpoint as ckpt
from model import Decoder, ModelConfig, load_model

INFO = dict(config={"lang_probs": None, "world_size": 1}, phase="pretrain", meta={}, sampler={})


def trained(seed=0):
    """A tiny model and its AdamW after one step (so the optimizer has state)."""
    torch.manual_seed(seed)
    model = Decoder(ModelConfig.preset("tiny", 65))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randint(0, 65, (2, 16))
    F.cross_entropy(model(x).flatten(0, 1), x.flatten()).backward()
    opt.step()
    return model, opt


def save(out, step=1, seed=0):
    model, opt = trained(seed)
    ckpt.save_training_state(str(out), model, opt, True, step=step, **INFO)
    return model, opt


def flip_bytes(path, n=32):
    """Flip n bytes in the middle of a file (a shard's tensor data)."""
    data = bytearray(open(path, "rb").read())
    for i in range(len(data) // 2, len(data) // 2 + n):
        data[i] ^= 0xFF
    open(path, "wb").write(bytes(data))


def test_round_trip_is_exact_and_meta_json_is_plain(tmp_path):
    model, opt = save(tmp_path, step=3)
    assert sorted(os.listdir(tmp_path)) == ["ckpt"]
    assert sorted(os.listdir(tmp_path / "ckpt")) == [".metadata", "__0_0.distcp", "meta.json"]
    info = json.load(open(tmp_path / "ckpt" / "meta.json"))  # plain JSON, no tensor loaded
    assert (info["step"], info["phase"], info["state"]) == (3, "pretrain", ["model", "optimizer"])
    assert set(info["files"]) == {".metadata", "__0_0.distcp"} and all(len(f["sha256"]) == 64 for f in info["files"].values())
    d, back = ckpt.load_checkpoint(str(tmp_path))
    assert d == str(tmp_path / "ckpt") and back == info
    names = ckpt.index(d)
    assert names["model.tok_emb.weight"] == ((128, 64), "float32")
    assert "optimizer.blocks.0.attn.qkv.weight.exp_avg_sq" in names
    m2 = load_model(tmp_path)  # the consumers' loader: whole tensors on one process
    for k, v in model.state_dict().items():
        assert torch.equal(m2.state_dict()[k], v), k
    assert m2.lm_head.weight is m2.tok_emb.weight  # the tie survives
    opt2 = torch.optim.AdamW(m2.parameters(), lr=1e-3)
    ckpt.load_optimizer(d, m2, opt2)
    a, b = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert a.keys() == b.keys() and all(torch.equal(a[i][k], b[i][k]) for i in a for k in a[i])


def test_flipped_bytes_in_a_shard_are_a_clear_error(tmp_path):
    """32 flipped bytes inside the shard: DCP reads it without complaint; load_checkpoint (train.py, and
    model.load_model for eval_cloze, align_probe, sample, export_hf) refuses it, naming the file."""
    save(tmp_path)
    shard = tmp_path / "ckpt" / "__0_0.distcp"
    flip_bytes(shard)
    m = Decoder(ModelConfig.preset("tiny", 65))
    ckpt.load_weights(str(tmp_path / "ckpt"), m)  # the damage is invisible to DCP itself
    for load in (ckpt.load_checkpoint, load_model):
        with pytest.raises(ckpt.CheckpointError, match=rf"{shard}: corrupt: its sha256 does not match"):
            load(str(tmp_path))
    (tmp_path / "ckpt" / ".metadata").write_bytes(b"")
    with pytest.raises(ckpt.CheckpointError, match=r"\.metadata: missing or not [\d,]+ bytes \(and 1 more\)"):
        ckpt.load_checkpoint(str(tmp_path))


def test_changed_meta_json_is_caught(tmp_path):
    save(tmp_path)
    path = tmp_path / "ckpt" / "meta.json"
    info = json.load(open(path))
    json.dump({**info, "step": 4}, open(path, "w"))  # e.g. a bit of the step flipped, or an edit
    with pytest.raises(ckpt.CheckpointError, match="meta.json: corrupt: its checksum does not match"):
        ckpt.load_checkpoint(str(tmp_path))
    path.write_text("{not json")
    with pytest.raises(ckpt.CheckpointError, match="meta.json: cannot be read"):
        ckpt.load_checkpoint(str(tmp_path))


def test_a_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save(tmp_path, step=1)
    real = torch.save

    def crash(obj, f, *a, **k):  # DCP writes each tensor with torch.save
        real(obj, f, *a, **k)
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):  # DCP's wrapper taken off: Ctrl-C stays Ctrl-C
        save(tmp_path, step=2, seed=1)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt"]  # its ckpt.tmp removed on the way out
    assert ckpt.load_checkpoint(str(tmp_path))[1]["step"] == 1
    os.makedirs(tmp_path / "ckpt.tmp")  # what a SIGKILL leaves (tests/test_faults.py kills a real run)
    assert ckpt.remove_stale_tmp(str(tmp_path)) == [str(tmp_path / "ckpt.tmp")]
    assert os.listdir(tmp_path) == ["ckpt"]


def test_a_kill_between_the_renames_is_undone_at_the_next_start(tmp_path, monkeypatch, capsys):
    """The swap renames ckpt -> ckpt.old, then ckpt.tmp -> ckpt: a kill in between leaves no ckpt; the
    next start (remove_stale_tmp) puts ckpt.old back, whole."""
    save(tmp_path, step=1)
    real = os.rename

    def killed_before_the_second(a, b):  # (DCP renames its own .metadata.tmp first)
        if str(a).endswith("ckpt.tmp"):
            raise KeyboardInterrupt
        real(a, b)
    monkeypatch.setattr(os, "rename", killed_before_the_second)
    with pytest.raises(KeyboardInterrupt):
        save(tmp_path, step=2, seed=1)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["ckpt.old", "ckpt.tmp"]
    with pytest.raises(ckpt.CheckpointError, match="its checkpoint is .*ckpt.old: a save was killed between"):
        load_model(tmp_path)  # eval_cloze.py and the others say where it is
    assert sorted(ckpt.remove_stale_tmp(str(tmp_path))) == [str(tmp_path / "ckpt.old"), str(tmp_path / "ckpt.tmp")]
    assert "killed mid-save" in capsys.readouterr().out
    assert os.listdir(tmp_path) == ["ckpt"] and ckpt.load_checkpoint(str(tmp_path))[1]["step"] == 1


def test_full_disk_is_a_clear_error_and_leaves_no_tmp(tmp_path, monkeypatch):
    """ENOSPC mid-write -> CheckpointError naming the checkpoint, ckpt.tmp removed, the previous
    checkpoint intact; each retry leaves nothing behind either."""
    save(tmp_path, step=1)
    real = torch.save

    def full_disk(obj, f, *a, **k):
        real(obj, f, *a, **k)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(torch, "save", full_disk)
    for _ in range(3):
        with pytest.raises(ckpt.CheckpointError, match=r"ckpt: could not write the checkpoint \(No space "
                                                       r"left on device\); the previous one is intact"):
            save(tmp_path, step=2, seed=1)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt"]
    assert ckpt.load_checkpoint(str(tmp_path))[1]["step"] == 1


def test_non_finite_weights_are_not_saved(tmp_path):
    model, opt = trained()
    with torch.no_grad():
        model.blocks[1].mlp.up.weight[0, 0] = float("nan")
    with pytest.raises(ckpt.NonFiniteError, match=r"non-finite weights \['blocks.1.mlp.up.weight'\]; not saved"):
        ckpt.save_training_state(str(tmp_path), model, opt, True, step=1, **INFO)
    assert not os.path.exists(tmp_path / "ckpt")


class RunsCode:
    def __reduce__(self):
        return (os.system, ("touch /tmp/crosstalk_pwned",))


def test_an_index_that_would_run_code_is_refused(tmp_path):
    """.metadata is a pickle: one that names anything but DCP's index classes is refused before it can run,
    even with meta.json's checksums made to match (a foreign checkpoint, not a damaged one)."""
    save(tmp_path)
    d = tmp_path / "ckpt"
    (d / ".metadata").write_bytes(pickle.dumps(RunsCode()))
    info = json.load(open(d / "meta.json"))
    info["files"][".metadata"] = {"bytes": os.path.getsize(d / ".metadata"), "sha256": ckpt.sha256_file(d / ".metadata")}
    info["checksum"] = ckpt._checksum(info)
    json.dump(info, open(d / "meta.json", "w"))
    with pytest.raises(ckpt.CheckpointError, match=r"ckpt/.metadata: names posix.system, not a checkpoint index written by train.py"):
        load_model(tmp_path)
    assert not os.path.exists("/tmp/crosstalk_pwned")


def test_an_older_single_file_checkpoint_says_what_to_do(tmp_path):
    torch.save({"model": {}}, tmp_path / "ckpt.pt")
    for spec in (tmp_path, tmp_path / "ckpt.pt"):
        with pytest.raises(ckpt.CheckpointError, match="ckpt.pt: a single-file checkpoint of an older crosstalk"):
            load_model(spec)
    assert ckpt.init_kind(str(tmp_path)) == "checkpoint"
    with pytest.raises(ckpt.CheckpointError, match="no checkpoint there"):
        ckpt.load_checkpoint(str(tmp_path / "missing"))
