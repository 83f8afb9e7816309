# Toy recipe, stage 3: bilingual fine-tuning from the interleaved model on monolingual EN and FR
# sequences (each row one language, 50/50).
#   OMP_NUM_THREADS=1 python train.py config/toy_finetune.py     # after config/toy_interleave.py
phase = "finetune"
init_from = "out/toy/interleave"
data_dir = "data/toy_enfr"
out_dir = "out/toy/finetune"
seq_len = 256                 # stories ~115 (EN) / ~130 (FR) tokens, bench items up to ~200
batch_size = 16               # 4,096 tokens per step
grad_accum = 1
max_iters = 200
learning_rate = 3e-3
min_lr = 0.0
log_interval = 100
eval_interval = 200
eval_iters = 4
