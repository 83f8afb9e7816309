"""train.py: exact resume, FSDP2 on two CPU processes, the phase chain, clear errors, config parsing.

    .venv/bin/python -m pytest -q tests/test_train.py
A tiny model on a small synthetic corpus (written with tokenbin), so the whole file takes seconds.
"""
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from training import checkpoint as ckpt
from training.meter import per_language
import tokenbin
import train
from model import Decoder, load_model

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# rows per step: 4 x 2 micro-steps on one process == 4 x 2 processes (same global batch)
TINY = ["--seq_len=32", "--batch_size=4", "--grad_accum=2", "--log_interval=1", "--eval_interval=3",
        "--eval_iters=2", "--learning_rate=3e-3", "--model_preset=tiny"]


def write_corpus(path, vocab=64, n_stories=40, seed=0):
    """Parallel EN/FR stories of 3-5 sentences; FR is a fixed relabelling of EN, other lengths."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(vocab)
    for split, n in (("train", n_stories), ("val", n_stories // 4)):
        en, fr, starts = [], [], []
        for _ in range(n):
            starts.append(len(en))
            for _ in range(rng.integers(3, 6)):
                s = rng.integers(0, vocab, rng.integers(4, 12))
                en.append(s)
                fr.append(perm[np.repeat(s, 2)[: len(s) + 2]])
        tokenbin.write_split(path, split, {"en": en, "fr": fr}, starts, vocab)
    tokenbin.write_meta(path, {"vocab_size": vocab, "languages": ["en", "fr"], "source": "test"})
    return str(path)


def log(out_dir, summaries=False):  # the per-step records (and the closing summaries if asked)
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        return [r for r in map(json.loads, f) if summaries or "summary" not in r]


def info(out_dir):  # a checkpoint's plain values (meta.json), its files checked
    return ckpt.load_checkpoint(out_dir)[1]


def weights(out_dir):  # a checkpoint's weights, whole, on one process
    return load_model(out_dir).state_dict()


def files(out_dir):  # every byte of a checkpoint directory: what "unchanged" means
    d = os.path.join(out_dir, "ckpt")
    return {f: open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))}


def losses(records):  # what must match between runs (timings and mfu need not)
    keep = ("step", "tokens", "loss", "loss_en", "loss_fr", "val_loss_en", "val_loss_fr", "lr", "grad_norm")
    return [{k: r[k] for k in keep if k in r} for r in records]



@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """corpus; pretrain (scratch, 3 steps) -> interleave 6 steps straight; in-process."""
    tmp = tmp_path_factory.mktemp("train")
    corpus = write_corpus(tmp / "corpus")
    pre, inter = str(tmp / "pre"), str(tmp / "inter")
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={pre}", "--max_iters=3"])
    train.main(TINY + ["--phase", "interleave", "--data_dir", corpus, f"--out_dir={inter}",
                       f"--init_from={pre}", "--max_iters=6"])
    return tmp, corpus, pre, inter


def test_phase_chain(runs):
    tmp, corpus, pre, inter = runs
    fin = str(tmp / "fin")
    train.main(TINY + ["--phase=finetune", f"--data_dir={corpus}", f"--out_dir={fin}",
                       f"--init_from={inter}/ckpt", "--max_iters=3"])
    for out, phase, steps in ((pre, "pretrain", 3), (inter, "interleave", 6), (fin, "finetune", 3)):
        ck = info(out)
        assert (ck["phase"], ck["step"]) == (phase, steps)
        recs = log(out)
        assert [r["step"] for r in recs] == list(range(steps + 1))  # step 0 = val of the initial model
        assert "loss_fr" not in recs[1] if phase == "pretrain" else "loss_fr" in recs[1]
    # each phase starts from the previous weights: its step-0 val loss is the previous final one
    for prev, nxt in ((pre, inter), (inter, fin)):
        assert log(nxt)[0]["val_loss_en"] == pytest.approx(log(prev)[-1]["val_loss_en"], rel=1e-6)
        assert log(nxt)[1]["lr"] == 3e-3 > log(prev)[-1]["lr"]  # a new schedule from step 0
    # each phase draws its own rows: a later phase must not replay pretraining's rows step by step
    seeds = [info(o)["sampler"]["seed"] for o in (pre, inter, fin)]
    assert len(set(seeds)) == 3
    split = tokenbin.load_split(corpus, "train")
    rows = [train.Sampler(split, 32, 4, mode="mono", lang_probs={"en": 1.0}, seed=s, boundary_token=64).get_batch(0)[0]
            for s in seeds[::2]]
    assert not np.array_equal(*rows)
    # the checkpoint loads through model.load_model (what eval_cloze/align_probe use)
    m = load_model(fin)
    x = torch.randint(0, 65, (1, 16))
    assert m(x).shape == (1, 16, 65)


def write_hf_qwen2(folder, n_layer=2, d=32, heads=4, kv=2, d_ff=64, vocab=100):
    """A tiny random Qwen2 checkpoint as an HF folder (config.json + model.safetensors), by hand."""
    from safetensors.torch import save_file
    g, hd = torch.Generator().manual_seed(0), d // heads
    w = lambda *shape: torch.randn(*shape, generator=g) * 0.1  # noqa: E731
    sd = {"model.embed_tokens.weight": w(vocab, d), "model.norm.weight": 1 + w(d)}
    for i in range(n_layer):
        p = f"model.layers.{i}."
        sd.update({p + "input_layernorm.weight": 1 + w(d), p + "post_attention_layernorm.weight": 1 + w(d),
                   p + "self_attn.q_proj.weight": w(heads * hd, d), p + "self_attn.q_proj.bias": w(heads * hd),
                   p + "self_attn.k_proj.weight": w(kv * hd, d), p + "self_attn.k_proj.bias": w(kv * hd),
                   p + "self_attn.v_proj.weight": w(kv * hd, d), p + "self_attn.v_proj.bias": w(kv * hd),
                   p + "self_attn.o_proj.weight": w(d, heads * hd), p + "mlp.gate_proj.weight": w(d_ff, d),
                   p + "mlp.up_proj.weight": w(d_ff, d), p + "mlp.down_proj.weight": w(d, d_ff)})
    os.makedirs(folder)
    save_file(sd, os.path.join(folder, "model.safetensors"))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump({"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": vocab,
                   "hidden_size": d, "intermediate_size": d_ff, "num_hidden_layers": n_layer,
                   "num_attention_heads": heads, "num_key_value_heads": kv, "rope_theta": 1e6,
                   "rms_norm_eps": 1e-6, "tie_word_embeddings": True, "max_position_embeddings": 64}, f)
    return sd


def test_init_from_hf_folder_keeps_the_body(runs):
    """--init_from an HF folder: the corpus vocabulary (64 units + boundary) replaces the text one and
    every body weight is the HF one (learning_rate 0: the checkpoint holds the initial weights)."""
    tmp, corpus, pre, inter = runs
    hf, out = str(tmp / "hf_qwen2"), str(tmp / "from_hf")
    sd = write_hf_qwen2(hf)
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={out}", f"--init_from={hf}",
                       "--max_iters=1", "--learning_rate=0"])
    w = weights(out)
    assert info(out)["model_config"]["vocab_size"] == 65 and w["tok_emb.weight"].shape == (128, 32)
    assert torch.equal(w["blocks.1.mlp.down.weight"], sd["model.layers.1.mlp.down_proj.weight"])
    assert torch.equal(w["blocks.0.attn.qkv.bias"][:32], sd["model.layers.0.self_attn.q_proj.bias"])


def test_resume_is_exact(runs):
    tmp, corpus, pre, inter = runs
    out = str(tmp / "resumed")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=6"]
    train.main(args + [f"--init_from={pre}", "--stop_iter=3"])
    assert [r["step"] for r in log(out)] == [0, 1, 2, 3]
    with open(os.path.join(out, "log.jsonl"), "a") as f:  # a crash after logging step 4, before its
        f.write(json.dumps({"step": 4, "loss": 0.0}) + "\n")  # checkpoint: resume drops that record
    os.makedirs(os.path.join(out, "ckpt.tmp"))  # a kill mid-save left it
    open(os.path.join(out, "ckpt.tmp", "__0_0.distcp"), "wb").write(b"half")
    train.main(args + ["--init_from=resume"])
    assert losses(log(out)) == losses(log(inter))  # identical floats, every step, train and val
    assert not os.path.exists(os.path.join(out, "ckpt.tmp"))  # removed at start (issue 8.11)
    with pytest.raises(train.ConfigError, match=r"rows per step.*checkpoint 8, now 4"):  # other batch
        train.main(args + ["--init_from=resume", "--grad_accum=1"])


def test_resume_refuses_every_key_but_the_listed_ones(runs):
    """Issue 8.5: one list of what may change on resume; anything else is refused, naming the keys
    (grad_clip and dtype change results; weight_decay, betas and model_preset were silently ignored)."""
    tmp, corpus, pre, inter = runs
    out = str(tmp / "refuse")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=6"]
    train.main(args + [f"--init_from={pre}", "--stop_iter=1", "--eval_interval=100"])
    changes = ["--grad_clip=0.5", "--dtype=bfloat16", "--weight_decay=0.0", "--beta1=0.8", "--beta2=0.9",
               "--model_preset=small", "--seed=1", "--p_fr=0.3", "--lang_probs={'en': 1.0}", "--seq_len=16",
               "--eval_iters=1", "--max_iters=8", "--learning_rate=1e-3", "--switch=story"]
    for change in changes:
        key = change[2:].split("=")[0]
        with pytest.raises(train.ConfigError, match=rf"with other settings: {key} \(checkpoint .*, now "):
            train.main(args + ["--init_from=resume", change])
    with pytest.raises(train.ConfigError, match=r"beta2 .*; grad_clip "):  # every key named at once
        train.main(args + ["--init_from=resume", "--grad_clip=2.0", "--beta2=0.9"])
    # allowed: intervals, stop_iter, and the same 8 rows per step split as 8 x 1 instead of 4 x 2
    train.main(args + ["--init_from=resume", "--batch_size=8", "--grad_accum=1", "--log_interval=2",
                       "--eval_interval=5", "--ckpt_interval=2", "--stop_iter=2"])
    assert info(out)["step"] == 2


def launch(n, jobs, tmp):
    """tests/dist_jobs.py's jobs (train.py runs) on n CPU processes (torchrun, gloo): one launch."""
    import signal
    import socket
    path = tmp / f"jobs{n}.json"
    path.write_text(json.dumps(jobs))
    with socket.socket() as sock:  # job i's process group: port + i (tests/dist_jobs.py)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={n}",
           os.path.join(ROOT, "tests", "dist_jobs.py"), str(path), str(port)]
    p = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"}, start_new_session=True)
    try:
        out, err = p.communicate(timeout=600)
    except subprocess.TimeoutExpired:  # a hung process group: stop torchrun and its workers, all of them
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
    assert p.returncode == 0, out[-3000:] + err[-3000:]
    return out


