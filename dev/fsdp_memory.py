"""
dev/fsdp_memory.py: per-GPU memory of train.py under FSDP2, estimated from the model's shapes, and measured.

    .venv/bin/python -m dev.bench memory --preset 360m --seq 2048 --world 8 --gpu_mem_gb 80   # estimate + max batch
    .venv/bin/python -m dev.fsdp_memory --preset 1b --seq 2048 --world 1 --gpu_mem_gb 141     # the same, directly
    .venv/bin/python -m dev.bench memory --preset small --seq 256 --batch 4 --measure         # vs saved tensors (CPU)
    .venv/bin/python -m dev.fsdp_memory --preset 1b --seq 2048 --world 8 --gpu_mem_gb 80 --batch 19 --grad_accum 2 \
        --recompute selective      # the 1b plan for 8 x 80 GB (config/paper_1b_*.py)
    .venv/bin/python -m pytest -q tests/dev/test_fsdp_memory.py

What train.py holds per GPU under FSDP2 (MixedPrecisionPolicy(param_dtype=bf16, reduce_dtype=fp32), AdamW),
P parameters, W GPUs, B rows of T tokens per micro-step:
  - sharded, all the time: fp32 master parameters, fp32 gradients, AdamW's exp_avg and exp_avg_sq:
    16 P / W bytes (4 + 4 + 2 x 4).
  - gathered bf16 parameters: the root module (embedding, final norm, head) stays gathered; of the blocks,
    with reshard_after_forward=True the one computing and the one prefetched (2 blocks); with False every
    block stays gathered from its forward to its backward (all L blocks at the start of backward).
  - unsharded fp32 gradients, 4 P, with grad_accum > 1 and grad_sync=step (train.py's default): FSDP2
    accumulates every micro-step's gradients unsharded and reduce-scatters them once, on the last one.
  - activations kept for backward, B*T tokens, a = 2 bytes (bf16) or 4 (fp32), derived from the ops of
    model.py in eager mode (each line names the op that saves it; tests/dev/test_fsdp_memory.py checks the sum
    against what autograd and the checkpoints really keep). Without activation checkpointing (recompute off):
      RMSNorm (x2 per block, +1 final): x.float() 4d (fp32), rsqrt 4 (fp32, per token),
          the normed bf16 y a*d (saved by weight * y), its output a*d (saved by the next matmul)
      attention: the qkv matmul output a*(n_head + 2 n_kv)*hd (v is a view of it and keeps it alive),
          q and k after RoPE a*(d + n_kv*hd), SDPA's output a*d (also the o matmul's input: the kernel
          writes it (B,T,h,hd), so the reshape is a view) and logsumexp 4*n_head (fp32)
      MLP: gate, up, silu(gate), silu*up: 4 a*d_ff
      head: log_softmax's fp32 output 4*V (cross-entropy in fp32, as train.py), targets and ids 16
    recompute=block (train.py activation_checkpointing): a block keeps only its input a*d, and in backward the
    block being recomputed holds its whole activations once more (one block's "off" figure: an upper bound).
    recompute=selective: its input, and what the matmuls and attention computed: qkv a*(n_head + 2 n_kv)*hd,
    o a*d, gate and up 2 a*d_ff, down a*d, SDPA's output a*d and logsumexp 4*n_head (norms, RoPE and SiLU are
    recomputed), plus the one recomputed block as above.
    torch.compile (train.py on CUDA) recomputes cheap ops (norms, silu) in backward and saves less: the
    eager figure is the upper bound (measured on CPU, small preset, batch 4 x 256, bf16: compiled blocks
    save 36.0 MB where eager saves 46.5 MB, 0.77x: `python -m dev.bench memory --preset small --seq 256 --batch 4
    --measure --measure_compiled`).
  - transients at the peak: the head's forward holds bf16 logits + their fp32 copy + log-probs (10 V per
    token, 6 V beyond the saved 4 V) and its backward the fp32 gradients (~8 V beyond the saved); a
    block's backward holds its unsharded bf16 gradients and their fp32 copy for the reduce-scatter
    (6 bytes per block parameter) plus activation gradients (~3 a*d_ff + 8 d per token).
Not counted: the CUDA context and NCCL buffers (~1-2 GB, outside torch's allocator), allocator
fragmentation (max_memory_reserved - max_memory_allocated): hence a safety margin on the GPU's memory.
world 1 means FSDP2 on one GPU (torchrun --nproc_per_node=1); a plain `python train.py` uses autocast
instead (fp32 residual stream: ~2-4 more bytes per d per norm) and the same 16 P of state.
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from model import Decoder, ModelConfig, pad_vocab

GB = 1e9


def block_params(cfg):
    hd = cfg.d_model // cfg.n_head
    qkv_out = (cfg.n_head + 2 * cfg.n_kv_head) * hd
    return (cfg.d_model * qkv_out + (qkv_out if cfg.qkv_bias else 0) + cfg.n_head * hd * cfg.d_model
            + 3 * cfg.d_model * cfg.d_ff + 2 * cfg.d_model)


def root_params(cfg):  # embedding (+ untied head) and final norm: the padded tables, as nn.Parameters
    return pad_vocab(cfg.vocab_size) * cfg.d_model * (1 if cfg.tie_embeddings else 2) + cfg.d_model


def saved_bytes_per_token(cfg, a=2, recompute="off"):
    """{'block': bytes one block keeps for backward per token, 'head': the final norm + loss, 'block_off':
    one block's without checkpointing (what a recomputed block holds)}, a = bytes of the compute dtype (2:
    bf16 parameters as FSDP2 casts them; 4: fp32), recompute as train.py's activation_checkpointing."""
    d, ff, hd = cfg.d_model, cfg.d_ff, cfg.d_model // cfg.n_head
    norm = 4 * d + 4 + 2 * a * d
    qkv = a * (cfg.n_head + 2 * cfg.n_kv_head) * hd
    attn = qkv + a * (d + cfg.n_kv_head * hd) + a * d + 4 * cfg.n_head
    mlp = 4 * a * ff
    off = 2 * norm + attn + mlp
    block = {"off": off, "block": a * d,
             "selective": a * d + qkv + a * d + 2 * a * ff + a * d + (a * d + 4 * cfg.n_head)}[recompute]
    return {"block": block, "head": norm + 4 * cfg.vocab_size + 16, "block_off": off}


