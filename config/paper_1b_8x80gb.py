# Paper recipe (arXiv 2512.01865), 1b on 8 x 80 GB GPUs: add this file after any 1b stage file, e.g.
#   .venv/bin/torchrun --standalone --nproc_per_node=8 train.py config/paper_1b_pretrain.py config/paper_1b_8x80gb.py
# 300 rows of 2048 do not split over 8 GPUs: 304 rows (19 per GPU x 2 micro-steps; 622,592 tokens per step, +1.3%).
# Per GPU by dev/fsdp_memory.py's estimate (reshard_after_forward False, gradients reduce-scattered once a step;
# eager figures, compiled blocks keep less), out of 80 GB with 10% kept free:
#   activation_checkpointing off         82.5 GB: does not fit (its activations alone are 70.9 GB)
#   selective (this file)                50.6 GB: 29.4 GB free; recomputes norms, RoPE and SiLU, no matmul twice
#   block, 38 rows x 1 micro-step        25.2 GB: no accumulation, but each block's forward runs twice
#   .venv/bin/python -m dev.fsdp_memory --preset 1b --seq 2048 --world 8 --gpu_mem_gb 80 --batch 19 --grad_accum 2 \
#       --recompute selective
# (tests/dev/test_fsdp_memory.py checks that this split fits and the split without checkpointing does not.)
tokens_per_step = 0           # the split below decides the step: 19 x 2 x 8 rows
batch_size = 19               # rows per GPU per micro-step
grad_accum = 2
activation_checkpointing = "selective"
