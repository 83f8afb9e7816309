"""cpu_malloc.py: freed big blocks stay in the process (no fresh page faults), and training is unchanged.

Each check runs in a fresh process: mallopt is process-wide and cannot be undone, and this test
process has already called it (train.main does on CPU)."""
import os
import subprocess
import sys

import pytest

import cpu_malloc

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GLIBC = sys.platform.startswith("linux") and os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")

FAULTS = """
import resource, sys, torch, cpu_malloc
applied = cpu_malloc.keep_freed_memory() if sys.argv[1] == "keep" else False
def cycle():  # a 40 MiB block, above glibc's largest dynamic mmap threshold (32 MiB), written and freed
    torch.empty(40 << 20, dtype=torch.uint8).fill_(1)
for _ in range(10):  # the heap grows for the first few blocks, then has room for one
    cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    cycle()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def run(code, *args):
    out = subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, check=True, capture_output=True,
                         text=True, env={**os.environ, "OMP_NUM_THREADS": "1"}).stdout.split()
    return out


@pytest.mark.skipif(not GLIBC, reason="glibc's mallopt only")
def test_freed_blocks_are_reused_without_page_faults():
    applied_default, faults_default = run(FAULTS, "default")
    applied_keep, faults_keep = run(FAULTS, "keep")
    assert applied_default == "False" and applied_keep == "True"
    pages = 10 * (40 << 20) // os.sysconf("SC_PAGE_SIZE")
    # default: every cycle maps fresh pages (each page faulted in once); kept: the heap already has them
    assert int(faults_default) > pages // 2, (faults_default, pages)
    assert int(faults_keep) < pages // 100, (faults_keep, pages)


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
