"""audio/mimi.py: Mimi weights are safetensors only (a pickle would reach torch.load).
Run: .venv/bin/python -m pytest -q tests/audio/test_mimi.py"""
import pytest
import torch

import tokenize_audio as ta
from audio.mimi import resolve_weights


def test_mimi_weights_must_be_safetensors(mimi_path, tmp_path):
    from safetensors.torch import load_file
    pickled = tmp_path / "mimi.pt"  # the same weights as a pickle: torch.load would have run it
    torch.save(load_file(mimi_path), pickled)
    args = ta.get_args(["--manifest", "x.jsonl", "--out_dir", str(tmp_path), "--mimi_weights", str(pickled)])
    with pytest.raises(SystemExit, match="mimi.pt is not a safetensors file"):
        resolve_weights(args)
    args.mimi_weights = mimi_path
    assert resolve_weights(args) == (mimi_path, None, None)
