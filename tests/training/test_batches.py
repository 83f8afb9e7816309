"""training/batches.py: the batches train.py steps on are the sampler's, in any order of requests; on CUDA
(faked here: no GPU on the test machine) batch i+1 is made and its copy queued when batch i is handed out.

    .venv/bin/python -m pytest -q tests/training/test_batches.py
"""
import numpy as np
import torch

from training.batches import DeviceBatches


class Rows:
    """A stand-in sampler: batch i is three (2, 4) int arrays holding i; it records what was asked."""
    def __init__(self):
        self.asked = []

    def get_batch(self, i):
        self.asked.append(i)
        return [np.full((2, 4), 10 * i + k, dtype=np.int64) for k in range(3)]


def test_cpu_batches_are_the_sampler_arrays_without_a_copy():
    rows = Rows()
    b = DeviceBatches(rows, "cpu")
    for i in (0, 1, 5, 2):
        x, y, lang = b(i)
        assert [int(t[0, 0]) for t in (x, y, lang)] == [10 * i, 10 * i + 1, 10 * i + 2]
    assert rows.asked == [0, 1, 5, 2]  # nothing made ahead on CPU
    arrays = rows.get_batch(3)
    assert np.shares_memory(torch.from_numpy(arrays[0]).numpy(), arrays[0])


def test_cuda_path_makes_the_next_batch_ahead(monkeypatch):
    monkeypatch.setattr(torch.Tensor, "pin_memory", lambda self: self)  # what CUDA would pin
    rows = Rows()
    b = DeviceBatches(rows, "cpu")
    b.cuda = True
    got = [int(b(i)[0][0, 0]) for i in (0, 1, 2, 7, 8)]
    assert got == [0, 10, 20, 70, 80]
    assert rows.asked == [0, 1, 2, 3, 7, 8, 9]  # one ahead each time; a jump (resume) is made on request
