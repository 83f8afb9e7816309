# Paper recipe (arXiv 2512.01865), 360m, stage 2: interleaving (each sentence EN or FR, p_fr 0.5).
#   torchrun --standalone --nproc_per_node=4 train.py config/paper_360m_interleave.py
# 614,400 tokens per step (the paper: 4 x H100, 75 rows of 2048 per GPU), exact on
# 1, 2, 4 or 5 GPUs as it is, on 3 or 6 with --batch_size=10.
# On 8 GPUs the 300 rows cannot split evenly; nearest: 304 rows = 622,592 tokens per step (+1.3%):
#   add --tokens_per_step=0 --batch_size=19 --grad_accum=2
phase = "interleave"
init_from = "out/paper_360m_pretrain"  # weights only: new optimizer, step 0, own schedule
model_preset = "360m"         # the same shape; used only with init_from = "scratch"
out_dir = "out/paper_360m_interleave"
max_iters = 20_000
data_dir = "data/spoken_tinystories_enfr"  # tokenize_audio.py output (Mimi, 2048 units + boundary)
seq_len = 2048                # ~2.7 min of speech at 12.5 Hz
batch_size = 15               # rows per GPU per micro-step
tokens_per_step = 614_400     # 2048 x 300 rows; sets grad_accum (5 on 4 GPUs)
learning_rate = 5e-4          # peak; 5% linear warmup, then linear decay to min_lr over this stage
min_lr = 0.0
warmup_frac = 0.05
weight_decay = 0.1            # 2-D weights only
beta1 = 0.9
beta2 = 0.98
grad_clip = 1.0
log_interval = 10
eval_interval = 1000
eval_iters = 40               # val batches per language, split over the GPUs
ckpt_interval = 1000
