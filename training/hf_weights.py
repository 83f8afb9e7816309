"""
training/hf_weights.py: reading a Hugging Face Qwen2 / Llama model folder for model.Decoder.from_hf.

    config.json  -> hf_config_kwargs, ModelConfig's arguments (both dialects: top-level rope_theta / rope_scaling, and
                    transformers-5 rope_parameters; anything Decoder cannot represent is a clear error)
    *.safetensors (one file or an index of shards) -> SafetensorsFolder: tensors by name, shape-checked,
                    and a check that no weight was left unused (an unsupported variant)
    a Hub id     -> resolve_hf: snapshot_download of config + safetensors only, into the HF cache
Decoder.from_hf (model.py) maps the names and builds the model (this file knows only the HF side,
so it imports nothing of the project); tests/test_model.py checks the result
against transformers' logits.
"""
import json
import os
import re


class HFError(ValueError):
    """An HF model folder model.py cannot load (bad config.json, missing or misshapen weights); names the file."""


def read_config(path):
    """config.json -> ModelConfig's keyword arguments (hf_config_kwargs), or HFError naming the file."""
    try:
        with open(path, encoding="utf-8") as f:
            c = json.load(f)
    except (OSError, ValueError) as e:  # unreadable, not UTF-8, not JSON
        raise HFError(f"{path}: not a readable JSON config ({e}); re-save the model with save_pretrained") from None
    if not isinstance(c, dict):
        raise HFError(f"{path}: a JSON {type(c).__name__}, not a config object")
    try:
        return hf_config_kwargs(c, path)
    except HFError:
        raise
    except KeyError as e:
        raise HFError(f"{path}: has no {e}, which a Qwen2/Llama config needs; re-save the model with "
                      f"save_pretrained") from None
    except (TypeError, ValueError) as e:  # e.g. a string where a number belongs
        raise HFError(f"{path}: a value of the wrong type ({e})") from None


