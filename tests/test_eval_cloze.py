"""eval_cloze.py against a plain one-item-at-a-time reference (log_softmax by hand) on a tiny random model."""
import json
import os

import numpy as np
import pytest
import torch

import eval_cloze
import tokenbin
from results.names import SCORINGS, set_label
from model import PRESETS, Decoder, ModelConfig

UNITS = 50                    # unit ids 0..49 in the bins; the boundary token is 50
BOUNDARY = UNITS



def tiny_model(seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(**{**PRESETS["tiny"], "vocab_size": UNITS + 1, "n_layer": 2, "d_model": 32,
                         "n_head": 4, "n_kv_head": 2, "d_ff": 64, "max_seq_len": 256})
    model = Decoder(cfg)
    # larger weights than the training init, so next-token distributions are far from uniform and
    # any scoring mistake (a padded position counted, an off-by-one target) moves a score by a lot
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0.0, 0.3)
    return model.eval()


def random_items(rng, n, empty_prompt_every=4):
    items = []
    for i in range(n):
        p = 0 if i % empty_prompt_every == 0 else int(rng.integers(1, 25))
        items.append((rng.integers(0, UNITS, p), rng.integers(0, UNITS, int(rng.integers(1, 12))),
                      rng.integers(0, UNITS, int(rng.integers(1, 12)))))
    return items


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """A corpus with only meta.json and bench/: ssc_en (mixed prompts), stc_en-fr, an all-empty-prompt
    minimal-pair set, and a set whose good and bad endings are identical (every item a tie)."""
    d = str(tmp_path_factory.mktemp("corpus"))
    tokenbin.write_meta(d, {"vocab_size": UNITS, "languages": ["en", "fr"]})
    rng = np.random.default_rng(0)
    sets = {"ssc_en": random_items(rng, 13), "stc_en-fr": random_items(rng, 9, empty_prompt_every=100),
            "swuggy": [(np.zeros(0, np.int64), g, b) for _, g, b in random_items(rng, 7)],
            "ties": [(p, g, g.copy()) for p, g, _ in random_items(rng, 6)]}
    for name, items in sets.items():
        tokenbin.write_bench(d, name, items, UNITS)
    return d, sets


@pytest.fixture(scope="module")
def model():
    return tiny_model()


def reference_scores(model, prompt, ending, scoring):
    """One unpadded sequence [boundary] + prompt + ending; every token after the boundary is a target."""
    seq = torch.tensor(np.concatenate([[BOUNDARY], prompt, ending]).astype(np.int64))
    with torch.no_grad():
        logits = model(seq[None])[0]                                   # (T, V)
    logp = torch.log_softmax(logits[:-1].double(), dim=-1)              # row t predicts seq[t + 1]
    tok = logp[torch.arange(len(seq) - 1), seq[1:]]                     # (T-1,)
    if scoring == "mean":
        return tok.mean().item()
    if scoring == "sum":
        return tok.sum().item()
    return tok[len(prompt):].mean().item()                             # ending: the last len(ending) targets


def all_sequences(items):
    seqs, plens = [], []
    for p, g, b in items:
        for e in (g, b):
            seqs.append(np.concatenate([[BOUNDARY], p, e]).astype(np.int64))
            plens.append(len(p))
    return seqs, plens


@pytest.mark.parametrize("scoring", ["mean", "sum", "ending"])
def test_scores_match_reference_batched_any_order(model, corpus, scoring):
    _, sets = corpus
    items = sets["ssc_en"] + sets["swuggy"]
    seqs, plens = all_sequences(items)
    ref = np.array([reference_scores(model, p, e, scoring) for p, g, b in items for e in (g, b)])
    # sum of ~35 log-probs of size ~5: float32 rounding is relative, so compare sums relatively
    tol = dict(rtol=1e-6, atol=1e-5) if scoring == "sum" else dict(rtol=0, atol=1e-5)
    perm = np.random.default_rng(1).permutation(len(seqs))
    for bs, bt in [(1, 0), (3, 0), (64, 0), (64, 60)]:
        got = eval_cloze.score_sequences(model, [seqs[i] for i in perm], scoring, [plens[i] for i in perm],
                                         batch_size=bs, batch_tokens=bt)
        np.testing.assert_allclose(got, ref[perm], **tol, err_msg=f"batch_size={bs} batch_tokens={bt}")
    # the conventions really differ on this data (otherwise the test above could not tell them apart)
    other = [reference_scores(model, p, g, "mean" if scoring != "mean" else "sum") for p, g, _ in items[:3]]
    assert not np.allclose(ref[0:6:2], other, atol=1e-3)


