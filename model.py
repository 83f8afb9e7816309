"""
model.py: one handwritten decoder-only transformer (Qwen2 / Llama family), loadable from HF weights.

    token embedding -> n_layer x [RMSNorm -> GQA attention (RoPE, SDPA causal) -> +residual,
                                  RMSNorm -> SwiGLU MLP -> +residual] -> RMSNorm -> head (tied or untied)

Exact (fp32, within 1e-4 logits) against transformers' Qwen2ForCausalLM and LlamaForCausalLM, including
Llama-3 RoPE frequency scaling; tests/test_model.py checks it. Commands:
    .venv/bin/python -m pytest -q tests/test_model.py
    .venv/bin/python model.py                      # parameter count and FLOPs/token of every preset
    .venv/bin/python -m dev.bench model --preset small # fwd+bwd speed against transformers

In code:
    m = Decoder(ModelConfig.preset("tiny", vocab_size=2049))           # from scratch
    m = Decoder.from_hf("Qwen/Qwen2.5-0.5B", vocab_size=2049)          # HF body, new 2049-token embedding
    m = load_model("out/interleave")                                   # train.py checkpoint (or HF folder / id)
    logits = m(idx)                        # idx (B,T) long -> (B,T,vocab_size)
    logits, hs = m(idx, return_hidden=True)   # hs[i] (B,T,d_model): residual stream after block i+1
    out = m.generate(idx, 50, temperature=0.8, top_k=100)  # (B,T+50): KV cache, one token per step

Vocabulary: cfg.vocab_size is the real vocabulary; the embedding/head tables have pad_vocab(vocab_size)
rows (a multiple of 64) and logits are cut to vocab_size, so padding rows never enter a softmax.
"""
import functools
import math
import os
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import CheckpointPolicy, checkpoint, create_selective_checkpoint_contexts

from training.checkpoint import CheckpointError, is_checkpoint, is_run_dir, load_checkpoint, load_weights


@dataclass
class ModelConfig:
    vocab_size: int = 2049          # real vocabulary (2048 Mimi units + story boundary); tables are padded
    n_layer: int = 2
    d_model: int = 64
    n_head: int = 4                 # query heads; head_dim = d_model // n_head
    n_kv_head: int = 2              # key/value heads (GQA); n_head % n_kv_head == 0
    d_ff: int = 192                 # SwiGLU hidden size
    rope_theta: float = 10000.0
    rope_scaling: dict | None = None  # None, or HF llama3 keys as in LLAMA3_SCALING
    norm_eps: float = 1e-6
    qkv_bias: bool = True           # Qwen2 has q/k/v bias; Llama does not
    tie_embeddings: bool = True     # head shares the token embedding matrix
    max_seq_len: int = 1024         # RoPE tables are precomputed up to here

    @classmethod
    def preset(cls, name, vocab_size, **overrides):
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose one of {sorted(PRESETS)}")
        p = {k: dict(v) if isinstance(v, dict) else v for k, v in PRESETS[name].items()}  # own rope_scaling
        return cls(**{**p, "vocab_size": vocab_size, **overrides})


LLAMA3_SCALING = dict(rope_type="llama3", factor=32.0, low_freq_factor=1.0, high_freq_factor=4.0,
                      original_max_position_embeddings=8192)
_QWEN2 = dict(rope_theta=1e4, rope_scaling=None, norm_eps=1e-6, qkv_bias=True, tie_embeddings=True, max_seq_len=1024)
PRESETS = {  # everything but vocab_size, which comes from the corpus (tokenbin.model_vocab_size)
    "tiny": dict(_QWEN2, n_layer=2, d_model=64, n_head=4, n_kv_head=2, d_ff=192),
    "small": dict(_QWEN2, n_layer=4, d_model=192, n_head=4, n_kv_head=2, d_ff=512),
    "360m": dict(_QWEN2, n_layer=24, d_model=896, n_head=14, n_kv_head=2, d_ff=4864, rope_theta=1e6,
                 max_seq_len=4096),  # Qwen2.5-0.5B shape
    "1b": dict(_QWEN2, n_layer=16, d_model=2048, n_head=32, n_kv_head=8, d_ff=8192, rope_theta=5e5,  # Llama-3.2-1B
               rope_scaling=LLAMA3_SCALING, norm_eps=1e-5, qkv_bias=False, max_seq_len=4096),
}


