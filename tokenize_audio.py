"""
Audio -> Mimi units -> a corpus directory in the token format (tokenbin.py).

Each sentence clip is decoded, downmixed to mono, resampled to 24 kHz, and encoded by Mimi
(moshi's neural codec); only the first, semantic codebook is kept: 12.5 tokens/s, 2048 units.

    .venv/bin/python tokenize_audio.py --manifest clips.jsonl --out_dir data/mycorpus
    .venv/bin/python tokenize_audio.py --manifest clips.jsonl --bench_manifest bench.jsonl --out_dir data/mycorpus \
        --mimi_weights /path/to/tokenizer-e351c8d8-checkpoint125.safetensors --device cuda
    .venv/bin/torchrun --standalone --nproc_per_node=8 tokenize_audio.py --manifest clips.jsonl --out_dir data/mycorpus --device cuda
    # EN-only long recordings with segment times (LibriHeavy): an unpaired corpus
    .venv/bin/torchrun --standalone --nproc_per_node=8 tokenize_audio.py --manifest libriheavy_segments.jsonl --unpaired \
        --out_dir data/libriheavy_en --device cuda

Hugging Face datasets in (audio/hf_datasets.py; needs `pip install datasets`): a Hub id, a save_to_disk folder or
parquet files, its columns mapped to story / sentence / lang / split, rows sharded over the ranks:
    # slprl/sTinyStories (audio, text, aligned_text, split_sentence): a row is one whole story, EN only
    .venv/bin/torchrun --standalone --nproc_per_node=8 tokenize_audio.py --hf_dataset slprl/sTinyStories --hf_split train \
        --audio_column audio --lang en --split train --unpaired --max_seconds 300 \
        --out_dir data/stinystories_en --device cuda
    # a sentence-paired EN/FR release as parquet files, with a spoken StoryCloze set (whole endings)
    .venv/bin/torchrun --standalone --nproc_per_node=8 tokenize_audio.py --hf_dataset /data/enfr_parquet/ \
        --audio_column audio --story_column story_id --sentence_column sentence_idx --lang_column lang \
        --split_column split --hf_bench /data/ssc_en-fr.parquet --prompt_column prompt --good_column good \
        --bad_column bad --bench_name ssc_en-fr --out_dir data/spoken_tinystories_enfr --device cuda

clips.jsonl, one sentence clip a line (audio: absolute, or relative to the manifest's folder); a
segment of a long recording adds "start" and "end" seconds (audio/manifests.py checks every line):
    {"audio": "wav/s0001_en_00.flac", "story": "s0001", "sentence": 0, "lang": "en", "split": "train"}
    {"audio": "libriheavy/ch_0042.flac", "start": 12.3, "end": 15.8, "story": "ch_0042", "sentence": 4,
     "lang": "en", "split": "train"}
bench.jsonl, one cloze item a line; prompt: a list of clips (played in order), one clip, or null
(a minimal pair with no shared prompt, e.g. whole good/bad utterances); items with the same name
form one set, bench/{name}:
    {"name": "ssc_en-fr", "prompt": ["p0.wav", "p1.wav"], "good": "g.wav", "bad": "b.wav"}

Rules. Stories keep the order of their first appearance in the manifest, sentences are sorted by
index. Paired corpora (the default): sentence k of en and fr must translate each other, so a story is
written only if both languages list the same sentence indices 0, 1, ..., n-1 and every one of its
clips was encoded; else the whole story is dropped from both (a story with a hole is no longer a
story) and each of its clips is listed in out_dir/skipped.jsonl with the reason.
Unpaired corpora (--unpaired; meta.json "paired": false): languages are not translations (EN-only
LibriHeavy, any 2-3 letter language code); a "story" is a document (a chapter), a "sentence" one
segment. A document is written per language in index order and split into two stories at a hole (an
index the manifest lacks, or a skipped segment): the speech is continuous on either side, not across.
A clip is skipped when unreadable, empty, truncated (decodes shorter than its header says), silent
(peak < --min_peak) or too long (> --max_seconds), a segment also when it lies outside its file or
ends before it starts: audio/decode.py says exactly when; a bench item is skipped when one of its
clips is (bench/{name}.total.npy keeps what the set listed: eval_cloze.py scores it as n of N). The
summary prints written + skipped = total.

Each audio file is decoded once for all its segments (cut at sample precision at 24 kHz, so a
segment's codes equal those of the same samples saved as their own file).
Files are decoded a window at a time (about 4 batches of audio, the next windows in background
threads); a window's clips are sorted by duration, batched (--batch_seconds of padded audio,
--batch_size clips), right-padded to whole Mimi frames (1920 samples) and each keeps its own
ceil(n_samples / 1920) frames: Mimi is causal, so padding after a clip cannot change its codes
(tests/test_tokenize_audio.py: batched == one-by-one, exactly, fp32). Rank r of torchrun encodes a
contiguous block of the work list (rank_block: the segments of one long file stay on one rank) into
out_dir/shards/shard_*.npz (audio/shards.py: atomic, keyed by clip index); rank 0 merges them
(audio/assembly.py) in manifest order, so the corpus is byte-identical for any
number of ranks. Re-running resumes: clips already in a shard are not encoded again (a finished run only
re-merges); one run at a time holds out_dir (out_dir/.lock, training/lock.py), a second is refused. Keep out_dir/shards to resume or re-merge; delete it to start over. A merge leaves out_dir
holding exactly what meta.json lists: split and bench files of an earlier run that this run does not
write are removed (and named).
"""
import argparse
import datetime
import hashlib
import json
import os
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

