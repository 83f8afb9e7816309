"""
dev/bench.py: speed measurements, one subcommand each (one function per subcommand, plain argparse).

    .venv/bin/python -m dev.bench model --preset small --batch 8 --seq 256 --steps 10          # CPU, fp32
    .venv/bin/python -m dev.bench model --preset 360m --batch 8 --seq 2048 --device cuda \\
        --dtype bfloat16 --compile --compile_hf                                             # H100: + MFU
    .venv/bin/python -m dev.bench model --preset small --compile none block model  # eager vs per-block vs whole
    .venv/bin/python -m dev.bench memory --preset 360m --seq 2048 --world 8 --gpu_mem_gb 80   # FSDP2 estimate

    .venv/bin/python -m dev.bench sampler                     # interleave.Sampler tokens/s on one core
    .venv/bin/python -m dev.bench tokenize --threads 1        # Mimi batched vs one-by-one, x realtime
    .venv/bin/python -m dev.bench tokenize --device cuda --clips 1024
    .venv/bin/python -m dev.bench eval --corpus data/toy_enfr # cloze scoring, batched vs one at a time
    .venv/bin/python -m dev.bench eval --preset 360m --device cuda --dtype bfloat16 --suite  # 8 sets, 15k pairs
    .venv/bin/python -m dev.bench kv --preset small --prompt 128 --new 128   # generate(): KV cache vs full forwards

model: forward+backward time of model.Decoder against transformers' Qwen2ForCausalLM / LlamaForCausalLM of
the same shape and the same weights (ours is loaded from the HF model's save_pretrained folder through
Decoder.from_hf), on the same batch. Steps alternate which model goes first; medians are compared.
--compile takes several modes (none block model) and times each against the others; a bare --compile
compiles the whole Decoder. Every subcommand with --json also writes its figures there (dev/gpu_check.sh).
"""
import argparse
import copy
import json
import statistics
import sys
import tempfile
import time

import torch
import torch.nn.functional as F


def hf_model_for(cfg):
    """A random transformers model of ModelConfig's shape: Qwen2 when it has q/k/v bias, else Llama."""
    import transformers as T
    common = dict(vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, intermediate_size=cfg.d_ff,
                  num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head, num_key_value_heads=cfg.n_kv_head,
                  rms_norm_eps=cfg.norm_eps, tie_word_embeddings=cfg.tie_embeddings,
                  max_position_embeddings=cfg.max_seq_len, attn_implementation="sdpa")
    if cfg.qkv_bias:
        return T.Qwen2ForCausalLM(T.Qwen2Config(rope_theta=cfg.rope_theta, **common))
    return T.LlamaForCausalLM(T.LlamaConfig(rope_theta=cfg.rope_theta, rope_scaling=cfg.rope_scaling, **common))


COMPILE_MODES = ("none", "block", "model")


def compiled_variant(model, mode):
    """(callable, module holding its parameters): eager; each Block compiled in place on a copy (what
    train.py does: FSDP2 wraps the same blocks, names unchanged); or the whole Decoder in one graph."""
    if mode == "none":
        return model, model
    if mode == "model":
        return torch.compile(model), model
    m = copy.deepcopy(model)
    for block in m.blocks:
        block.compile()
    return m, m


def write_json(path, obj):
    if path:
        with open(path, "w") as f:
            json.dump(obj, f, indent=1)
        print(f"  figures -> {path}")


