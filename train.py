"""train.py: train a speech language model on a crosstalk corpus, one phase at a time (arXiv 2512.01865).

    phase        data (interleave.Sampler)                          paper
    pretrain     mono, lang_probs {"en": 1}                         EN-only pretraining
    interleave   every sentence of a story EN or FR, p_fr = 0.5     interleaving
    finetune     mono, lang_probs {"en": .5, "fr": .5}              bilingual fine-tuning
The EN+FR baseline is not a phase: the finetune data mode, run from the pretrain checkpoint for the
interleave + finetune budget (config/*_baseline.py).

The paper's chain on the toy corpus, as printed (each phase writes out/<phase>; a later phase starts
from the previous one unless init_from says otherwise; the defaults are a tiny model for a CPU):

    .venv/bin/python data/toy_enfr/prepare.py                                   # the toy corpus, once
    .venv/bin/torchrun --standalone --nproc_per_node=1 train.py --phase pretrain     # -> out/pretrain
    .venv/bin/torchrun --standalone --nproc_per_node=1 train.py --phase interleave   # -> out/interleave
    .venv/bin/torchrun --standalone --nproc_per_node=1 train.py --phase finetune     # -> out/finetune

Config (training/config.py): the plain values below, then config files and --key=value overrides, each
checked against its default's type and its range (VALID); `.venv/bin/python train.py --help` lists them.

    .venv/bin/python train.py config/toy_pretrain.py                          # one CPU process, fp32
    .venv/bin/python train.py config/toy_interleave.py --init_from=resume     # continue out_dir/ckpt/
    .venv/bin/torchrun --standalone --nproc_per_node=4 train.py config/paper_360m_pretrain.py   # the paper
    .venv/bin/torchrun --standalone --nproc_per_node=8 train.py config/paper_360m_interleave.py \
        --tokens_per_step=0 --batch_size=19 --grad_accum=2  # 300 rows of 2048 do not split in 8
    .venv/bin/torchrun --standalone --nproc_per_node=8 train.py config/paper_1b_interleave.py \
        config/paper_1b_8x80gb.py                           # 1b on 8 x 80 GB: 19 x 2, selective checkpointing

init_from: scratch (model_preset; vocabulary from the corpus) | resume (out_dir/ckpt/: model,
optimizer, step; the sampler is stateless, so the run continues on exactly the data it would have
seen; at any world size) | an earlier phase's out_dir or its ckpt/ (weights only: new optimizer, step 0,
this phase's schedule) | an HF model folder or Hub id (Decoder.from_hf: body kept, new speech embedding
and head; fetched by rank 0 while the others wait, and only rank 0 holds the whole weights).
What it is is decided by what is on disk (training/checkpoint.py: init_kind). A resume may change only
RESUME_MAY_CHANGE.

LR per stage: linear warmup over the first warmup_frac of max_iters to learning_rate, then linear
decay to min_lr at max_iters. No dropout, no other randomness: a batch is a function of (seed, step),
so there is no RNG state to checkpoint. Writes out_dir/ckpt/ (sharded: each rank its own part; atomic;
training/checkpoint.py), and log.jsonl, train.log and config.json (training/log.py: every record, the
console, the run described); with wandb_log, wandb too.

Under torchrun: FSDP2 in torchtitan's order (activation checkpointing, compile, shard), built on the meta
device when the weights come from a checkpoint or HF; with grad_accum > 1 gradients are reduce-scattered
once per step (grad_sync). dev/fsdp_memory.py estimates the memory of a split (config/paper_1b_8x80gb.py
is the one for 1b on 8 x 80 GB); dev/collectives.py counts the collectives of a step.
It holds out_dir/.lock meanwhile (training/lock.py: a second run there is refused). A checkpoint records
its corpus's units and file hashes (training/corpus.py): a start from a model of other units (another
tokenizer) and a resume on a corpus changed since are refused, naming what differs.
"""
import math
import os
import sys
import types
from contextlib import nullcontext

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.distributed.checkpoint.state_dict import StateDictOptions, set_model_state_dict
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.fsdp import MixedPrecisionPolicy, fully_shard

import tokenbin
from interleave import DataError, Mixture, Sampler, mixture_meta
from model import PRESETS, RECOMPUTE, Decoder, ModelConfig, estimate_mfu
from training.batches import DeviceBatches
from training.checkpoint import (CheckpointError, init_kind, is_checkpoint, load_checkpoint, load_optimizer,
                                 load_weights, parent_of, remove_stale_tmp, save_training_state)
