# Paper recipe (arXiv 2512.01865), 1b, stage 1: EN-only pretraining.
# Reading "text" of the stage lengths: 50k EN / 20k interleave / 15k FT, 35k baseline (paper_recipe.py).
# Init: Llama-3.2-1B's body (16 layers, d 2048) with a new 2048 + 1 speech embedding
# (model.Decoder.from_hf documents how the new rows start).
# meta-llama repos are gated: accept the licence on the Hub and `hf auth login` first.
#   .venv/bin/torchrun --standalone --nproc_per_node=4 train.py config/paper_1b_pretrain.py
# On 8 x 80 GB: add config/paper_1b_8x80gb.py (19 rows x 2 micro-steps per GPU, selective activation
# checkpointing: 50.6 GB per GPU by dev/fsdp_memory.py's estimate; without checkpointing 82.5 GB, no fit).
import os
exec(open(os.path.join(os.path.dirname(__file__), "paper_recipe.py")).read())  # the shared recipe
phase = "pretrain"
data_mix = _EN_PRETRAIN_MIX      # LibriHeavy EN + spoken TinyStories EN, 56:20 (paper_recipe.py)
init_from = "meta-llama/Llama-3.2-1B"  # HF body, new speech vocabulary
model_preset = "1b"           # the same shape; used only with init_from = "scratch"
out_dir = "out/paper_1b_pretrain"
max_iters = _STEPS["text"]["pretrain"]  # 50k
batch_size = 5                # rows per GPU per micro-step