def bench_model(argv):
    from model import Decoder, ModelConfig, estimate_mfu
    p = argparse.ArgumentParser(prog="python -m dev.bench model", description="fwd+bwd: our Decoder vs transformers")
    p.add_argument("--preset", default="small", help="model.PRESETS name (360m: Qwen2 shape, 1b: Llama shape)")
    p.add_argument("--vocab", type=int, default=2049, help="vocabulary (2048 Mimi units + boundary token)")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq", type=int, default=256)
    p.add_argument("--steps", type=int, default=10, help="timed steps per model")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps per model (compiling happens here)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default=None, choices=["float32", "bfloat16"],
                   help="parameters and compute (bf16 as FSDP2's param_dtype); default bf16 on CUDA, fp32 on CPU")
    p.add_argument("--compile", nargs="*", choices=COMPILE_MODES, default=["none"],
                   help="ours as: none (eager), block (each Block compiled in place, as train.py), model "
                        "(the whole Decoder); several are timed side by side; bare --compile: model")
    p.add_argument("--compile_hf", action="store_true", help="torch.compile the transformers model too")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = p.parse_args(argv)
    a.compile = list(dict.fromkeys(a.compile or ["model"]))  # bare --compile: the whole model, as before
    if a.threads:
        torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype or ("bfloat16" if a.device.startswith("cuda") else "float32"))
    cfg = ModelConfig.preset(a.preset, vocab_size=a.vocab, max_seq_len=max(a.seq, 1024))
    torch.manual_seed(0)
    theirs = hf_model_for(cfg)
    with tempfile.TemporaryDirectory() as tmp:  # ours gets the same weights through the real loader
        theirs.save_pretrained(tmp)
        ours = Decoder.from_hf(tmp)
    ours.cfg.max_seq_len = cfg.max_seq_len
    ours.init_rope()
    ours, theirs = ours.to(a.device, dtype).train(), theirs.to(a.device, dtype).train()
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g).to(a.device)
    y = torch.randint(0, a.vocab, (a.batch, a.seq), generator=g).to(a.device)
    with torch.no_grad():
        diff = (ours(x[:1]).float() - theirs(input_ids=x[:1], use_cache=False).logits.float()).abs().max().item()
    variants = {mode: compiled_variant(ours, mode) for mode in a.compile}
    runs = {f"ours[{m}]" if len(variants) > 1 else "ours": (lambda f=f: f(x)) for m, (f, _) in variants.items()}
    params = {k: list(mod.parameters()) for k, (_, mod) in zip(runs, variants.values())}
    fwd_theirs = torch.compile(theirs) if a.compile_hf else theirs
    runs["transformers"] = lambda: fwd_theirs(input_ids=x, use_cache=False).logits
    params["transformers"] = list(theirs.parameters())

    def sync():
        if a.device.startswith("cuda"):
            torch.cuda.synchronize()

    def step(name):  # one forward + backward: (wall seconds, CPU seconds of this process)
        for q in params[name]:
            q.grad = None
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        loss = F.cross_entropy(runs[name]().float().flatten(0, 1), y.flatten())
        loss.backward()
        sync()
        return time.perf_counter() - t0, time.process_time() - c0

    times, cpu, first = {k: [] for k in runs}, {k: [] for k in runs}, {}
    for i in range(a.warmup + a.steps):
        for name in (list(runs) if i % 2 == 0 else list(runs)[::-1]):  # alternate who goes first
            t, c = step(name)
            first.setdefault(name, t)  # compiling happens in the first step
            if i >= a.warmup:
                times[name].append(t)
                cpu[name].append(c)
    med = {k: statistics.median(v) for k, v in times.items()}
    mc = {k: statistics.median(v) for k, v in cpu.items()}
    tok = a.batch * a.seq
    dev_name = torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu"
    fig = {"preset": a.preset, "params": ours.num_params(), "batch": a.batch, "seq": a.seq, "dtype": str(dtype)[6:],
           "device": dev_name, "threads": torch.get_num_threads(), "compile": a.compile, "compile_hf": a.compile_hf,
           "max_logit_diff": diff, "gflop_per_token": ours.flops_per_token(a.seq) / 1e9, "runs": {}}
    print(f"model bench: preset {a.preset} ({ours.num_params() / 1e6:.1f}M params), batch {a.batch} x seq {a.seq}, "
          f"{dtype}, {dev_name}, {torch.get_num_threads()} CPU threads, compile ours={a.compile} hf={a.compile_hf}")
    print(f"  max |logits ours - transformers| before timing: {diff:.2e}")
    for k in runs:
        mfu = (estimate_mfu(ours.flops_per_token(a.seq), tok / med[k], dev_name)
               if a.device.startswith("cuda") else None)
        fig["runs"][k] = {"median_s": med[k], "min_s": min(times[k]), "max_s": max(times[k]),
                          "cpu_s": mc[k], "first_step_s": first[k], "tokens_per_s": tok / med[k], "mfu": mfu}
        print(f"  {k:>15}: median {med[k] * 1e3:8.1f} ms/step fwd+bwd (min {min(times[k]) * 1e3:.1f}, "
              f"max {max(times[k]) * 1e3:.1f}, {a.steps} steps), {tok / med[k]:,.0f} tokens/s; first step "
              f"{first[k]:.1f} s" + ("" if mfu is None else f", MFU {mfu * 100:.1f}%"))
    if a.device.startswith("cuda"):
        print(f"  {'':>15}  ({ours.flops_per_token(a.seq) / 1e9:.2f} GFLOP/token for MFU)")
    cpu_dev = not a.device.startswith("cuda")  # on a shared CPU, CPU time is steadier than wall time
    for k in runs:
        if k != "transformers":
            fig["runs"][k]["speedup_vs_transformers"] = med["transformers"] / med[k]
            print(f"  speed ratio {k}/transformers: {med['transformers'] / med[k]:.2f}x (>1: ours is faster)"
                  + (f"; CPU-time ratio {mc['transformers'] / mc[k]:.2f}x" if cpu_dev else ""))
    if "ours[none]" in runs:
        for k in runs:
            if k.startswith("ours[") and k != "ours[none]":
                fig["runs"][k]["speedup_vs_eager"] = med["ours[none]"] / med[k]
                print(f"  speed ratio {k}/ours[none] (compiled vs eager): {med['ours[none]'] / med[k]:.2f}x"
                      + (f"; CPU-time ratio {mc['ours[none]'] / mc[k]:.2f}x" if cpu_dev else ""))
    if "ours[block]" in runs and "ours[model]" in runs:
        print(f"  speed ratio ours[model]/ours[block] (whole model vs per block): "
              f"{med['ours[block]'] / med['ours[model]']:.2f}x"
              + (f"; CPU-time ratio {mc['ours[block]'] / mc['ours[model]']:.2f}x" if cpu_dev else ""))
    if cpu_dev:
        print("  median CPU s/step: " + ", ".join(f"{k} {v:.3f}" for k, v in mc.items()))
    write_json(a.json, fig)
    return med