@pytest.fixture(scope="module")
def sharded(runs):
    """The sharded checkpoint and FSDP2's step on 2 and 4 CPU processes, two launches. From the 1-process
    pretrain checkpoint, 2 processes (4 rows x 1 each; every run keeps 8 rows per step): interleave up to
    step 3 (twice: out2, out2r), out2r resumed to 6 there, and straight to 6 (out2full). Four short pretraining
    runs of 2 rows x 2 micro-steps, collectives counted: grad_sync micro and step, activation checkpointing
    block and selective. Then copies of out2 resumed on 4 processes (2 x 1) and on 1 (4 x 2) to step 6, and
    out2 read into 4 and 1 processes' layouts and saved again at once (re4, re1)."""
    import shutil
    tmp, corpus, pre, inter = runs
    d = tmp / "sharded"
    d.mkdir()
    hf = str(d / "hf_qwen2")
    hf_weights = write_hf_qwen2(hf)
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", "--max_iters=6"]
    two = args + ["--batch_size=4", "--grad_accum=1"]
    small = TINY + ["--phase=pretrain", f"--data_dir={corpus}", "--max_iters=3", "--batch_size=2", "--grad_accum=2",
                    "--init_from=scratch", "--eval_interval=0"]  # val once, at the end: counts of steps only
    out2 = launch(2, [{"argv": two + [f"--init_from={pre}", "--stop_iter=3", f"--out_dir={d / 'out2'}"]},
                      {"argv": two + [f"--init_from={pre}", "--stop_iter=3", f"--out_dir={d / 'out2r'}"]},
                      {"argv": two + ["--init_from=resume", f"--out_dir={d / 'out2r'}"]},
                      {"argv": two + [f"--init_from={pre}", f"--out_dir={d / 'out2full'}"]}]
                  + [{"argv": small + [f"--out_dir={d / name}", *extra], "count": True} for name, extra in (
                      ("micro", ["--grad_sync=micro"]), ("step", ["--grad_sync=step"]),
                      ("ac_block", ["--activation_checkpointing=block"]),
                      ("ac_selective", ["--activation_checkpointing=selective"]))]
                  + [{"argv": TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={d / 'hf2'}",
                                      f"--init_from={hf}", "--max_iters=1", "--learning_rate=0"]}], tmp)
    for name in ("out4", "out1"):
        shutil.copytree(d / "out2", d / name)
    four = args + ["--batch_size=2", "--grad_accum=1", "--init_from=resume"]
    launch(4, [{"argv": four + [f"--out_dir={d / 'out4'}"]},
               {"argv": four + [f"--out_dir={d / 'out2'}"], "resave": str(d / "re4")}], tmp)
    one = args + ["--batch_size=4", "--grad_accum=2", "--init_from=resume"]
    train.main(one + [f"--out_dir={d / 'out1'}"])
    from tests.dist_jobs import resave
    resave(one + [f"--out_dir={d / 'out2'}"], str(d / "re1"))
    return d, inter, out2, hf_weights


