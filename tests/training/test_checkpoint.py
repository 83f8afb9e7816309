"""training/checkpoint.py: atomic save, checksums that catch flipped bytes in the tensor data, clear errors.

    .venv/bin/python -m pytest -q tests/training/test_checkpoint.py
"""
import os
import zipfile
from dataclasses import asdict

import pytest
import torch

from training import checkpoint as ckpt
from model import Decoder, ModelConfig, load_model


def tiny_checkpoint(path):
    torch.manual_seed(0)
    model = Decoder(ModelConfig.preset("tiny", 65))
    opt_state = {"state": {"tok_emb.weight": {"step": torch.tensor(3.0),
                                              "exp_avg": torch.randn(128, 64).bfloat16()}},
                 "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.98), "params": ["tok_emb.weight"]}]}
    obj = {"model_config": asdict(model.cfg), "model": model.state_dict(), "optimizer": opt_state,
           "step": 3, "config": {"lang_probs": None}, "phase": "pretrain", "meta": {}, "sampler": {}}
    ckpt.save_atomic(str(path), obj)
    return obj


def flip_bytes_inside(path, entry_suffix, n=32):
    """Flip n bytes in the middle of the zip entry (a tensor's raw data) whose name ends so."""
    with zipfile.ZipFile(path) as z:
        info = max((i for i in z.infolist() if i.filename.endswith(entry_suffix)), key=lambda i: i.file_size)
    assert info.compress_type == zipfile.ZIP_STORED  # torch.save stores tensor bytes as they are
    data = bytearray(open(path, "rb").read())
    name_len, extra_len = (int.from_bytes(data[info.header_offset + o: info.header_offset + o + 2], "little")
                           for o in (26, 28))
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
    for i in range(start, start + n):
        data[i] ^= 0xFF
    open(path, "wb").write(bytes(data))


def test_round_trip_and_checksums_cover_every_tensor(tmp_path):
    obj = tiny_checkpoint(tmp_path / "ckpt.pt")
    back = ckpt.load_verified(str(tmp_path / "ckpt.pt"))
    assert back.keys() == obj.keys() and back["step"] == 3
    for k, v in obj["model"].items():
        assert torch.equal(back["model"][k], v)
    sums = torch.load(tmp_path / "ckpt.pt", weights_only=True)["checksums"]
    assert {"model/tok_emb.weight", "optimizer/state/tok_emb.weight/exp_avg",
            "optimizer/state/tok_emb.weight/step", ckpt.OTHER} <= set(sums)
    assert len(sums) == len(obj["model"]) + 2 + 1
    assert not [f for f in os.listdir(tmp_path) if ".tmp" in f]


def test_flipped_bytes_in_tensor_data_are_a_clear_error(tmp_path):
    """Issue 8.6: 32 flipped bytes inside the largest tensor: torch.load reads the file without
    complaint; ckpt.load_verified and model.load_model (eval_cloze, align_probe) refuse it."""
    path = tmp_path / "ckpt.pt"
    tiny_checkpoint(path)
    flip_bytes_inside(path, "")
    torch.load(path, weights_only=True)  # the damage is invisible to torch itself
    for load in (ckpt.load_verified, load_model):
        with pytest.raises(ckpt.CheckpointError, match=r"ckpt.pt: corrupt: 1 of \d+ checksums do not match") as e:
            load(str(path))
        assert "model/" in str(e.value)


def test_changed_metadata_is_caught(tmp_path):
    path = tmp_path / "ckpt.pt"
    obj = tiny_checkpoint(path)
    raw = torch.load(path, weights_only=True)
    torch.save({**raw, "step": 4}, path)  # e.g. a bit of the pickled step flipped
    with pytest.raises(ckpt.CheckpointError, match=r"\(other values\)"):
        ckpt.load_verified(str(path))
    torch.save(obj, path)  # written before checksums existed: loads, with a line saying so
    assert ckpt.load_verified(str(path))["step"] == 3


def test_atomic_save_keeps_previous_on_crash(tmp_path, monkeypatch):
    path = str(tmp_path / "ckpt.pt")
    ckpt.save_atomic(path, {"step": 1})

    def crash(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_atomic(path, {"step": 2})
    monkeypatch.undo()
    assert ckpt.load_verified(path) == {"step": 1} and os.listdir(tmp_path) == ["ckpt.pt"]


def test_full_disk_is_a_clear_error_and_leaves_no_tmp(tmp_path, monkeypatch):
    """Issue 8.11: ENOSPC mid-write -> CheckpointError naming the file, its temporary file removed,
    the previous checkpoint intact; each retry leaves nothing behind either."""
    import errno
    path = str(tmp_path / "ckpt.pt")
    ckpt.save_atomic(path, {"step": 1})
    real_save = torch.save

    def full_disk(obj, f):
        real_save(obj, f)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    monkeypatch.setattr(torch, "save", full_disk)
    for _ in range(3):
        with pytest.raises(ckpt.CheckpointError, match=r"ckpt.pt: could not write the checkpoint \(No space "
                                                       r"left on device\); the previous one is intact"):
            ckpt.save_atomic(path, {"step": 2})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.pt"]
    assert ckpt.load_verified(path) == {"step": 1}


def test_stale_tmp_files_are_removed(tmp_path, capsys):
    path = str(tmp_path / "ckpt.pt")
    for name in ("ckpt.pt.tmp123", "ckpt.pt.tmp9", "ckpt.pt.tmpnotapid", "other.pt.tmp5", "ckpt.pt"):
        (tmp_path / name).write_bytes(b"x")
    assert sorted(ckpt.remove_stale_tmp(path)) == ["ckpt.pt.tmp123", "ckpt.pt.tmp9"]
    assert sorted(os.listdir(tmp_path)) == ["ckpt.pt", "ckpt.pt.tmpnotapid", "other.pt.tmp5"]
    assert "killed mid-save" in capsys.readouterr().out