def test_padding_is_masked(model):
    """A short sequence batched with a much longer one scores exactly as alone."""
    rng = np.random.default_rng(3)
    short = np.concatenate([[BOUNDARY], rng.integers(0, UNITS, 3)])
    long = np.concatenate([[BOUNDARY], rng.integers(0, UNITS, 80)])
    for scoring in ("mean", "sum"):
        alone = eval_cloze.score_sequences(model, [short], scoring, batch_size=1)
        together = eval_cloze.score_sequences(model, [long, short], scoring, batch_size=2)
        assert abs(alone[0] - together[1]) < 1e-5


@pytest.mark.parametrize("scoring", ["mean", "sum", "ending"])
def test_evaluate_accuracy_matches_reference(model, corpus, scoring):
    d, sets = corpus
    res = eval_cloze.evaluate(model, d, scoring=scoring, batch_size=5)
    assert set(res) == set(sets)
    for name, items in sets.items():
        good = np.array([reference_scores(model, p, g, scoring) for p, g, _ in items])
        bad = np.array([reference_scores(model, p, b, scoring) for p, _, b in items])
        ties = np.isclose(good, bad, rtol=0, atol=1e-9)
        expect = ((good > bad) & ~ties).mean() + 0.5 * ties.mean()
        assert res[name]["n"] == len(items)
        assert res[name]["accuracy"] == pytest.approx(expect, abs=1e-12), name
    assert res["ties"]["accuracy"] == 0.5                              # good == bad: every item half a point
    assert 0 < res["ssc_en"]["accuracy"] < 1                           # a random model wins some, loses some


def test_accuracy_ties_half():
    acc = eval_cloze.accuracy([1.0, 2.0, 3.0, -1.0], [1.0, 1.0, 3.5, -1.0])     # tie, win, loss, tie
    assert acc == pytest.approx((0.5 + 1 + 0 + 0.5) / 4)


def test_length_batches_cover_sorted_and_capped():
    lengths = [5, 17, 3, 17, 9, 1, 12]
    batches = eval_cloze.length_batches(lengths, batch_size=3, batch_tokens=40)
    flat = [i for b in batches for i in b]
    assert sorted(flat) == list(range(len(lengths)))
    assert [lengths[i] for i in flat] == sorted(lengths, reverse=True)
    assert all(len(b) <= 3 and len(b) * max(lengths[i] for i in b) <= 40 for b in batches)


def save_checkpoint(model, run_dir):  # a train.py checkpoint of the weights (training/checkpoint.py)
    from training.checkpoint import save_training_state
    os.makedirs(run_dir, exist_ok=True)
    save_training_state(run_dir, model, None, True, step=0, config={}, phase="pretrain", sampler={},
                        meta={"vocab_size": UNITS, "languages": ["en", "fr"]})


