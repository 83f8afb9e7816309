"""config/paper_*.py: every file parses with train.get_config, and each reading of the paper's stage
lengths chains its stages and adds up to the source's token budgets (config/paper_recipe.py).

    .venv/bin/python -m pytest -q tests/test_config.py
"""
import glob
import os

import pytest

import train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STEP_TOKENS = 614_400  # the paper's tokens per step: 300 rows of 2048
# tokens after pretraining, + interleaving, + fine-tuning (= the EN+FR baseline's total), as the source
# gives them (budget) or as its step counts 50k / 20k / 15k make them (text)
BUDGETS = {"text": (30.72e9, 43.008e9, 52.224e9), "budget": (46.08e9, 52.224e9, 61.44e9)}


def stage_configs(reading, size):
    prefix = "paper_budget_" if reading == "budget" else "paper_"
    return {stage: train.get_config([os.path.join(ROOT, "config", f"{prefix}{size}_{stage}.py")])
            for stage in ("pretrain", "interleave", "finetune", "baseline")}


def test_every_paper_config_parses():
    paths = sorted(glob.glob(os.path.join(ROOT, "config", "paper_*.py")))
    assert len(paths) == 18  # the shared recipe + 2 readings x 2 sizes x 4 stages + the 1b 8 x 80 GB split
    for path in paths:
        train.get_config([path])


@pytest.mark.parametrize("reading", ["text", "budget"])
@pytest.mark.parametrize("size", ["360m", "1b"])
def test_each_reading_adds_up(reading, size):
    c = stage_configs(reading, size)
    for stage, cfg in c.items():
        assert cfg["tokens_per_step"] == STEP_TOKENS and cfg["seq_len"] == 2048
        assert cfg["model_preset"] == size
        assert (cfg["phase"], cfg["data_mix"] is not None) == (
            {"baseline": "finetune"}.get(stage, stage), stage == "pretrain")  # only pretraining mixes
    # the chain: interleave and the baseline from the EN checkpoint, fine-tuning from interleaving
    assert c["interleave"]["init_from"] == c["baseline"]["init_from"] == c["pretrain"]["out_dir"]
    assert c["finetune"]["init_from"] == c["interleave"]["out_dir"]
    assert len({cfg["out_dir"] for cfg in c.values()}) == 4
    # EN pretraining: LibriHeavy EN + spoken TinyStories EN, ~56:20 by hours
    mix = c["pretrain"]["data_mix"]
    assert sorted(mix) == ["data/libriheavy_en", "data/spoken_tinystories_enfr"]
    assert mix["data/libriheavy_en"] / mix["data/spoken_tinystories_enfr"] == pytest.approx(56 / 20)
    steps = {stage: cfg["max_iters"] for stage, cfg in c.items()}
    tokens = [STEP_TOKENS * sum(steps[s] for s in stages) for stages in
              (["pretrain"], ["pretrain", "interleave"], ["pretrain", "interleave", "finetune"])]
    assert tokens == pytest.approx(BUDGETS[reading], rel=1e-4)
    # the matched baseline: EN pretraining, then EN+FR for the interleave + finetune budget
    assert STEP_TOKENS * (steps["pretrain"] + steps["baseline"]) == tokens[2]


def test_readings_differ_only_in_steps_and_outputs():
    for size in ("360m", "1b"):
        text, budget = stage_configs("text", size), stage_configs("budget", size)
        for stage in text:
            diff = {k for k in text[stage] if text[stage][k] != budget[stage][k]}
            assert diff <= {"max_iters", "out_dir", "init_from"}, (stage, diff)
        assert [budget[s]["max_iters"] for s in budget] == [75_000, 10_000, 15_000, 25_000]
        assert [text[s]["max_iters"] for s in text] == [50_000, 20_000, 15_000, 35_000]
