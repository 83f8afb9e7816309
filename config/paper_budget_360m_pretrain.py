# Paper recipe (arXiv 2512.01865), 360m, stage 1: EN-only pretraining, reading "budget" of the stage lengths:
# 75k EN / 10k interleave / 15k FT, 25k baseline, as the source's token budgets 46.08B / 52.22B /
# 61.44B say (paper_recipe.py). Everything else is config/paper_360m_pretrain.py, read first.
#   .venv/bin/torchrun --standalone --nproc_per_node=4 train.py config/paper_budget_360m_pretrain.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "paper_360m_pretrain.py")).read())  # reading "text"
max_iters = _STEPS["budget"]["pretrain"]  # 75k
out_dir = "out/paper_budget_360m_pretrain"
