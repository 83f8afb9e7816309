"""
audio/mimi.py: the speech tokenizer, Mimi (kyutai's moshi package): where its weights come from, and
audio -> units -> audio with its first (semantic) codebook only: 12.5 units/s, 2048 units.

    mimi = load_mimi(weights, "cpu")                         # weights: a local .safetensors file
    codes = encode_batch(mimi, [wav_24k, ...], "cpu")        # -> [(ceil(n / 1920),) uint16, ...]
    wav = decode_units(mimi, codes[0])                       # -> (T * 1920,) float32 at 24 kHz

Weights are safetensors only (check_safetensors): anything else would reach moshi's torch.load, which
runs pickled code unless torch's weights_only default protects it.
"""
import hashlib
import math
import os

import numpy as np
import torch
from huggingface_hub import hf_hub_download
from moshi.models import loaders

MIMI_REPO = "kyutai/moshiko-pytorch-bf16"
# Hub revision of the default weights. The file name carries the checkpoint id and meta.json the sha256
# of the bytes used, so a corpus says exactly which weights made it. Pin with --mimi_revision <sha>.
MIMI_REVISION = "main"
VOCAB_SIZE = 2048          # Mimi codebook size; checked against the loaded model


def resolve_weights(args):
    if args.mimi_weights:
        if not os.path.isfile(args.mimi_weights):
            raise SystemExit(f"tokenize_audio.py: --mimi_weights {args.mimi_weights} not found")
        check_safetensors(args.mimi_weights)
        return args.mimi_weights, None, None
    try:
        path = hf_hub_download(args.mimi_repo, loaders.MIMI_NAME, revision=args.mimi_revision)
    except Exception as e:  # offline, unknown revision, ...: say what was asked and the way around it
        raise SystemExit(f"tokenize_audio.py: could not fetch {loaders.MIMI_NAME} from {args.mimi_repo} at "
                         f"revision {args.mimi_revision} ({type(e).__name__}: {e}). Download it once and "
                         f"pass --mimi_weights /path/to/{loaders.MIMI_NAME}") from None
    return path, args.mimi_repo, args.mimi_revision


def check_safetensors(path, script="tokenize_audio.py"):
    """SystemExit (one line, as `script`) unless path is a safetensors file (the module docstring says why)."""
    try:
        from safetensors import safe_open
        with safe_open(path, "pt"):
            pass
    except Exception as e:
        raise SystemExit(f"{script}: error: --mimi_weights {path} is not a safetensors file ({e}). "
                         f"Pass kyutai's {loaders.MIMI_NAME}, or convert a state dict with "
                         f"safetensors.torch.save_file.") from None


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 24), b""):
            h.update(block)
    return h.hexdigest()


def load_mimi(weights, device):
    try:
        mimi = loaders.get_mimi(weights, device=device)
    except RuntimeError as e:  # another model's safetensors: load_state_dict lists hundreds of keys
        raise SystemExit(f"tokenize_audio.py: {weights} is not Mimi's weights ({str(e).splitlines()[0]} "
                         f"{str(e).splitlines()[1].strip()[:120]}...); pass kyutai's {loaders.MIMI_NAME}") from None
    mimi.set_num_codebooks(1)  # first codebook only: the semantic one (distilled from WavLM)
    return mimi.eval()


@torch.inference_mode()
def encode_batch(mimi, wavs, device, dtype="float32"):
    """list of (n_i,) float32 at mimi.sample_rate -> list of (ceil(n_i / frame_size),) uint16 codes."""
    fs = mimi.frame_size  # 1920 samples at 24 kHz = one 12.5 Hz frame
    length = math.ceil(max(len(w) for w in wavs) / fs) * fs
    x = np.stack([np.pad(w, (0, length - len(w))) for w in wavs]).astype(np.float32, copy=False)
    x = torch.from_numpy(x)[:, None]  # (B, 1, T): right-padded with zeros
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=dtype == "bfloat16"):
        codes = mimi.encode(x.to(device))[:, 0].cpu().numpy()  # (B, 1, T / fs) -> (B, T / fs)
    assert codes.shape[1] == length // fs, (codes.shape, length, fs)
    return [codes[b, :math.ceil(len(w) / fs)].astype(np.uint16) for b, w in enumerate(wavs)]


@torch.inference_mode()
def decode_units(mimi, units):
    """Mimi units (T,) of the first codebook -> (T * 1920,) float32 at 24 kHz (the other codebooks absent)."""
    codes = torch.as_tensor(np.asarray(units, np.int64))[None, None]  # (B=1, K=1, T)
    return mimi.decode(codes)[0, 0].float().numpy()
