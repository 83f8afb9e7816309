# Tests import the top-level scripts as modules (model, tokenbin, ...): put the repo root on the path.
import os
import subprocess
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from audio.demo import random_mimi  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One torch thread: on a 2-core machine (CI, a laptop under load) two OpenMP threads fighting
    other work were measured several times slower than one; results do not depend on it."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def small_toy_corpus(tmp_path_factory):
    """A small toy corpus (20 train / 40 val stories, 16 items a set), built once for the tests that
    only need some real toy data to run a model on (sample.py, export_hf.py)."""
    d = str(tmp_path_factory.mktemp("small_toy"))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, os.path.join(root, "data/toy_enfr/prepare.py"), f"--out_dir={d}",
                    "--n_train_stories=20", "--n_val_stories=40", "--n_bench=16", "--n_pairs=16"],
                   check=True, capture_output=True)
    return d


@pytest.fixture(scope="session")
def mimi_path(tmp_path_factory):
    """A random-weight Mimi as safetensors, loaded by path like real weights (audio/demo.py)."""
    return random_mimi(tmp_path_factory.mktemp("mimi") / "mimi_random.safetensors")
