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
    # add (or replace) cloze sets in an existing corpus: only their clips are read, none re-encoded twice
    .venv/bin/python tokenize_audio.py --add_bench --bench_manifest more_bench.jsonl --out_dir data/mycorpus

Clips come from one of: a JSONL manifest (--manifest; audio/manifests.py), lhotse CutSets (--cuts;
audio/lhotse_cuts.py), Kaldi data dirs (--kaldi_dir; audio/kaldi.py) or a Hugging Face dataset
(--hf_dataset; audio/hf_datasets.py, needs `pip install datasets`), its columns mapped to story /
sentence / lang / split, rows sharded over the ranks:
    .venv/bin/python tokenize_audio.py --cuts train=cuts_train.jsonl.gz val=cuts_dev.jsonl.gz --lang en --unpaired \
        --out_dir data/libriheavy_en
    .venv/bin/python tokenize_audio.py --kaldi_dir train=data/train val=data/dev --lang en --unpaired --out_dir data/kaldi_en
    # slprl/sTinyStories (audio, text, aligned_text, split_sentence): a row is one whole story, EN only
    .venv/bin/torchrun --standalone --nproc_per_node=8 tokenize_audio.py --hf_dataset slprl/sTinyStories --hf_split train \
        --audio_column audio --lang en --split train --unpaired --max_seconds 300 \
        --out_dir data/stinystories_en --device cuda
    # a sentence-paired EN/FR release as parquet files, with its 8 spoken cloze sets (a set-name column)
    .venv/bin/torchrun --standalone --nproc_per_node=8 tokenize_audio.py --hf_dataset /data/enfr_parquet/ \
        --audio_column audio --story_column story_id --sentence_column sentence_idx --lang_column lang \
        --split_column split --hf_bench /data/cloze_suite.parquet --bench_name_column set --prompt_column prompt \
        --good_column good --bad_column bad --out_dir data/spoken_tinystories_enfr --device cuda

clips.jsonl, one sentence clip a line (audio: absolute, or relative to the manifest's folder; gzipped
or not); a segment of a long recording adds "start" and "end" seconds:
    {"audio": "wav/s0001_en_00.flac", "story": "s0001", "sentence": 0, "lang": "en", "split": "train"}
    {"audio": "libriheavy/ch_0042.flac", "start": 12.3, "end": 15.8, "story": "ch_0042", "sentence": 4,
     "lang": "en", "split": "train"}
bench.jsonl, one cloze item a line; prompt: a list of clips (played in order), one clip, or null
(a minimal pair with no shared prompt, e.g. whole good/bad utterances); items with the same name
form one set, bench/{name}:
    {"name": "ssc_en-fr", "prompt": ["p0.wav", "p1.wav"], "good": "g.wav", "bad": "b.wav"}

Rules. Stories keep the order of their first appearance, sentences are sorted by index. lang is any
2-3 letter code, any number of them. Paired corpora (the default): sentence k of every language
translates sentence k of the others, so a story is written only if every language of the corpus
(all the languages its clips name; at least two) lists the same sentence indices 0, 1, ..., n-1 and
every one of its clips was encoded; else the whole story is dropped from all of them (a story with a
hole is no longer a story) and each of its clips is listed in out_dir/skipped.jsonl with the reason.
Unpaired corpora (--unpaired; meta.json "paired": false): languages are not translations (EN-only
LibriHeavy); a "story" is a document (a chapter), a "sentence" one segment. A document is written per
language in index order and split into two stories at a hole (an index the manifest lacks, or a
skipped segment): the speech is continuous on either side, not across.
A clip is skipped when unreadable, not a regular file, empty, truncated (decodes shorter than its
header says), too short (< --min_seconds), out of range (a peak beyond twice full scale), silent
(peak < --min_peak) or too long (> --max_seconds), a segment also when it lies outside its file or
ends before it starts, a dataset row when its audio is None: audio/decode.py says exactly when; a
bench item is skipped when one of its clips is, or when its good and bad are the same audio
(bench/{name}.total.npy keeps what the set listed: eval_cloze.py scores it as n of N). The summary
prints written + skipped = total. A run that writes no split from the clips it was given, or nothing
at all, fails (skipped.jsonl says why).

