# The toy recipe, shared by config/toy_{pretrain,interleave,finetune,baseline}.py, which read this
# file first and then set their own phase, init, output and steps. A tiny model on the bundled toy
# corpus, CPU, one process, fp32. Threads, measured on 2 cores (with training/cpu_malloc.py, which train.py
# applies on CPU): idle machine, ~22k tok/s with OMP_NUM_THREADS=1 vs ~34k with 2; with another job
# running, 2 threads fall to 8-10k. So 1 thread unless the machine is yours alone (runs/toy.sh gives EN
# pretraining 2, then runs the baseline beside interleave + finetune, one thread each).
# Sized for the whole demo (4 trainings + evals) in well under 15 min on 2 cores: in a fixed CPU time
# the tiny preset (4x the tokens/s of "small") reaches the same cloze accuracy as "small" or better.
data_dir = "data/toy_enfr"
model_preset = "tiny"         # 2 layers, d 64 (model.PRESETS): ~22k tokens/s on one core
seq_len = 256                 # stories ~115 (EN) / ~130 (FR) tokens, bench items up to ~200
batch_size = 16               # 4,096 tokens per step
grad_accum = 1
learning_rate = 3e-3          # a tiny model takes a much higher peak than the paper's 5e-4
min_lr = 0.0
log_interval = 100
eval_iters = 4                # val rows per language: 4 x 16 rows per step = 64
