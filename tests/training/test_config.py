"""training/config.py: every train.py value is checked against its default's type and its range (VALID,
beside the defaults); the error names the key and the range; `train.py --help` prints every key.

    .venv/bin/python -m pytest -q tests/training/test_config.py
"""
import os
import subprocess
import sys

import pytest

import train
from training.config import ConfigError, key_comments, parse

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REFUSED = [  # (arguments, what the one-line error must say): each but the 3 marked was taken before VALID
    (["--compile=flase"], "compile='flase' is a str, expected bool or None"),  # was a truthy string
    (["--compile=1"], "compile=1 is a int, expected bool or None"),
    (["--reshard_after_forward=yes"], "reshard_after_forward='yes' is a str, expected bool"),  # refused before
    (["--grad_clip=-1"], "grad_clip=-1.0: must be in [0, inf)"),                # flipped the gradients
    (["--weight_decay=-0.1"], "weight_decay=-0.1: must be in [0, inf)"),
    (["--max_iters=0"], "max_iters=0: must be in [1, inf)"),                    # exited 0, nothing trained
    (["--eval_iters=0"], "eval_iters=0: must be in [1, inf)"),                  # was "not finite"
    (["--lang_probs=en"], "lang_probs='en' is a str, expected dict or None"),   # a traceback in the sampler
    (["--data_mix=data/x"], "data_mix='data/x' is a str, expected dict or None"),
    (["--learning_rate=-3e-4"], "learning_rate=-0.0003: must be in [0, inf)"),
    (["--learning_rate=inf"], "learning_rate='inf' is a str"),  # not a literal: a string (refused before)
    (["--min_lr=-1e-5"], "min_lr=-1e-05: must be in [0, inf)"),
    (["--warmup_frac=1.5"], "warmup_frac=1.5: must be in [0, 1]"),
    (["--p_fr=-0.1"], "p_fr=-0.1: must be in [0, 1]"),
    (["--beta1=1"], "beta1=1.0: must be in [0, 1)"),
    (["--beta2=-0.5"], "beta2=-0.5: must be in [0, 1)"),
    (["--seq_len=0"], "seq_len=0: must be in [1, inf)"),
    (["--batch_size=-4"], "batch_size=-4: must be in [1, inf)"),
    (["--grad_accum=0"], "grad_accum=0: must be in [1, inf)"),
    (["--tokens_per_step=-1"], "tokens_per_step=-1: must be in [0, inf)"),
    (["--seed=-1"], "seed=-1: must be in [0, inf)"),
    (["--stop_iter=-2"], "stop_iter=-2: must be in [0, inf)"),
    (["--log_interval=-1"], "log_interval=-1: must be in [0, inf)"),
    (["--ckpt_interval=-1"], "ckpt_interval=-1: must be in [0, inf)"),
    (["--switch=word"], "switch='word': choose one of ['sentence', 'story']"),
    (["--model_preset=huge"], "model_preset='huge': choose one of"),           # a traceback at build time
    (["--max_iters=True"], "max_iters=True is a bool, expected int"),  # refused before
]


@pytest.mark.parametrize("argv,message", REFUSED, ids=[" ".join(a) for a, _ in REFUSED])
def test_values_out_of_type_or_range_are_refused(argv, message):
    with pytest.raises(ConfigError) as e:
        train.get_config(argv)
    assert message in str(e.value)
    assert str(e.value).startswith(argv[0])  # names where the value came from


def test_a_config_file_is_checked_the_same_way(tmp_path):
    f = tmp_path / "c.py"
    f.write_text("grad_clip = -0.5\n")
    with pytest.raises(ConfigError, match=r"c.py: grad_clip=-0.5: must be in \[0, inf\) \(global grad norm"):
        train.get_config([str(f)])


def test_every_default_and_shipped_config_is_valid():
    parse(train.DEFAULTS, [], train.VALID)  # the defaults themselves
    for name in sorted(os.listdir(os.path.join(ROOT, "config"))):
        if name.endswith(".py"):
            train.get_config([os.path.join(ROOT, "config", name)])


def test_every_number_has_a_range_and_every_none_default_its_types():
    """A new key cannot skip the check: numbers need an interval, a None default the types it may take."""
    for key, default in train.DEFAULTS.items():
        spec = train.VALID.get(key)
        if type(default) in (int, float):
            assert isinstance(spec, str) and spec[0] in "[(", key
        if default is None:
            assert isinstance(spec, tuple), key
    assert set(train.VALID) <= set(train.DEFAULTS)


def test_valid_values_are_taken():
    c = train.get_config(["--compile=False", "--grad_clip=0", "--weight_decay=0", "--max_iters=1",
                          "--warmup_frac=1", "--p_fr=1", "--lang_probs={'en': 1.0}", "--compile_mode=model",
                          "--learning_rate=1"])
    assert (c["compile"], c["grad_clip"], c["max_iters"], c["learning_rate"]) == (False, 0.0, 1, 1.0)
    assert type(c["learning_rate"]) is float  # an int where a float is expected is taken as a float


def test_bad_range_spec_is_caught():
    with pytest.raises(ValueError, match="not an interval"):
        parse({"x": 1}, ["--x=2"], {"x": "0..1"})


def test_key_comments_read_the_config_block():
    c = key_comments(os.path.join(ROOT, "train.py"))
    assert set(c) == set(train.DEFAULTS)  # every key has a comment
    assert c["grad_clip"] == ("optimizer: AdamW", "global grad norm; 0 disables")
    section, text = c["data_mix"]  # a comment continued on the lines below
    assert section == "I/O" and text.startswith("else {corpus_dir: weight}") and "val loss per corpus" in text


def test_help_prints_every_key_with_its_default_range_and_comment():
    """It said "--help: needs a value"."""
    p = subprocess.run([sys.executable, "train.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "OMP_NUM_THREADS": "1"}, timeout=120)
    assert p.returncode == 0 and p.stderr == "", p.stderr
    lines = p.stdout.splitlines()
    for key, default in train.DEFAULTS.items():
        assert sum(line.split()[:1] == [f"--{key}={default!r}"] for line in lines) == 1, key
    flat = " ".join(p.stdout.split())
    assert "--grad_clip=1.0 [0, inf) global grad norm; 0 disables" in flat
    assert "--phase='pretrain' pretrain | interleave | finetune the data mode" in flat
    assert "--compile=None bool or None torch.compile;" in flat
    assert "I/O" in lines and "optimizer: AdamW" in lines  # the block's section titles