import sphn
import torch
from moshi.models import loaders
from tqdm import tqdm

import tokenbin
from audio import hf_datasets
from audio.assembly import (assemble_benches, assemble_paired, assemble_unpaired, bench_totals, order_langs,
                            remove_stale)
from audio.decode import load_unit
from audio.manifests import LANGS, SPLITS, read_bench_manifest, read_manifest
from audio.mimi import MIMI_REPO, MIMI_REVISION, VOCAB_SIZE, encode_batch, load_mimi, resolve_weights, sha256_file
from audio.shards import check_fingerprint, read_shards, write_shard
from training.lock import LockError, OutDirLock


def get_args(argv=None):
    p = argparse.ArgumentParser(description="audio clips -> Mimi units -> crosstalk corpus",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--manifest", default=None, help="JSONL of sentence clips (or --hf_dataset)")
    p.add_argument("--out_dir", required=True, help="corpus directory to write")
    p.add_argument("--bench_manifest", default=None, help="JSONL of cloze items -> bench/{name}")
    p.add_argument("--unpaired", action="store_true", help="languages are not translations of each other "
                   "(one language, e.g. LibriHeavy): stories are documents, sentences segments")
    p.add_argument("--mimi_weights", default=None, help="local Mimi .safetensors (else the Hub)")
    p.add_argument("--mimi_repo", default=MIMI_REPO)
    p.add_argument("--mimi_revision", default=MIMI_REVISION, help="Hub revision (commit sha to pin)")
    p.add_argument("--device", default="cpu", help="cpu | cuda (under torchrun: cuda:LOCAL_RANK)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"],
                   help="bfloat16 autocast is faster on GPU but may flip a few near-tie codes")
    p.add_argument("--batch_seconds", type=float, default=0, help="padded audio per batch (0: 600 on "
                   "GPU, 60 on CPU; encoding takes ~20 MB of memory per second of audio in a batch)")
    p.add_argument("--batch_size", type=int, default=0, help="max clips per batch (0: 64 on GPU, 1 on "
                   "CPU, where batching is slower than one by one: python -m dev.bench tokenize)")
    p.add_argument("--max_seconds", type=float, default=60.0, help="longer clips are skipped")
    p.add_argument("--min_peak", type=float, default=1e-3, help="quieter clips are 'silent' (-60 dBFS)")
    p.add_argument("--shard_seconds", type=float, default=3600.0, help="audio per shard file")
    p.add_argument("--num_workers", type=int, default=4, help="decoding threads")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    hf_datasets.add_args(p)
    args = p.parse_args(argv)
    if args.manifest and args.hf_dataset:
        p.error("give the clips as one of --manifest and --hf_dataset, not both")
    if not (args.manifest or args.hf_dataset or args.bench_manifest or args.hf_bench):
        p.error("nothing to tokenize: give clips (--manifest or --hf_dataset) and/or bench items "
                "(--bench_manifest or --hf_bench; alone they make a bench-only corpus, e.g. audio/slm21.py's)")
    hf_datasets.check_args(args)
    return args


# ----------------------------------------------------------------------------- encoding

def make_batches(todo, durations, batch_seconds, batch_size, max_seconds):
    """Longest first (an out-of-memory shows at once); each batch costs n_clips x longest clip."""
    dur = lambda i: min(durations[i] or 0.0, max_seconds)  # noqa: E731
    batches, cur = [], []
    for i in sorted(todo, key=lambda i: -dur(i)):
        if cur and (len(cur) >= batch_size or (len(cur) + 1) * dur(cur[0]) > batch_seconds):
            batches.append(cur)
            cur = []
        cur.append(i)
    return batches + [cur] if cur else batches


