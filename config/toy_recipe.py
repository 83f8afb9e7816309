# The toy recipe, shared by config/toy_{pretrain,interleave,finetune,baseline}.py, which read this
# file first and then set their own phase, init, output and steps: a tiny model on the bundled toy
# corpus, CPU, one process, fp32, the whole chain (4 trainings + evaluations) in minutes on 2 cores.
# One thread per process unless the machine is yours alone (runs/toy.sh gives EN pretraining 2, then
# runs the baseline beside interleave + finetune, one thread each); docs/LOG.md has the measurements.
data_dir = "data/toy_enfr"
model_preset = "tiny"         # 2 layers, d 64 (model.PRESETS)
seq_len = 256                 # stories ~115 (EN) / ~130 (FR) tokens, bench items up to ~200
batch_size = 16               # 4,096 tokens per step
grad_accum = 1
learning_rate = 3e-3          # a tiny model takes a much higher peak than the paper's 5e-4
min_lr = 0.0
log_interval = 100
eval_interval = 100           # val loss (and a checkpoint) every 100 steps: the curves in curves.png
eval_iters = 4                # val rows per language: 4 x 16 rows per step = 64