def test_hf_weights_on_two_processes_come_from_rank_0(sharded):
    """init_from an HF folder under torchrun: rank 0 reads the weights, the other rank builds on the meta
    device and receives its shards (learning_rate 0: the checkpoint holds what each rank started from);
    every body weight is the HF one, the new embedding the one a single process draws."""
    d, inter, out, sd = sharded
    w = weights(d / "hf2")
    assert torch.equal(w["blocks.1.mlp.down.weight"], sd["model.layers.1.mlp.down_proj.weight"])
    assert torch.equal(w["blocks.0.attn.qkv.bias"][:32], sd["model.layers.0.self_attn.q_proj.bias"])
    one = Decoder.from_hf(str(d / "hf_qwen2"), vocab_size=65)
    assert all(torch.equal(w[k], v) for k, v in one.state_dict().items())


def test_whole_model_compile_is_refused_under_torchrun(monkeypatch):
    """compile_mode=model under FSDP2 was silently split at every block: now a clear error, before any
    process group starts."""
    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    C = train.types.SimpleNamespace(**train.get_config(["--compile=True", "--compile_mode=model", "--device=cpu"]))
    with pytest.raises(train.ConfigError, match="compile_mode=model under torchrun"):
        train.setup_system(C)


def close(a, b, rel):  # two runs' logged losses, record by record, to a relative tolerance -> the largest
    assert [r.keys() for r in a] == [r.keys() for r in b]
    for x, y in zip(a, b):
        for k in x:
            assert y[k] == pytest.approx(x[k], rel=rel), (x["step"], k)
    return max(abs(y[k] - x[k]) / abs(x[k]) for x, y in zip(a, b) for k in x if x[k])


