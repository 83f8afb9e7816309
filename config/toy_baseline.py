# Toy recipe, the EN+FR baseline: the same EN-pretrained model trained on monolingual EN and FR
# sequences (the finetune data mode, 50/50) for the whole interleave + finetune budget, never
# interleaved: 150 + 75 steps at the same 3,072 tokens per step, one warmup + decay over all of it.
#   python train.py config/toy_baseline.py                # after config/toy_pretrain.py
phase = "finetune"
init_from = "out/toy_pretrain"
data_dir = "data/toy_enfr"
out_dir = "out/toy_baseline"
seq_len = 384                 # stories ~240 tokens, bench items up to ~370: no RoPE extrapolation
batch_size = 8                # 3,072 tokens per step
grad_accum = 1
max_iters = 225               # = toy_interleave (150) + toy_finetune (75)
learning_rate = 1e-3
min_lr = 0.0
log_interval = 20
eval_interval = 75
eval_iters = 8