from training.config import ConfigError, parse
from training.corpus import CorpusError, check_checkpoint, check_unchanged, check_units, records, trained_on
from training.cpu_malloc import keep_freed_memory
from training.hf_weights import HFError, resolve_hf
from training.lock import LockError, OutDirLock
from training.log import LogError, RunLog, session
from training.meter import Meter, NonFiniteError

# ----------------------------------------------------------------------------- config (defaults)
# I/O
out_dir = ""                 # ckpt/ and log.jsonl; "": out/<phase>
data_dir = "data/toy_enfr"   # corpus in tokenbin's format (train and val splits, meta.json)
data_mix = None              # else {corpus_dir: weight}, replacing data_dir: rows drawn from the
                             # corpora by weight (interleave.Mixture), e.g. {"data/libriheavy_en": 56,
                             # "data/stories_enfr": 20}; val loss per corpus and language
init_from = ""               # scratch | resume | a run's out_dir or ckpt/ | HF folder or id; "": the chain
                             # (pretrain: scratch, interleave: out/pretrain, finetune: out/interleave)
phase = "pretrain"           # the data mode (PHASES below)
log_interval = 10            # steps between log lines and log.jsonl records; 0: only the last step
eval_interval = 200          # steps between val losses (also at step 0 and at max_iters); 0: at max_iters only
eval_iters = 20              # val rows per language = eval_iters x rows per step (batch x accum x procs)
ckpt_interval = 0            # steps between checkpoints; 0: at every eval (and always at the end)
stop_iter = 0                # > 0: checkpoint and exit after this step, schedule unchanged (job chunks)
wandb_log = False            # also log every record to Weights & Biases (training/track.py; no-op without wandb)
wandb_project = "crosstalk"  # its project
wandb_run_name = ""          # its run name; "": out_dir
# data
seq_len = 256                # tokens per row (the paper: 2048)
batch_size = 16              # rows per process per micro-step
grad_accum = 1               # micro-steps per optimizer step
tokens_per_step = 0          # > 0: global target; sets grad_accum = it / (batch_size*seq_len*world)
p_fr = 0.5                   # interleave: probability that a sentence is FR
lang_probs = None            # None: the phase's default; else e.g. {"en": 0.5, "fr": 0.5}
switch = "sentence"          # interleave: language drawn per "sentence" or per "story" (ablation)
seed = 1337                  # model init and training data
# model
model_preset = "tiny"        # model.PRESETS name, used by init_from=scratch only
# optimizer: AdamW
learning_rate = 5e-4         # peak
min_lr = 0.0                 # at max_iters
warmup_frac = 0.05           # linear warmup over this share of max_iters
max_iters = 1000             # optimizer steps of this run (its schedule)
weight_decay = 0.1           # 2-D weights only
beta1 = 0.9                  # AdamW's decay of the mean gradient
beta2 = 0.98                 # and of the mean squared gradient
grad_clip = 1.0              # global grad norm; 0 disables
# system
device = "auto"              # auto: cuda if available, else cpu
dtype = "auto"               # auto: bfloat16 on cuda (fp32 master weights), float32 on cpu
compile = None               # torch.compile; None: on for cuda, off for cpu
compile_mode = "block"       # block: each block (one graph for every layer) | model: the whole model
reshard_after_forward = False  # FSDP2: True frees a block's gathered weights after its forward (less
                             # memory, one more all-gather per block in backward); False, for presets
                             # that fit (360m, 1b on 80-141 GB), keeps them for backward: one fewer all-gather
activation_checkpointing = "off"  # per block; block: keep its input only, run its forward again in
                             # backward (~1/3 more block compute); selective: keep matmul and attention
                             # outputs, recompute norms, RoPE, SiLU (no matmul twice; ~half the bytes)
grad_sync = "step"           # FSDP2 with grad_accum > 1; step: one reduce-scatter per block per optimizer
                             # step (holds unsharded fp32 gradients, 4 bytes a parameter per GPU: 3.9 GB at
                             # 1b, dev/fsdp_memory.py counts them); micro: one per micro-step (sharded only)
# -----------------------------------------------------------------------------
DEFAULTS = {k: v for k, v in globals().items() if k.islower() and not k.startswith("_")  # (PRESETS is no key)
            and isinstance(v, (int, float, str, bool, dict, type(None)))}