def test_two_processes_fsdp2_match_one(sharded):
    """2 processes (FSDP2, gloo; 4 rows x 1 each) from a 1-process checkpoint loaded into their shards: every
    step matches the 1-process run of 4 rows x 2 micro-steps (the same global batch) to fp32 rounding."""
    d, inter, out, _ = sharded
    assert "2 x cpu float32, compile off, FSDP2" in out
    close(losses(log(inter)), losses(log(d / "out2full")), 1e-5)  # val too: the same rows however split
    one, two = weights(inter), weights(d / "out2full")
    assert one.keys() == two.keys()
    for k, v in one.items():
        torch.testing.assert_close(two[k], v, rtol=0, atol=1e-5)


def test_sharded_checkpoint_resumes_at_any_world_size(sharded):
    """Issue 18.3: saved by 2 processes (one shard file each, half the bytes each); resumed at 2 it continues
    as the uninterrupted run bit for bit; read into 4 and 1 processes' layouts, the state is the saved one
    exactly (weights and AdamW state, saved again at once and compared); resumed at 4 and 1 it continues as
    the uninterrupted 2-process run to fp32 rounding (sums in another order)."""
    d, inter, out, _ = sharded
    files2 = info(d / "out2")["files"]
    assert sorted(files2) == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    assert 0.45 < files2["__0_0.distcp"]["bytes"] / files2["__1_0.distcp"]["bytes"] < 2.2  # each rank its part
    assert len([f for f in info(d / "re4")["files"] if f.endswith(".distcp")]) == 4
    assert losses(log(d / "out2")) == losses(log(d / "out2full"))[:4]  # the runs agree up to the save
    assert losses(log(d / "out2r")) == losses(log(d / "out2full"))  # 2 -> 2: exact
    for again in ("re4", "re1"):
        saved, back = weights(d / "out2"), weights(d / again)
        assert all(torch.equal(back[k], v) for k, v in saved.items()), again
        a, b = optimizer_state(d / "out2"), optimizer_state(d / again)
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), again
    for n in ("out4", "out1"):
        worst = close(losses(log(d / "out2full")), losses(log(d / n)), 1e-5)
        assert [r["step"] for r in log(d / n)] == list(range(7))
        print(f"saved at 2 processes, resumed at {n[3:]}: largest relative difference to the straight run {worst:.1e}")


def optimizer_state(out_dir):
    """A checkpoint's AdamW state read on one process -> {"<param>.<key>": tensor}."""
    d, _ = ckpt.load_checkpoint(out_dir)
    model = load_model(out_dir)
    opt = torch.optim.AdamW(model.parameters())
    ckpt.load_optimizer(d, model, opt)
    names = {id(p): n for n, p in model.named_parameters()}
    return {f"{names[id(p)]}.{k}": v for p, st in opt.state.items() for k, v in st.items()}


def test_one_reduce_scatter_per_step_with_the_same_losses(sharded):
    """Issue 18.2, counted on gloo: 3 steps x 2 micro-steps x 3 FSDP2 groups (2 blocks, the root) reduce-scatter
    18 times with grad_sync=micro, 9 with step (the default), and all-gather as often (the blocks stay
    gathered from forward to backward anyway, so also between micro-steps); losses equal to fp32 rounding."""
    d, inter, out, _ = sharded
    counts = {n: json.load(open(d / n / "collectives.json")) for n in ("micro", "step")}
    assert counts["micro"] == {"all_gather_single": 18, "reduce_scatter_single": 18}
    assert counts["step"] == {"all_gather_single": 9, "reduce_scatter_single": 9}
    print(f"grad_sync micro {counts['micro']}, step {counts['step']}; largest relative difference of the logged "
          f"values {close(losses(log(d / 'micro')), losses(log(d / 'step')), 1e-6):.1e}")


