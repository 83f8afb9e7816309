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
from model import load_model

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
                       f"--init_from={inter}/ckpt.pt", "--max_iters=3"])
    for out, phase, steps in ((pre, "pretrain", 3), (inter, "interleave", 6), (fin, "finetune", 3)):
        ck = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
        assert (ck["phase"], ck["step"]) == (phase, steps)
        recs = log(out)
        assert [r["step"] for r in recs] == list(range(steps + 1))  # step 0 = val of the initial model
        assert "loss_fr" not in recs[1] if phase == "pretrain" else "loss_fr" in recs[1]
    # each phase starts from the previous weights: its step-0 val loss is the previous final one
    for prev, nxt in ((pre, inter), (inter, fin)):
        assert log(nxt)[0]["val_loss_en"] == pytest.approx(log(prev)[-1]["val_loss_en"], rel=1e-6)
        assert log(nxt)[1]["lr"] == 3e-3 > log(prev)[-1]["lr"]  # a new schedule from step 0
    # each phase draws its own rows: a later phase must not replay pretraining's rows step by step
    seeds = [torch.load(os.path.join(o, "ckpt.pt"), weights_only=True)["sampler"]["seed"] for o in (pre, inter, fin)]
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
    ck = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    assert ck["model_config"]["vocab_size"] == 65 and ck["model"]["tok_emb.weight"].shape == (128, 32)
    assert torch.equal(ck["model"]["blocks.1.mlp.down.weight"], sd["model.layers.1.mlp.down_proj.weight"])
    assert torch.equal(ck["model"]["blocks.0.attn.qkv.bias"][:32], sd["model.layers.0.self_attn.q_proj.bias"])


def test_resume_is_exact(runs):
    tmp, corpus, pre, inter = runs
    out = str(tmp / "resumed")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=6"]
    train.main(args + [f"--init_from={pre}", "--stop_iter=3"])
    assert [r["step"] for r in log(out)] == [0, 1, 2, 3]
    with open(os.path.join(out, "log.jsonl"), "a") as f:  # a crash after logging step 4, before its
        f.write(json.dumps({"step": 4, "loss": 0.0}) + "\n")  # checkpoint: resume drops that record
    open(os.path.join(out, "ckpt.pt.tmp99999"), "wb").write(b"half")  # a kill mid-save left it
    train.main(args + ["--init_from=resume"])
    assert losses(log(out)) == losses(log(inter))  # identical floats, every step, train and val
    assert not os.path.exists(os.path.join(out, "ckpt.pt.tmp99999"))  # removed at start (issue 8.11)
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
    assert torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)["step"] == 2


def test_two_processes_fsdp2_match_one(runs):
    """One process, 8 rows x 1, stops at step 3; torchrun resumes it on 2 CPU processes (gloo,
    FSDP2, 4 rows x 2: the optimizer state is loaded into the sharded model) up to step 6. Every
    step matches the one-process run of 4 rows x 2 micro-steps (same global batch), and the sharded
    run's checkpoint holds the full weights."""
    tmp, corpus, pre, inter = runs
    out = str(tmp / "fsdp")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=6"]
    train.main(args + ["--batch_size=8", "--grad_accum=1", f"--init_from={pre}", "--stop_iter=3"])
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           os.path.join(ROOT, "train.py")] + args + ["--grad_accum=1", "--init_from=resume"]
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "2 x cpu float32, compile off, FSDP2" in p.stdout
    one, two = losses(log(inter)), losses(log(out))
    assert [r.keys() for r in one] == [r.keys() for r in two]
    for a, b in zip(one, two):
        for k in a:  # val too: eval_iters x 8 rows per step, however split (8 x 1, 4 x 2, 2 procs)
            assert b[k] == pytest.approx(a[k], rel=2e-4), (a["step"], k)
    ck_one = torch.load(os.path.join(inter, "ckpt.pt"), weights_only=True)
    ck_two = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
    assert ck_two["model"].keys() == ck_one["model"].keys()
    for k, v in ck_one["model"].items():
        torch.testing.assert_close(ck_two["model"][k], v, rtol=0, atol=1e-4)
    assert ck_two["optimizer"]["state"].keys() == ck_one["optimizer"]["state"].keys()