def bench_sampler(argv):
    """tokens/s of interleave.Sampler.get_batch on one CPU core (target >= 5M at seq 2048, batch 8), and
    coverage flatness: the per-token rate at which rows cover each sentence position of a story.

    Coverage is measured on a copy of the corpus's structure (same stories, same sentence lengths per
    language) whose every token is the position of its sentence in its story (0, 1, ...), so counting
    token values in the rows counts positions. Rate of position k = tokens of position k in the rows /
    the tokens of position k the corpus holds (per language, weighted by the sampler's lang_probs),
    normalised to mean 1 over all tokens; flatness = min/max rate over positions holding >= 1% of the
    tokens (1.0 = every position seen alike). CPU s are reported beside wall s: on a shared machine
    the wall clock counts other jobs' time.
    """
    import os
    import numpy as np
    import tokenbin
    from interleave import Sampler
    p = argparse.ArgumentParser(prog="python -m dev.bench sampler", description="interleave.py throughput, one core")
    p.add_argument("--corpus", default="data/toy_enfr", help="else a synthetic one, 30-80 tokens a sentence")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--coverage_seqs", default="256,2048", help="seq lengths to measure coverage at ('' skips)")
    p.add_argument("--coverage_tokens", type=float, default=4e6, help="row tokens per coverage measurement")
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if hasattr(os, "sched_setaffinity"):  # pin to one core: the number is per core
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    modes = [("interleave", "sentence"), ("interleave", "story"), ("mono", "sentence")]
    with tempfile.TemporaryDirectory() as tmp:
        corpus = a.corpus
        if not os.path.isfile(os.path.join(corpus, "meta.json")):
            rng, corpus = np.random.default_rng(0), tmp  # 20k stories of 5-15 sentences, 30-80 tokens each
            per = rng.integers(5, 16, 20000)
            sents = {lang: [rng.integers(0, 2048, rng.integers(30, 81)) for _ in range(per.sum())]
                     for lang in ("en", "fr")}
            tokenbin.write_split(tmp, "train", sents, np.cumsum(per) - per, 2048)
            tokenbin.write_meta(tmp, {"vocab_size": 2048, "languages": ["en", "fr"]})
        meta, split = tokenbin.read_meta(corpus), tokenbin.load_split(corpus, "train")
        bnd = tokenbin.story_boundary_token(meta)
        print(f"sampler bench: {a.corpus if corpus == a.corpus else 'synthetic corpus'} ({split.n_stories:,} "
              f"stories, {split.n_sentences:,} sentences), seq {a.seq}, batch {a.batch}, one core")
        for mode, switch in modes:
            s = Sampler(split, a.seq, a.batch, mode=mode, switch=switch, boundary_token=bnd)
            s.get_batch(0)  # warm the page cache
            t0, c0 = time.perf_counter(), time.process_time()
            for step in range(1, a.steps + 1):
                s.get_batch(step)
            dt, dc = time.perf_counter() - t0, time.process_time() - c0
            n = a.steps * a.batch * a.seq
            print(f"  {mode:>10} switch={switch:<8}: {n / dt / 1e6:6.2f}M tokens/s wall, {n / dc / 1e6:6.2f}M "
                  f"per CPU s ({dt / a.steps * 1e3:.2f} ms/batch)")
        # coverage: the same structure, every token replaced by its sentence's position in its story
        pos = np.concatenate([np.arange(n) for n in np.diff(split.stories)])  # (n_sentences,)
        lens = {l: np.diff(split.offsets[l]) for l in split.langs}
        ptok = {l: np.repeat(pos, lens[l]).astype(np.uint16) for l in split.langs}
        held = {l: np.bincount(pos, weights=lens[l]) for l in split.langs}  # corpus tokens per position
        psplit = tokenbin.Split(split.path, "train", split.langs, ptok, split.offsets,
                                {l: split.stories for l in split.langs}, True)
        for seq in [int(v) for v in a.coverage_seqs.split(",") if v]:
            batch = 64
            steps = max(1, int(a.coverage_tokens / (batch * seq)))
            for mode, switch in modes:
                s = Sampler(psplit, seq, batch, mode=mode, switch=switch, seed=1, boundary_token=bnd)
                seen = np.zeros(len(held[split.langs[0]]))
                for step in range(steps):
                    x = s.get_batch(step)[0]
                    seen += np.bincount(x[x != bnd], minlength=len(seen))[:len(seen)]
                expect = sum(s.lang_probs[l] * held[l] for l in split.langs)
                keep = expect >= 0.01 * expect.sum()
                rate = (seen / seen.sum()) / (expect / expect.sum())
                print(f"  coverage seq {seq:>5} {mode:>10} switch={switch:<8}: min/max rate over positions "
                      f"{rate[keep].min() / rate[keep].max():.3f}  (rate per position: "
                      f"{' '.join(f'{r:.2f}' for r in rate[keep])})")


