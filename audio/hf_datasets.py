"""
Hugging Face datasets as a source of clips and cloze items for tokenize_audio.py.

A dataset is a folder written by Dataset.save_to_disk, parquet files (one file, a folder of them, or
a glob), or a Hub id; what is on disk decides which (a save_to_disk folder holds state.json or
dataset_dict.json, a parquet file starts with b"PAR1"), anything else is taken as a Hub id. Its audio
column is read undecoded (Audio(decode=False): the stored bytes, or the path), written to a temporary
file and decoded by audio/decode.py like any manifest clip, so a dataset and a manifest of the same
audio make the same corpus, byte for byte (tests/test_tokenize_audio.py).

Columns map to the manifest's keys (tokenize_audio.py's --*_column flags):
    story     --story_column; none: each row is its own story (id: the row index)
    sentence  --sentence_column; none: a row's place among the rows of its story (0, 1, ...)
    lang      --lang_column, or one language for every row: --lang en (tokenize_audio.py's flag)
    split     --split_column, or one split for every row: --split train
    start/end --start_column/--end_column, optional: a segment of the row's audio, in seconds
Cloze sets: --good_column, --bad_column (audio columns) and optionally --prompt_column: several audio
columns (the prompt's clips in order) or one column holding a list of audio; one item a row, in the
set --bench_name, or in the set its --bench_name_column says (one run builds a whole suite, e.g. the
8 sets ssc/stc x en, fr, en-fr, fr-en).
A row whose audio cell is None is not a crash of the run: its clip is skipped as no_audio (listed in
skipped.jsonl), and so is a bench item one of whose clips is None.

Every rank reads the small columns (ids, indices, languages, list lengths) of every row, since merging
needs them; the audio of a row is read only by the rank that encodes it (tokenize_audio.rank_block).
"""
import glob
import os
import tempfile
import threading

from audio.manifests import SPLITS, add_clip, check_bench_item

_LOCK = threading.Lock()  # one arrow read at a time: decoding threads share the dataset object


def _is_parquet(path):
    with open(path, "rb") as f:
        return f.read(4) == b"PAR1"


def open_dataset(spec, split):
    """-> (datasets.Dataset with its audio columns undecoded, a description for meta.json)."""
    import datasets
    if os.path.isdir(spec) and any(os.path.isfile(os.path.join(spec, f)) for f in
                                   ("state.json", "dataset_dict.json")):
        try:  # datasets' own errors on a damaged or 0-row folder (an IndexError for 0 shards) are tracebacks
            ds = datasets.load_from_disk(spec)
        except Exception as e:
            raise SystemExit(f"{spec}: datasets cannot load this save_to_disk folder ({type(e).__name__}: {e}); "
                             f"a dataset with 0 rows? write it again") from None
        if isinstance(ds, datasets.DatasetDict):
            if split not in ds:
                raise SystemExit(f"{spec}: no split '{split}' (it has {sorted(ds)}); pass --hf_split")
            ds = ds[split]
        how = f"save_to_disk folder {spec}"
    else:
        found = sorted(glob.glob(os.path.join(spec, "**", "*"), recursive=True) if os.path.isdir(spec)
                       else glob.glob(spec))
        files = [f for f in found if os.path.isfile(f) and _is_parquet(f)]
        if files:
            try:
                ds = datasets.load_dataset("parquet", data_files=files, split="train")
            except Exception as e:
                raise SystemExit(f"{spec}: datasets cannot load these parquet files ({type(e).__name__}: {e})") from None
            how = f"{len(files)} parquet files {spec}"
        elif found:
            raise SystemExit(f"{spec}: neither a save_to_disk folder (state.json) nor parquet files; "
                             f"write it with Dataset.save_to_disk or Dataset.to_parquet")
        else:
            try:
                ds = datasets.load_dataset(spec, split=split)
            except Exception as e:
                raise SystemExit(f"{spec}: not a local dataset and not loadable from the Hub with split "
                                 f"'{split}' ({type(e).__name__}: {e})") from None
            how = f"Hub dataset {spec} split {split}"
    return ds, f"Hugging Face {how} (fingerprint {ds._fingerprint}, {len(ds)} rows)"