def test_activation_checkpointing_under_fsdp2_changes_nothing(sharded):
    """Recomputing a block in backward (every block, or the selective policy) under FSDP2 gives the same
    losses and grad norms bit for bit, with the same collectives (the recompute reuses the gathered weights)."""
    d, inter, out, _ = sharded
    for n in ("ac_block", "ac_selective"):
        assert losses(log(d / n)) == losses(log(d / "step")), n
        assert json.load(open(d / n / "collectives.json")) == json.load(open(d / "step" / "collectives.json"))


def test_corrupt_checkpoint_is_a_clear_error(runs):
    import shutil
    from tests.training.test_checkpoint import flip_bytes
    tmp, corpus, pre, inter = runs
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={tmp / 'x'}"]

    def broken(name):  # a copy of the pretraining run to damage
        shutil.copytree(pre, tmp / name)
        return tmp / name
    half = broken("half") / "ckpt" / "__0_0.distcp"
    half.write_bytes(half.read_bytes()[: half.stat().st_size // 2])
    with pytest.raises(train.CheckpointError, match=rf"{half}: missing or not [\d,]+ bytes"):
        train.main(args + [f"--init_from={half.parent.parent}"])
    text = broken("text") / "ckpt" / "meta.json"
    text.write_text("not a checkpoint\n")
    with pytest.raises(train.CheckpointError, match=rf"{text}: cannot be read .* truncated or corrupt"):
        train.main(args + [f"--init_from={text.parent}"])  # the ckpt/ directory itself names it too
    part = broken("partial") / "ckpt" / "meta.json"
    meta = {k: v for k, v in json.load(open(part)).items() if k != "model_config"}
    json.dump({**meta, "checksum": ckpt._checksum(meta)}, open(part, "w"))
    with pytest.raises(train.CheckpointError, match=r"missing \['model_config'\]"):
        train.main(args + [f"--init_from={part.parent.parent}"])
    # 32 flipped bytes inside a tensor's data (issue 8.6): refused as init_from and on resume
    rot = broken("rot")
    flip_bytes(rot / "ckpt" / "__0_0.distcp")
    for argv in (args + [f"--init_from={rot}"],
                 TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={rot}", "--init_from=resume"]):
        with pytest.raises(train.CheckpointError, match="rot/ckpt/__0_0.distcp: corrupt: its sha256"):
            train.main(argv)


def test_corpus_vocabulary_mismatch_is_a_clear_error(runs):
    tmp, corpus, pre, inter = runs
    other = write_corpus(tmp / "other", vocab=96)
    with pytest.raises(train.CheckpointError, match="corpus/vocabulary mismatch") as e:
        train.main(TINY + ["--phase=interleave", f"--data_dir={other}", f"--out_dir={tmp / 'y'}",
                           f"--init_from={pre}"])
    assert "vocab_size=64" in str(e.value) and "vocab_size=96" in str(e.value)


def test_config_parsing(tmp_path, monkeypatch):
    a = train.get_config(["--phase", "interleave", "--max_iters=7", "--lang_probs={'en': 1.0}"])
    b = train.get_config(["--phase=interleave", "--max_iters", "7", "--lang_probs", "{'en': 1.0}"])
    assert a == b and a["phase"] == "interleave" and a["max_iters"] == 7 and a["lang_probs"] == {"en": 1.0}
    cfg = tmp_path / "c.py"
    cfg.write_text("import math\nmax_iters = 2 * 10\nlearning_rate = 1\nout_dir = 'out/x'\n")
    c = train.get_config([str(cfg), "--out_dir=out/y"])  # command line after the file wins
    assert (c["max_iters"], c["learning_rate"], c["out_dir"]) == (20, 1.0, "out/y")
    with pytest.raises(train.ConfigError, match="unknown config key 'max_iter'"):
        train.get_config(["--max_iter=5"])
    (tmp_path / "bad.py").write_text("lr = 1e-3\n")
    with pytest.raises(train.ConfigError, match="bad.py: unknown config key 'lr'"):
        train.get_config([str(tmp_path / "bad.py")])
    with pytest.raises(train.ConfigError, match="max_iters='ten' is a str"):
        train.get_config(["--max_iters=ten"])
    with pytest.raises(train.ConfigError, match="phase='pretrian'"):
        train.get_config(["--phase=pretrian"])
    # the paper's 614,400 tokens per step: 300 rows of 2048 do not split over 8 GPUs -> the nearest
    monkeypatch.setenv("RANK", "0")  # checked before any process group starts
    monkeypatch.setenv("WORLD_SIZE", "8")
    with pytest.raises(train.ConfigError, match="Nearest: --tokens_per_step=0 --batch_size=19 "
                                                "--grad_accum=2 \\(622,592 tokens"):
        train.main([os.path.join(ROOT, "config", "paper_360m_interleave.py")])
    for name in os.listdir(os.path.join(ROOT, "config")):  # every shipped config parses
        train.get_config([os.path.join(ROOT, "config", name)])


def test_lr_schedule():
    C = type("C", (), dict(learning_rate=1.0, min_lr=0.0, warmup_frac=0.05, max_iters=100))
    lrs = [train.get_lr(s, C) for s in range(100)]
    assert lrs[0] == pytest.approx(0.2) and lrs[4] == pytest.approx(1.0)  # 5 warmup steps
    assert lrs[5] == 1.0 and all(a > b for a, b in zip(lrs[5:], lrs[6:]))  # then linear decay
    assert lrs[-1] == pytest.approx(1 / 95) and train.get_lr(100, C) == 0.0  # min_lr at max_iters


def test_pretraining_on_a_corpus_mixture(tmp_path):
    """data_mix: an EN-only unpaired corpus with a paired EN/FR one; val loss per corpus and language,
    the per-language loss is the weight-average of the corpora; resume refuses another mix; the
    interleave phase refuses an unpaired corpus and starts from the mixture's checkpoint."""
    from interleave import DataError
    tales = write_corpus(tmp_path / "tales")
    books = str(tmp_path / "books")
    rng = np.random.default_rng(1)
    for split, n in (("train", 30), ("val", 8)):
        per = rng.integers(1, 6, n)  # chapters of 1-5 segments
        segments = [rng.integers(0, 64, rng.integers(3, 20)) for _ in range(per.sum())]
        tokenbin.write_split(books, split, {"en": segments}, {"en": np.cumsum(per) - per}, 64, paired=False)
    tokenbin.write_meta(books, {"vocab_size": 64, "languages": ["en"], "paired": False})
    out = str(tmp_path / "pre")
    args = TINY + ["--phase=pretrain", f"--out_dir={out}", "--max_iters=4"]
    train.main(args + [f"--data_mix={{'{books}': 3, '{tales}': 1}}", "--stop_iter=3"])
    rec = log(out)[-1]
    assert rec["step"] == 3
    assert rec["val_loss_en"] == pytest.approx((3 * rec["val_loss_books_en"] + rec["val_loss_tales_en"]) / 4)
    assert rec["val_loss_fr"] == rec["val_loss_tales_fr"] and "val_loss_books_fr" not in rec
    assert rec["val_loss"] == pytest.approx((rec["val_loss_en"] + rec["val_loss_fr"]) / 2)
    with pytest.raises(train.ConfigError, match="with other settings: data_mix"):
        train.main(args + [f"--data_mix={{'{books}': 1, '{tales}': 1}}", "--init_from=resume"])
    with pytest.raises(train.ConfigError, match="data_mix"):  # a single corpus is another data stream
        train.main(args + [f"--data_dir={tales}", "--init_from=resume"])
    train.main(args + [f"--data_mix={{'{books}': 3, '{tales}': 1}}", "--init_from=resume"])
    assert [r["step"] for r in log(out)] == [0, 1, 2, 3, 4]
    inter = TINY + ["--phase=interleave", f"--out_dir={tmp_path / 'inter'}", "--max_iters=1"]
    with pytest.raises(DataError, match="books.*unpaired"):
        train.main(inter + [f"--data_mix={{'{books}': 1, '{tales}': 1}}", f"--init_from={out}"])
    train.main(inter + [f"--data_dir={tales}", f"--init_from={out}"])  # the mixture's languages: en, fr
    other = write_corpus(tmp_path / "other", vocab=32)
    with pytest.raises(DataError, match="vocabulary"):
        train.main(args + [f"--data_mix={{'{books}': 1, '{other}': 1}}", f"--out_dir={tmp_path / 'x'}"])


def strict_log(out_dir):  # log.jsonl must be strict JSON: a bare NaN/Infinity raises here
    def no_nan(c):
        raise AssertionError(f"log.jsonl holds a bare {c}")
    with open(os.path.join(out_dir, "log.jsonl")) as f:
        return [json.loads(line, parse_constant=no_nan) for line in f]


def test_huge_learning_rate_stops_nonzero_without_saving_nan(runs):
    """learning_rate=1e9 (issue 8.1): the loss blows up within a few steps; the process exits non-zero
    with a clear line, every checkpoint it left is finite and log.jsonl is strict JSON."""
    tmp, corpus, pre, inter = runs
    out = str(tmp / "lr1e9")
    cmd = [sys.executable, os.path.join(ROOT, "train.py")] + TINY + [
        "--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=20",
        "--learning_rate=1e9", "--warmup_frac=0", "--ckpt_interval=1"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode != 0 and "non-finite" in p.stderr, p.stdout[-2000:] + p.stderr[-2000:]
    assert "Traceback" not in p.stderr
    recs = strict_log(out)
    assert "error" in recs[-1] and recs[-1]["step"] < 20
    if os.path.exists(os.path.join(out, "ckpt")):
        assert info(out)["step"] < recs[-1]["step"]
        assert all(torch.isfinite(v).all() for v in weights(out).values())


def test_nan_injection_keeps_the_last_good_checkpoint(runs, monkeypatch):
    """A NaN logit at training step 5 (issue 8.1): stop at the next check (step 6), non-zero exit
    class, the step-3 checkpoint still there bit for bit, no NaN in log.jsonl."""
    tmp, corpus, pre, inter = runs
    out = str(tmp / "nan")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=9",
                   "--log_interval=3"]
    train.main(args + [f"--init_from={pre}", "--stop_iter=3"])
    good = files(out)
    forward, calls = train.Decoder.forward, []

    def poisoned(self, idx, **kw):
        logits = forward(self, idx, **kw)
        if self.training:
            calls.append(1)
            if len(calls) == 3:  # grad_accum 2: micro-step 1 of step 5 (resumed at 3)
                logits = logits * float("nan")
        return logits
    monkeypatch.setattr(train.Decoder, "forward", poisoned)
    with pytest.raises(train.NonFiniteError, match="non-finite loss or grad norm at step 5"):
        train.main(args + ["--init_from=resume"])
    assert files(out) == good
    recs = strict_log(out)
    assert recs[-1]["step"] == 6 and "error" in recs[-1]
    assert not [f for f in os.listdir(out) if ".tmp" in f]


def test_per_language_loss_credits_the_target_language():
    """A row EN EN EN | FR FR (x languages): the loss at t=2 predicts the first FR token, so it is FR's.
    Row 2 switches FR -> EN at t=1. Hand-computed sums; the last position of each row is left out."""
    lang = torch.tensor([[0, 0, 0, 1, 1], [1, 0, 0, 0, 0]])
    loss = torch.tensor([[1., 2., 4., 8., 16.], [32., 64., 128., 256., 512.]])
    got = per_language(loss, lang, 2).tolist()
    # targets' languages: row 1 [0, 0, 1, 1, ?], row 2 [0, 0, 0, 0, ?]
    assert got == [1 + 2 + 32 + 64 + 128 + 256, 4 + 8, 6, 2]


def test_zero_intervals_mean_only_at_the_end(runs):
    """eval_interval=0 divided by zero; now 0 means: val loss (and checkpoint) at max_iters only,
    log_interval=0 a log record at the last step only."""
    tmp, corpus, pre, inter = runs
    out = str(tmp / "zero")
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=4",
                       "--eval_interval=0", "--log_interval=0"])
    recs = [r for r in log(out) if "summary" not in r]
    assert [r["step"] for r in recs] == [4] and "val_loss_en" in recs[0] and "loss" in recs[0]
    assert info(out)["step"] == 4
    with pytest.raises(train.ConfigError, match=r"eval_interval=-1: must be in \[0, inf\)"):
        train.get_config(["--eval_interval=-1"])


def test_init_from_is_decided_by_what_is_on_disk(runs, monkeypatch):
    """An HF folder under out/ is an HF model (the old rule said checkpoint by its out/ prefix); a
    folder with neither ckpt/ nor config.json, or a missing path that is no Hub id, is a clear error."""
    tmp, corpus, pre, inter = runs
    monkeypatch.chdir(tmp)
    write_hf_qwen2(os.path.join("out", "hf_model"))
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", "--out_dir=from_out_hf",
                       "--init_from=out/hf_model", "--max_iters=1", "--eval_interval=0"])
    assert info("from_out_hf")["model_config"]["qkv_bias"]  # a Qwen2 body
    os.makedirs("empty")
    assert [ckpt.init_kind(s) for s in ("scratch", "resume", pre, os.path.join(pre, "ckpt"),
                                         "out/hf_model", "Qwen/Qwen2.5-0.5B")] == \
        ["scratch", "resume", "checkpoint", "checkpoint", "hf", "hf"]
    for spec, what in (("empty", "a folder with neither ckpt/"), ("out/x/ckpt.pt", "no such file or folder"),
                       ("/nowhere/run", "no such file or folder")):
        with pytest.raises(train.CheckpointError, match=f"init_from={spec}: {what}"):
            train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", "--out_dir=o", f"--init_from={spec}"])


