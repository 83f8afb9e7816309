# Paper recipe (arXiv 2512.01865), 360m, stage 1: EN-only pretraining.
# Reading "text" of the stage lengths: 50k EN / 20k interleave / 15k FT, 35k baseline (paper_recipe.py).
# Init: Qwen2.5-0.5B's body (24 layers, d 896) with a new 2048 + 1 speech embedding
# (model.Decoder.from_hf documents how the new rows start).
#   .venv/bin/torchrun --standalone --nproc_per_node=4 train.py config/paper_360m_pretrain.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "paper_recipe.py")).read())  # the shared recipe
phase = "pretrain"
data_mix = _EN_PRETRAIN_MIX      # LibriHeavy EN + spoken TinyStories EN, 56:20 (paper_recipe.py)
init_from = "Qwen/Qwen2.5-0.5B"  # HF body, new speech vocabulary
model_preset = "360m"         # the same shape; used only with init_from = "scratch"
out_dir = "out/paper_360m_pretrain"
max_iters = _STEPS["text"]["pretrain"]  # 50k
batch_size = 15               # rows per GPU per micro-step