def hf_config_kwargs(c, where="config.json"):
    """An HF config.json dict (Qwen2 or Llama; top-level rope_theta/rope_scaling or rope_parameters) ->
    model.ModelConfig's keyword arguments (vocab_size is set by the caller from the weights)."""
    arch = (c.get("architectures") or [None])[0]
    kind = {"Qwen2ForCausalLM": "qwen2", "LlamaForCausalLM": "llama"}.get(arch)
    if kind is None or c.get("model_type") not in (kind, None):
        raise HFError(f"{where}: architecture {arch!r} (model_type {c.get('model_type')!r}) is not supported; "
                         "model.py loads Qwen2ForCausalLM (qwen2) and LlamaForCausalLM (llama)")
    def unsupported(what):
        raise HFError(f"{where}: {what} is not supported by model.py's Decoder")
    if c.get("hidden_act", "silu") != "silu":
        unsupported(f"hidden_act={c['hidden_act']!r}")
    if kind == "qwen2" and c.get("use_sliding_window"):
        unsupported("use_sliding_window=true")
    if kind == "llama" and (c.get("attention_bias") or c.get("mlp_bias")):
        unsupported("attention_bias/mlp_bias=true (Llama then also has o_proj/MLP biases)")
    d, nh = c["hidden_size"], c["num_attention_heads"]
    if c.get("head_dim") not in (None, d // nh):
        unsupported(f"head_dim={c['head_dim']} != hidden_size/num_attention_heads={d // nh}")
    # transformers >= 5 writes rope_parameters (theta inside); Hub configs have top-level rope_theta and
    # rope_scaling with "rope_type" (or the older "type"), or no rope_scaling at all
    rp = dict(c.get("rope_parameters") or c.get("rope_scaling") or {})
    theta = float(rp.get("rope_theta", c.get("rope_theta", 10000.0)))
    rtype = rp.get("rope_type", rp.get("type", "default"))
    keys = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")
    if rtype not in ("default", "llama3"):
        unsupported(f"rope type {rtype!r} (only default and llama3)")
    if rtype == "llama3" and any(k not in rp for k in keys):
        raise HFError(f"{where}: llama3 rope scaling needs {keys}, has {sorted(rp)}")
    scaling = {"rope_type": "llama3", **{k: rp[k] for k in keys}} if rtype == "llama3" else None
    return dict(
        vocab_size=c["vocab_size"], n_layer=c["num_hidden_layers"], d_model=d, n_head=nh,
        n_kv_head=c.get("num_key_value_heads", nh), d_ff=c["intermediate_size"], rope_theta=theta,
        rope_scaling=scaling, norm_eps=float(c.get("rms_norm_eps", 1e-6)), qkv_bias=kind == "qwen2",
        tie_embeddings=bool(c.get("tie_word_embeddings", False)),  # transformers' default for both
        max_seq_len=min(c.get("max_position_embeddings", 4096), 4096))  # RoPE tables; raise it to go longer


def resolve_hf(spec, revision):
    """A local folder, or a Hub id fetched (config + safetensors only) into the HF cache."""
    spec = str(spec)
    if os.path.isdir(spec):
        return spec
    if os.path.isabs(spec) or spec.startswith((".", "~")) or not re.fullmatch(r"[\w.-]+/[\w.-]+", spec):
        raise FileNotFoundError(f"{spec}: no such model folder (nor a Hub id like 'Qwen/Qwen2.5-0.5B')")
    from huggingface_hub import snapshot_download
    try:
        return snapshot_download(spec, revision=revision,
                                 allow_patterns=["config.json", "*.safetensors", "*.safetensors.index.json"])
    except Exception as e:
        raise FileNotFoundError(f"{spec}: not a local folder, and downloading it from the Hub failed ({e}); "
                                "check the name and network, or pass a local folder") from e


class SafetensorsFolder:
    """Tensors of model.safetensors or the shards of model.safetensors.index.json, with clear errors."""
    def __init__(self, folder):
        from safetensors import safe_open
        single, index = os.path.join(folder, "model.safetensors"), os.path.join(folder, "model.safetensors.index.json")
        self.where = None
        if os.path.isfile(index):
            try:
                with open(index) as f:
                    self.where = {k: os.path.join(folder, v) for k, v in json.load(f)["weight_map"].items()}
            except (OSError, ValueError, KeyError, AttributeError, TypeError) as e:
                raise HFError(f"{index}: not a safetensors index ({type(e).__name__}: {e}); re-save the model") from None
        elif not os.path.isfile(single):
            raise FileNotFoundError(f"{folder}: no model.safetensors or model.safetensors.index.json "
                                    "(only safetensors weights are read; re-save with save_pretrained)")
        self.files = {}
        for path in sorted(set(self.where.values())) if self.where else [single]:
            try:
                self.files[path] = safe_open(path, framework="pt")
            except Exception as e:
                raise HFError(f"{path}: unreadable safetensors file ({e}); re-download or re-save it") from e
        if self.where is None:
            self.where = {k: single for k in self.files[single].keys()}
        self.used = set()

    def shape(self, key):
        if key not in self.where or key not in self.files[self.where[key]].keys():
            raise HFError(f"{self.where.get(key, sorted(self.files))}: weight {key!r} is missing; "
                             "is the checkpoint complete and does config.json match it?")
        return tuple(self.files[self.where[key]].get_slice(key).get_shape())

    def get(self, key, shape):
        if (have := self.shape(key)) != tuple(shape):
            raise HFError(f"{self.where[key]}: weight {key!r} has shape {have}, config.json implies "
                             f"{tuple(shape)}; the weights do not belong to this config")
        try:
            t = self.files[self.where[key]].get_tensor(key)
        except Exception as e:
            raise HFError(f"{self.where[key]}: cannot read weight {key!r} ({e}); the file is damaged") from e
        self.used.add(key)
        return t.float()

    def check_all_used(self, ignore=()):
        extra = sorted(k for k in self.where if k not in self.used and k not in ignore and "rotary_emb" not in k)
        if extra:
            raise HFError(f"{self.where[extra[0]]}: weights model.py does not use, e.g. {extra[:3]}; "
                             "this model variant is not supported")