# what each value may be (training/config.py checks every value, the error names the key and this):
# an interval (brackets inclusive, inf: no bound), a list of choices, or the types of a None default
VALID = dict(data_mix=(dict, None), phase=["pretrain", "interleave", "finetune"], log_interval="[0, inf)",
             eval_interval="[0, inf)", eval_iters="[1, inf)", ckpt_interval="[0, inf)", stop_iter="[0, inf)",
             seq_len="[1, inf)", batch_size="[1, inf)", grad_accum="[1, inf)", tokens_per_step="[0, inf)",
             p_fr="[0, 1]", lang_probs=(dict, None), switch=["sentence", "story"], seed="[0, inf)",
             model_preset=sorted(PRESETS), learning_rate="[0, inf)", min_lr="[0, inf)", warmup_frac="[0, 1]",
             max_iters="[1, inf)", weight_decay="[0, inf)", beta1="[0, 1)", beta2="[0, 1)", grad_clip="[0, inf)",
             dtype=["auto", "bfloat16", "float32"], compile=(bool, None), compile_mode=["block", "model"],
             activation_checkpointing=list(RECOMPUTE), grad_sync=["step", "micro"])
PHASES = {"pretrain": dict(mode="mono", lang_probs={"en": 1.0}),
          "interleave": dict(mode="interleave", lang_probs=None),     # p_fr decides
          "finetune": dict(mode="mono", lang_probs={"en": 0.5, "fr": 0.5})}
PREVIOUS = {"interleave": "pretrain", "finetune": "interleave"}  # the chain: where a phase starts
# what a resume may change: where things are, how often to report, the split of the same global batch
# (batch_size x grad_accum x processes rows per step) and the system; every other key must be the
# checkpoint's, or the resumed run is not the run its saved config describes
RESUME_MAY_CHANGE = ("out_dir", "data_dir", "init_from", "log_interval", "eval_interval", "ckpt_interval",
                     "stop_iter", "wandb_log", "wandb_project", "wandb_run_name", "batch_size", "grad_accum",
                     "tokens_per_step", "device", "compile", "compile_mode", "reshard_after_forward",
                     "activation_checkpointing", "grad_sync")
EVAL_SEED = 20251201         # val batches are the same in every run and phase


# ----------------------------------------------------------------------------- set-up

def get_config(argv):
    """The config as a dict: DEFAULTS <- config files <- overrides, each checked against VALID; the chain's
    defaults filled in. --help prints every key (training/config.py) and exits."""
    cfg = parse(DEFAULTS, argv, VALID, __file__)
    cfg["out_dir"] = cfg["out_dir"] or f"out/{cfg['phase']}"
    cfg["init_from"] = cfg["init_from"] or (f"out/{PREVIOUS[cfg['phase']]}" if cfg["phase"] in PREVIOUS
                                            else "scratch")
    return cfg


def check_chain(C):
    """A later phase of the default chain needs the earlier phase's checkpoint: say which command makes it."""
    prev = PREVIOUS.get(C.phase)
    if prev and C.init_from == f"out/{prev}" and not is_checkpoint(f"out/{prev}"):
        raise CheckpointError(f"phase {C.phase} starts from out/{prev}/ckpt, which does not exist: run "
                              f"`torchrun --standalone --nproc_per_node=1 train.py --phase {prev}` first, or "
                              f"give --init_from (scratch, a checkpoint or an HF model).")


