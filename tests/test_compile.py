"""torch.compile of model.py on CPU (inductor; needs a C compiler, gcc here): what train.py compiles (each
Block, in place) and what dev/bench.py model --compile model compiles (the whole Decoder) trace as ONE graph
with no graph breaks, and the compiled Block gives eager's values forward and backward.

    .venv/bin/python -m pytest -q tests/test_compile.py   # ~35 s of CPU with a cold inductor cache (most of it
                                                          # compiling two blocks fwd+bwd), ~12 s warm

A graph break would split a block into several graphs (each a kernel-launch and fusion boundary, and
on a GPU the difference between a fused block and a slow one); torch._dynamo.explain counts them
without compiling. The configs are tiny but keep each family's features: Qwen2 (q/k/v bias, tied head,
GQA 4:2) and Llama-3 (no bias, untied head, llama3 RoPE scaling, GQA 4:1).
"""
import pytest
import torch

from model import Decoder, ModelConfig

CONFIGS = {
    "qwen2": dict(preset="360m", n_kv_head=2),  # presets carry the family's flags; sizes shrunk below
    "llama3": dict(preset="1b", n_kv_head=1),
}


def tiny(family):
    c = CONFIGS[family]
    cfg = ModelConfig.preset(c["preset"], vocab_size=130, n_layer=2, d_model=64, n_head=4,
                             n_kv_head=c["n_kv_head"], d_ff=96, max_seq_len=64)
    torch.manual_seed(0)
    return Decoder(cfg)


def block_inputs(model, B=2, T=24):
    x = torch.randn(B, T, model.cfg.d_model, generator=torch.Generator().manual_seed(1))
    return x, model.rope_cos[:T, None, :], model.rope_sin[:T, None, :]  # as Decoder.forward passes them


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()  # no cached graphs or recompile counters from another test
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("family", list(CONFIGS))
def test_block_traces_as_one_graph(family):
    m = tiny(family)
    assert m.cfg.qkv_bias == (family == "qwen2") and (m.cfg.rope_scaling is not None) == (family == "llama3")
    e = torch._dynamo.explain(m.blocks[0])(*block_inputs(m))
    assert e.graph_break_count == 0, e.break_reasons
    assert e.graph_count == 1


@pytest.mark.parametrize("family", list(CONFIGS))
def test_whole_decoder_traces_as_one_graph(family):
    m = tiny(family)
    idx = torch.randint(0, m.cfg.vocab_size, (2, 24), generator=torch.Generator().manual_seed(2))
    e = torch._dynamo.explain(m)(idx)
    assert e.graph_break_count == 0, e.break_reasons
    assert e.graph_count == 1


@pytest.mark.parametrize("family", list(CONFIGS))
def test_compiled_block_matches_eager(family):
    """fullgraph=True raises on any graph break; inductor's fused kernels reorder fp32 sums, hence a
    tolerance (measured differences are ~1e-7 here, the bound is loose but far below a real bug's ~1e-1)."""
    m = tiny(family)
    block = m.blocks[0]
    x, cos, sin = block_inputs(m)

    def run(fn):
        block.zero_grad(set_to_none=True)
        xi = x.clone().requires_grad_(True)
        y = fn(xi, cos, sin)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()  # a non-uniform upstream grad
        return y.detach(), xi.grad, {n: p.grad.clone() for n, p in block.named_parameters()}

    y0, gx0, gp0 = run(block)
    compiled = torch.compile(block, backend="inductor", fullgraph=True)
    y1, gx1, gp1 = run(compiled)
    torch.testing.assert_close(y1, y0, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(gx1, gx0, rtol=1e-4, atol=1e-5)
    assert gp1.keys() == gp0.keys() and len(gp0) == (8 if family == "qwen2" else 7)  # qkv bias or not
    for n in gp0:
        torch.testing.assert_close(gp1[n], gp0[n], rtol=1e-4, atol=1e-5, msg=lambda s: f"grad {n}: {s}")