def _column(ds, name, spec, flag):
    if name not in ds.column_names:
        raise SystemExit(f"{spec}: no column '{name}' ({flag}); its columns: {ds.column_names}")
    return ds.select_columns([name])[:][name]  # this column only: no audio is read


class AudioRows:
    """The audio cells of one dataset, named by key strings that tokenize_audio.py uses as sources;
    cells: {key: (self, row, column, index in a list cell or None)}, what fetch reads for a key."""

    def __init__(self, ds, spec):
        self.ds, self.spec, self.fp, self.cells = ds, spec, ds._fingerprint, {}

    def key(self, row, column, k=None):
        key = f"hf:{self.fp}:{row}:{column}" + ("" if k is None else f":{k}")
        self.cells[key] = (self, row, column, k)
        return key

    def fetch(self, row, column, k=None):
        """-> (path of a file holding the cell's audio, whether it is a temporary file to delete), or
        (None, False) when the cell is None."""
        with _LOCK:
            cell = self.ds[row][column]
        cell = cell if k is None or cell is None else cell[k]
        if cell is None:
            return None, False
        if not isinstance(cell, dict):
            raise SystemExit(f"{self.spec} row {row}: column '{column}' is not an audio column "
                             f"(got {type(cell).__name__})")
        if cell.get("bytes") is None:  # stored by path only
            return cell.get("path") or "", False
        suffix = os.path.splitext(cell.get("path") or "")[1]  # a hint for the decoder's probe
        fd, path = tempfile.mkstemp(prefix="tokenize_audio_", suffix=suffix)
        with os.fdopen(fd, "wb") as f:
            f.write(cell["bytes"])
        return path, True


def _list_feature():
    """datasets' list feature: List from datasets 4, Sequence before it (a list column of audio)."""
    import datasets
    return getattr(datasets, "List", None) or datasets.Sequence


def _undecoded(ds, columns, spec):
    """Cast the audio columns (an Audio column, or a list of Audio) to their undecoded storage; 0 rows
    is an error (a filter that kept nothing, the wrong split)."""
    from datasets import Audio
    List = _list_feature()
    if len(ds) == 0:
        raise SystemExit(f"{spec}: the dataset has 0 rows; check --hf_split and the files")
    for c in columns:
        if c not in ds.column_names:
            raise SystemExit(f"{spec}: no audio column '{c}'; its columns: {ds.column_names}")
        is_list = isinstance(ds.features[c], List) and isinstance(ds.features[c].feature, Audio)
        ds = ds.cast_column(c, List(Audio(decode=False)) if is_list else Audio(decode=False))
    return ds


def _list_lengths(ds, column):
    """Clips per row of a list-of-audio column (None for a None list), from the arrow offsets only."""
    import pyarrow.compute as pc
    ds = ds.flatten_indices() if ds._indices is not None else ds
    return pc.list_value_length(ds.data.column(column)).to_pylist()


def read_clips(args):
    """-> (clips as read_manifest returns them, AudioRows, description). A clip's 'path' is its key."""
    ds, how = open_dataset(args.hf_dataset, args.hf_split)
    ds = _undecoded(ds, [args.audio_column], args.hf_dataset)
    rows = AudioRows(ds, args.hf_dataset)
    n = len(ds)
    col = lambda name, flag: _column(ds, name, args.hf_dataset, flag) if name else None  # noqa: E731
    stories, sentences = col(args.story_column, "--story_column"), col(args.sentence_column, "--sentence_column")
    langs, splits = col(args.lang_column, "--lang_column"), col(args.split_column, "--split_column")
    starts, ends = col(args.start_column, "--start_column"), col(args.end_column, "--end_column")
    clips, seen, next_sentence = [], set(), {}
    for r in range(n):
        story = stories[r] if stories is not None else r
        if sentences is not None:
            sentence = sentences[r]
        else:  # the row's place among its story's rows
            sentence = next_sentence.get(story, 0)
            next_sentence[story] = sentence + 1
        rec = dict(audio=f"{args.audio_column}[{r}]", story=story, sentence=sentence,
                   lang=langs[r] if langs is not None else args.lang,
                   split=splits[r] if splits is not None else args.split)
        if starts is not None:
            rec.update(start=starts[r], end=ends[r] if ends is not None else None)
        add_clip(clips, seen, rec, f"{args.hf_dataset} row {r}", r, path=rows.key(r, args.audio_column))
    return clips, rows, how