def test_corrupt_checkpoint_is_a_clear_error(runs):
    tmp, corpus, pre, inter = runs
    good = os.path.join(pre, "ckpt.pt")
    bad = tmp / "bad"
    bad.mkdir()
    data = open(good, "rb").read()
    cases = {"truncated.pt": data[: len(data) // 2], "text.pt": b"not a checkpoint\n"}
    for name, blob in cases.items():
        (bad / name).write_bytes(blob)
    torch.save({"model": {}, "step": 1}, bad / "partial.pt")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={tmp / 'x'}"]
    for name in ("truncated.pt", "text.pt"):
        with pytest.raises(train.CheckpointError, match="truncated or corrupt") as e:
            train.main(args + [f"--init_from={bad / name}"])
        assert str(bad / name) in str(e.value)
    with pytest.raises(train.CheckpointError, match=r"missing \['model_config'"):
        train.main(args + [f"--init_from={bad / 'partial.pt'}"])
    # 32 flipped bytes inside a tensor's data (issue 8.6): refused as init_from and on resume
    from tests.training.test_checkpoint import flip_bytes_inside
    rot = tmp / "rot"
    rot.mkdir()
    (rot / "ckpt.pt").write_bytes(data)
    flip_bytes_inside(rot / "ckpt.pt", "")
    with pytest.raises(train.CheckpointError, match="rot/ckpt.pt: corrupt: 1 of"):
        train.main(args + [f"--init_from={rot}"])
    with pytest.raises(train.CheckpointError, match="rot/ckpt.pt: corrupt: 1 of"):
        train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={rot}", "--init_from=resume"])
    # resume from a truncated out_dir/ckpt.pt names that file too
    res = tmp / "res"
    res.mkdir()
    (res / "ckpt.pt").write_bytes(data[:1000])
    with pytest.raises(train.CheckpointError, match="res/ckpt.pt: cannot be read"):
        train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", f"--out_dir={res}",
                           "--init_from=resume"])


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
    if os.path.exists(os.path.join(out, "ckpt.pt")):
        ck = torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)
        assert ck["step"] < recs[-1]["step"]
        assert all(torch.isfinite(v).all() for v in ck["model"].values())


def test_nan_injection_keeps_the_last_good_checkpoint(runs, monkeypatch):
    """A NaN logit at training step 5 (issue 8.1): stop at the next check (step 6), non-zero exit
    class, the step-3 checkpoint still there bit for bit, no NaN in log.jsonl."""
    tmp, corpus, pre, inter = runs
    out = str(tmp / "nan")
    args = TINY + ["--phase=interleave", f"--data_dir={corpus}", f"--out_dir={out}", "--max_iters=9",
                   "--log_interval=3"]
    train.main(args + [f"--init_from={pre}", "--stop_iter=3"])
    good = open(os.path.join(out, "ckpt.pt"), "rb").read()
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
    assert open(os.path.join(out, "ckpt.pt"), "rb").read() == good
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
    assert torch.load(os.path.join(out, "ckpt.pt"), weights_only=True)["step"] == 4
    with pytest.raises(train.ConfigError, match=r"eval_interval=-1: must be in \[0, inf\)"):
        train.get_config(["--eval_interval=-1"])


def test_init_from_is_decided_by_what_is_on_disk(runs, monkeypatch):
    """An HF folder under out/ is an HF model (the old rule said checkpoint by its out/ prefix); a
    folder with neither ckpt.pt nor config.json, or a missing path that is no Hub id, is a clear error."""
    tmp, corpus, pre, inter = runs
    monkeypatch.chdir(tmp)
    write_hf_qwen2(os.path.join("out", "hf_model"))
    train.main(TINY + ["--phase=pretrain", f"--data_dir={corpus}", "--out_dir=from_out_hf",
                       "--init_from=out/hf_model", "--max_iters=1", "--eval_interval=0"])
    assert torch.load("from_out_hf/ckpt.pt", weights_only=True)["model_config"]["qkv_bias"]  # a Qwen2 body
    os.makedirs("empty")
    assert [ckpt.init_kind(s) for s in ("scratch", "resume", pre, os.path.join(pre, "ckpt.pt"),
                                         "out/hf_model", "Qwen/Qwen2.5-0.5B")] == \
        ["scratch", "resume", "checkpoint", "checkpoint", "hf", "hf"]
    for spec, what in (("empty", "a folder with neither ckpt.pt"), ("out/x/ckpt.pt", "no such file or folder"),
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
    with pytest.raises(train.CheckpointError, match=r"phase interleave starts from out/pretrain/ckpt.pt, "
                       r"which does not exist: run `torchrun --standalone --nproc_per_node=1 train.py "
                       r"--phase pretrain` first"):
        train.main(small + ["--phase", "interleave"])
    for phase in ("pretrain", "interleave", "finetune"):
        train.main(small + ["--phase", phase])
    for prev, phase in (("pretrain", "interleave"), ("interleave", "finetune")):
        ck = torch.load(f"out/{phase}/ckpt.pt", weights_only=True)
        assert (ck["phase"], ck["config"]["init_from"], ck["config"]["out_dir"]) == (phase, f"out/{prev}", f"out/{phase}")
        assert log(f"out/{phase}")[0]["val_loss_en"] == pytest.approx(
            [r for r in log(f"out/{prev}") if "val_loss_en" in r][-1]["val_loss_en"], rel=1e-6)
    train.main(small + ["--phase=finetune", "--init_from=scratch", "--out_dir=fresh"])
    assert torch.load("fresh/ckpt.pt", weights_only=True)["config"]["init_from"] == "scratch"
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
    save = ckpt.save_atomic
    monkeypatch.setattr(train.Decoder, "forward", slow_first)
    monkeypatch.setattr(ckpt, "save_atomic", lambda *a: (time.sleep(0.5), save(*a)))
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