def estimate(cfg, seq, batch, world, reshard_after_forward=True, a=2, recompute="off", grad_accum=1,
             grad_sync="step"):
    """Bytes per GPU at the peak of a training step (after the first optimizer step, once gradients and
    AdamW state exist), by term; 'total' is their sum. The terms are the module docstring's."""
    P_block, P_root = block_params(cfg), root_params(cfg)
    P = cfg.n_layer * P_block + P_root
    tok = batch * seq
    act = saved_bytes_per_token(cfg, a, recompute)
    gathered_blocks = 2 if reshard_after_forward else cfg.n_layer
    terms = {
        "params_fp32_sharded": 4 * P / world,
        "grads_fp32_sharded": 4 * P / world,
        "adamw_fp32_sharded": 8 * P / world,
        "grads_fp32_unsharded": 4 * P if grad_accum > 1 and grad_sync == "step" else 0,
        "params_bf16_gathered": 2 * (P_root + min(gathered_blocks, cfg.n_layer) * P_block),
        "activations_blocks": tok * cfg.n_layer * act["block"],
        "activations_head": tok * act["head"],
        "activations_recomputed": tok * act["block_off"] if recompute != "off" else 0,
        "transient": max(tok * 8 * cfg.vocab_size,  # head backward: fp32 logit gradients
                         6 * P_block + tok * (3 * a * cfg.d_ff + 8 * cfg.d_model)),  # a block's backward
    }
    terms["total"] = sum(terms.values())
    return terms


