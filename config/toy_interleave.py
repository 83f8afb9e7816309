# Toy recipe, stage 2: interleaving from the EN-pretrained model: every next sentence of a story is
# EN or FR (FR with p_fr = 0.5), so the language switches only at sentence boundaries.
#   OMP_NUM_THREADS=1 .venv/bin/python train.py config/toy_interleave.py   # after config/toy_pretrain.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "toy_recipe.py")).read())  # the shared toy recipe
phase = "interleave"
init_from = "out/toy/pretrain"   # weights only: new optimizer, step 0, this stage's own schedule
out_dir = "out/toy/interleave"
p_fr = 0.5
max_iters = 800
