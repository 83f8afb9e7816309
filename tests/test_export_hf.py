"""export_hf.py: transformers loads the folder with our logits; from_hf reads it back; the evaluations agree.

    .venv/bin/python -m pytest -q tests/test_export_hf.py
"""
import json
import os
import sys

import pytest
import torch

import export_hf
from model import Decoder, ModelConfig, load_model
from training.checkpoint import save_training_state

transformers = pytest.importorskip("transformers")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LLAMA3 = {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 64}
STYLES = {  # vocab 2049 = 2048 units + boundary: tables padded to 2112 rows, as in every real run
    "qwen2": dict(vocab_size=2049, n_layer=2, d_model=64, n_head=4, n_kv_head=2, d_ff=96, rope_theta=1e4,
                  qkv_bias=True, tie_embeddings=True, max_seq_len=256),
    "llama": dict(vocab_size=2049, n_layer=2, d_model=64, n_head=4, n_kv_head=1, d_ff=96, rope_theta=5e5,
                  rope_scaling=dict(LLAMA3), norm_eps=1e-5, qkv_bias=False, tie_embeddings=False, max_seq_len=256),
}


@pytest.fixture(scope="module")
def corpus(small_toy_corpus):
    return small_toy_corpus


def make_ckpt(path, style, meta):
    """A train.py-shaped checkpoint with random weights far from init (every part of the model counts)."""
    torch.manual_seed(0)
    model = Decoder(ModelConfig(**STYLES[style]))
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(1 + 0.2 * torch.randn_like(p) if "norm" in name else 0.15 * torch.randn_like(p))
    os.makedirs(path, exist_ok=True)
    save_training_state(path, model, None, True, step=7, phase="interleave", meta=meta, sampler={},
                        config={"phase": "interleave", "max_iters": 7, "learning_rate": 1e-3, "p_fr": 0.5, "seed": 1})
    return model.eval()


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def exported(request, corpus, tmp_path_factory):
    d = tmp_path_factory.mktemp(request.param)
    with open(os.path.join(corpus, "meta.json")) as f:
        meta = json.load(f)
    model = make_ckpt(str(d / "run"), request.param, meta)
    export_hf.main([str(d / "run"), str(d / "hf")])
    return request.param, model, str(d / "run"), str(d / "hf")


def test_transformers_logits_match(exported):
    style, ours, _, folder = exported
    assert sorted(os.listdir(folder)) == ["README.md", "config.json", "generation_config.json", "model.safetensors",
                                          "speech_vocab.json"]
    hf = transformers.AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    assert type(hf).__name__ == ("Qwen2ForCausalLM" if style == "qwen2" else "LlamaForCausalLM")
    idx = torch.randint(0, 2049, (2, 100), generator=torch.Generator().manual_seed(0))  # 100 > 64: llama3 active
    with torch.no_grad():
        ref, got = hf(idx, use_cache=False).logits, ours(idx)
    assert ref.shape == got.shape == (2, 100, 2049) and ref.abs().max() > 1.0
    diff = (ref - got).abs().max().item()
    print(f"{style}: transformers vs ours, max |logit diff| = {diff:.2e}")
    assert diff <= 1e-4


def test_from_hf_round_trip(exported):
    style, ours, _, folder = exported
    back = Decoder.from_hf(folder)
    assert back.cfg == ours.cfg
    for k, v in ours.state_dict().items():  # every weight; the tables on the real vocabulary rows
        w = back.state_dict()[k]
        assert torch.equal(w[:2049], v[:2049]) if k in ("tok_emb.weight", "lm_head.weight") else torch.equal(w, v), k
    # eval_cloze / align_probe ask for the corpus vocabulary: the folder's own tables are kept, not redrawn
    assert torch.equal(load_model(folder, vocab_size=2049).tok_emb.weight[:2049], ours.tok_emb.weight[:2049])
    with open(os.path.join(folder, "speech_vocab.json")) as f:
        assert json.load(f)["story_boundary"] == 2048
    card = open(os.path.join(folder, "README.md")).read()
    assert "interleave" in card and "toy_enfr pseudo-units" in card and '"p_fr": 0.5' in card


def test_eval_on_folder_equals_checkpoint(exported, corpus):
    import align_probe
    import eval_cloze
    _, _, run, folder = exported
    import tokenbin
    meta = tokenbin.read_meta(corpus)
    a, b = (eval_cloze.load_for_corpus(spec, meta) for spec in (run, folder))
    ea, eb = eval_cloze.evaluate(a, corpus), eval_cloze.evaluate(b, corpus)
    assert ea == eb and len(ea) == 12  # 8 cloze sets + the lex_/syn_ minimal pairs
    pa, pb = align_probe.probe(a, corpus, n_pairs=30), align_probe.probe(b, corpus, n_pairs=30)
    for key in ("matched", "mismatched"):
        assert max(abs(x - y) for x, y in zip(pa[key], pb[key])) < 1e-5


