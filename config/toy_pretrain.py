# Toy recipe, stage 1: EN-only pretraining of a tiny model from scratch on the bundled toy corpus.
# CPU, one process, fp32; about 3 minutes on one core. Threads, measured on 2 cores: idle machine,
# 19k tok/s with OMP_NUM_THREADS=1 vs 29k with 2; with another job running, 19k vs 6-10k. So 1 thread
# unless the machine is yours alone (then 2, or run the baseline beside interleave+finetune, 1 each).
#   python data/toy_enfr/prepare.py                       # once: writes data/toy_enfr/ (~5 s)
#   OMP_NUM_THREADS=1 python train.py config/toy_pretrain.py   # -> out/toy/pretrain/ckpt.pt
# next: config/toy_interleave.py -> config/toy_finetune.py, and config/toy_baseline.py
# Sized for the whole demo (4 trainings + evals) in well under 15 min on 2 cores: in a fixed CPU time
# the tiny preset (4x the tokens/s of "small") reaches the same cloze accuracy as "small" or better.
phase = "pretrain"
init_from = "scratch"
model_preset = "tiny"         # 2 layers, d 64 (model.PRESETS): ~18k tokens/s on one core
data_dir = "data/toy_enfr"
out_dir = "out/toy/pretrain"
seq_len = 256                 # stories ~115 (EN) / ~130 (FR) tokens, bench items up to ~200
batch_size = 16               # 4,096 tokens per step
grad_accum = 1
max_iters = 800               # 3.3M tokens, about one pass over train_en
learning_rate = 3e-3          # a tiny model from scratch takes a much higher peak than the paper's 5e-4
min_lr = 0.0
log_interval = 100
eval_interval = 800
eval_iters = 4                # val batches per language
