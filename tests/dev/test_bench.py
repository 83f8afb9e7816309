"""dev/bench.py's new subcommands and options, fast: memory's JSON against dev/fsdp_memory.py directly, and
model --compile none (no inductor here: tests/test_compile.py covers compiling) writing the figures
dev/gpu_check.sh collects.

    .venv/bin/python -m pytest -q tests/dev/test_bench.py
"""
import json

import torch

from dev import bench
from dev import fsdp_memory as fm
from model import Decoder, ModelConfig


def test_memory_json_matches_estimator(tmp_path, capsys):
    out = tmp_path / "m.json"
    bench.main(["memory", "--preset", "360m", "--seq", "2048", "--batch", "4", "--world", "8",
                "--gpu_mem_gb", "80", "--json", str(out)])
    fig = json.loads(out.read_text())
    cfg = ModelConfig.preset("360m", vocab_size=2049, max_seq_len=2048)
    for reshard in (True, False):
        got = fig["estimate"][f"reshard_{reshard}"]
        want = fm.estimate(cfg, 2048, 4, 8, reshard)
        assert all(got[k] == want[k] for k in want)
        assert got["max_batch"] == fm.max_batch(cfg, 2048, 8, 80e9 * 0.9, reshard)
    with torch.device("meta"):
        assert fig["params"] == Decoder(cfg).num_params()
    assert "ESTIMATE" in capsys.readouterr().out  # labelled as an estimate, not a measurement


def test_model_bench_eager_json(tmp_path):
    out = tmp_path / "b.json"
    bench.main(["model", "--preset", "tiny", "--batch", "2", "--seq", "32", "--steps", "1", "--warmup", "1",
                "--device", "cpu", "--compile", "none", "--json", str(out)])
    fig = json.loads(out.read_text())
    assert set(fig["runs"]) == {"ours", "transformers"} and fig["compile"] == ["none"]
    assert fig["max_logit_diff"] < 1e-4  # same weights through Decoder.from_hf
    assert fig["runs"]["ours"]["tokens_per_s"] > 0 and fig["runs"]["ours"]["mfu"] is None  # no MFU on CPU