def rank_block(n, rank, world):
    """This rank's work indices: a contiguous block, split as datasets' Dataset.shard(contiguous=True)
    splits rows. Contiguous, so the segments of one long file (listed together) go to one rank and
    a Hugging Face dataset's rows are read by the rank that encodes them and no other."""
    div, mod = divmod(n, world)
    start = rank * div + min(rank, mod)
    return range(start, start + div + (rank < mod))


def make_windows(units, seconds, window_seconds, min_items):
    """units: [(source, [work indices])] -> lists of units holding ~window_seconds of audio and at least
    min_items clips each (so batches fill even when durations are unknown and counted as the maximum,
    as for dataset rows): decoded together, then batched by length; memory holds a few windows,
    never a rank's share."""
    windows, cur, total, n = [], [], 0.0, 0
    for unit in units:
        cur.append(unit)
        total, n = total + sum(seconds[i] for i in unit[1]), n + len(unit[1])
        if total >= window_seconds and n >= min_items:
            windows.append(cur)
            cur, total, n = [], 0.0, 0
    return windows + [cur] if cur else windows


def encode_all(args, work, shard_dir, weights, rank, world, cells=None):
    """Encode this rank's work items (source, start, end) that no shard holds yet; each source (a file,
    or a dataset row's audio) is decoded once for all its items. Returns how many clips it encoded.
    cells: {source: (hf_datasets.AudioRows, row, column)} for dataset sources; other sources are paths."""
    cells = cells or {}
    done = read_shards(shard_dir, index_only=True)
    todo = [i for i in rank_block(len(work), rank, world) if i not in done]
    if not todo:
        return 0
    device = args.device
    if world > 1 and device.startswith("cuda"):
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        torch.cuda.set_device(device)
    mimi = load_mimi(weights, device)
    if mimi.cardinality != VOCAB_SIZE:
        raise SystemExit(f"{weights}: Mimi codebook has {mimi.cardinality} entries, expected {VOCAB_SIZE}")
    sr = mimi.sample_rate
    units = {}  # source -> its work indices, in work order
    for i in todo:
        units.setdefault(work[i][0], []).append(i)
    units = list(units.items())
    whole = [src for src, idx in units if work[idx[0]][1] is None and src not in cells]
    header = dict(zip(whole, sphn.durations(whole)))  # header only: fast; None when unknown
    seconds = {i: (work[i][2] - work[i][1]) if work[i][1] is not None else header.get(work[i][0])
               for i in todo}
    seconds = {i: min(max(s, 0.0), args.max_seconds) if s is not None else args.max_seconds
               for i, s in seconds.items()}
    batch_seconds = args.batch_seconds or (600.0 if device.startswith("cuda") else 60.0)
    batch_size = args.batch_size or (64 if device.startswith("cuda") else 1)
    windows = make_windows(units, seconds, 4 * batch_seconds, 2 * batch_size)

    def load(unit):  # -> [(audio, why)] per work index of the unit
        src, idx = unit
        path, temporary = cells[src][0].fetch(*cells[src][1:]) if src in cells else (src, False)
        try:
            return load_unit(path, [work[i][1:] for i in idx], sr, args.max_seconds, args.min_peak)
        finally:
            if temporary:
                os.remove(path)
    ahead = deque()  # decode the next windows while Mimi encodes this one
    encoded, skipped, n_enc, audio_s = [], [], 0, 0.0
    bar = tqdm(total=len(todo), unit="clip", disable=rank != 0, desc=f"rank {rank}/{world}")
    pool, t0 = ThreadPoolExecutor(max(1, args.num_workers)), time.perf_counter()
    for w in range(len(windows)):
        while len(ahead) < 2 and w + len(ahead) < len(windows):
            ahead.append(pool.map(load, windows[w + len(ahead)]))
        got = {i: r for (_, idx), res in zip(windows[w], ahead.popleft()) for i, r in zip(idx, res)}
        skipped += [(i, *why) for i, (x, why) in got.items() if x is None]
        ok = {i: x for i, (x, why) in got.items() if x is not None}
        bar.update(len(got) - len(ok))
        batches = make_batches(list(ok), {i: len(x) / sr for i, x in ok.items()}, batch_seconds, batch_size,
                               args.max_seconds)
        for batch in batches:
            codes = encode_batch(mimi, [ok[i] for i in batch], device, args.dtype)
            encoded += [(i, c, len(ok[i]) / sr) for i, c in zip(batch, codes)]
            n_enc, audio_s = n_enc + len(batch), audio_s + sum(len(ok[i]) for i in batch) / sr
            if sum(e[2] for e in encoded) >= args.shard_seconds:
                write_shard(shard_dir, encoded, skipped)
                encoded, skipped = [], []
            wall = max(time.perf_counter() - t0, 1e-9)
            bar.update(len(batch))
            bar.set_postfix_str(f"{n_enc / wall:.1f} clips/s, {audio_s / wall:.0f}x realtime")
    if encoded or skipped:
        write_shard(shard_dir, encoded, skipped)
    bar.close()
    pool.shutdown()
    return n_enc