def test_cli_json_schema_and_report(model, corpus, tmp_path, capsys):
    d, sets = corpus
    run = str(tmp_path / "run")
    save_checkpoint(model, run)
    eval_cloze.main([run, "--corpus", d, "--scoring", "sum", "--batch_size", "4"])
    recs = {s: json.load(open(os.path.join(run, f"cloze_{s}.json"))) for s in SCORINGS}  # one run, 3 files
    for scoring, rec in recs.items():
        assert rec["scoring"] == scoring and rec["checkpoint"] == run and rec["dtype"] == "float32"
        assert set(rec["results"]) == set(sets)
        for name, r in rec["results"].items():
            assert set(r) == {"accuracy", "n", "ci95", "ci95_method", "per_item", "bench_sha1"}
            items = sets[name]
            good = np.array([reference_scores(model, p, g, scoring) for p, g, _ in items])
            bad = np.array([reference_scores(model, p, b, scoring) for p, _, b in items])
            ties = np.isclose(good, bad, rtol=0, atol=1e-9)
            np.testing.assert_array_equal(r["per_item"], np.where(ties, 0.5, (good > bad).astype(float)))
            assert r["n"] == len(items) and r["accuracy"] == pytest.approx(np.mean(r["per_item"]))
            assert r["ci95"][0] <= r["accuracy"] <= r["ci95"][1] and r["ci95_method"] == "wilson"
    assert recs["sum"]["results"] == eval_cloze.evaluate(model, d, scoring="sum", batch_size=7)
    printed = capsys.readouterr().out
    assert "scoring: sum" in printed and "sSC" in printed and "sTC" in printed and "swuggy" in printed

    # --sets picks sets, --out writes --scoring's file only
    eval_cloze.main([run, "--corpus", d, "--sets", "ssc_en", "--out", str(tmp_path / "b" / "cloze_sum.json"),
                     "--scoring", "sum"])
    assert set(json.load(open(tmp_path / "b" / "cloze_sum.json"))["results"]) == {"ssc_en"}
    assert not os.path.exists(tmp_path / "b" / "cloze_mean.json")

    # report: run b = run a with every ssc_en item flipped to a win -> a paired gain whose interval excludes 0
    b = tmp_path / "c"
    b.mkdir()
    for s, rec in recs.items():
        rec = json.loads(json.dumps(rec))
        rec["results"]["ssc_en"]["per_item"] = [1.0] * 13
        rec["results"]["ssc_en"]["accuracy"] = 1.0
        json.dump(rec, open(b / f"cloze_{s}.json", "w"))
    json.dump({"matched": [0.9, 0.8], "mismatched": [0.5, 0.4], "layers": [1, 2], "mean_matched": 0.85,
               "mean_gap": 0.4}, open(b / "align.json", "w"))
    md = str(tmp_path / "report.md")
    eval_cloze.main(["--report", md, "--scoring", "sum", f"a={run}", f"b={b}"])
    text = open(md).read()
    lines = text.splitlines()
    assert lines[0].startswith("scoring: sum")
    header = next(l for l in lines if l.startswith("| model |"))
    assert "sSC EN>FR" not in header and "sSC EN" in header and "swuggy" in header and "cos gap" in header
    rows = [l for l in lines if l.startswith("| a |") or l.startswith("| b |")]
    r = recs["sum"]["results"]["ssc_en"]
    assert rows[0].startswith(f"| a | {100 * r['accuracy']:.2f} |")      # the paper's table, as before
    assert "| 0.850 | 0.400 | - | - | - |" in rows[1]
    assert rows[2].startswith(f"| a | [{100 * r['ci95'][0]:.1f}, {100 * r['ci95'][1]:.1f}] |")  # intervals
    wins = 13 - sum(r["per_item"])                                         # points gained on ssc_en
    diff_row = rows[4]                                                     # the paired-difference table
    assert diff_row.startswith(f"| b | {100 * wins / 13:+.1f} [") and "]*" in diff_row
    assert rows[5].startswith("| b | +/+/+ | 0/0/0 |")                   # verdicts, then an unchanged set
    assert "Holds under all three conventions: b > a on sSC EN" in text
    assert os.path.isfile(str(tmp_path / "report.png"))
    with pytest.raises(SystemExit):                                        # run a has no JSON at all
        eval_cloze.main(["--report", md, f"a={tmp_path / 'nothing'}"])


def test_groups_sidecar_gives_slm21_aggregation(model, corpus, tmp_path):
    """bench/{set}.groups.npy: headline = mean over groups of the within-group accuracy (hand-computed)."""
    import shutil
    d = str(tmp_path / "corpus")
    shutil.copytree(corpus[0], d)
    plain = eval_cloze.evaluate(model, d, sets=["ssc_en"])["ssc_en"]
    groups = np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2])                 # uneven groups: the mean differs
    np.save(os.path.join(d, "bench", "ssc_en.groups.npy"), groups)
    r = eval_cloze.evaluate(model, d, sets=["ssc_en"])["ssc_en"]
    o = np.array(plain["per_item"])
    expect = np.mean([o[:10].mean(), o[10:12].mean(), o[12]])
    assert r["accuracy"] == pytest.approx(expect) and r["n_groups"] == 3 and r["groups"] == groups.tolist()
    assert r["pair_accuracy"] == pytest.approx(plain["accuracy"]) and r["per_item"] == plain["per_item"]
    assert "bootstrap over groups" in r["ci95_method"] and r["ci95"][0] <= r["accuracy"] <= r["ci95"][1]
    np.save(os.path.join(d, "bench", "ssc_en.groups.npy"), groups[:5])           # wrong length: clear error
    with pytest.raises(tokenbin.FormatError, match="groups.npy"):
        eval_cloze.evaluate(model, d, sets=["ssc_en"])


