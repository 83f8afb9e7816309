# Toy recipe, stage 2: interleaving from the EN-pretrained model: every next sentence of a story is
# EN or FR (FR with p_fr = 0.5), so the language switches only at sentence boundaries.
#   OMP_NUM_THREADS=1 python train.py config/toy_interleave.py   # after config/toy_pretrain.py
phase = "interleave"
init_from = "out/toy/pretrain"   # weights only: new optimizer, step 0, this stage's own schedule
data_dir = "data/toy_enfr"
out_dir = "out/toy/interleave"
p_fr = 0.5
seq_len = 256                 # stories ~115 (EN) / ~130 (FR) tokens, bench items up to ~200
batch_size = 16               # 4,096 tokens per step
grad_accum = 1
max_iters = 400
learning_rate = 3e-3
min_lr = 0.0
log_interval = 100
eval_interval = 400
eval_iters = 4
