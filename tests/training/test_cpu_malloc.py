"""training/cpu_malloc.py: big freed blocks stay in the process (no mmap, no fresh page faults), and training is
unchanged. Each check runs in a fresh process: mallopt is process-wide and cannot be undone, and this
test process has already called it (train.main does on CPU)."""
import os
import platform
import subprocess
import sys
import types

import pytest

from training import cpu_malloc

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

BLOCKS = """
import ctypes, resource, sys, torch
from training import cpu_malloc
applied = cpu_malloc.keep_freed_memory() if sys.argv[1] == "keep" else False
class MallInfo2(ctypes.Structure):  # glibc >= 2.33; hblkhd: bytes in blocks served by mmap
    _fields_ = [(f, ctypes.c_size_t) for f in ("arena ordblks smblks hblks hblkhd usmblks fsmblks "
                                                "uordblks fordblks keepcost").split()]
libc = ctypes.CDLL("libc.so.6")
mmapped = -1
if hasattr(libc, "mallinfo2"):
    libc.mallinfo2.restype = MallInfo2
def cycle():  # a logits-sized block (32 MiB + 16 KiB, above glibc's mmap cap), written and freed
    global mmapped
    without = libc.mallinfo2().hblkhd if hasattr(libc, "mallinfo2") else 0
    block = torch.empty(16 * 256 * 2049, dtype=torch.float32).fill_(1)
    if hasattr(libc, "mallinfo2"):
        mmapped = libc.mallinfo2().hblkhd - without  # what this block added to glibc's mmap total
    del block
for _ in range(10):  # the heap grows for the first few blocks, then has room for one
    cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    cycle()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, mmapped)
"""


def run(code, *args):
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True,
                          text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout.split()


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_freed_blocks_stay_in_the_heap():
    applied_default, faults_default, mmapped_default = run(BLOCKS, "default")
    applied_keep, faults_keep, mmapped_keep = run(BLOCKS, "keep")
    assert (applied_default, applied_keep) == ("False", "True")
    block = 16 * 256 * 2049 * 4
    if int(mmapped_default) != -1:  # glibc's own count: default mmaps the live block, kept does not
        assert int(mmapped_default) >= block and int(mmapped_keep) == 0, (mmapped_default, mmapped_keep)
    # default: each cycle faults fresh pages in (fewer faults with huge pages, never ~0); kept: none
    assert int(faults_default) >= 10, faults_default
    assert int(faults_keep) * 20 < int(faults_default), (faults_keep, faults_default)


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_training_losses_are_bit_identical():
    """The toy step (model, AdamW) for 3 + 2 steps: the same last loss to the bit, kept or not."""
    default = run(cpu_malloc.STEP_TIMER, "default", "2")
    keep = run(cpu_malloc.STEP_TIMER, "keep", "2")
    assert (default[0], keep[0]) == ("False", "True")
    assert default[3] == keep[3]


def test_elsewhere_it_does_nothing(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert cpu_malloc.keep_freed_memory() is False


def test_old_glibc_falls_back_to_no_mmap(monkeypatch):
    """glibc before ~2.26 refuses an mmap threshold over 32 MiB: then no block is mmapped at all."""
    calls = []

    class Mallopt:  # stands in for ctypes' function (argtypes, restype settable): refuses > 32 MiB
        def __call__(self, param, value):
            calls.append((param, value))
            return 0 if param == cpu_malloc.M_MMAP_THRESHOLD and value > 32 << 20 else 1

    old = types.SimpleNamespace(mallopt=Mallopt())
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(cpu_malloc.ctypes, "CDLL", lambda name: old)
    assert cpu_malloc.keep_freed_memory() is True
    assert calls == [(cpu_malloc.M_MMAP_THRESHOLD, cpu_malloc.KEEP_BYTES), (cpu_malloc.M_MMAP_MAX, 0),
                     (cpu_malloc.M_TRIM_THRESHOLD, cpu_malloc.KEEP_BYTES)]
