# Toy recipe, stage 1: EN-only pretraining of a tiny model from scratch on the bundled toy corpus;
# about 6 minutes on one core.
#   python data/toy_enfr/prepare.py                       # once: writes data/toy_enfr/ (~5 s)
#   OMP_NUM_THREADS=1 python train.py config/toy_pretrain.py   # -> out/toy/pretrain/ckpt.pt
# next: config/toy_interleave.py -> config/toy_finetune.py, and config/toy_baseline.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "toy_recipe.py")).read())  # the shared toy recipe
phase = "pretrain"
init_from = "scratch"
out_dir = "out/toy/pretrain"
max_iters = 1600              # 6.6M tokens, ~2 passes over train_en. Copying story facts forward is a
eval_interval = 1600          # sharp transition for this model: at 800 steps seed 7 had 67% EN sTC, at 1600 98%
