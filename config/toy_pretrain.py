# Toy recipe, stage 1: EN-only pretraining of a small model from scratch on the bundled toy corpus.
# CPU, one process, fp32; about 2 minutes on 2 cores.
#   python data/toy_enfr/prepare.py                       # once: writes data/toy_enfr/ (~10 s)
#   python train.py config/toy_pretrain.py                # -> out/toy_pretrain/ckpt.pt
# next: config/toy_interleave.py -> config/toy_finetune.py, and config/toy_baseline.py
phase = "pretrain"
init_from = "scratch"
model_preset = "small"        # 4 layers, d 192 (model.PRESETS)
data_dir = "data/toy_enfr"
out_dir = "out/toy_pretrain"
seq_len = 384                 # stories ~240 tokens, bench items up to ~370: no RoPE extrapolation
batch_size = 8                # 3,072 tokens per step
grad_accum = 1
max_iters = 300
learning_rate = 2e-3          # a small model from scratch takes a higher peak than the paper's 5e-4
min_lr = 0.0
log_interval = 20
eval_interval = 75
eval_iters = 8                # val batches per language
