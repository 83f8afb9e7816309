"""training/batches.py: the training batches on the device, pinned and one ahead on CUDA.

    batches = DeviceBatches(sampler, "cuda:0")
    x, y, lang = batches(i)        # sampler.get_batch(i) as device tensors (B, T) each

On CUDA a copy from pageable memory makes the host wait for the GPU's queue, so the host cannot run ahead of
the GPU; from pinned memory with non_blocking=True it is queued like a kernel (torch's pinned allocator keeps
each buffer until its copy has finished). Batch i+1 is sampled and its copy queued as batch i is handed out,
so sampling the next rows and copying them overlap the GPU's work on this one. On CPU the arrays become
tensors without a copy, as before. The sampler is a function of the index, so neither changes the data.
"""
import torch


class DeviceBatches:
    def __init__(self, sampler, device):
        self.sampler, self.device = sampler, torch.device(device)
        self.cuda = self.device.type == "cuda"
        self.ahead = None  # (index, tensors) of the batch made ahead (CUDA)

    def make(self, i):
        arrays = self.sampler.get_batch(i)
        if not self.cuda:
            return [torch.from_numpy(a) for a in arrays]
        return [torch.from_numpy(a).pin_memory().to(self.device, non_blocking=True) for a in arrays]

    def __call__(self, i):
        got = self.ahead[1] if self.ahead is not None and self.ahead[0] == i else self.make(i)
        if self.cuda:
            self.ahead = (i + 1, self.make(i + 1))
        return got