# ----------------------------------------------------------------------------- merge

def merge(args, clips, items, paths, shard_dir, tokenizer, source):
    """Rank 0: shards -> the corpus format in manifest order, skipped.jsonl, meta.json."""
    done, seconds = read_shards(shard_dir)
    missing = [paths[i] for i in range(len(paths)) if i not in done]
    if missing:
        raise SystemExit(f"tokenize_audio.py: {len(missing)} clips have no shard entry (first: "
                         f"{missing[0]}); a rank failed? Re-run the same command to finish them.")
    skips, counts, splits = [], {}, {}
    assemble = assemble_unpaired if args.unpaired else assemble_paired
    for split in SPLITS:
        split_skips, written = assemble(clips, split, done, seconds)
        skips += split_skips
        if written:
            splits[split], counts[split] = written
    langs = list(LANGS)
    if args.unpaired:  # the languages some split holds; each written split must hold every one
        langs = order_langs({lang for sentences, _ in splits.values() for lang in sentences}
                            or {c["lang"] for c in clips})
        for split in list(splits):
            lacking = [lang for lang in langs if lang not in splits[split][0]]
            if lacking:
                del splits[split], counts[split]
                kept = {i for i, c in enumerate(clips) if c["split"] == split} - {k[0] for k in skips}
                skips += [(i, "split_incomplete", f"no {'/'.join(lacking)} segment of {split} was written: "
                                                  f"a split of an unpaired corpus needs every language "
                                                  f"of the corpus ({langs})") for i in sorted(kept)]
                print(f"tokenize_audio.py: warning: {split} has no {'/'.join(lacking)} segments, no {split} split")
    index = {p: i for i, p in enumerate(paths) if i >= len(clips)}
    bench_sets, bench_skipped, bench_groups = assemble_benches(items, index, done)
    meta = dict(vocab_size=VOCAB_SIZE, languages=langs, paired=not args.unpaired)
    keep = [f for split in splits for f in tokenbin.split_files(args.out_dir, split, meta)]
    keep += [os.path.join(args.out_dir, "bench", f"{name}{ext}") for name in bench_sets
             for ext in (".bin", ".items.npy", ".total.npy") + ((".groups.npy",) if bench_groups[name] else ())]
    remove_stale(args.out_dir, keep)
    for split, (sentences, starts) in splits.items():
        tokenbin.write_split(args.out_dir, split, sentences, starts, VOCAB_SIZE, paired=not args.unpaired)
    keys = ("line", "audio", "split", "story", "sentence", "lang")
    lines = [dict(kind="clip", **{k: clips[i][k] for k in keys}, reason=r, detail=d,
                  **({} if clips[i]["start"] is None else dict(start=clips[i]["start"], end=clips[i]["end"])))
             for i, r, d in sorted(skips)]
    totals = bench_totals(items)
    for name, its in bench_sets.items():
        tokenbin.write_bench(args.out_dir, name, its, VOCAB_SIZE, groups=bench_groups[name], total=totals[name])
    with open(os.path.join(args.out_dir, "skipped.jsonl"), "w") as f:
        f.writelines(json.dumps(rec) + "\n" for rec in lines + bench_skipped)
    counts.update(clips_total=len(clips), clips_written=len(clips) - len(skips), clips_skipped=len(skips),
                  skip_reasons={r: sum(s[1] == r for s in skips) for r in sorted({s[1] for s in skips})},
                  bench_items_total=len(items), bench_items_skipped=len(bench_skipped),
                  bench={name: len(its) for name, its in sorted(bench_sets.items())})
    tokenbin.write_meta(args.out_dir, dict(
        meta, tokenizer=tokenizer, counts=counts, units=dict(tokenizer=tokenizer["name"],
                                                             sha256=tokenizer["weights_sha256"], vocab_size=VOCAB_SIZE),
        source=f"tokenize_audio.py from {source}; max_seconds {args.max_seconds}, min_peak {args.min_peak}"))
    return counts