def test_default_chain_runs_as_printed(runs, monkeypatch):
    """Issue 10.1: `--phase pretrain`, then `--phase interleave`, then `--phase finetune` with no
    out_dir or init_from chain through out/pretrain -> out/interleave -> out/finetune; a later phase
    with no previous one says which command to run first; an explicit scratch or out_dir still wins."""
    tmp, corpus, pre, inter = runs
    work = tmp / "chain"
    work.mkdir()
    monkeypatch.chdir(work)
    small = TINY + [f"--data_dir={corpus}", "--max_iters=2"]
    with pytest.raises(train.CheckpointError, match=r"phase interleave starts from out/pretrain/ckpt, "
                       r"which does not exist: run `torchrun --standalone --nproc_per_node=1 train.py "
                       r"--phase pretrain` first"):
        train.main(small + ["--phase", "interleave"])
    for phase in ("pretrain", "interleave", "finetune"):
        train.main(small + ["--phase", phase])
    for prev, phase in (("pretrain", "interleave"), ("interleave", "finetune")):
        ck = info(f"out/{phase}")
        assert (ck["phase"], ck["config"]["init_from"], ck["config"]["out_dir"]) == (phase, f"out/{prev}", f"out/{phase}")
        assert log(f"out/{phase}")[0]["val_loss_en"] == pytest.approx(
            [r for r in log(f"out/{prev}") if "val_loss_en" in r][-1]["val_loss_en"], rel=1e-6)
    train.main(small + ["--phase=finetune", "--init_from=scratch", "--out_dir=fresh"])
    assert info("fresh")["config"]["init_from"] == "scratch"
    assert sorted(os.listdir("out")) == ["finetune", "interleave", "pretrain"]