def pad_vocab(n, multiple=64):
    return (n + multiple - 1) // multiple * multiple


def apply_rope(x, cos, sin):
    # x (B,T,H,hd); cos/sin (T,1,hd/2). HF's rotate_half convention: the two halves of hd form the pairs.
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # normalise in fp32, scale in the input dtype: what Qwen2/Llama do, so bf16 runs match them too
        xf = x.float()
        return self.weight * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.n_head, self.n_kv_head, self.hd = cfg.n_head, cfg.n_kv_head, cfg.d_model // cfg.n_head
        # q, k, v in one matmul: rows [q (n_head*hd) | k (n_kv*hd) | v (n_kv*hd)]
        self.qkv = nn.Linear(cfg.d_model, (cfg.n_head + 2 * cfg.n_kv_head) * self.hd, bias=cfg.qkv_bias)
        self.o = nn.Linear(cfg.n_head * self.hd, cfg.d_model, bias=False)

    def forward(self, x, cos, sin, kv=None):
        B, T, _ = x.shape
        qkv = self.qkv(x).view(B, T, self.n_head + 2 * self.n_kv_head, self.hd)
        q, k, v = qkv.split([self.n_head, self.n_kv_head, self.n_kv_head], dim=2)  # (B,T,h,hd)
        cos, sin = cos.to(q.dtype), sin.to(q.dtype)  # fp32 tables -> compute dtype (bf16 under autocast)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B,h,T,hd)
        mask, causal = None, True
        if kv is not None:  # generation: store this call's keys/values, attend over all cached so far
            k_buf, v_buf, pos = kv  # (B,kv_h,max_len,hd) x2, tokens already cached
            k_buf[:, :, pos:pos + T], v_buf[:, :, pos:pos + T] = k, v
            k, v = k_buf[:, :, :pos + T].to(q.dtype), v_buf[:, :, :pos + T].to(q.dtype)  # no-op unless autocast
            if pos > 0:  # is_causal aligns top-left; with a cached past, query t sees keys <= pos + t
                causal = False
                t = torch.arange(pos + T, device=x.device)
                mask = None if T == 1 else t <= t[pos:, None]  # (T, pos+T): key j visible to query pos+i
        # enable_gqa: kv heads are shared by groups of query heads inside the kernel, no repeat copy
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal,
                                           enable_gqa=self.n_kv_head != self.n_head)
        return self.o(y.transpose(1, 2).reshape(B, T, self.n_head * self.hd))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        # gate and up stay two matmuls: halves of one fused output would be strided views for silu/mul
        self.gate, self.up = (nn.Linear(cfg.d_model, cfg.d_ff, bias=False) for _ in range(2))
        self.down = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


# activation checkpointing's selective policy: keep what the matmuls and attention computed, recompute the
# elementwise ops (norms, RoPE, SiLU, products) in backward: no matmul runs twice
_KEEP = {torch.ops.aten.mm.default, torch.ops.aten.addmm.default, torch.ops.aten.bmm.default,
         *(getattr(torch.ops.aten, f).default for f in ("_scaled_dot_product_flash_attention",
                                                        "_scaled_dot_product_efficient_attention",
                                                        "_scaled_dot_product_cudnn_attention",
                                                        "_scaled_dot_product_flash_attention_for_cpu")
           if hasattr(torch.ops.aten, f))}
RECOMPUTE = ("off", "block", "selective")  # Block.recompute: what a block keeps for its backward


def _keep_matmuls(ctx, op, *args, **kwargs):
    return CheckpointPolicy.MUST_SAVE if op in _KEEP else CheckpointPolicy.PREFER_RECOMPUTE


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.attn_norm, self.attn = RMSNorm(cfg.d_model, cfg.norm_eps), Attention(cfg)
        self.mlp_norm, self.mlp = RMSNorm(cfg.d_model, cfg.norm_eps), MLP(cfg)
        self.recompute = "off"  # activation checkpointing in training (RECOMPUTE): off keeps every activation;
        # block keeps only the block's input and runs its forward again in backward; selective (_KEEP)

    def forward(self, x, cos, sin, kv=None):
        if self.recompute == "off" or kv is not None or not torch.is_grad_enabled():
            return self._forward(x, cos, sin, kv)
        ctx = {} if self.recompute == "block" else {  # a partial: what torch.compile traces through
            "context_fn": functools.partial(create_selective_checkpoint_contexts, _keep_matmuls)}
        return checkpoint(self._forward, x, cos, sin, use_reentrant=False, **ctx)

    def _forward(self, x, cos, sin, kv=None):
        x = x + self.attn(self.attn_norm(x), cos, sin, kv)
        return x + self.mlp(self.mlp_norm(x))


