# Toy recipe, stage 1: EN-only pretraining of a tiny model from scratch on the bundled toy corpus;
# about 2 minutes on two idle cores (3 on one).
#   .venv/bin/python data/toy_enfr/prepare.py                       # once: writes data/toy_enfr/ (~10 s)
#   OMP_NUM_THREADS=2 .venv/bin/python train.py config/toy_pretrain.py   # -> out/toy/pretrain/ckpt.pt
# next: config/toy_interleave.py -> config/toy_finetune.py, and config/toy_baseline.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "toy_recipe.py")).read())  # the shared toy recipe
phase = "pretrain"
init_from = "scratch"
out_dir = "out/toy/pretrain"
max_iters = 1000              # 4.1M tokens, ~1.2 passes over train_en; FR gets ~28% of the chain's tokens