def setup_system(C):
    """Processes (torchrun sets RANK), device, dtype and the step's size -> a namespace S."""
    distributed = "RANK" in os.environ
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if C.tokens_per_step:  # a global target: grad_accum follows from batch_size and the world size
        C.grad_accum, left = divmod(C.tokens_per_step, C.batch_size * C.seq_len * world)
        if left or not C.grad_accum:
            *_, b, a = min((abs(b * a * C.seq_len * world - C.tokens_per_step), abs(b - C.batch_size),
                            b, a) for b in range(1, 2 * C.batch_size + 1) for a in range(1, 257))
            raise ConfigError(f"tokens_per_step={C.tokens_per_step} does not split into {world} processes"
                              f" x batch_size {C.batch_size} x seq_len {C.seq_len} x grad_accum. Nearest: "
                              f"--tokens_per_step=0 --batch_size={b} --grad_accum={a} "
                              f"({b * a * C.seq_len * world:,} tokens per step)")
    dev = C.device if C.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    dev_type = "cuda" if dev.startswith("cuda") else "cpu"
    if dev_type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device={C.device!r}: this machine has no CUDA device (torch {torch.__version__} sees "
                          f"none); use --device=cpu, or auto")
    use_compile = dev_type == "cuda" if C.compile is None else C.compile
    if distributed and use_compile and C.compile_mode == "model":
        raise ConfigError("compile_mode=model under torchrun: FSDP2's hooks at every block would split the "
                          "whole-model graph at each block anyway (each block compiled alone, silently). Use "
                          "--compile_mode=block (the same graphs, said so), or one process without torchrun.")
    if distributed:
        if dev_type == "cuda":
            dev = f"cuda:{int(os.environ['LOCAL_RANK'])}"
            torch.cuda.set_device(dev)
        dist.init_process_group("nccl" if dev_type == "cuda" else "gloo")
    dtype = {"auto": torch.bfloat16 if dev_type == "cuda" else torch.float32,
             "bfloat16": torch.bfloat16, "float32": torch.float32}[C.dtype]
    if dev_type == "cpu":  # training/cpu_malloc.py: the logits' buffers stay mapped between steps
        keep_freed_memory()
    torch.manual_seed(C.seed)
    return types.SimpleNamespace(
        distributed=distributed, rank=rank, world=world, master=rank == 0, dev=dev, dev_type=dev_type,
        dtype=dtype, use_compile=use_compile,
        tokens_per_step=C.batch_size * C.seq_len * C.grad_accum * world,
        # FSDP2 casts to dtype itself; one process computes under autocast (fp32 master weights)
        autocast=nullcontext() if distributed or dtype == torch.float32 else torch.autocast(dev_type, dtype=dtype))


def load_data(C, S):
    """The corpus (or mixture), this phase's training sampler and the fixed val rows -> a namespace D."""
    if not (C.data_mix is None or isinstance(C.data_mix, dict) and C.data_mix):
        raise ConfigError(f"data_mix={C.data_mix!r}: give None or {{corpus_dir: weight, ...}}")
    mix = C.data_mix or {C.data_dir: 1.0}  # {corpus_dir: weight}
    names, meta = mixture_meta(mix) if C.data_mix else ({C.data_dir: None}, tokenbin.read_meta(C.data_dir))
    splits = {d: [tokenbin.load_split(d, split) for split in ("train", "val")] for d in mix}
    corpus = records({d: tokenbin.read_meta(d) for d in mix})  # units and file hashes, kept in each checkpoint
    bnd = tokenbin.story_boundary_token(meta)
    mode = PHASES[C.phase]["mode"]
    probs = C.lang_probs if C.lang_probs is not None else PHASES[C.phase]["lang_probs"]
    # each phase draws its own rows: with one data seed, every row a later phase drew in EN would be
    # the pretraining row of the same step, replayed in the same order
    data_seed = C.seed * len(PHASES) + list(PHASES).index(C.phase)
    kw = dict(mode=mode, p_fr=C.p_fr, lang_probs=probs, switch=C.switch, seed=data_seed, rank=S.rank,
              world_size=S.world, boundary_token=bnd)
    sampler = (Mixture({names[d]: splits[d][0] for d in mix}, {names[d]: w for d, w in mix.items()},
                       C.seq_len, C.batch_size, **kw) if C.data_mix
               else Sampler(splits[C.data_dir][0], C.seq_len, C.batch_size, **kw))
    # val: one-language rows 0 .. eval_iters x rows per step - 1 of each corpus, dealt round-robin to the
    # ranks (row g to rank g % world): the same rows, so the same val loss, however the batch is split
    val_samplers = {(d, lang): Sampler(val, C.seq_len, 1, mode="mono", lang_probs={lang: 1.0},
                                       seed=EVAL_SEED, boundary_token=bnd)
                    for d, (_, val) in splits.items() for lang in val.langs}
    val_rows = list(range(S.rank, C.eval_iters * C.batch_size * C.grad_accum * S.world, S.world))
    return types.SimpleNamespace(meta=meta, mix=mix, names=names, vocab=tokenbin.model_vocab_size(meta),
                                 mode=mode, sampler=sampler, batches=DeviceBatches(sampler, S.dev),
                                 val_samplers=val_samplers, val_rows=val_rows, langs=sampler.langs, corpus=corpus)