class Decoder(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        assert cfg.d_model % cfg.n_head == 0 and cfg.n_head % cfg.n_kv_head == 0, cfg
        self.cfg = cfg
        V = pad_vocab(cfg.vocab_size)
        self.tok_emb = nn.Embedding(V, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))  # FSDP2/compile unit
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        self.lm_head = nn.Linear(cfg.d_model, V, bias=False)
        self.pad_head = None  # the head's matmul over all padded rows, logits cut after: None = on CUDA (rows
        # a multiple of 64: aligned tensor-core tiles; 2049 rows are not 16-byte aligned); CPU keeps its arithmetic
        self.init_weights()  # also ties the head

    def set_recompute(self, mode):
        """Activation checkpointing of every block in training: off | block | selective (Block.forward)."""
        if mode not in RECOMPUTE:
            raise ValueError(f"activation checkpointing {mode!r}: choose one of {list(RECOMPUTE)}")
        for block in self.blocks:
            block.recompute = mode
        return self

    @torch.no_grad()
    def init_weights(self):
        """Fresh weights: N(0, 0.02) as Qwen2/Llama, residual output projections scaled by 1/sqrt(2*n_layer)
        (GPT-2), zero biases, unit norms; RoPE tables. Call it after meta build + to_empty(): it re-ties the head."""
        self._tie_and_rope()
        for name, p in self.named_parameters():
            if name.endswith("norm.weight"):
                p.fill_(1.0)
            elif name.endswith(".bias"):
                p.zero_()
            else:
                residual_out = name.endswith(("attn.o.weight", "mlp.down.weight"))
                p.normal_(0.0, 0.02 / math.sqrt(2 * self.cfg.n_layer) if residual_out else 0.02)

    def init_rope(self):
        """RoPE tables rope_cos, rope_sin (max_seq_len, head_dim/2) fp32, Llama-3 scaling as transformers does it."""
        cfg, device, hd = self.cfg, self.tok_emb.weight.device, self.cfg.d_model // self.cfg.n_head
        inv_freq = 1.0 / (cfg.rope_theta ** (torch.arange(0, hd, 2, device=device, dtype=torch.int64).float() / hd))
        if (s := cfg.rope_scaling) is not None:  # llama3: long wavelengths slowed by `factor`, short ones kept
            old_len = s["original_max_position_embeddings"]
            lo, hi, factor = s["low_freq_factor"], s["high_freq_factor"], s["factor"]
            wavelen = 2 * math.pi / inv_freq
            scaled = torch.where(wavelen > old_len / lo, inv_freq / factor, inv_freq)
            smooth = (old_len / wavelen - lo) / (hi - lo)  # smooth in between
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = (wavelen >= old_len / hi) & (wavelen <= old_len / lo)
            inv_freq = torch.where(medium, smoothed, scaled)
        freqs = torch.outer(torch.arange(cfg.max_seq_len, device=device, dtype=torch.float32), inv_freq)
        self.register_buffer("rope_cos", freqs.cos(), persistent=False)
        self.register_buffer("rope_sin", freqs.sin(), persistent=False)

    def _tie_and_rope(self):  # to_empty() and load_state_dict(assign=True) replace the shared Parameter
        if self.cfg.tie_embeddings:
            self.lm_head.weight = self.tok_emb.weight
        self.init_rope()
        return self

    def forward(self, idx, return_hidden=False, cache=None, fp32_head=False):
        """idx (B,T) long -> logits (B,T,vocab_size); with return_hidden also [h_1..h_L], h_i (B,T,d_model) the
        residual stream after block i, before the final norm. transformers' output_hidden_states has L+1
        entries: [embeddings, h_1, .., h_{L-1}, norm(h_L)], so its [i] is our [i-1] except the last.
        cache: a KVCache (generation); idx then continues the cache.pos tokens already in it.
        fp32_head: the final norm and head in fp32 even under autocast (evaluation scores)."""
        B, T = idx.shape
        pos = 0 if cache is None else cache.pos
        if pos + T > self.cfg.max_seq_len:
            raise ValueError(f"sequence length {pos + T} > max_seq_len {self.cfg.max_seq_len}; "
                             "build the model with a larger ModelConfig.max_seq_len")
        x = self.tok_emb(idx)  # (B,T,d)
        cos, sin = self.rope_cos[pos:pos + T, None, :], self.rope_sin[pos:pos + T, None, :]  # (T,1,hd/2)
        hidden = []
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, None if cache is None else (cache.k[i], cache.v[i], pos))
            if return_hidden:
                hidden.append(x)
        if cache is not None:
            cache.pos += T
        # only the real vocabulary in the logits (B,T,vocab_size): on CPU the product skips the padding rows; with
        # pad_head it runs over all of them (aligned) and is cut after (a view, rows of the padded length)
        pad = x.is_cuda if self.pad_head is None else self.pad_head
        w = self.lm_head.weight if pad else self.lm_head.weight[: self.cfg.vocab_size]
        if fp32_head:  # evaluation: final norm + head in fp32 even under autocast (bf16 logits: ~0.03 nats off)
            with torch.autocast(x.device.type, enabled=False):
                logits = F.linear(self.norm(x.float()), w.float())
        else:
            logits = F.linear(self.norm(x), w)
        logits = logits[..., : self.cfg.vocab_size] if pad else logits
        return (logits, hidden) if return_hidden else logits

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None, top_p=None, generator=None):
        """Continue idx (B,T) long by max_new_tokens sampled tokens -> (B, T + max_new_tokens), as nanoGPT's
        generate, with a KV cache: the prompt goes through once, then one token per forward. Batched: every
        row has the same prompt length T (no padding: group prompts by length). temperature 0 is greedy
        (argmax); top_k / top_p (nucleus) cut the distribution first (see next_token_probs). T +
        max_new_tokens must fit max_seq_len (no sliding window: RoPE positions are absolute)."""
        B, T = idx.shape
        if T < 1 or T + max_new_tokens > self.cfg.max_seq_len:
            raise ValueError(f"generate: prompt length {T} + {max_new_tokens} new tokens must be in "
                             f"[1, max_seq_len={self.cfg.max_seq_len}]; shorten the prompt or the continuation")
        cache = KVCache(self, B, T + max_new_tokens)
        logits, out = self(idx, cache=cache)[:, -1], [idx]  # (B,V)
        for i in range(max_new_tokens):
            if temperature == 0:
                nxt = logits.argmax(-1, keepdim=True)  # (B,1)
            else:
                nxt = torch.multinomial(next_token_probs(logits, temperature, top_k, top_p), 1, generator=generator)
            out.append(nxt)
            if i + 1 < max_new_tokens:
                logits = self(nxt, cache=cache)[:, -1]
        return torch.cat(out, dim=1)

    def num_params(self, non_embedding=False):
        """Unique parameters (tied head once); non_embedding drops tok_emb (an untied head stays: a matmul)."""
        n = sum(p.numel() for p in self.parameters())
        return n - self.tok_emb.weight.numel() if non_embedding else n

    def flops_per_token(self, seq_len, causal=False):
        """Training FLOPs per token (fwd+bwd) = 6*N + 12*L*d*T. N: the weights of every matmul (blocks, final
        norm, and the head's vocab_size x d, tied or not; the embedding lookup costs nothing). 12*L*d*T:
        attention's QK^T and AV, fwd+bwd, no causal discount (PaLM / nanoGPT / torchtitan convention, the MFU
        train.py logs as mfu). causal: the work a causal kernel does, 12*L*d*(T+1)/2 (query t attends to t+1
        keys; train.py's mfu_causal). Recomputation (activation checkpointing) is not useful work: not counted."""
        c = self.cfg
        n_matmul = sum(p.numel() for p in self.blocks.parameters()) + c.d_model + c.vocab_size * c.d_model
        return 6 * n_matmul + (6 * c.n_layer * c.d_model * (seq_len + 1) if causal else 12 * c.n_layer * c.d_model * seq_len)

    @classmethod
    def from_hf(cls, path_or_hub_id, vocab_size=None, revision=None, weights=True):
        """Load a Qwen2ForCausalLM / LlamaForCausalLM from a local folder or a Hub id (config.json and
        safetensors only), as fp32 on CPU. With vocab_size, every body weight (blocks, final norm) is kept and
        the token embedding (and the head, if untied) starts fresh with pad_vocab(vocab_size) rows: N(0, s^2),
        s the std of the pretrained matrix it replaces, so the residual stream keeps the scale the body was
        trained on; drawn from torch.Generator seeded 0, so every rank gets the same weights. A folder whose
        vocabulary already is vocab_size (a speech model written by export_hf.py) keeps its tables.
        weights=False: the model of that shape on the meta device, no weight read (train.py's other ranks,
        which receive rank 0's weights)."""
        from training.hf_weights import SafetensorsFolder, read_config, resolve_hf
        folder = resolve_hf(path_or_hub_id, revision)
        cfg_path = os.path.join(folder, "config.json")
        if not os.path.isfile(cfg_path):
            raise FileNotFoundError(f"{cfg_path} not found: an HF model folder needs config.json and *.safetensors")
        cfg = ModelConfig(**read_config(cfg_path))
        weights, load = SafetensorsFolder(folder), weights
        V_hf = weights.shape("model.embed_tokens.weight")[0]
        cfg.vocab_size = V_hf if vocab_size is None else vocab_size
        with torch.device("meta"):
            model = cls(cfg)
        if not load:
            return model
        emb = weights.get("model.embed_tokens.weight", (V_hf, cfg.d_model))
        shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
        qkv_rows = [n * (cfg.d_model // cfg.n_head) for n in (cfg.n_head, cfg.n_kv_head, cfg.n_kv_head)]
        sd = {"norm.weight": weights.get("model.norm.weight", (cfg.d_model,))}
        for i in range(cfg.n_layer):
            for ours, theirs in HF_NAMES.items():
                if (shape := shapes.get(f"blocks.{i}.{ours}")) is None:  # q/k/v bias of a model without one
                    continue
                rows = qkv_rows if len(theirs) == 3 else [shape[0]]
                sd[f"blocks.{i}.{ours}"] = torch.cat([weights.get(f"model.layers.{i}.{k}", (r, *shape[1:]))
                                                      for k, r in zip(theirs, rows)])
        V, gen = pad_vocab(cfg.vocab_size), torch.Generator().manual_seed(0)
        def table(pretrained):  # (V, d): pretrained rows (zero padding), or fresh rows by the rule above
            if vocab_size in (None, V_hf):  # same vocabulary (e.g. export_hf.py's folder): keep the rows
                return torch.cat([pretrained, pretrained.new_zeros(V - V_hf, cfg.d_model)])
            return torch.randn(V, cfg.d_model, generator=gen) * pretrained.std()
        sd["tok_emb.weight"] = table(emb)
        if not cfg.tie_embeddings:
            sd["lm_head.weight"] = table(weights.get("lm_head.weight", (V_hf, cfg.d_model)))
        weights.check_all_used(ignore=("lm_head.weight",))  # a tied model may still store a head copy
        model.load_state_dict(sd, strict=False, assign=True)
        model._tie_and_rope()
        missing = [n for n, t in model.state_dict().items() if t.is_meta]
        assert not missing, f"from_hf left weights unset: {missing}"
        return model


class KVCache:
    """Keys and values of every layer for generate(): k[i], v[i] (B, n_kv_head, max_len, head_dim) preallocated
    in the model's dtype and device; pos = tokens already stored. Decoder.forward(idx, cache=...) writes at
    pos and advances it."""
    def __init__(self, model, batch, max_len):
        c, w = model.cfg, model.tok_emb.weight
        shape = (c.n_layer, batch, c.n_kv_head, max_len, c.d_model // c.n_head)
        self.k, self.v = w.new_zeros(shape), w.new_zeros(shape)
        self.pos = 0


def next_token_probs(logits, temperature=1.0, top_k=None, top_p=None):
    """logits (B,V) -> sampling distribution (B,V): softmax(logits / temperature) restricted to the top_k most
    likely tokens, then to the nucleus (the most likely tokens whose probabilities, before adding the last
    one, sum to < top_p: at least one token), renormalised. Ties at the top_k-th value are all kept."""
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        logits = logits.masked_fill(logits < logits.topk(top_k, dim=-1).values[:, -1:], float("-inf"))
    probs = logits.softmax(-1)
    if top_p is not None and top_p < 1.0:
        p_sorted, order = probs.sort(dim=-1, descending=True)
        drop = p_sorted.cumsum(-1) - p_sorted >= top_p  # mass before this token already reaches top_p
        probs = probs.masked_fill(torch.zeros_like(drop).scatter(-1, order, drop), 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


# our per-block weight <- transformers' (under model.layers.{i}.), q/k/v stacked along rows
HF_NAMES = {
    "attn_norm.weight": ["input_layernorm.weight"],
    **{f"attn.qkv.{w}": [f"self_attn.{x}_proj.{w}" for x in "qkv"] for w in ("weight", "bias")},
    "attn.o.weight": ["self_attn.o_proj.weight"],
    "mlp_norm.weight": ["post_attention_layernorm.weight"],
    **{f"mlp.{x}.weight": [f"mlp.{x}_proj.weight"] for x in ("gate", "up", "down")},
}


def load_model(spec, vocab_size=None, map_location="cpu"):
    """A train.py checkpoint (an out_dir or its ckpt/ directory) or an HF folder / Hub id -> Decoder (eval mode
    is the caller's choice). vocab_size: for HF, the new vocabulary; for a checkpoint, checked against it."""
    spec = str(spec)
    if is_checkpoint(spec):
        d, info = load_checkpoint(spec)  # a CheckpointError (a ValueError): unreadable, or checksums differ
        try:
            cfg = ModelConfig(**info["model_config"])
        except TypeError as e:
            raise CheckpointError(f"{d}: its model_config does not describe a Decoder ({e})") from None
        if vocab_size is not None and vocab_size != cfg.vocab_size:
            raise CheckpointError(f"{d}: model vocabulary {cfg.vocab_size} != requested {vocab_size}; "
                                  "the checkpoint was trained on another corpus/vocabulary")
        with torch.device("meta"):
            model = Decoder(cfg)
        model.to_empty(device=map_location)._tie_and_rope()  # to_empty unties the head
        load_weights(d, model)
        return model
    if os.path.isdir(spec) and (is_run_dir(spec) or not os.path.isfile(os.path.join(spec, "config.json"))):
        raise FileNotFoundError(f"{spec}: holds neither ckpt/ (train.py) nor an HF model's config.json"
                                + (" (a train.py run that saved no checkpoint)" if is_run_dir(spec) else ""))
    return Decoder.from_hf(spec, vocab_size=vocab_size).to(map_location)


# bf16 dense tensor-core peaks (no 2:4 sparsity), FLOP/s per device, matched as substrings of
# torch.cuda.get_device_name(); the longest match wins ("H100 PCIe" over "H100", "GH200" over "H200")
PEAK_FLOPS_BF16 = {
    "H100": 989e12, "H100 PCIe": 756e12, "H100 NVL": 835e12,  # plain "H100": SXM ("NVIDIA H100 80GB HBM3")
    "H200": 989e12, "H200 NVL": 835e12, "GH200": 989e12, "B200": 2250e12,
    "A100": 312e12, "L40S": 362e12, "L40": 181e12, "L4": 121e12, "RTX 4090": 165e12,
}


def estimate_mfu(flops_per_token, tokens_per_s, device_name, n_devices=1):
    """Model FLOPs utilisation: flops_per_token * tokens_per_s / (peak * n_devices); tokens_per_s is the
    throughput of all n_devices together. None (with a message) when the device is not in the table."""
    match = [k for k in PEAK_FLOPS_BF16 if k in str(device_name)]
    if not match:
        print(f"MFU: no bf16 peak known for device {device_name!r}; add it to model.PEAK_FLOPS_BF16")
        return None
    return flops_per_token * tokens_per_s / (PEAK_FLOPS_BF16[max(match, key=len)] * n_devices)


if __name__ == "__main__":
    for name in PRESETS:
        with torch.device("meta"):
            m = Decoder(ModelConfig.preset(name, vocab_size=2049))
        print(f"{name:>5}: {m.num_params() / 1e6:8.1f}M params ({m.num_params(True) / 1e6:.1f}M non-embedding), "
              f"{m.flops_per_token(2048) / 1e9:.2f} GFLOPs/token at seq 2048 (fwd+bwd)")