def bench_tokenize(argv):
    """tokenize_audio.py's Mimi encoding, batched (as the script runs) vs one clip at a time, on synthetic
    audio with a random Mimi (same compute as the real weights; pass --mimi_weights for those).
        .venv/bin/python -m dev.bench tokenize --threads 2                       # CPU
        .venv/bin/python -m dev.bench tokenize --device cuda --clips 1024        # GPU: x realtime per GPU"""
    import numpy as np
    from audio import mimi as am
    import tokenize_audio as ta
    from moshi.models import loaders
    p = argparse.ArgumentParser(prog="python -m dev.bench tokenize", description="Mimi encoding: batched vs one-by-one")
    p.add_argument("--clips", type=int, default=16, help="synthetic sentence clips")
    p.add_argument("--min_seconds", type=float, default=1.0)
    p.add_argument("--max_seconds", type=float, default=6.0)
    p.add_argument("--batch_seconds", type=float, default=0, help="as tokenize_audio.py (0: 600 GPU, 60 CPU)")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--mimi_weights", default=None, help="real weights; default a random Mimi (same compute)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    mimi = (am.load_mimi(a.mimi_weights, a.device) if a.mimi_weights
            else loaders.get_mimi(None, device=a.device, num_codebooks=1))
    sr, rng = mimi.sample_rate, np.random.default_rng(0)
    seconds = rng.uniform(a.min_seconds, a.max_seconds, a.clips)
    wavs = [(0.1 * rng.standard_normal(int(s * sr))).astype(np.float32) for s in seconds]
    total = sum(len(w) for w in wavs) / sr
    batch_seconds = a.batch_seconds or (600.0 if a.device.startswith("cuda") else 60.0)
    batches = ta.make_batches(list(range(a.clips)), dict(enumerate(seconds)), batch_seconds, a.batch_size,
                              a.max_seconds)
    am.encode_batch(mimi, wavs[:2], a.device, a.dtype)  # warm-up (allocator, kernels)
    runs = {"one-by-one": [[i] for i in range(a.clips)], "batched": batches}
    wall, cpu = {}, {}
    for name, groups in runs.items():
        t0, c0 = time.perf_counter(), time.process_time()
        for g in groups:  # encode_batch ends with .cpu(): it synchronizes the GPU
            am.encode_batch(mimi, [wavs[i] for i in g], a.device, a.dtype)
        wall[name], cpu[name] = time.perf_counter() - t0, time.process_time() - c0
    dev_name = torch.cuda.get_device_name() if a.device.startswith("cuda") else "cpu"
    padded = sum(len(g) * max(seconds[i] for i in g) for g in batches)  # what the batches encode, padding incl.
    print(f"tokenize bench: {a.clips} clips, {total:.1f} s of audio ({a.min_seconds}-{a.max_seconds} s each), "
          f"{'weights ' + a.mimi_weights if a.mimi_weights else 'random Mimi'}, {a.dtype}, {dev_name}, "
          f"{torch.get_num_threads()} CPU threads; batched: {len(batches)} batches (<= {batch_seconds:.0f} s "
          f"padded, <= {a.batch_size} clips), padding adds {100 * (padded / total - 1):.0f}% to the audio encoded")
    for name in runs:
        print(f"  {name:>10}: {a.clips / wall[name]:8.1f} clips/s, {total / wall[name]:8.1f}x realtime "
              f"({wall[name]:.2f} s wall, {cpu[name]:.2f} s CPU)")
    print(f"  speed ratio batched/one-by-one: {wall['one-by-one'] / wall['batched']:.2f}x"
          + ("" if a.device.startswith("cuda") else
             f" (CPU-time ratio {cpu['one-by-one'] / cpu['batched']:.2f}x, steadier on a shared machine)"))
    write_json(a.json, {"device": dev_name, "clips": a.clips, "audio_s": total, "dtype": a.dtype,
                        **{f"{k}_x_realtime": total / wall[k] for k in runs}, "wall_s": wall, "cpu_s": cpu})
    return wall


