# Toy recipe, the EN+FR baseline: the same EN-pretrained model trained on monolingual EN and FR
# sequences (the finetune data mode, 50/50) for the whole interleave + finetune budget, never
# interleaved: 800 + 400 steps at the same 4,096 tokens per step, one warmup + decay over all of it.
#   OMP_NUM_THREADS=1 .venv/bin/python train.py config/toy_baseline.py     # after config/toy_pretrain.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "toy_recipe.py")).read())  # the shared toy recipe
phase = "finetune"
init_from = "out/toy/pretrain"
out_dir = "out/toy/baseline"
max_iters = 1200              # = toy_interleave (800) + toy_finetune (400)
