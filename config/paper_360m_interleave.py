# Paper recipe (arXiv 2512.01865), 360m, stage 2: interleaving (each sentence EN or FR, p_fr 0.5).
# Reading "text" of the stage lengths: 50k EN / 20k interleave / 15k FT, 35k baseline (paper_recipe.py).
#   .venv/bin/torchrun --standalone --nproc_per_node=4 train.py config/paper_360m_interleave.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "paper_recipe.py")).read())  # the shared recipe
phase = "interleave"
init_from = "out/paper_360m_pretrain"  # weights only: new optimizer, step 0, own schedule
model_preset = "360m"         # the same shape; used only with init_from = "scratch"
out_dir = "out/paper_360m_interleave"
max_iters = _STEPS["text"]["interleave"]  # 20k
batch_size = 15               # rows per GPU per micro-step