def resume_checkpoint(C, S, D):
    """out_dir/ckpt for init_from=resume, checked: same phase, same settings but RESUME_MAY_CHANGE,
    the same rows per step, and a sampler that draws the same data -> (checkpoint directory, its info)."""
    if S.master:  # a save killed between its renames left the checkpoint as ckpt.old: put it back first
        remove_stale_tmp(C.out_dir)
    if S.distributed:
        dist.barrier()
    ckpt_path, ckpt = load_checkpoint(C.out_dir)
    check_checkpoint(ckpt_path, ckpt, "this data_mix" if C.data_mix else C.data_dir, D.meta)
    if ckpt["phase"] != C.phase:
        raise CheckpointError(f"{ckpt_path} is a {ckpt['phase']} checkpoint, this run is phase "
                              f"{C.phase}: resume continues the same phase. To start {C.phase} from "
                              f"it, use --init_from={ckpt_path} and another out_dir.")
    then = ckpt["config"]
    changed = [f"{k} (checkpoint {then.get(k, v)!r}, now {getattr(C, k)!r})" for k, v in DEFAULTS.items()
               if k not in RESUME_MAY_CHANGE and then.get(k, v) != getattr(C, k)]
    rows = (then["batch_size"] * then["grad_accum"] * then.get("world_size", 1), C.batch_size * C.grad_accum * S.world)
    if rows[0] != rows[1]:
        changed.append(f"rows per step, batch_size x grad_accum x processes (checkpoint {rows[0]}, "
                       f"now {rows[1]})")
    if changed:
        raise ConfigError(f"resume from {ckpt_path} with other settings: {'; '.join(changed)}. The run "
                          f"would not continue the one its checkpoint describes; keep them. Only "
                          f"{', '.join(RESUME_MAY_CHANGE)} may change (rows per step kept).")
    check_unchanged(ckpt_path, ckpt.get("corpus"), D.corpus)  # the same files, wherever data_dir is now
    if "optimizer" not in ckpt["state"]:
        raise CheckpointError(f"{ckpt_path} holds weights only (no optimizer state): it can start a phase "
                              f"(--init_from={ckpt_path}, another out_dir) but not be resumed.")
    try:  # the global batch re-split: rows per step checked above, the sampler checks the rest
        D.sampler.load_state_dict({**ckpt["sampler"], "batch_size": C.batch_size, "world_size": S.world})
    except ValueError as e:
        raise CheckpointError(f"{ckpt_path}: {e}") from None
    return ckpt_path, ckpt


def hf_model(C, S, D):
    """init_from an HF model: rank 0 resolves it (a Hub id: downloads it once) while the other ranks wait,
    and only rank 0 reads the weights; the others get the same shape on the meta device (build_model
    sends them their shards)."""
    folder = [resolve_hf(C.init_from, None) if S.master else None]
    if S.distributed:
        dist.broadcast_object_list(folder, src=0)
    return Decoder.from_hf(folder[0], vocab_size=D.vocab, weights=S.master or not S.distributed)