def test_nan_model_is_an_error_not_an_accuracy(corpus, tmp_path, capsys):
    d, _ = corpus
    bad = tiny_model()
    with torch.no_grad():
        bad.blocks[1].mlp.down.weight[0, 0] = float("nan")
    with pytest.raises(eval_cloze.NonFiniteError):
        eval_cloze.evaluate(bad, d)
    run = str(tmp_path / "nan")
    with torch.no_grad():  # finite (a checkpoint refuses NaN weights), and its sums overflow: NaN scores
        bad.blocks[1].mlp.down.weight[0] = 3e38
    save_checkpoint(bad, run)
    with pytest.raises(SystemExit) as e:
        eval_cloze.main([run, "--corpus", d])
    assert e.value.code == 1
    err = capsys.readouterr().err
    assert "eval_cloze.py: error: the model gives non-finite" in err and "Traceback" not in err
    assert not os.path.exists(os.path.join(run, "cloze_mean.json"))


def test_corpus_format_error_is_one_clean_line(model, corpus, tmp_path, capsys):
    import shutil
    d = str(tmp_path / "corpus")
    shutil.copytree(corpus[0], d)
    np.save(os.path.join(d, "bench", "ssc_en.items.npy"), np.zeros((3, 5), np.int64))     # not (n, 6)
    run = str(tmp_path / "run")
    save_checkpoint(model, run)
    with pytest.raises(SystemExit) as e:
        eval_cloze.main([run, "--corpus", d])
    assert e.value.code == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("eval_cloze.py: error: ") and "ssc_en.items.npy" in err[-1]


def test_dtype_auto_and_fp32_head(model):
    assert eval_cloze.resolve_dtype("cpu", "auto") == "float32"
    assert eval_cloze.resolve_dtype("cuda", "auto") == "bfloat16"
    assert eval_cloze.resolve_dtype("cuda", None) == "float32"
    idx = torch.randint(0, UNITS, (2, 20))
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        plain, hs = model(idx, return_hidden=True)
        head32 = model(idx, fp32_head=True)
    assert plain.dtype == torch.bfloat16 and head32.dtype == torch.float32
    # the fp32 head is exactly norm + head in fp32 on the (autocast) body's last hidden state
    ref = torch.nn.functional.linear(model.norm(hs[-1].float()), model.lm_head.weight[:UNITS + 1])
    torch.testing.assert_close(head32, ref, rtol=0, atol=0)
    assert (plain.float() - ref).abs().max() > 1e-3                    # bf16 logits really are rounded


def test_compile_does_not_recompile_per_length(model):
    """--compile: dynamic shapes, so new lengths and batch sizes reuse the graph (dynamo frames counted)."""
    from torch._dynamo.testing import CompileCounter
    torch._dynamo.reset()
    counter = CompileCounter()
    compiled = eval_cloze.compile_for_eval(model, backend=counter)             # dynamo's guards, not inductor
    rng = np.random.default_rng(5)
    seqs = [np.concatenate([[BOUNDARY], rng.integers(0, UNITS, n)]) for n in (7, 19, 33, 64, 65, 100, 130, 12)]
    got = eval_cloze.score_sequences(compiled, seqs, "sum", batch_size=3)
    ref = eval_cloze.score_sequences(model, seqs, "sum", batch_size=3)
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-4)
    assert counter.frame_count <= 2, f"{counter.frame_count} compilations for 8 lengths"


def test_set_labels_are_the_papers_columns():
    assert [set_label(s) for s in ("ssc_en-fr", "stc_fr", "sblimp_en", "swuggy_en", "lex_fr", "odd")] \
        == ["sSC EN>FR", "sTC FR", "sBLiMP EN", "sWUGGY EN", "toy-lex FR", "odd"]


def test_incomplete_set_is_marked_in_the_grid(model, corpus, tmp_path):
    """A set whose bench/{set}.total.npy lists more items than it holds (clips tokenization skipped):
    the table marks it and says n of N; the same set with a matching total is printed as before."""
    import shutil
    d = str(tmp_path / "corpus")
    shutil.copytree(corpus[0], d)
    before = eval_cloze.format_table(eval_cloze.evaluate(model, d), "mean")
    np.save(os.path.join(d, "bench", "ssc_en.total.npy"), np.array([13, 0]))     # complete: no mark
    assert eval_cloze.format_table(eval_cloze.evaluate(model, d), "mean") == before
    np.save(os.path.join(d, "bench", "ssc_en.total.npy"), np.array([15, 0]))
    res = eval_cloze.evaluate(model, d)
    table = eval_cloze.format_table(res, "mean")
    assert f"{100 * res['ssc_en']['accuracy']:8.2f}!" in table and "! ssc_en INCOMPLETE: 13 of 15 items" in table
    assert "skipped.jsonl" in table and not res["ssc_en"]["complete"]
