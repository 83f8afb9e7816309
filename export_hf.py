"""
export_hf.py: a train.py checkpoint -> a Hugging Face model folder that transformers loads as it is.

    .venv/bin/python export_hf.py out/toy/interleave out/hf/toy-interleave          # out_dir or its ckpt/
    .venv/bin/python export_hf.py out/toy/interleave out/hf/toy-interleave --push me/toy-interleave
    .venv/bin/python -m pytest -q tests/test_export_hf.py

The folder:
    config.json        Qwen2ForCausalLM (the model has q/k/v bias) or LlamaForCausalLM (no bias, llama3 RoPE
                       scaling kept), written by transformers' own config class when it is importable (what
                       save_pretrained writes), else the same keys by hand; bos and eos: the story boundary
    generation_config.json  eos_token_id (and pad) = the story boundary token: generate() stops where a
                       story ends, before an id Mimi cannot decode
    model.safetensors  fp32, transformers' key names: our fused qkv split into q_proj/k_proj/v_proj; the
                       embedding (and an untied lm_head) cut to the real vocabulary (our padding rows are never
                       used); a tied head is not stored (transformers ties it from tie_word_embeddings)
    speech_vocab.json  what the token ids mean: 0..units-1 speech units, then the story boundary token; the
                       corpus's unit_identity (tokenbin.py "units") and its folder (corpus_dir), which the scripts check
    README.md          model card: corpus meta, tokenizer (Mimi, first codebook), phase and training recipe
The folder may exist only empty or as an earlier export (exactly these files); anything else (a README.md
of yours, an older sharded model whose index transformers would load) is refused unless --replace, which
replaces all of it. The files are written beside it and swapped in whole, so no stale file stays.

Use it:
    AutoModelForCausalLM.from_pretrained(FOLDER)       # logits over units + boundary, as ours (tested 1e-4)
    model.generate(ids, max_new_tokens=N)              # stops at the story boundary (tested)
    model.load_model(FOLDER) / eval_cloze.py FOLDER [--corpus DIR] / align_probe.py FOLDER [--corpus DIR]
                                                       # the same numbers as on the checkpoint (tested)
--push REPO_ID uploads the folder with huggingface_hub (needs a token: `huggingface-cli login`).
"""
import argparse
import json
import os
import shutil
import sys

from model import HF_NAMES, load_model
from training.checkpoint import CheckpointError, is_checkpoint, load_checkpoint
from training.corpus import trained_on

FILES = ("config.json", "generation_config.json", "model.safetensors", "speech_vocab.json", "README.md")  # an export


class ExportError(ValueError):
    """A checkpoint or folder export_hf.py cannot use; the message says what to do."""


