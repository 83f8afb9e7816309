# Toy recipe, stage 1: EN-only pretraining of a tiny model from scratch on the bundled toy corpus;
# about 2 minutes on two idle cores (3 on one).
#   python data/toy_enfr/prepare.py                       # once: writes data/toy_enfr/ (~10 s)
#   OMP_NUM_THREADS=2 python train.py config/toy_pretrain.py   # -> out/toy/pretrain/ckpt.pt
# next: config/toy_interleave.py -> config/toy_finetune.py, and config/toy_baseline.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "toy_recipe.py")).read())  # the shared toy recipe
phase = "pretrain"
init_from = "scratch"
out_dir = "out/toy/pretrain"
max_iters = 1000              # 4.1M tokens, ~1.2 passes over train_en: 45% of the demo's 2,200 steps, so FR gets
eval_interval = 1000          # ~28% of its tokens (1600 here gave FR ~14%). Seed 1337: EN sTC 78% after this stage
                              # (98% after 1600); the copying of story facts finishes in the next stage (baseline 94%)
