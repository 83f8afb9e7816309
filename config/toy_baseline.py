# Toy recipe, the EN+FR baseline: the same EN-pretrained model trained on monolingual EN and FR
# sequences (the finetune data mode, 50/50) for the whole interleave + finetune budget, never
# interleaved: 400 + 200 steps at the same 4,096 tokens per step, one warmup + decay over all of it.
#   OMP_NUM_THREADS=1 python train.py config/toy_baseline.py     # after config/toy_pretrain.py
phase = "finetune"
init_from = "out/toy/pretrain"
data_dir = "data/toy_enfr"
out_dir = "out/toy/baseline"
seq_len = 256                 # stories ~115 (EN) / ~130 (FR) tokens, bench items up to ~200
batch_size = 16               # 4,096 tokens per step
grad_accum = 1
max_iters = 600               # = toy_interleave (400) + toy_finetune (200)
learning_rate = 3e-3
min_lr = 0.0
log_interval = 100
eval_interval = 600
eval_iters = 4