def max_batch(cfg, seq, world, gpu_bytes, reshard_after_forward=True, a=2, **kw):
    """Largest micro-batch (rows of seq tokens) whose estimate fits gpu_bytes; 0 if not even one.
    The estimate grows with the batch (not linearly: the transient is a max), so a bisection."""
    fits = lambda b: estimate(cfg, seq, b, world, reshard_after_forward, a, **kw)["total"] <= gpu_bytes
    lo, hi = 0, 1
    while fits(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:  # fits(lo), not fits(hi)
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return lo


class _Kept(TorchDispatchMode):
    """Every storage an op makes in a forward; kept() = the bytes of those still alive elsewhere (held by
    autograd's saved tensors, a checkpoint's inputs or its saved op outputs), counted once per storage."""
    def __init__(self):
        super().__init__()
        self.made = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in tree_leaves(out):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self.made.setdefault(t.untyped_storage().data_ptr(), t.untyped_storage())
        return out

    def kept(self):  # our reference is one use: alive elsewhere if more
        return {p: s for p, s in self.made.items() if torch._C._storage_Use_Count(s._cdata) > 1}


def measure_saved(model, idx, targets):
    """Bytes kept for backward in one forward of train.py's loss (fp32 cross-entropy of the logits), counted
    once per storage (views share one) and without parameters and buffers: the tensors autograd saves
    (saved_tensors_hooks) and, with activation checkpointing, what the checkpoints hold instead (their inputs
    and saved op outputs: storages made in the forward and still alive after it). The independent measurement
    of estimate()'s activation terms. -> (bytes, {(shape, dtype): count} of the saved tensors)."""
    own = {t.untyped_storage().data_ptr() for t in [*model.parameters(), *model.buffers()]}
    seen, kinds = {}, {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in own and s.data_ptr() not in seen:
            seen[s.data_ptr()] = s.nbytes()
            key = (tuple(t.shape), str(t.dtype)[6:])
            kinds[key] = kinds.get(key, 0) + 1
        return t

    made = _Kept()
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), made:
        loss = F.cross_entropy(model(idx).flatten(0, 1).float(), targets.flatten())
    kept = {**{p: s.nbytes() for p, s in made.kept().items() if p not in own}, **seen}
    made.made.clear()
    loss.backward()  # frees the graph; also checks it was a real training forward
    return sum(kept.values()), kinds


def measured_vs_estimate(preset, seq, batch, dtype, vocab=2049, seed=0, device="cpu", compile_blocks=False,
                         recompute="off"):
    """(measured kept bytes, estimated activation bytes) for a preset in bf16 parameters (FSDP2's compute
    dtype, no autocast) or fp32, eager or with compiled blocks (as train.py on CUDA), with activation
    checkpointing as recompute, on device (CUDA: its SDPA kernels, which may save other tensors)."""
    cfg = ModelConfig.preset(preset, vocab_size=vocab, max_seq_len=max(seq, 1024))
    torch.manual_seed(seed)
    with torch.device(device):  # initialised where it runs: a 360m init on CPU costs seconds
        model = Decoder(cfg).to(dtype).set_recompute(recompute)
    if compile_blocks:
        for block in model.blocks:
            block.compile()
    g = torch.Generator().manual_seed(seed)
    idx, y = (torch.randint(0, vocab, (batch, seq), generator=g).to(device) for _ in range(2))
    got, _ = measure_saved(model, idx, y)
    est = estimate(cfg, seq, batch, 1, a=torch.finfo(dtype).bits // 8, recompute=recompute)
    return got, est["activations_blocks"] + est["activations_head"]


def format_terms(terms):
    return ", ".join(f"{k} {v / GB:.2f}" for k, v in terms.items() if k != "total") + f" -> total {terms['total'] / GB:.2f} GB"


def measure_fsdp_step(cfg, seq, batch, device, reshard_after_forward=True, compile_blocks=False, steps=2,
                      recompute="off", grad_accum=1):
    """Peak torch.cuda.max_memory_allocated of train.py's step (FSDP2 on one process, bf16 params, fp32
    reduce, fused AdamW on CUDA, fp32 cross-entropy, activation checkpointing as recompute, grad_accum
    micro-steps reduce-scattered once as grad_sync=step) after `steps` steps; None on CPU (no allocator
    statistics there: the run still checks that the code path works). Starts and ends a one-process group."""
    import os
    import tempfile

    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard
    cuda = device.startswith("cuda")
    with tempfile.TemporaryDirectory() as tmp:
        dist.init_process_group("nccl" if cuda else "gloo", init_method=f"file://{os.path.join(tmp, 'pg')}",
                                rank=0, world_size=1)
        try:
            torch.manual_seed(0)
            with torch.device(device):
                model = Decoder(cfg).set_recompute(recompute)
            if compile_blocks:
                for block in model.blocks:
                    block.compile()
            mesh = init_device_mesh("cuda" if cuda else "cpu", (1,))
            mp = MixedPrecisionPolicy(param_dtype=torch.bfloat16, reduce_dtype=torch.float32)
            for block in model.blocks:
                fully_shard(block, mesh=mesh, mp_policy=mp, reshard_after_forward=reshard_after_forward)
            fully_shard(model, mesh=mesh, mp_policy=mp)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=cuda)
            g = torch.Generator().manual_seed(0)
            idx, y = (torch.randint(0, cfg.vocab_size, (batch, seq), generator=g).to(device) for _ in range(2))
            if cuda:
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            for _ in range(steps):
                for micro in range(grad_accum):  # as train.train_step with grad_sync=step
                    model.set_requires_gradient_sync(micro == grad_accum - 1)
                    if not reshard_after_forward:
                        model.set_reshard_after_backward(micro == grad_accum - 1)
                    F.cross_entropy(model(idx).flatten(0, 1).float(), y.flatten()).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
            if not cuda:
                return None
            torch.cuda.synchronize()
            return {"max_allocated": torch.cuda.max_memory_allocated(), "max_reserved": torch.cuda.max_memory_reserved()}
        finally:
            dist.destroy_process_group()


def main(argv=None):
    """Per-GPU memory of train.py under FSDP2 (dev/fsdp_memory.py): the estimate by term for both
    reshard_after_forward settings, the largest micro-batch that fits --gpu_mem_gb, and with --measure the
    activation estimate against the bytes autograd and the checkpoints keep (CPU, eager) and, on CUDA, the
    whole estimate against torch.cuda.max_memory_allocated of a one-GPU FSDP2 step (eager and compiled blocks).

        .venv/bin/python -m dev.bench memory --preset 360m --seq 2048 --world 8 --gpu_mem_gb 80
        .venv/bin/python -m dev.bench memory --preset 1b --seq 2048 --world 8 --gpu_mem_gb 80 --batch 19 \
            --grad_accum 2 --recompute selective                         # config/paper_1b_*.py on 8 x 80 GB
        .venv/bin/python -m dev.bench memory --preset small --seq 256 --batch 4 --measure --recompute block
        .venv/bin/python -m dev.bench memory --preset 360m --seq 2048 --batch 8 --measure --device cuda
    """
    p = argparse.ArgumentParser(prog="python -m dev.bench memory", description=main.__doc__.split("\n")[0])
    p.add_argument("--preset", default="360m")
    p.add_argument("--vocab", type=int, default=2049)
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--batch", type=int, default=8, help="rows per GPU per micro-step")
    p.add_argument("--grad_accum", type=int, default=1, help="micro-steps per optimizer step")
    p.add_argument("--grad_sync", default="step", choices=["step", "micro"], help="train.py's grad_sync")
    p.add_argument("--recompute", default="off", choices=["off", "block", "selective"],
                   help="train.py's activation_checkpointing")
    p.add_argument("--reshard_after_forward", default="both", choices=["both", "True", "False"],
                   help="train.py's setting (default False): which to estimate and measure")
    p.add_argument("--world", type=int, default=8, help="GPUs sharing the FSDP2 shards")
    p.add_argument("--gpu_mem_gb", type=float, default=None, help="GPU memory (GB = 1e9 B): largest batch that fits")
    p.add_argument("--margin", type=float, default=0.1, help="share of --gpu_mem_gb kept free (CUDA context, "
                   "NCCL, fragmentation)")
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float32"], help="compute dtype")
    p.add_argument("--measure", action="store_true", help="also measure (see above)")
    p.add_argument("--saved_batch", type=int, default=None, help="with --measure: rows for the kept-bytes count "
                   "(default --batch; it holds every tensor of the forward while it counts)")
    p.add_argument("--measure_compiled", action="store_true", help="with --measure: also the saved bytes with "
                   "compiled blocks (inductor: minutes on CPU)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    cfg = ModelConfig.preset(a.preset, vocab_size=a.vocab, max_seq_len=max(a.seq, 1024))
    nb = 2 if a.dtype == "bfloat16" else 4
    P = cfg.n_layer * block_params(cfg) + root_params(cfg)
    kw = dict(recompute=a.recompute, grad_accum=a.grad_accum, grad_sync=a.grad_sync)
    fig = {"preset": a.preset, "params": P, "seq": a.seq, "batch": a.batch, "world": a.world, **kw, "estimate": {}}
    print(f"memory ESTIMATE per GPU (dev/fsdp_memory.py), preset {a.preset} ({P / 1e6:.1f}M params), seq {a.seq}, "
          f"micro-batch {a.batch} x grad_accum {a.grad_accum} (grad_sync {a.grad_sync}), activation checkpointing "
          f"{a.recompute}, {a.world} GPU(s), FSDP2 {a.dtype} params / fp32 master + AdamW; GB = 1e9 B")
    reshards = [True, False] if a.reshard_after_forward == "both" else [a.reshard_after_forward == "True"]
    for reshard in reshards:
        t = estimate(cfg, a.seq, a.batch, a.world, reshard, nb, **kw)
        fig["estimate"][f"reshard_{reshard}"] = t
        print(f"  reshard_after_forward={reshard}: {format_terms(t)}")
        if a.gpu_mem_gb:
            budget = a.gpu_mem_gb * 1e9 * (1 - a.margin)
            b = max_batch(cfg, a.seq, a.world, budget, reshard, nb, **kw)
            fig["estimate"][f"reshard_{reshard}"].update(max_batch=b, fits=t["total"] <= budget,
                                                         headroom_gb=(a.gpu_mem_gb * 1e9 - t["total"]) / GB)
            print(f"    micro-batch {a.batch}: {t['total'] / GB:.1f} of {a.gpu_mem_gb:g} GB, "
                  f"{'fits' if t['total'] <= budget else 'does NOT fit'} with the {a.margin:.0%} margin "
                  f"({(a.gpu_mem_gb * 1e9 - t['total']) / GB:.1f} GB free); largest micro-batch {b} rows of {a.seq} "
                  f"({estimate(cfg, a.seq, b, a.world, reshard, nb, **kw)['total'] / GB:.1f} GB)")
    if a.measure:
        dtype = getattr(torch, a.dtype)
        sb = a.saved_batch or a.batch
        got, est = measured_vs_estimate(a.preset, a.seq, sb, dtype, a.vocab, device=a.device, recompute=a.recompute)
        fig["saved_activations"] = {"batch": sb, "measured": got, "estimated": est, "ratio": est / got}
        print(f"  activations kept for backward ({sb} rows, eager, {a.device}, {a.dtype}, recompute {a.recompute}): measured "
              f"{got / 1e9:.4f} GB (saved tensors and checkpoints' inputs), estimated {est / 1e9:.4f} GB, "
              f"estimate/measured {est / got:.3f}")
        if a.measure_compiled:
            got_c, _ = measured_vs_estimate(a.preset, a.seq, sb, dtype, a.vocab, device=a.device,
                                            compile_blocks=True, recompute=a.recompute)
            fig["saved_activations"]["measured_compiled_blocks"] = got_c
            print(f"  the same with compiled blocks: measured {got_c / 1e9:.4f} GB, {got_c / got:.2f}x eager "
                  f"(estimate/measured {est / got_c:.2f}: the estimate is eager's, an upper bound)")
        for compile_blocks in ([False, True] if a.device.startswith("cuda") else [False]):
            for reshard in reshards:
                m = measure_fsdp_step(cfg, a.seq, a.batch, a.device, reshard, compile_blocks,
                                      recompute=a.recompute, grad_accum=a.grad_accum)
                t = estimate(cfg, a.seq, a.batch, 1, reshard, nb, **kw)["total"]
                key = f"fsdp_step_1gpu_reshard_{reshard}_compile_{compile_blocks}"
                if m is None:
                    print(f"  one-process FSDP2 step (reshard {reshard}) ran on {a.device}; no allocator figures on CPU")
                    continue
                fig[key] = {**m, "estimated_total_world1": t, "ratio": t / m["max_allocated"]}
                print(f"  {torch.cuda.get_device_name()}, 1 GPU FSDP2, reshard {reshard}, compiled blocks "
                      f"{compile_blocks}: max_memory_allocated {m['max_allocated'] / 1e9:.2f} GB (reserved "
                      f"{m['max_reserved'] / 1e9:.2f}), estimate {t / 1e9:.2f} GB, estimate/measured "
                      f"{t / m['max_allocated']:.2f}")
                if a.json:  # each figure on disk as soon as it is measured (dev/gpu_check.sh)
                    json.dump(fig, open(a.json, "w"), indent=1)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(fig, f, indent=1)
        print(f"  figures -> {a.json}")
    return fig


if __name__ == "__main__":
    main(sys.argv[1:])