def main(argv=None):
    args = get_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if world > 1:  # only barriers cross ranks, so gloo serves CPU and GPU runs alike; a long
        # timeout, since ranks can finish hours apart when their shares of audio differ
        torch.distributed.init_process_group("gloo", timeout=datetime.timedelta(hours=72))
    # one run at a time in out_dir (training/lock.py): a second one would write the same shards
    with OutDirLock(args.out_dir, "tokenize_audio.py", rank == 0, torch.distributed.barrier if world > 1 else None):
        return tokenize(args, rank, world)


def tokenize(args, rank, world):
    """Read the sources, encode this rank's share into shards, and (rank 0) merge them into the corpus."""
    cells = {}  # dataset sources: key -> (AudioRows, row, column)
    if args.hf_dataset:
        clips, rows, source = hf_datasets.read_clips(args)
        cells.update((c["path"], (rows, c["line"], args.audio_column)) for c in clips)
    elif args.manifest:
        clips = read_manifest(args.manifest, args.unpaired)
        source = f"manifest {os.path.basename(args.manifest)} (sha256 {sha256_file(args.manifest)})"
    else:  # bench sets only (sLM21, a spoken StoryCloze release): no train or val split
        clips, source = [], "no clips (bench sets only)"
    if args.bench_manifest:
        source += f"; bench manifest {os.path.basename(args.bench_manifest)} (sha256 {sha256_file(args.bench_manifest)})"
    items = read_bench_manifest(args.bench_manifest) if args.bench_manifest else []
    if args.hf_bench:
        hf_items, rows, bench_source = hf_datasets.read_bench(args)
        cols = [args.prompt_column] if args.prompt_column else []
        cells.update((rows.key(it["line"], col), (rows, it["line"], col))
                     for it in hf_items for col in cols + [args.good_column, args.bad_column])
        items += hf_items
        source += f"; bench {args.bench_name} from {bench_source}"
    bench_paths = [p for it in items for p in it["prompt"] + [it["good"], it["bad"]]]
    # the work list, fixed order: (source, start, end) per clip, then each bench file once
    work = [(c["path"], c["start"], c["end"]) for c in clips] + [(p, None, None) for p in dict.fromkeys(bench_paths)]
    paths = [p if s is None else f"{p}@{s}:{e}" for p, s, e in work]  # names a work item
    weights, repo, revision = resolve_weights(args)
    weights_sha = sha256_file(weights)
    shard_dir = os.path.join(args.out_dir, "shards")
    os.makedirs(shard_dir, exist_ok=True)
    check_fingerprint(shard_dir, dict(paths_sha256=hashlib.sha256("\n".join(paths).encode()).hexdigest(),
                                      weights_sha256=weights_sha, dtype=args.dtype,
                                      max_seconds=args.max_seconds, min_peak=args.min_peak))
    n_encoded = encode_all(args, work, shard_dir, weights, rank, world, cells)
    if world > 1:
        torch.distributed.barrier()
    counts = None
    if rank == 0:
        tok = dict(name="mimi", codebooks=1, frame_rate=loaders.FRAME_RATE, sample_rate=loaders.SAMPLE_RATE,
                   weights=os.path.basename(weights), weights_sha256=weights_sha, repo=repo,
                   revision=revision, dtype=args.dtype, moshi_version=version("moshi"))
        counts = c = merge(args, clips, items, paths, shard_dir, tok, source)
        hours = sum(c[s]["hours"] for s in SPLITS if s in c)
        print(f"tokenize_audio.py: {c['clips_written']} clips written ({hours:.2f} h) + {c['clips_skipped']} "
              f"skipped = {c['clips_total']}; bench items {c['bench_items_total'] - c['bench_items_skipped']} "
              f"written + {c['bench_items_skipped']} skipped = {c['bench_items_total']}; rank 0 encoded "
              f"{n_encoded} clips this run; skips with reasons: {os.path.join(args.out_dir, 'skipped.jsonl')}")
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return dict(n_encoded=n_encoded, counts=counts)


if __name__ == "__main__":
    try:
        main()
    except LockError as e:  # another run holds out_dir: one line
        raise SystemExit(f"tokenize_audio.py: error: {e}") from None
