# Toy recipe, stage 3: bilingual fine-tuning from the interleaved model on monolingual EN and FR
# sequences (each row one language, 50/50).
#   OMP_NUM_THREADS=1 .venv/bin/python train.py config/toy_finetune.py     # after config/toy_interleave.py
import os
exec(open(os.path.join(os.path.dirname(__file__), "toy_recipe.py")).read())  # the shared toy recipe
phase = "finetune"
init_from = "out/toy/interleave"
out_dir = "out/toy/finetune"
max_iters = 400
