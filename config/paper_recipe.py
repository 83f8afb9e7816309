# The paper's recipe (arXiv 2512.01865), shared by every config/paper_*.py stage file, which reads
# this file first and then sets its own phase, init, model, output and steps.
# 614,400 tokens per step = 300 rows of 2048 (the paper: 4 x H100, 75 rows per GPU); a stage file's
# batch_size x grad_accum x GPUs must make 300 rows. On 8 GPUs 300 rows cannot split evenly; the
# nearest is 304 rows = 622,592 tokens per step (+1.3%): add --tokens_per_step=0 --batch_size=19 --grad_accum=2
data_dir = "data/spoken_tinystories_enfr"  # tokenize_audio.py output (Mimi, 2048 units + boundary)
seq_len = 2048                # ~2.7 min of speech at 12.5 Hz
tokens_per_step = 614_400     # 2048 x 300 rows; sets grad_accum from batch_size and the GPU count
learning_rate = 5e-4          # peak; 5% linear warmup, then linear decay to min_lr over each stage
min_lr = 0.0
warmup_frac = 0.05
weight_decay = 0.1            # 2-D weights only
beta1 = 0.9
beta2 = 0.98
grad_clip = 1.0
log_interval = 10
eval_interval = 1000
eval_iters = 2                # val rows per language: 2 x 300 rows per step = 600 rows of 2048
ckpt_interval = 1000