def read_bench(args):
    """-> (items as read_bench_manifest returns them, their paths being keys; AudioRows, description)."""
    ds, how = open_dataset(args.hf_bench, args.hf_bench_split)
    prompt_cols = args.prompt_column or []
    ds = _undecoded(ds, [args.good_column, args.bad_column] + prompt_cols, args.hf_bench)
    rows, items = AudioRows(ds, args.hf_bench), []
    names = (_column(ds, args.bench_name_column, args.hf_bench, "--bench_name_column")
             if args.bench_name_column else [args.bench_name] * len(ds))
    List = _list_feature()
    listed = [c for c in prompt_cols if isinstance(ds.features[c], List)]
    if listed and len(prompt_cols) > 1:
        raise SystemExit(f"{args.hf_bench}: --prompt_column {listed[0]} holds a list of audio: give it alone, "
                         f"or several columns of one clip each")
    lengths = _list_lengths(ds, listed[0]) if listed else None
    for r in range(len(ds)):
        if lengths is None:
            prompt = [rows.key(r, c) for c in prompt_cols]
        else:  # a None list keys the cell itself, which fetches as None: the item is skipped, not shortened
            prompt = [rows.key(r, listed[0])] if lengths[r] is None else [rows.key(r, listed[0], k)
                                                                         for k in range(lengths[r])]
        name, prompt, good, bad = check_bench_item(
            dict(name=names[r], prompt=prompt, good=rows.key(r, args.good_column),
                 bad=rows.key(r, args.bad_column)), f"{args.hf_bench} row {r}")
        items.append(dict(name=name, line=r, prompt=prompt, good=good, bad=bad))
    return items, rows, how


def add_args(p):
    """The flags of Hugging Face inputs, on tokenize_audio.py's parser."""
    g = p.add_argument_group("Hugging Face datasets (audio/hf_datasets.py)")
    g.add_argument("--hf_dataset", default=None, help="clips: a save_to_disk folder, parquet file(s) or Hub id")
    g.add_argument("--hf_split", default="train", help="the dataset's split to read (Hub, DatasetDict)")
    g.add_argument("--audio_column", default="audio")
    g.add_argument("--story_column", default=None, help="none: each row its own story")
    g.add_argument("--sentence_column", default=None, help="none: rows of a story in order")
    g.add_argument("--lang_column", default=None)
    g.add_argument("--split_column", default=None)
    g.add_argument("--split", default=None, choices=SPLITS, help="the corpus split of every row")
    g.add_argument("--start_column", default=None, help="segment start, seconds (with --end_column)")
    g.add_argument("--end_column", default=None)
    g.add_argument("--hf_bench", default=None, help="cloze items: a dataset with good/bad audio columns")
    g.add_argument("--hf_bench_split", default="train")
    g.add_argument("--good_column", default="good")
    g.add_argument("--bad_column", default="bad")
    g.add_argument("--prompt_column", nargs="+", default=None, help="audio columns played in order, or "
                   "one column holding a list of audio; none: minimal pairs without a prompt")
    g.add_argument("--bench_name", default=None, help="the set's name, bench/{name}")
    g.add_argument("--bench_name_column", default=None, help="a column naming each row's set (instead of "
                   "--bench_name): one run builds several sets")


def check_args(args):
    if args.hf_dataset:
        for what in ("lang", "split"):
            if (getattr(args, f"{what}_column") is None) == (getattr(args, what) is None):
                raise SystemExit(f"tokenize_audio.py: --hf_dataset needs exactly one of --{what}_column "
                                 f"and --{what}")
        if (args.start_column is None) != (args.end_column is None):
            raise SystemExit("tokenize_audio.py: --start_column and --end_column go together")
    if args.hf_bench and (args.bench_name is None) == (args.bench_name_column is None):
        raise SystemExit("tokenize_audio.py: --hf_bench needs exactly one of --bench_name (one set) and "
                         "--bench_name_column (a column naming each row's set)")