def bench_eval(argv):
    """eval_cloze.py throughput: batched (length-sorted, padded) vs one sequence at a time, same model,
    same items, as pairs/s and their ratio; --suite also times all 8 sets at once (batched only).

        .venv/bin/python -m dev.bench eval                                        # tiny preset, synthetic items, CPU
        .venv/bin/python -m dev.bench eval --preset small --n_items 64
        .venv/bin/python -m dev.bench eval --corpus data/toy_enfr                 # that corpus's real bench items
        .venv/bin/python -m dev.bench eval --preset 360m --device cuda --dtype bfloat16 --suite   # ~15k pairs, 8 sets
    """
    import numpy as np

    import eval_cloze
    import tokenbin
    from model import Decoder, ModelConfig

    ap = argparse.ArgumentParser(prog="python -m dev.bench eval", description=bench_eval.__doc__.split("\n")[0])
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--corpus", default=None, help="use this corpus's bench sets instead of synthetic items")
    ap.add_argument("--n_items", type=int, default=32, help="items for the batched-vs-single comparison")
    ap.add_argument("--suite", action="store_true", help="also time a full 8-set suite, batched")
    ap.add_argument("--suite_items", type=int, default=1875, help="items per synthetic set (8 x 1875 = 15k)")
    ap.add_argument("--prompt_len", type=int, nargs=2, default=(100, 250), help="synthetic prompt tokens: "
                    "3-5 sentences of ~3 s at 12.5 Hz")
    ap.add_argument("--ending_len", type=int, nargs=2, default=(25, 60))
    ap.add_argument("--batch_size", type=int, default=64)
    ap.add_argument("--batch_tokens", type=int, default=None, help="default: eval_cloze.py's for the device")
    ap.add_argument("--scoring", default="mean", choices=eval_cloze.SCORINGS)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--dtype", default="float32", choices=("float32", "bfloat16"))
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's default)")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many alternating runs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args(argv)
    args.batch_tokens = eval_cloze.default_batch_tokens(args.device, args.batch_tokens)
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    units, boundary = 2048, 2048

    def synthetic_set(n):  # (tokens, items (n, 6)) laid out as a bench file: prompt, good, bad per item
        parts, items, pos = [], [], 0
        for _ in range(n):
            row = []
            for lo, hi in (args.prompt_len, args.ending_len, args.ending_len):
                part = rng.integers(0, units, int(rng.integers(lo, hi + 1)))
                parts.append(part)
                row += [pos, pos + len(part)]
                pos += len(part)
            items.append(row)
        return np.concatenate(parts), np.array(items, dtype=np.int64)

    if args.corpus:
        meta = tokenbin.read_meta(args.corpus)
        units, boundary = meta["vocab_size"], tokenbin.story_boundary_token(meta)
        sets = {n: tokenbin.load_bench(args.corpus, n, units) for n in tokenbin.list_benches(args.corpus)}
    else:
        sets = {f"{t}_{d}": synthetic_set(args.suite_items if args.suite else args.n_items)
                for t in ("ssc", "stc") for d in ("en", "fr", "en-fr", "fr-en")}
    seqs = {n: eval_cloze.item_sequences(tok, it, boundary) for n, (tok, it) in sets.items()}

    torch.manual_seed(args.seed)
    with torch.device(args.device):
        model = Decoder(ModelConfig.preset(args.preset, vocab_size=units + 1,
                                           max_seq_len=max(1024, max(len(s) for q, _ in seqs.values() for s in q))))
    model.eval()
    dev = "cuda" if args.device.startswith("cuda") else "cpu"
    sync = torch.cuda.synchronize if dev == "cuda" else (lambda: None)
    print(f"eval throughput: preset {args.preset} ({model.num_params() / 1e6:.1f}M params), {args.device}, "
          f"{args.dtype}, scoring {args.scoring}, threads {torch.get_num_threads()}, "
          f"items {'from ' + args.corpus if args.corpus else 'synthetic'}")

    def timed(s, p, bs):  # -> (wall s, CPU s, scores)
        sync()
        t0, c0 = time.perf_counter(), time.process_time()
        out = eval_cloze.score_sequences(model, s, args.scoring, p, batch_size=bs,
                                         batch_tokens=args.batch_tokens if bs > 1 else 0, dtype=args.dtype)
        sync()
        return time.perf_counter() - t0, time.process_time() - c0, out

    # the same n_items pairs (from the first set) both ways; a warm-up pass first so neither pays for it
    first = next(iter(seqs))
    s, p = (x[:2 * args.n_items] for x in seqs[first])
    n = len(s) // 2
    timed(s[:4], p[:4], 4)
    t_one = t_bat = c_one = c_bat = float("inf")
    for _ in range(args.repeat):  # alternate, keep the best: a noisy, shared machine hits both alike
        t, c, a = timed(s, p, 1)
        t_one, c_one = min(t_one, t), min(c_one, c)
        t, c, b = timed(s, p, args.batch_size)
        t_bat, c_bat = min(t_bat, t), min(c_bat, c)
    diff = np.abs(a - b).max()  # padding is masked: in fp32 only rounding may differ (bf16: more)
    assert args.dtype != "float32" or diff < 1e-4, f"batched scores differ from one-at-a-time by {diff:.2e}"
    print(f"  {n} pairs of {first}, {sum(len(x) for x in s) / len(s):.0f} tokens/sequence on average; "
          f"batches of <= {args.batch_size} sequences, <= {args.batch_tokens or 'any'} padded tokens")
    print(f"  one at a time : {n / t_one:9.1f} pairs/s ({t_one:.2f} s, best of {args.repeat})")
    print(f"  batched       : {n / t_bat:9.1f} pairs/s ({t_bat:.2f} s)   ratio {t_one / t_bat:.2f}x, "
          f"max |score diff| {diff:.1e}")
    if dev == "cpu":
        print(f"  CPU-time ratio {c_one / c_bat:.2f}x (steadier than wall time on a shared machine)")
    fig = {"preset": args.preset, "device": args.device, "dtype": args.dtype, "pairs": n,
           "one_at_a_time_pairs_per_s": n / t_one, "batched_pairs_per_s": n / t_bat, "max_score_diff": float(diff)}
    if args.suite:
        n_all = sum(len(q) // 2 for q, _ in seqs.values())
        all_s = [x for q, _ in seqs.values() for x in q]           # one pass, as eval_cloze.evaluate
        all_p = [x for _, pl in seqs.values() for x in pl]
        dt = timed(all_s, all_p, args.batch_size)[0]
        print(f"  full suite   : {len(seqs)} sets, {n_all} pairs in {dt:.1f} s ({n_all / dt:.0f} pairs/s)")
        fig.update(suite_sets=len(seqs), suite_pairs=n_all, suite_s=dt)
    write_json(args.json, fig)


def bench_memory(argv):
    """Per-GPU memory of train.py under FSDP2: dev/fsdp_memory.py's estimate and measurements (its main())."""
    from dev import fsdp_memory
    return fsdp_memory.main(argv)


def bench_kv(argv):
    """model.Decoder.generate (KV cache: the prompt once, then one token per forward) against the naive loop
    (the whole sequence through the model for every new token), greedy, same tokens checked."""
    from model import Decoder, ModelConfig
    p = argparse.ArgumentParser(prog="python -m dev.bench kv", description="generate(): KV cache vs full forwards")
    p.add_argument("--preset", default="small", help="model.PRESETS name")
    p.add_argument("--vocab", type=int, default=2049)
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--prompt", type=int, default=128, help="prompt tokens")
    p.add_argument("--new", type=int, default=128, help="generated tokens")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per method (medians)")
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = Decoder(ModelConfig.preset(a.preset, vocab_size=a.vocab, max_seq_len=max(1024, a.prompt + a.new))).eval()
    idx = torch.randint(0, a.vocab, (a.batch, a.prompt))

    @torch.no_grad()
    def naive():
        seq = idx
        for _ in range(a.new):
            seq = torch.cat([seq, m(seq)[:, -1].argmax(-1, keepdim=True)], dim=1)
        return seq
    times = {"kv cache": [], "full forwards": []}
    for _ in range(a.repeats):  # alternate, so a load spike on the shared machine hits both
        for name, fn in (("kv cache", lambda: m.generate(idx, a.new, temperature=0)), ("full forwards", naive)):
            t0 = time.process_time()
            out = fn()
            times[name].append(time.process_time() - t0)
            if name == "kv cache":
                cached = out
            else:
                assert torch.equal(cached, out), "greedy KV-cache generation differs from the naive loop"
    print(f"kv bench: preset {a.preset}, batch {a.batch}, prompt {a.prompt} + {a.new} new tokens, "
          f"{a.threads} thread(s), CPU time, median of {a.repeats}; greedy outputs identical")
    tps = {k: a.batch * a.new / statistics.median(v) for k, v in times.items()}
    for k, v in tps.items():
        print(f"  {k:>13}: {v:8.1f} tokens/s")
    print(f"  speed-up: {tps['kv cache'] / tps['full forwards']:.2f}x")


COMMANDS = {"model": bench_model, "sampler": bench_sampler, "tokenize": bench_tokenize, "eval": bench_eval,
            "memory": bench_memory, "kv": bench_kv}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__)
        sys.exit(f"usage: python -m dev.bench {{{','.join(COMMANDS)}}} [options]   (python -m dev.bench <command> -h for options)")
    COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    main()
