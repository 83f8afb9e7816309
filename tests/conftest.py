# Tests import the top-level scripts as modules (model, tokenbin, ...): put the repo root on the path.
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.synth import RATE, signal  # noqa: E402


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
    """A random-weight Mimi as safetensors, loaded by path like real weights: moshi's get_mimi(None)
    (random convolutions and transformer) with its semantic codebook filled with random centroids
    around the latents it produces (get_mimi(None) leaves the codebooks at zero, which would map
    everything to one unit); bf16 on disk like kyutai's release."""
    from moshi.models import loaders
    from safetensors.torch import save_file
    torch.manual_seed(0)
    mimi = loaders.get_mimi(None, device="cpu", num_codebooks=1)
    x = torch.tensor(np.stack([signal(s, 2.0, RATE)[0] for s in range(3)])[:, None], dtype=torch.float32)
    with torch.no_grad():  # latents of real-ish input, projected into the first codebook's space
        z = mimi.quantizer.rvq_first.input_proj(mimi._encode_to_unquantized_latent(x))
    z = z.transpose(1, 2).reshape(-1, z.shape[1])  # (frames, 256)
    codebook = mimi.quantizer.rvq_first.vq.layers[0]._codebook
    g = torch.Generator().manual_seed(0)
    codebook.embedding_sum.copy_(z.mean(0) + z.std(0) * torch.randn(codebook.embedding_sum.shape, generator=g))
    path = tmp_path_factory.mktemp("mimi") / "mimi_random.safetensors"
    save_file({k: v.to(torch.bfloat16).contiguous() for k, v in mimi.state_dict().items()}, str(path))
    return str(path)
