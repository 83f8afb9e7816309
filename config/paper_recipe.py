# The paper's recipe (arXiv 2512.01865), shared by every config/paper_*.py stage file, which reads
# this file first and then sets its own phase, init, model, output and steps.
# 614,400 tokens per step = 300 rows of 2048 (the paper: 4 x H100, 75 rows per GPU); a stage file's
# batch_size x grad_accum x GPUs must make 300 rows. On 8 GPUs 300 rows cannot split evenly; the
# nearest is 304 rows = 622,592 tokens per step (+1.3%): add --tokens_per_step=0 --batch_size=19 --grad_accum=2
# (360m: 60.5 GB per GPU on 8 x 80 GB by dev/fsdp_memory.py's estimate); 1b: add config/paper_1b_8x80gb.py
#
# Stage lengths: the source can be read two ways, so both are shipped, each with its matched baseline.
#   text   config/paper_{360m,1b}_{pretrain,interleave,finetune,baseline}.py: its text says 50k EN /
#          20k interleave / 15k fine-tuning steps; the EN+FR baseline runs the interleave + FT budget,
#          35k steps, from the same 50k EN checkpoint. Tokens after each stage: 30.72B, 43.01B, 52.22B;
#          baseline 30.72B + 21.50B = 52.22B.
#   budget config/paper_budget_{360m,1b}_*.py: its token budgets, 46.08B (EN), 52.22B (+ interleave)
#          and 61.44B (+ FT, and the EN+FR baseline), are 75k, 85k and 100k steps of 614,400 tokens:
#          75k EN / 10k interleave / 15k FT, and a 25k-step EN+FR baseline from the 75k EN checkpoint.
# tests/test_config.py checks that each reading's budgets add up.
_STEPS = {"text": dict(pretrain=50_000, interleave=20_000, finetune=15_000, baseline=35_000),
          "budget": dict(pretrain=75_000, interleave=10_000, finetune=15_000, baseline=25_000)}
# EN pretraining data (the pretrain stage files set data_mix to it): LibriHeavy (~56k h, EN only, an
# unpaired corpus) and the EN side of spoken TinyStories (~20k h; the pretrain phase draws only its EN
# rows), weighted by hours, so by tokens (12.5 per second in both). The directory names are
# placeholders: the directories tokenize_audio.py wrote (README, "the real recipe"), both Mimi-coded.
_EN_PRETRAIN_MIX = {"data/libriheavy_en": 56, "data/spoken_tinystories_enfr": 20}
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