Each audio file is decoded once for all its segments (cut at sample precision at 24 kHz, so a
segment's codes equal those of the same samples saved as their own file).
Files are decoded a window at a time (about 4 batches of audio, the next windows in background
threads); a window's clips are sorted by duration, batched (--batch_seconds of padded audio,
--batch_size clips), right-padded to whole Mimi frames (1920 samples) and each keeps its own
ceil(n_samples / 1920) frames: Mimi is causal, so padding after a clip cannot change its codes
(tests/test_tokenize_audio.py: batched == one-by-one, exactly, fp32). Rank r of torchrun encodes a
contiguous block of the work list (rank_block: the segments of one long file stay on one rank) into
out_dir/shards/shard_*.npz (audio/shards.py: atomic, each clip known by its content: path, segment
times, file size and mtime); rank 0 merges them (audio/assembly.py) in manifest order, so the corpus
is byte-identical for any number of ranks. Re-running encodes only what no shard holds: clips new to
the manifest, and files changed since (a file fixed after it was skipped, or replaced); the summary
says how many clips were reused. Delete out_dir/shards to encode everything again. A merge leaves
out_dir holding exactly what meta.json lists: split and bench files of an earlier run that this run
does not write are removed (and named); --add_bench instead adds or replaces its sets and keeps the
rest. One run at a time holds out_dir (out_dir/.lock, training/lock.py): a second is refused. Every
expected failure is one line `tokenize_audio.py: error: ...` (a traceback is a bug).
"""
import argparse
import datetime
import os
import sys
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
from audio.assembly import (add_bench_sets, assemble_benches, assemble_splits, bench_counts, bench_totals,
                            check_tokenizer, remove_stale, skip_records, write_skipped)
from audio.decode import load_unit
from audio.kaldi import read_kaldi_dir
from audio.lhotse_cuts import read_cuts
from audio.manifests import SPLITS, clips_from_records, read_bench_manifest, read_manifest, split_specs
from audio.mimi import MIMI_REPO, MIMI_REVISION, VOCAB_SIZE, encode_batch, load_mimi, resolve_weights, sha256_file
from audio.shards import audio_digest, check_fingerprint, content_key, file_stamp, read_shards, write_shard
from training.lock import OutDirLock

ROUTES = ("manifest", "cuts", "kaldi_dir", "hf_dataset")  # where clips come from: one of them, or none


def get_args(argv=None):
    p = argparse.ArgumentParser(description="audio clips -> Mimi units -> crosstalk corpus",
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--manifest", default=None, help="JSONL of sentence clips, gzipped or not")
    p.add_argument("--cuts", nargs="+", default=None, metavar="[SPLIT=]PATH",
                   help="lhotse CutSets (jsonl or jsonl.gz), e.g. train=cuts_train.jsonl.gz val=cuts_dev.jsonl.gz")
    p.add_argument("--kaldi_dir", nargs="+", default=None, metavar="[SPLIT=]DIR",
                   help="Kaldi data dirs (wav.scp, segments, ...), e.g. train=data/train val=data/dev")
    p.add_argument("--lang", default=None, help="the language of every clip: for --hf_dataset (instead of "
                   "--lang_column), --cuts (instead of the supervisions'), --kaldi_dir (instead of utt2lang)")
    p.add_argument("--audio_root", default=None, help="folder that relative audio paths of --cuts and "
                   "--kaldi_dir start from (default: the current directory, as lhotse and Kaldi read them)")
    p.add_argument("--out_dir", required=True, help="corpus directory to write")
    p.add_argument("--bench_manifest", default=None, help="JSONL of cloze items -> bench/{name}")
    p.add_argument("--add_bench", action="store_true", help="add or replace the bench sets of this run in "
                   "the corpus at --out_dir, keeping its splits and other sets (give no clips)")
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
    p.add_argument("--min_seconds", type=float, default=0.1, help="shorter clips are skipped (1.25 Mimi "
                   "frames: a 10 ms blip is no sentence, a short spoken word is one)")
    p.add_argument("--min_peak", type=float, default=1e-3, help="quieter clips are 'silent' (-60 dBFS)")
    p.add_argument("--shard_seconds", type=float, default=3600.0, help="audio per shard file")
    p.add_argument("--num_workers", type=int, default=4, help="decoding threads")
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch default)")
    hf_datasets.add_args(p)
    args = p.parse_args(argv)
    given = [f"--{r}" for r in ROUTES if getattr(args, r)]
    if len(given) > 1:
        p.error(f"give the clips by one route, not {' and '.join(given)}")
    if args.add_bench and given:
        p.error(f"--add_bench adds bench sets to an existing corpus: give --bench_manifest or --hf_bench, not {given[0]}")
    if not (given or args.bench_manifest or args.hf_bench):
        p.error("nothing to tokenize: give clips (--manifest, --cuts, --kaldi_dir or --hf_dataset) and/or bench "
                "items (--bench_manifest or --hf_bench; alone they make a bench-only corpus, e.g. audio/slm21.py's)")
    if args.split and not args.hf_dataset:  # else silently ignored: --cuts val.jsonl.gz --split val would be train
        p.error("--split is for --hf_dataset; --cuts and --kaldi_dir take SPLIT=PATH (e.g. val=cuts_dev.jsonl.gz)")
    if args.lang and not (args.hf_dataset or args.cuts or args.kaldi_dir):
        p.error("--lang is for --hf_dataset, --cuts and --kaldi_dir; a manifest gives each clip's lang")
    if not 0 <= args.min_seconds < args.max_seconds or args.min_peak < 0:
        p.error(f"need 0 <= --min_seconds < --max_seconds and --min_peak >= 0, got {args.min_seconds}, "
                f"{args.max_seconds}, {args.min_peak}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"tokenize_audio.py: --device {args.device}, but CUDA is not available here; use --device cpu")
    if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise SystemExit(f"tokenize_audio.py: --out_dir {args.out_dir} is a file, not a folder")
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


def encode_all(args, work, shard_dir, weights, rank, world, cells=None, done=None):
    """Encode this rank's work items (key, source, start, end) whose key no shard holds yet (done: the
    keys found, else read here); each source (a file, or a dataset cell) is decoded once for all its
    items. Returns how many clips it encoded. cells: {source: (AudioRows, row, column, k)} for dataset
    sources; other sources are paths."""
    cells = cells or {}
    done = read_shards(shard_dir, index_only=True) if done is None else done
    todo = [i for i in rank_block(len(work), rank, world) if work[i][0] not in done]
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
        units.setdefault(work[i][1], []).append(i)
    units = list(units.items())
    whole = [src for src, idx in units if work[idx[0]][2] is None and src not in cells and os.path.isfile(src)]
    header = dict(zip(whole, sphn.durations(whole)))  # header only: fast; None when unknown
    seconds = {i: (work[i][3] - work[i][2]) if work[i][3] is not None else header.get(work[i][1])
               for i in todo}
    seconds = {i: min(max(s, 0.0), args.max_seconds) if s is not None else args.max_seconds
               for i, s in seconds.items()}
    batch_seconds = args.batch_seconds or (600.0 if device.startswith("cuda") else 60.0)
    batch_size = args.batch_size or (64 if device.startswith("cuda") else 1)
    windows = make_windows(units, seconds, 4 * batch_seconds, 2 * batch_size)

    def load(unit):  # -> [(audio, why)] per work index of the unit
        src, idx = unit
        path, temporary = cells[src][0].fetch(*cells[src][1:]) if src in cells else (src, False)
        if path is None:  # a dataset cell holding None
            return [(None, ("no_audio", f"{cells[src][0].spec} row {cells[src][1]}: column "
                                        f"'{cells[src][2]}' is None"))] * len(idx)
        try:
            return load_unit(path, [work[i][2:] for i in idx], sr, args.max_seconds, args.min_peak,
                             args.min_seconds)
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
        skipped += [(work[i][0], *why) for i, (x, why) in got.items() if x is None]
        ok = {i: x for i, (x, why) in got.items() if x is not None}
        bar.update(len(got) - len(ok))
        batches = make_batches(list(ok), {i: len(x) / sr for i, x in ok.items()}, batch_seconds, batch_size,
                               args.max_seconds)
        for batch in batches:
            codes = encode_batch(mimi, [ok[i] for i in batch], device, args.dtype)
            encoded += [(work[i][0], c, len(ok[i]) / sr, audio_digest(ok[i])) for i, c in zip(batch, codes)]
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


# ----------------------------------------------------------------------------- inputs

def read_inputs(args):
    """-> (clips, bench items, {dataset source: cell}, a description of the sources for meta.json)."""
    cells, sources = {}, []
    if args.hf_dataset:
        clips, rows, how = hf_datasets.read_clips(args)
        cells.update(rows.cells)
        sources.append(how)
    elif args.manifest:
        clips = read_manifest(args.manifest)
        sources.append(f"manifest {os.path.basename(args.manifest)} (sha256 {sha256_file(args.manifest)})")
    elif args.cuts or args.kaldi_dir:
        specs = split_specs(args.cuts or args.kaldi_dir, "--cuts" if args.cuts else "--kaldi_dir")
        read = read_cuts if args.cuts else read_kaldi_dir
        recs = [r for split, path in specs for r in read(path, split, args.lang, args.audio_root)]
        clips = clips_from_records(recs, " ".join(path for _, path in specs))
        sources += [f"lhotse CutSet {split}={os.path.basename(path)} (sha256 {sha256_file(path)})" if args.cuts
                    else f"Kaldi data dir {split}={os.path.abspath(path)}" for split, path in specs]
    else:  # bench sets only (sLM21, a spoken StoryCloze release, --add_bench): no train or val split
        clips = []
    items = []
    if args.bench_manifest:
        how = f"bench manifest {os.path.basename(args.bench_manifest)} (sha256 {sha256_file(args.bench_manifest)})"
        items += [dict(it, source=how) for it in read_bench_manifest(args.bench_manifest)]
        sources.append(how)
    if args.hf_bench:
        hf_items, rows, how = hf_datasets.read_bench(args)
        cells.update(rows.cells)
        items += [dict(it, source=f"bench from {how}") for it in hf_items]
        sources.append(f"bench from {how}")
    langs = sorted({c["lang"] for c in clips})
    if clips and not args.unpaired and len(langs) < 2:
        raise SystemExit(f"tokenize_audio.py: every clip is {langs[0]}, but a paired corpus (the default) needs "
                         f"two or more languages whose sentence k translates each other: data in one language "
                         f"(or untranslated) takes --unpaired")
    return clips, items, cells, "; ".join(sources) or "no clips"


def work_list(clips, items, cells):
    """-> the work [(key, source, start, end)], one per distinct clip in first-appearance order, the
    key of each clip, and {bench source: key}. A key is the clip's content (audio/shards.py)."""
    work, stamps = {}, {}  # stamps: one stat per file, however many segments it holds

    def key_of(src, start, end):
        if src not in cells and src not in stamps:
            stamps[src] = file_stamp(src)
        key = content_key(src, start, end, stamps.get(src))
        work.setdefault(key, (key, src, start, end))
        return key
    clip_keys = [key_of(c["path"], c["start"], c["end"]) for c in clips]
    index = {p: key_of(p, None, None) for it in items for p in it["prompt"] + [it["good"], it["bad"]]}
    return list(work.values()), clip_keys, index


