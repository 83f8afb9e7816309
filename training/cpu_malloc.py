"""training/cpu_malloc.py: keep freed memory inside the process on Linux CPUs (the toy's step runs ~1.5x faster).

Why: glibc's malloc serves a block above its mmap threshold (which grows to at most 32 MiB) with a
fresh mmap and unmaps it again on free, and it hands the top of the heap back to the kernel above its
trim threshold. A toy training step (16 x 256 tokens, 2,049 units) allocates and frees several
logits-sized buffers (the logits, their log-softmax and both gradients) of 32 MiB + 16 KiB each, just
above that cap, so every step the kernel maps, zeroes and faults in ~128 MiB of fresh pages. Raising
both thresholds keeps that memory in the process for the next step: the arithmetic is untouched
(bit-identical losses, tests/training/test_cpu_malloc.py), only the kernel's work goes (docs/LOG.md
has the figures; the command below measures them again). The cost: the process keeps up to KEEP_BYTES of freed heap instead of returning it between steps.
GPU memory is not affected (CUDA has its own caching allocator), so train.py calls this on CPU only.
Other C libraries (musl, macOS) keep their own policy, and this does nothing there.

    OMP_NUM_THREADS=1 .venv/bin/python -m training.cpu_malloc   # the toy step in fresh processes, with and without
"""
import ctypes
import ctypes.util
import subprocess
import sys

KEEP_BYTES = 256 << 20    # both thresholds: blocks and a free heap top under 256 MiB stay in the process
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4  # mallopt parameters, glibc's <malloc.h>


def keep_freed_memory():
    """Raise glibc's mmap and trim thresholds for this process. True if glibc took both."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt  # glibc only: musl has no mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    # glibc before ~2.26 refuses an mmap threshold over 32 MiB, too low for a 32 MiB + 16 KiB block:
    # there, serve every block from the heap instead (no mmap at all)
    heap_only = mallopt(M_MMAP_THRESHOLD, KEEP_BYTES) or mallopt(M_MMAP_MAX, 0)
    # and the trim threshold too: with the mmap threshold alone, the freed blocks come back from the
    # heap top and are trimmed back to the kernel
    return bool(heap_only) & bool(mallopt(M_TRIM_THRESHOLD, KEEP_BYTES))


STEP_TIMER = """
import sys, time, resource, torch, torch.nn.functional as F
from model import Decoder, ModelConfig
from training import cpu_malloc
kept = cpu_malloc.keep_freed_memory() if sys.argv[1] == "keep" else False
torch.manual_seed(0)
model = Decoder(ModelConfig.preset("tiny", 2049))     # the toy recipe's model, batch and row length
opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
x, y = torch.randint(0, 2049, (2, 16, 256))
def step():
    loss = F.cross_entropy(model(x).flatten(0, 1), y.flatten())
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    return loss.item()
for _ in range(3):
    step()
r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
losses = [step() for _ in range(int(sys.argv[2]))]
r1, t1 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
print(kept, (t1 - t0) / len(losses), (r1.ru_stime - r0.ru_stime) / len(losses), losses[-1].hex())
"""


def main():
    import argparse
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3, help="alternating pairs of processes")
    args = ap.parse_args()
    runs = {"default": [], "keep": []}
    for _ in range(args.repeats):  # alternated, so a machine that slows down hurts both alike
        for mode in runs:
            out = subprocess.run([sys.executable, "-c", STEP_TIMER, mode, str(args.steps)], check=True,
                                 capture_output=True, text=True).stdout.split()
            runs[mode].append((out[0] == "True", float(out[1]), float(out[2]), out[3]))
    for mode, rs in runs.items():
        best = min(r[1] for r in rs)
        print(f"{mode:>7}: {best * 1e3:6.1f} ms/step (best of {len(rs)}), kernel {min(r[2] for r in rs) * 1e3:5.1f} "
              f"ms/step, mallopt applied {rs[0][0]}, last loss {float.fromhex(rs[0][3]):.6f}")
    same = len({r[3] for rs in runs.values() for r in rs}) == 1
    print(f"speed-up {min(r[1] for r in runs['default']) / min(r[1] for r in runs['keep']):.2f}x, "
          f"losses bit-identical: {same}")


if __name__ == "__main__":
    main()