def test_throughput_excludes_warm_up_eval_and_checkpoints(runs, monkeypatch):
    """Issue 10.4: a slow first training step (as a compile would be), slow evaluations and slow
    checkpoint saves do not enter tokens/s; the closing summary record gives the mean over the timed
    steps (all but the first WARMUP_STEPS)."""
    import time
    tmp, corpus, pre, inter = runs
    out = str(tmp / "tps")
    forward, evaluate_calls = train.Decoder.forward, []

    def slow_first(self, idx, **kw):
        if self.training and not evaluate_calls:
            evaluate_calls.append(1)
            time.sleep(1.0)  # "compiling"
        elif not self.training:
            time.sleep(0.05)  # every val batch
        return forward(self, idx, **kw)
    save = train.save_training_state
    monkeypatch.setattr(train.Decoder, "forward", slow_first)
    monkeypatch.setattr(train, "save_training_state", lambda *a, **k: (time.sleep(0.5), save(*a, **k)))
    t0 = time.perf_counter()
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=6",
                       "--eval_interval=2", "--ckpt_interval=1"])
    wall = time.perf_counter() - t0
    recs, summary = log(out), log(out, summaries=True)[-1]["summary"]
    assert [r["tokens_per_s"] for r in recs[1:3]] == [None, None]  # steps 1, 2: warm-up
    assert all(r["tokens_per_s"] > 0 for r in recs[3:])
    assert summary["timed_steps"] == 4 and summary["mfu"] is None and summary["peak_memory_gib"] is None
    per_step = 256 / summary["tokens_per_s"]  # seconds per timed step: no sleep in it
    assert per_step < 0.25 and 4 * per_step < wall - 1.0 - 6 * 0.5