# ----------------------------------------------------------------------------- merge

def added_bench_sets(out_dir, tokenizer, names):
    """Sets an earlier --add_bench put into this corpus that this run does not list: kept through a
    re-run of the corpus command when they were made with the same weights -> {name: (source, items,
    skipped)}; with other weights they are stale and go (remove_stale names them)."""
    try:
        old = tokenbin.read_meta(out_dir)
    except tokenbin.FormatError:  # no corpus here yet
        return {}
    if (old.get("tokenizer") or {}).get("weights_sha256") != tokenizer["weights_sha256"]:
        return {}
    counts = old.get("counts") or {}
    added = {n: (src, (counts.get("bench") or {}).get(n, 0), (counts.get("bench_skipped") or {}).get(n, 0))
             for n, src in (old.get("bench_sources") or {}).items()
             if src.endswith("(--add_bench)") and n not in names and n in tokenbin.list_benches(out_dir)}
    if added:
        print(f"tokenize_audio.py: kept {len(added)} bench sets added earlier with --add_bench: {', '.join(sorted(added))}")
    return added


def merge(args, clips, items, clip_keys, index, done, seconds, digests, tokenizer, source):
    """Rank 0: encoded clips -> the corpus format in manifest order, skipped.jsonl, meta.json."""
    splits, counts, skips, langs = assemble_splits(clips, [done[k] for k in clip_keys],
                                                   {i: seconds.get(k) for i, k in enumerate(clip_keys)},
                                                   paired=not args.unpaired)
    bench_sets, bench_skipped, bench_groups = assemble_benches(items, index, done, digests)
    lines = skip_records(clips, skips)
    reasons = {r: sum(s[1] == r for s in skips) for r in sorted({s[1] for s in skips})}
    if (clips and not splits) or not (splits or bench_sets):
        write_skipped(args.out_dir, lines + bench_skipped)
        what = f"no split from the {len(clips)} clips (skips {reasons})" if clips else \
            f"no bench set ({len(bench_skipped)} of {len(items)} items skipped)"
        raise SystemExit(f"nothing written: {what}; {os.path.join(args.out_dir, 'skipped.jsonl')} says why for "
                         f"each, the corpus files are as they were")
    meta = dict(vocab_size=VOCAB_SIZE, languages=langs or ["en", "fr"], paired=not args.unpaired)
    keep = [f for split in splits for f in tokenbin.split_files(args.out_dir, split, meta)]
    keep += [os.path.join(args.out_dir, "bench", f"{name}{ext}") for name in bench_sets
             for ext in (".bin", ".items.npy", ".total.npy") + ((".groups.npy",) if bench_groups[name] else ())]
    added = added_bench_sets(args.out_dir, tokenizer, {it["name"] for it in items})
    keep += [os.path.join(args.out_dir, "bench", f) for f in os.listdir(os.path.join(args.out_dir, "bench"))
             if f.split(".")[0] in added] if added else []
    remove_stale(args.out_dir, keep)
    for split, (sentences, starts) in splits.items():
        tokenbin.write_split(args.out_dir, split, sentences, starts, VOCAB_SIZE, paired=not args.unpaired)
    totals = bench_totals(items)
    for name, its in bench_sets.items():
        tokenbin.write_bench(args.out_dir, name, its, VOCAB_SIZE, groups=bench_groups[name], total=totals[name])
    write_skipped(args.out_dir, lines + bench_skipped)
    names = sorted({it["name"] for it in items})
    written, skipped = bench_counts(names, bench_sets, bench_skipped)
    counts.update(clips_total=len(clips), clips_written=len(clips) - len(skips), clips_skipped=len(skips),
                  skip_reasons=reasons,
                  bench_items_total=len(items), bench_items_skipped=len(bench_skipped),
                  bench={**{n: k for n, (_, k, _) in added.items()}, **{n: k for n, k in written.items() if k}},
                  bench_skipped={**{n: k for n, (_, _, k) in added.items()}, **skipped})
    tokenbin.write_meta(args.out_dir, dict(
        meta, tokenizer=tokenizer, counts=counts, units=dict(tokenizer=tokenizer["name"],
                                                             sha256=tokenizer["weights_sha256"], vocab_size=VOCAB_SIZE),
        bench_sources={**{n: src for n, (src, _, _) in added.items()},
                       **{n: next(it["source"] for it in items if it["name"] == n) for n in names}},
        source=f"tokenize_audio.py from {source}; max_seconds {args.max_seconds}, min_seconds "
               f"{args.min_seconds}, min_peak {args.min_peak}"))
    return counts


