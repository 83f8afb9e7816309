# Tests import the top-level scripts as modules (model, tokenbin, ...): put the repo root on the path.
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """One torch thread: on a 2-core machine (CI, a laptop under load) two OpenMP threads fighting
    other work were measured several times slower than one; results do not depend on it."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