def build_model(C, S, D):
    """The model (from scratch, a checkpoint or HF weights), in torchtitan's order: activation
    checkpointing, compile, shard -> (model, first step, (the checkpoint directory it came from and its
    info, or None twice), (parameters, training FLOPs per token, the same counting causal attention only)).
    Scratch
    initialises the whole model on every rank (seeded: the same weights); a checkpoint or HF weights are
    loaded into the model built on the meta device after sharding, so each rank holds only its shards."""
    kind, step, ckpt_path, ckpt, hf = init_kind(C.init_from), 0, None, None, None
    if kind in ("resume", "checkpoint"):
        ckpt_path, ckpt = resume_checkpoint(C, S, D) if kind == "resume" else load_checkpoint(C.init_from)
        step = ckpt["step"] if kind == "resume" else 0
        if kind == "checkpoint":  # (resume_checkpoint checked its own)
            check_checkpoint(ckpt_path, ckpt, "this data_mix" if C.data_mix else C.data_dir, D.meta)
        cfg = ModelConfig(**ckpt["model_config"])
    elif kind == "scratch":
        cfg = ModelConfig.preset(C.model_preset, D.vocab)
    else:  # an HF model: body kept, new speech embedding and head (model.py documents the rule)
        check_units(C.init_from, trained_on(C.init_from)[0], C.data_dir, D.meta)  # an export_hf.py folder
        hf = hf_model(C, S, D)
        cfg = hf.cfg
    cfg.max_seq_len = max(cfg.max_seq_len, C.seq_len)  # RoPE tables (not in the state dict)
    if cfg.vocab_size != D.vocab:
        raise CheckpointError(f"{C.init_from}: model vocabulary {cfg.vocab_size} != {D.vocab} of "
                              f"{C.data_dir} (meta.json vocab_size + boundary): corpus/vocabulary mismatch.")
    on_meta = kind in ("resume", "checkpoint") or hf is not None and S.distributed
    if on_meta:
        with torch.device("meta"):
            model = Decoder(cfg)
    else:
        model = Decoder(cfg) if hf is None else hf
        if model.rope_cos.shape[0] != cfg.max_seq_len:
            model.init_rope()
        model.to(S.dev)
    size = model.num_params(), model.flops_per_token(C.seq_len), model.flops_per_token(C.seq_len, causal=True)
    model.set_recompute(C.activation_checkpointing)
    if S.use_compile:  # in place: parameter names stay the same (checkpoints load anywhere)
        for m in [model] if C.compile_mode == "model" else model.blocks:
            m.compile()
    if S.distributed:  # FSDP2: each block, then the root (embedding, final norm, head)
        mesh = init_device_mesh(S.dev_type, (S.world,))
        mp = MixedPrecisionPolicy(param_dtype=S.dtype, reduce_dtype=torch.float32)  # fp32 gradient reduction
        for m in [*model.blocks, model]:
            fully_shard(m, mesh=mesh, mp_policy=mp, reshard_after_forward=C.reshard_after_forward)
    if on_meta:  # memory for this rank's shards only, then the weights into them
        model.to_empty(device=S.dev)._tie_and_rope()
        if ckpt_path is not None:
            load_weights(ckpt_path, model)
        else:  # rank 0's whole HF weights, each rank keeping its shards
            set_model_state_dict(model, hf.state_dict() if S.master else {},
                                 options=StateDictOptions(full_state_dict=True, broadcast_from_rank0=True))
    return model, step, (ckpt_path, ckpt), size


def build_optimizer(C, S, model, ckpt_path):
    """AdamW, weight decay on 2-D weights only; on resume its state from the checkpoint (any world size
    wrote it: each rank reads its own shards)."""
    groups = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": C.weight_decay},
              {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]  # norms/biases
    opt = torch.optim.AdamW(groups, lr=C.learning_rate, betas=(C.beta1, C.beta2), fused=S.dev_type == "cuda")
    if C.init_from == "resume":
        load_optimizer(ckpt_path, model, opt)
    return opt


def prepare_out_dir(C, S, D, n_params, step, stop, parent):
    """out_dir made, log.jsonl, train.log and config.json opened (a resume keeps log.jsonl's records up
    to the checkpoint and appends to the others; training/log.py), a killed save's tmp files removed,
    and the run's header line -> RunLog."""
    if S.master:
        os.makedirs(C.out_dir, exist_ok=True)
    resolved = {**vars(C), "device": S.dev, "dtype": str(S.dtype)[6:], "compile": S.use_compile}
    log = RunLog(C.out_dir, D.langs, C.max_iters, S.master, step if C.init_from == "resume" else None, stop,
                 record=dict(config=resolved, world_size=S.world, tokens_per_step=S.tokens_per_step,
                             params=n_params, parent=parent),
                 track=(C.wandb_project, C.wandb_run_name or C.out_dir) if C.wandb_log else None)
    if S.master:
        remove_stale_tmp(C.out_dir)
        print(f"phase {C.phase} ({D.mode}, lang_probs {D.sampler.lang_probs}), init_from {C.init_from}, "
              f"{n_params / 1e6:.2f}M params | {S.world} x {S.dev} {str(S.dtype)[6:]}, compile "
              f"{C.compile_mode if S.use_compile else 'off'}{', FSDP2' if S.distributed else ''}"
              f" | {S.tokens_per_step:,} tokens/step = {C.batch_size} "
              f"x {C.seq_len} x grad_accum {C.grad_accum} x {S.world} | steps {step} -> {stop}")
    if step >= stop:  # a resume of a finished run (or one past its stop_iter)
        log.say(f"nothing to train: {C.out_dir}/ckpt is at step {step}, and this run stops at step {stop} "
                f"(max_iters {C.max_iters}, stop_iter {C.stop_iter})")
    return log


# ----------------------------------------------------------------------------- the step, evaluation, saving