def test_fsdp2_policy_fp32_reduction_and_reshard_setting(runs, monkeypatch):
    """Issue 10.6, one process group of one (gloo, in-process): every block and the root are sharded
    with fp32 gradient reduction, the run's compute dtype, and reshard_after_forward from the config."""
    import socket
    tmp, corpus, pre, inter = runs
    calls, real = [], train.fully_shard

    def record(module, **kw):
        calls.append((type(module).__name__, kw["mp_policy"], kw["reshard_after_forward"]))
        return real(module, **kw)
    monkeypatch.setattr(train, "fully_shard", record)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    for k, v in dict(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)).items():
        monkeypatch.setenv(k, v)
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={tmp / 'fsdp1'}", "--max_iters=1",
                       "--reshard_after_forward=True"])
    assert [c[0] for c in calls] == ["Block", "Block", "Decoder"]
    assert all(mp.reduce_dtype == torch.float32 and mp.param_dtype == torch.float32 and reshard
               for _, mp, reshard in calls)


def test_compiled_training_does_not_recompile(runs, monkeypatch):
    """Issue 10.3 on CPU (inductor): after the first steps (and the step-0 evaluation), a compiled
    training loop with an evaluation in between compiles nothing new: a recompile is an error, and the
    block has no graph break. (compile_mode="model" is the same loop with one bigger graph: dev/bench.py.)"""
    import torch._dynamo as dynamo
    tmp, corpus, pre, inter = runs
    dynamo.reset()
    get_lr, seen = train.get_lr, {}

    def arm_after_warm_up(step, C):  # called once per step, before it
        if step == 2:
            seen["frames"] = dict(dynamo.utils.counters["stats"])
            torch.compiler.set_stance("fail_on_recompile")
        return get_lr(step, C)
    monkeypatch.setattr(train, "get_lr", arm_after_warm_up)
    try:
        train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={tmp / 'compiled'}",
                           "--max_iters=5", "--eval_interval=3", "--eval_iters=1", "--compile=True"])
    finally:
        torch.compiler.set_stance("default")
    assert dict(dynamo.utils.counters["stats"]) == seen["frames"]  # no new frame compiled either
    assert not dynamo.utils.counters["graph_break"]
    dynamo.reset()
