# Toy recipe, stage 2: interleaving from the EN-pretrained model: every next sentence of a story is
# EN or FR (FR with p_fr = 0.5), so the language switches only at sentence boundaries.
#   python train.py config/toy_interleave.py              # after config/toy_pretrain.py
phase = "interleave"
init_from = "out/toy_pretrain"   # weights only: new optimizer, step 0, this stage's own schedule
data_dir = "data/toy_enfr"
out_dir = "out/toy_interleave"
p_fr = 0.5
seq_len = 384                 # stories ~240 tokens, bench items up to ~370: no RoPE extrapolation
batch_size = 8                # 3,072 tokens per step
grad_accum = 1
max_iters = 150
learning_rate = 1e-3
min_lr = 0.0
log_interval = 20
eval_interval = 75
eval_iters = 8
