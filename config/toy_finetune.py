# Toy recipe, stage 3: bilingual fine-tuning from the interleaved model on monolingual EN and FR
# sequences (each row one language, 50/50).
#   python train.py config/toy_finetune.py                # after config/toy_interleave.py
phase = "finetune"
init_from = "out/toy_interleave"
data_dir = "data/toy_enfr"
out_dir = "out/toy_finetune"
seq_len = 384                 # stories ~240 tokens, bench items up to ~370: no RoPE extrapolation
batch_size = 8                # 3,072 tokens per step
grad_accum = 1
max_iters = 75
learning_rate = 1e-3
min_lr = 0.0
log_interval = 20
eval_interval = 75
eval_iters = 8