def test_config_by_hand_equals_transformers(exported, monkeypatch):
    _, ours, _, folder = exported
    with open(os.path.join(folder, "config.json")) as f:
        written = json.load(f)
    monkeypatch.setitem(sys.modules, "transformers", None)  # import fails: the by-hand path
    by_hand = export_hf.hf_config(ours.cfg, boundary=2048)
    assert by_hand == {k: v for k, v in written.items() if k != "transformers_version"}


CHAIN = {**{x: x + 1 for x in range(3, 10)}, 10: 64, 64: 3}  # 3 -> 4 ... -> 10 -> boundary -> 3 again


def chain_checkpoint(path):
    """A toy model (64 units + the boundary 64) whose greedy continuation is known: attention and MLP
    outputs are zero, so a position's logits depend on its token x only, and the head row of CHAIN[x] is
    x's embedding direction: the next token is CHAIN[x]. From [64, 3] it says 4 ... 10, then the boundary,
    then (a model that runs past its story's end) 3 again."""
    torch.manual_seed(0)
    model = Decoder(ModelConfig(**{**STYLES["llama"], "vocab_size": 65}))
    with torch.no_grad():
        for block in model.blocks:
            block.attn.o.weight.zero_()
            block.mlp.down.weight.zero_()
        model.lm_head.weight.zero_()
        e = model.tok_emb.weight
        for x, nxt in CHAIN.items():
            model.lm_head.weight[nxt] = 10 * e[x] / e[x].norm()
    os.makedirs(path)
    save_training_state(path, model, None, True, step=1, config={}, phase="finetune", sampler={},
                        meta={"vocab_size": 64, "languages": ["en", "fr"]})
    return model.eval()


def test_generate_stops_at_the_story_boundary(tmp_path, monkeypatch):
    """The export's eos is the boundary token: transformers' generate() ends the continuation there
    (it ran on to max_new_tokens, past an id Mimi cannot decode)."""
    ours = chain_checkpoint(str(tmp_path / "run"))
    export_hf.main([str(tmp_path / "run"), str(tmp_path / "hf")])
    hf = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path / "hf"), dtype=torch.float32).eval()
    prompt = torch.tensor([[64, 3]])
    story = [64, 3, 4, 5, 6, 7, 8, 9, 10, 64]
    with torch.no_grad():  # our own generate, which knows no eos, shows the chain runs past the boundary
        assert ours.generate(prompt, 12, temperature=0)[0].tolist() == story + [3, 4, 5, 6]
        assert hf.generate(prompt, max_new_tokens=20, do_sample=False)[0].tolist() == story
        # a batch: the row that ends first is padded with the boundary until the other ends
        two = hf.generate(torch.tensor([[64, 3], [64, 7]]), max_new_tokens=20, do_sample=False)
    assert two.tolist() == [story, [64, 7, 8, 9, 10, 64] + [64] * 4]
    with open(tmp_path / "hf" / "generation_config.json") as f:
        written = json.load(f)
    assert (written["eos_token_id"], written["bos_token_id"], written["pad_token_id"]) == (64, 64, 64)
    monkeypatch.setitem(sys.modules, "transformers", None)  # by hand: the same keys
    assert export_hf.generation_config(64) == {k: v for k, v in written.items() if k != "transformers_version"}


def test_push_calls_upload_folder(exported, monkeypatch):
    import huggingface_hub
    calls = []

    class FakeApi:
        def create_repo(self, repo_id, **kw):
            calls.append(("create", repo_id))

        def upload_folder(self, folder_path, repo_id, **kw):
            calls.append(("upload", folder_path, repo_id))
            return "ok"
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    _, _, run, folder = exported
    export_hf.main([run, folder, "--push", "me/toy"])
    assert calls == [("create", "me/toy"), ("upload", folder, "me/toy")]


def test_missing_checkpoint_is_a_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        export_hf.main([str(tmp_path / "nope"), str(tmp_path / "hf")])
    err = capsys.readouterr().err.strip().splitlines()
    assert e.value.code == 1 and len(err) == 1
    assert err[0].startswith("export_hf.py: error: ") and "neither a train.py out_dir nor its ckpt/" in err[0]
