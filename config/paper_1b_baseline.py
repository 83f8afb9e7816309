# Paper recipe (arXiv 2512.01865), 1b, EN+FR baseline.
# Reading "text" of the stage lengths: 50k EN / 20k interleave / 15k FT, 35k baseline (paper_recipe.py).
# From the EN-pretrained model, monolingual EN and FR rows (the finetune data mode), never
# interleaved, for the interleave + finetune budget: 20k + 15k steps, one schedule.
#   .venv/bin/torchrun --standalone --nproc_per_node=4 train.py config/paper_1b_baseline.py
# On 8 x 80 GB: add config/paper_1b_8x80gb.py (19 rows x 2 micro-steps per GPU, selective activation
# checkpointing: 50.6 GB per GPU by dev/fsdp_memory.py's estimate; without checkpointing 82.5 GB, no fit).
import os
exec(open(os.path.join(os.path.dirname(__file__), "paper_recipe.py")).read())  # the shared recipe
phase = "finetune"
init_from = "out/paper_1b_pretrain"  # weights only: new optimizer, step 0, own schedule
model_preset = "1b"           # the same shape; used only with init_from = "scratch"
out_dir = "out/paper_1b_baseline"
max_iters = _STEPS["text"]["baseline"]  # 35k: the interleave + finetune budget
batch_size = 5                # rows per GPU per micro-step