def main(argv=None):
    args = get_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rank, world = int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))
    if world > 1:  # only barriers cross ranks, so gloo serves CPU and GPU runs alike; a long
        # timeout, since ranks can finish hours apart when their shares of audio differ
        torch.distributed.init_process_group("gloo", timeout=datetime.timedelta(hours=72))
    inputs = read_inputs(args)  # refused inputs stop here, before out_dir exists
    # one run at a time in out_dir (training/lock.py): a second one would write the same shards
    with OutDirLock(args.out_dir, "tokenize_audio.py", rank == 0, torch.distributed.barrier if world > 1 else None):
        return tokenize(args, rank, world, *inputs)


def tokenize(args, rank, world, clips, items, cells, source):
    """Encode this rank's share of the clips into shards, and (rank 0) merge them into the corpus."""
    work, clip_keys, index = work_list(clips, items, cells)
    weights, repo, revision = resolve_weights(args)
    weights_sha = sha256_file(weights)
    if args.add_bench:  # before encoding anything: the corpus exists and was made by these weights
        check_tokenizer(args.out_dir, weights_sha, args.dtype)
    shard_dir = os.path.join(args.out_dir, "shards")
    os.makedirs(shard_dir, exist_ok=True)
    check_fingerprint(shard_dir, dict(weights_sha256=weights_sha, dtype=args.dtype, max_seconds=args.max_seconds,
                                      min_seconds=args.min_seconds, min_peak=args.min_peak))
    had = read_shards(shard_dir, index_only=True)  # what earlier runs encoded, before any rank adds to it
    if world > 1:
        torch.distributed.barrier()
    n_encoded = encode_all(args, work, shard_dir, weights, rank, world, cells, done=had)
    if world > 1:
        torch.distributed.barrier()
    counts = reused = None
    if rank == 0:
        done, seconds, digests = read_shards(shard_dir, keys={w[0] for w in work})
        missing = [w[1] for w in work if w[0] not in done]
        if missing:
            raise SystemExit(f"{len(missing)} clips have no shard entry (first: {missing[0]}); a rank failed? "
                             f"Re-run the same command to finish them.")
        tok = dict(name="mimi", codebooks=1, frame_rate=loaders.FRAME_RATE, sample_rate=loaders.SAMPLE_RATE,
                   weights=os.path.basename(weights), weights_sha256=weights_sha, repo=repo,
                   revision=revision, dtype=args.dtype, moshi_version=version("moshi"))
        reused = sum(w[0] in had for w in work)
        again = (f"rank 0 encoded {n_encoded} clips this run, reused {reused} encoded earlier (a clip is known by its "
                 f"path, times, size and mtime; delete {shard_dir} to encode all again)")
        if args.add_bench:
            counts = c = add_bench_sets(args.out_dir, items, index, done, digests, source)
            print(f"tokenize_audio.py: bench items {c['run_items'] - c['run_skipped']} written + {c['run_skipped']} "
                  f"skipped = {c['run_items']} into {args.out_dir}; {again}")
        else:
            counts = c = merge(args, clips, items, clip_keys, index, done, seconds, digests, tok, source)
            hours = sum(c[s]["hours"] for s in SPLITS if s in c)
            print(f"tokenize_audio.py: {c['clips_written']} clips written ({hours:.2f} h) + {c['clips_skipped']} "
                  f"skipped = {c['clips_total']}; bench items {c['bench_items_total'] - c['bench_items_skipped']} "
                  f"written + {c['bench_items_skipped']} skipped = {c['bench_items_total']}; {again}; skips "
                  f"with reasons: {os.path.join(args.out_dir, 'skipped.jsonl')}")
    if world > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return dict(n_encoded=n_encoded, n_reused=reused, counts=counts)


def cli(argv=None):
    """main() with every expected failure as one line `tokenize_audio.py: error: ...` and exit 1: the
    SystemExit(message) of this script and audio/, an OSError (a full disk, a read-only out_dir) and a
    tokenbin.FormatError. Anything else is a bug and keeps its traceback."""
    try:
        return main(argv)
    except SystemExit as e:
        if not isinstance(e.code, str):  # argparse's own errors (exit 2, already printed) and exit 0
            raise
        msg = e.code
    except (OSError, tokenbin.FormatError) as e:
        msg = str(e)
    print(f"tokenize_audio.py: error: {msg.removeprefix('tokenize_audio.py: ').removeprefix('error: ')}",
          file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
    cli()