def hf_config(cfg, boundary):
    """ModelConfig -> the config.json dict transformers writes for the same Qwen2 / Llama model."""
    qwen = cfg.qkv_bias  # Qwen2 has q/k/v bias and no bias option; Llama has attention_bias=false
    rope = {"rope_theta": float(cfg.rope_theta), "rope_type": "default"}
    if cfg.rope_scaling is not None:
        rope = {**rope, **cfg.rope_scaling}
    common = dict(vocab_size=cfg.vocab_size, hidden_size=cfg.d_model, intermediate_size=cfg.d_ff,
                  num_hidden_layers=cfg.n_layer, num_attention_heads=cfg.n_head, num_key_value_heads=cfg.n_kv_head,
                  rms_norm_eps=cfg.norm_eps, tie_word_embeddings=cfg.tie_embeddings,
                  max_position_embeddings=cfg.max_seq_len, bos_token_id=boundary, eos_token_id=boundary,
                  pad_token_id=None, dtype="float32")
    try:
        import transformers as T
    except ImportError:  # by hand: the keys transformers 5 writes for these two configs
        extra = (dict(layer_types=["full_attention"] * cfg.n_layer, max_window_layers=28, sliding_window=None,
                      use_sliding_window=False) if qwen else
                 dict(attention_bias=False, head_dim=cfg.d_model // cfg.n_head, mlp_bias=False, pretraining_tp=1))
        return dict(sorted(dict(common, architectures=["Qwen2ForCausalLM" if qwen else "LlamaForCausalLM"],
                                model_type="qwen2" if qwen else "llama", attention_dropout=0.0, hidden_act="silu",
                                initializer_range=0.02, rope_parameters=rope, use_cache=True, **extra).items()))
    if qwen:
        c = T.Qwen2Config(rope_parameters=rope, use_sliding_window=False, architectures=["Qwen2ForCausalLM"], **common)
    else:
        c = T.LlamaConfig(rope_parameters=rope, architectures=["LlamaForCausalLM"], **common)
    return json.loads(c.to_json_string())  # use_diff=True, as save_pretrained writes it


def generation_config(boundary):
    """generation_config.json: generate() stops at the story boundary token (a continuation ends with its
    story; Mimi has no unit for the id), which also pads a batch. As GenerationConfig writes it."""
    ids = dict(bos_token_id=boundary, eos_token_id=boundary, pad_token_id=boundary)
    try:
        import transformers as T
    except ImportError:
        return ids
    return json.loads(T.GenerationConfig(**ids).to_json_string())  # as save_pretrained writes it


def hf_state_dict(model):
    """Our weights under transformers' names, fp32, contiguous, vocabulary rows only."""
    cfg, V = model.cfg, model.cfg.vocab_size
    hd = cfg.d_model // cfg.n_head
    split = [cfg.n_head * hd, cfg.n_kv_head * hd, cfg.n_kv_head * hd]  # rows of the fused qkv
    sd, out = model.state_dict(), {}
    for i in range(cfg.n_layer):
        for ours, theirs in HF_NAMES.items():
            if (w := sd.get(f"blocks.{i}.{ours}")) is None:  # q/k/v bias of a Llama-style model
                continue
            for name, part in zip(theirs, w.split(split) if len(theirs) == 3 else [w]):
                out[f"model.layers.{i}.{name}"] = part
    out["model.norm.weight"] = sd["norm.weight"]
    out["model.embed_tokens.weight"] = sd["tok_emb.weight"][:V]
    if not cfg.tie_embeddings:
        out["lm_head.weight"] = sd["lm_head.weight"][:V]
    return {k: v.detach().float().contiguous().clone() for k, v in out.items()}


def model_card(ckpt, cfg, hf_cfg, vocab):
    meta, config = ckpt.get("meta") or {}, ckpt.get("config") or {}
    tok = meta.get("tokenizer") or {}
    recipe = {k: config.get(k) for k in ("phase", "init_from", "data_dir", "model_preset", "max_iters", "seq_len",
                                         "batch_size", "grad_accum", "learning_rate", "min_lr", "warmup_frac",
                                         "weight_decay", "p_fr", "lang_probs", "switch", "seed", "world_size")
              if k in config}
    arch = hf_cfg["architectures"][0]
    return f"""---
library_name: transformers
pipeline_tag: text-generation
tags: [speech-language-model, crosstalk, {ckpt.get('phase', 'unknown')}]
---
# crosstalk speech language model ({ckpt.get('phase', 'unknown')} phase)

A decoder-only {arch} over **speech units**, not text: trained with crosstalk's train.py
(a reproduction of "Cross-Lingual Interleaving for Speech Language Models", arXiv 2512.01865), step {ckpt.get('step')}.

## Vocabulary (speech_vocab.json)
- ids 0..{vocab['units'] - 1}: units of {tok.get('name', 'the corpus tokenizer')} (codebooks: {tok.get('codebooks', 1)},
  {tok.get('frame_rate', 12.5)} Hz); for a Mimi corpus, the first (semantic) codebook only.
- id {vocab['story_boundary']}: the story boundary token; every training story and every evaluated sequence
  starts with it. There is no text tokenizer: feed unit ids.

## Corpus
{meta.get('source', '(no source recorded)')}

Languages: {meta.get('languages')}; counts: `{json.dumps(meta.get('counts'))}`;
tokenizer: `{json.dumps(tok, ensure_ascii=False)}`.

## Model and recipe
{cfg.n_layer} layers, d_model {cfg.d_model}, {cfg.n_head} query / {cfg.n_kv_head} key-value heads, SwiGLU {cfg.d_ff},
RoPE theta {cfg.rope_theta}{' with llama3 scaling' if cfg.rope_scaling else ''}, {'tied' if cfg.tie_embeddings else 'untied'} head.

```json
{json.dumps(recipe, indent=2, ensure_ascii=False)}
```

## Use
```python
import torch
from transformers import AutoModelForCausalLM
model = AutoModelForCausalLM.from_pretrained("THIS_FOLDER")   # logits (B, T, {vocab['vocab_size']})
prompt_units = [...]                                          # unit ids of a spoken prompt (0..{vocab['units'] - 1})
ids = torch.tensor([[{vocab['story_boundary']}, *prompt_units]])           # a story starts with the boundary
model.generate(ids, max_new_tokens=250, do_sample=True)     # stops at the boundary: the story's end
```
or crosstalk's `model.load_model("THIS_FOLDER")`, `eval_cloze.py`, `align_probe.py`, `sample.py`.
"""


def check_folder(folder, replace):
    """The folder may be written: absent, empty, an earlier export (only FILES, speech_vocab.json among
    them), or anything with --replace; else ExportError (a user's README.md, an older sharded model whose
    index transformers would load, ...)."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ExportError(f"{folder} is a file, not a folder: give a folder to write the model into")
    have = sorted(os.listdir(folder)) if os.path.isdir(folder) else []
    ours = not have or ("speech_vocab.json" in have and set(have) <= set(FILES))
    if not ours and not replace:
        raise ExportError(f"{folder} is not empty and not an earlier export ({', '.join(have[:4])}"
                          f"{', ...' if len(have) > 4 else ''}): give a new folder, or --replace to replace all "
                          f"of its contents (nothing of it is kept: no stale shard or index stays behind)")


def export(run, folder, replace=False):
    """Write the HF folder for a train.py checkpoint (out_dir or its ckpt/). Returns the folder. The files
    are written into a folder beside it and swapped in whole: the folder then holds exactly FILES."""
    from safetensors.torch import save_file
    if not is_checkpoint(run):
        raise ExportError(f"{run} is neither a train.py out_dir nor its ckpt/ (train.py writes them)")
    check_folder(folder, replace)
    path, ckpt = load_checkpoint(run)  # every file checked against its sha256
    model = load_model(path)
    meta = ckpt.get("meta") or {}
    units = int(meta.get("vocab_size", model.cfg.vocab_size - 1))
    if units + 1 != model.cfg.vocab_size:
        raise ExportError(f"{path}: model vocabulary {model.cfg.vocab_size} != corpus units {units} "
                          "+ 1 boundary token; the checkpoint's meta does not describe its vocabulary")
    identity, dirs = trained_on(path)
    vocab = dict(units=units, story_boundary=units, vocab_size=units + 1, tokenizer=meta.get("tokenizer"),
                 note="ids 0..units-1: speech units; story_boundary: the token before every story",
                 **({"unit_identity": identity} if identity else {}), **({"corpus_dir": dirs[0]} if len(dirs) == 1 else {}))
    cfg_dict = hf_config(model.cfg, boundary=units)
    folder = os.path.normpath(folder)
    tmp, old = f"{folder}.tmp{os.getpid()}", f"{folder}.old{os.getpid()}"
    try:
        os.makedirs(tmp)
        for name, d in (("config.json", cfg_dict), ("generation_config.json", generation_config(units))):
            with open(os.path.join(tmp, name), "w") as f:
                f.write(json.dumps(d, indent=2, sort_keys=True) + "\n")
        save_file(hf_state_dict(model), os.path.join(tmp, "model.safetensors"), metadata={"format": "pt"})
        with open(os.path.join(tmp, "speech_vocab.json"), "w") as f:
            json.dump(vocab, f, indent=2, ensure_ascii=False)
        with open(os.path.join(tmp, "README.md"), "w") as f:
            f.write(model_card(ckpt, model.cfg, cfg_dict, vocab))
        if os.path.isdir(folder):
            os.rename(folder, old)
        os.rename(tmp, folder)
    except OSError as e:  # read-only, full disk, ...: nothing half-written stays
        shutil.rmtree(tmp, ignore_errors=True)
        raise ExportError(f"cannot write {folder} ({e.strerror or e}); it is unchanged") from None
    shutil.rmtree(old, ignore_errors=True)
    return folder


def push(folder, repo_id, private=True):
    from huggingface_hub import HfApi
    api = HfApi()
    api.create_repo(repo_id, private=private, exist_ok=True)
    return api.upload_folder(folder_path=folder, repo_id=repo_id, commit_message="crosstalk export_hf.py")


def main(argv=None):
    p = argparse.ArgumentParser(prog="export_hf.py", description="train.py checkpoint -> Hugging Face Qwen2/Llama folder")
    p.add_argument("run", help="train.py out_dir or its ckpt/")
    p.add_argument("folder", help="output folder (created; an existing one must be empty or an earlier export)")
    p.add_argument("--replace", action="store_true", help="replace a non-empty folder's whole contents")
    p.add_argument("--push", metavar="REPO_ID", help="also upload the folder to the Hub (private repo)")
    a = p.parse_args(argv)
    try:
        export(a.run, a.folder, a.replace)
    except (ExportError, CheckpointError) as e:  # expected: one line; anything else is a bug
        print(f"export_hf.py: error: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"{a.folder}: {', '.join(FILES)}")
    if a.push:
        print(push(a.folder, a.push))


if __name__ == "__main__":
    main(sys.argv[1:])