def get_lr(step, C):
    warmup = max(1, int(C.warmup_frac * C.max_iters))
    if step < warmup:
        return C.learning_rate * (step + 1) / warmup
    frac = (step - warmup) / max(1, C.max_iters - warmup)  # 0 -> 1 over the rest of the run
    return C.learning_rate + min(frac, 1.0) * (C.min_lr - C.learning_rate)


def xent(model, batch, S, reduction):
    """(x, y, lang) on the device -> the fp32 cross-entropy of the model's logits, and y, lang."""
    x, y, lang = batch
    with S.autocast:
        logits = model(x)  # (B, T, V)
    return F.cross_entropy(logits.flatten(0, 1).float(), y.flatten(), reduction=reduction), y, lang


def train_step(model, opt, step, C, S, D, meter):
    """One optimizer step of grad_accum micro-batches -> the grad norm (a device tensor, no sync)."""
    lr = get_lr(step, C)
    for g in opt.param_groups:
        g["lr"] = lr
    step_loss = 0.0  # sum over micro-steps: non-finite if any is
    for micro in range(C.grad_accum):
        if S.distributed and C.grad_sync == "step":  # FSDP2: reduce-scatter on the last micro-step only, and
            last = micro == C.grad_accum - 1  # (blocks kept gathered for backward anyway) gather once a step
            model.set_requires_gradient_sync(last)
            if not C.reshard_after_forward:
                model.set_reshard_after_backward(last)
        loss_tok, _, lang = xent(model, D.batches(step * C.grad_accum + micro), S, "none")
        loss = loss_tok.mean()  # every row has seq_len real tokens: the mean of means is the mean
        (loss / C.grad_accum).backward()
        step_loss = step_loss + loss.detach()
        meter.micro_step(loss, loss_tok, lang)
    gnorm = torch.nn.utils.clip_grad_norm_(model.parameters(), C.grad_clip or float("inf"))
    gnorm = gnorm.full_tensor() if hasattr(gnorm, "full_tensor") else gnorm  # FSDP2: a DTensor
    meter.optimizer_step(step_loss, gnorm)
    opt.step()
    opt.zero_grad(set_to_none=True)
    return lr, gnorm


@torch.no_grad()
def evaluate(model, C, S, D):
    """Val loss per language (and per corpus of a mixture) on the fixed val rows, summed over ranks."""
    model.eval()
    out, per = {}, {}  # per: (corpus_dir, lang) -> val loss
    for (d, lang), s in D.val_samplers.items():
        tot = torch.zeros(2, device=S.dev, dtype=torch.float64)  # loss sum, tokens
        for i in range(0, len(D.val_rows), C.batch_size):  # eval_iters x grad_accum batches per rank
            rows = [s.get_batch(g) for g in D.val_rows[i:i + C.batch_size]]
            batch = [torch.from_numpy(np.concatenate(a)).to(S.dev) for a in zip(*rows)]
            loss, y, _ = xent(model, batch, S, "sum")
            tot[0] += loss
            tot[1] += y.numel()
        if S.distributed:
            dist.all_reduce(tot)
        per[d, lang] = (tot[0] / tot[1]).item()
        if C.data_mix:
            out[f"val_loss_{D.names[d]}_{lang}"] = per[d, lang]
    for lang in D.langs:  # a mixture: the corpora holding the language, by their weights
        w = {d: D.mix[d] for d, l in per if l == lang}
        out[f"val_loss_{lang}"] = sum(w[d] * per[d, lang] for d in w) / sum(w.values())
    out["val_loss"] = sum(out[f"val_loss_{l}"] for l in D.langs) / len(D.langs)  # equal weight per language
    model.train()
    return out


def mfu_of(S, flops_per_token, flops_per_token_causal):
    """tokens/s (all ranks) -> {"mfu", "mfu_causal"}: model FLOPs per second over the bf16 dense spec peak of
    every GPU (model.PEAK_FLOPS_BF16, looked up once). mfu counts attention as if not causal (PaLM, nanoGPT,
    torchtitan: the stated convention), mfu_causal only the work a causal kernel does; both None on CPU."""
    per = (estimate_mfu(flops_per_token, 1.0, torch.cuda.get_device_name(), n_devices=S.world)
           if S.dev_type == "cuda" else None)
    return lambda tps: ({"mfu": None, "mfu_causal": None} if per is None or tps is None else
                        {"mfu": per * tps, "mfu_causal": per * tps * flops_per_token_causal / flops_per_token})


