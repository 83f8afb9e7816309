# Paper recipe (arXiv 2512.01865), 360m, stage 1: EN-only pretraining.
# Init: Qwen2.5-0.5B's body (24 layers, d 896) with a new 2048 + 1 speech embedding
# (model.Decoder.from_hf documents how the new rows start).
#   torchrun --standalone --nproc_per_node=4 train.py config/paper_360m_pretrain.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "paper_recipe.py")).read())  # the shared recipe
phase = "pretrain"
init_from = "Qwen/Qwen2.5-0.5B"  # HF body, new speech vocabulary
model_preset = "360m"         # the same shape; used only with init_from = "scratch"
out_dir = "out/paper_360m_pretrain"
max_iters = 50_000
batch_size = 15               # rows per GPU per micro-step