def stop_on_non_finite(msg, step, log):
    log.write({"step": step, "error": msg})
    raise NonFiniteError(msg)


# ----------------------------------------------------------------------------- the loop

@session  # training/log.py: the command line recorded, train.log and config.json closed however main ends
def main(argv=None):
    C = types.SimpleNamespace(**get_config(sys.argv[1:] if argv is None else argv))
    check_chain(C)
    S = setup_system(C)
    # one run at a time in out_dir (training/lock.py): taken before anything there is read or written
    with OutDirLock(C.out_dir, "train.py", S.master, dist.barrier if S.distributed else None):
        run(C, S)


def run(C, S):
    """The run: data, model, optimizer, then the loop (main holds the out_dir's lock around it)."""
    D = load_data(C, S)
    model, step, (ckpt_path, ckpt), (n_params, *flops_per_token) = build_model(C, S, D)
    opt = build_optimizer(C, S, model, ckpt_path)
    parent = parent_of(C.init_from, ckpt_path, ckpt)  # lineage: what this run started from
    start, stop = step, min(C.max_iters, C.stop_iter or C.max_iters)
    log = prepare_out_dir(C, S, D, n_params, step, stop, parent)
    mfu = mfu_of(S, *flops_per_token)
    meter = Meter(step, len(D.langs), S.dev, S.distributed)
    if step == 0 and stop > 0 and C.eval_interval:
        rec = {"step": 0, "tokens": 0, **evaluate(model, C, S, D)}
        if not all(map(math.isfinite, rec.values())):
            raise NonFiniteError(f"{C.init_from}: the initial model's val loss is not finite: {rec}")
        log.write(rec)
    meter.resume()
    while step < stop:
        lr, gnorm = train_step(model, opt, step, C, S, D, meter)
        step += 1
        meter.step_done(step)
        every = lambda n: n > 0 and step % n == 0  # noqa: E731 (an interval of 0: never in between)
        is_log = every(C.log_interval) or step == stop
        is_eval = every(C.eval_interval) or step == C.max_iters
        is_ckpt = every(C.ckpt_interval or C.eval_interval) or step == stop
        if not (is_log or is_eval or is_ckpt):
            continue
        meter.pause()
        if (bad := meter.first_bad_step()) is not None:
            stop_on_non_finite(f"non-finite loss or grad norm at step {bad} (checked at step {step}): stopped "
                               f"without saving; the last checkpoint in {C.out_dir} is the last good one. Lower "
                               f"learning_rate or check the data, then --init_from=resume.", step, log)
        rec = {"step": step, "tokens": step * S.tokens_per_step}
        if is_log:
            train, tps = meter.train_record(D.langs, C.grad_accum * S.world, S.tokens_per_step)
            rec.update(train, lr=lr, grad_norm=gnorm.item(), tokens_per_s=tps, **mfu(tps))
        if is_eval:
            rec.update(evaluate(model, C, S, D))
        if not all(map(math.isfinite, (v for v in rec.values() if isinstance(v, float)))):
            stop_on_non_finite(f"non-finite value at step {step}: {rec}; stopped without saving", step, log)
        if is_log or is_eval:
            log.write(rec)
        if is_ckpt:
            save_training_state(C.out_dir, model, opt, S.master, step=step,
                                config={**vars(C), "world_size": S.world}, phase=C.phase, meta=D.meta,
                                sampler=D.sampler.state_dict(), parent=parent, corpus=D.corpus)
        meter.resume()
    if S.master and step > start:
        print(f"saved {os.path.join(C.out_dir, 'ckpt')} at step {step}")
        n, tps = meter.tokens_per_s(step, S.tokens_per_step)
        peak = torch.cuda.max_memory_allocated(S.dev) / 2**30 if S.dev_type == "cuda" else None
        log.write({"step": step, "summary": dict(timed_steps=n, tokens_per_s=tps, peak_memory_gib=peak, **mfu(tps))})
    if S.distributed:
        dist.barrier()
        dist.destroy_process_group()


def cli(argv=None):
    """main() as a command: every expected failure is one line `train.py: error: ...`, exit 1; anything
    else is a bug and keeps its traceback."""
    try:
        main(argv)
    except (ConfigError, CheckpointError, CorpusError, NonFiniteError, tokenbin.FormatError, DataError, HFError,
            LockError, LogError, FileNotFoundError) as e:
        print(f"train.py: error: {e}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    cli()
