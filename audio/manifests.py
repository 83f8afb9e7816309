"""
The JSONL manifests tokenize_audio.py reads: sentence clips and cloze items, checked line by line,
and the checks every other clip source (audio/hf_datasets.py, audio/lhotse_cuts.py, audio/kaldi.py)
goes through, so a clip means the same whichever route it came by.

clips.jsonl, one clip a line (audio: absolute, or relative to the manifest's folder):
    {"audio": "wav/s0001_en_00.flac", "story": "s0001", "sentence": 0, "lang": "en", "split": "train"}
A segment of a longer recording adds "start" and "end" in seconds (the long file is decoded once for
all its segments):
    {"audio": "chapter_12.flac", "start": 12.3, "end": 15.8, "story": "ch12", "sentence": 4, ...}
bench.jsonl, one cloze item a line; prompt: a list of clips (played in order), one clip, or null:
    {"name": "ssc_en-fr", "prompt": ["p0.wav", "p1.wav"], "good": "g.wav", "bad": "b.wav"}
A manifest may be gzipped (clips.jsonl.gz): what the file starts with decides, not its name.

lang is a language code of 2-3 lowercase letters (ISO 639-1 or 639-3: en, fr, de, ja, yue), any
number of them; no region tags, since "-" separates a bench set's directions (ssc_de-ja).
A line that is not what these promise is an error naming the file and line (SystemExit), never a
traceback and never a guess: "sentence": true is not sentence 1.
"""
import gzip
import json
import math
import os
import re
import zlib

SPLITS = ("train", "val")
LANG = re.compile(r"[a-z]{2,3}")
BENCH_NAME = re.compile(r"[A-Za-z0-9_.-]+")
FIRST_LANGS = ("en", "fr")  # corpus language order: these first (EN-FR corpora as they always were)


def order_langs(langs):
    """Corpus language order (a token's language id is its index): en, fr, then the others alphabetically."""
    return [lang for lang in FIRST_LANGS if lang in langs] + sorted(set(langs) - set(FIRST_LANGS))


def read_lines(path):
    """-> (line number, text) of each line of a text file, gzipped or not, as UTF-8; a file that is
    missing, not a regular file, not UTF-8 or a damaged gzip is an error naming it (and the line)."""
    if not os.path.isfile(path):  # a named pipe would block: only regular files are opened
        raise SystemExit(f"tokenize_audio.py: manifest {path} not found" if not os.path.exists(path) else
                         f"tokenize_audio.py: manifest {path} is not a regular file")
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    lineno = 0
    try:
        with (gzip.open(path, "rb") if gz else open(path, "rb")) as f:
            for lineno, raw in enumerate(f, 1):
                yield lineno, raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SystemExit(f"{path}:{lineno}: not UTF-8 text ({e.reason} at byte {e.start}); re-save the "
                         f"file as UTF-8") from None
    except (OSError, EOFError, zlib.error) as e:  # gzip.BadGzipFile is an OSError; EOFError: cut short
        raise SystemExit(f"{path}: damaged gzip file after line {lineno} ({type(e).__name__}: {e}); "
                         f"fetch or write it again") from None


def read_jsonl(path):
    """-> (line number, "path:line", object) for each non-blank line."""
    for lineno, line in read_lines(path):
        if line.strip():
            where = f"{path}:{lineno}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f"{where}: not valid JSON ({e})") from None
            if not isinstance(rec, dict):
                raise SystemExit(f"{where}: each line must be a JSON object {{...}}, got {line.strip()[:80]}")
            yield lineno, where, rec


def resolve(path, root, where):
    if not isinstance(path, str) or not path:
        raise SystemExit(f"{where}: audio path must be a non-empty string, got {path!r}")
    return path if os.path.isabs(path) else os.path.normpath(os.path.join(root, path))


def is_index(x):
    return isinstance(x, int) and not isinstance(x, bool) and x >= 0  # JSON true is not sentence 1


def is_seconds(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def check_clip(rec, where, open_end=False):
    """One clip record (manifest line, dataset row, cut, Kaldi utterance): SystemExit naming `where`
    if malformed. open_end: a segment may have end None, to the end of its file (Kaldi's end -1)."""
    missing = [k for k in ("audio", "story", "sentence", "lang", "split") if k not in rec]
    lang_ok = isinstance(rec.get("lang"), str) and LANG.fullmatch(rec["lang"])
    story = rec.get("story")
    if (missing or not lang_ok or rec.get("split") not in SPLITS or isinstance(story, bool)
            or not isinstance(story, (str, int)) or not is_index(rec.get("sentence"))):
        raise SystemExit(f"{where}: need audio (path), story (id: string or integer), sentence (integer "
                         f">= 0), lang (a 2-3 letter lowercase language code, e.g. en), split (one of "
                         f"{SPLITS}); missing {missing}, got {rec}")
    has = [k in rec and rec[k] is not None for k in ("start", "end")]
    if open_end and has[0]:
        has[1] = True
    if any(has) and not (all(has) and is_seconds(rec["start"]) and (rec.get("end") is None or is_seconds(rec["end"]))):
        raise SystemExit(f"{where}: a segment needs both 'start' and 'end' as numbers of seconds, got "
                         f"start {rec.get('start')!r}, end {rec.get('end')!r}")


def add_clip(clips, seen, rec, where, line, path=None, root=None, open_end=False):
    """Check one clip record and append it to clips as read_manifest returns them, its audio at path
    (None: rec's audio resolved against root); seen: the (split, story, sentence, lang) keys so far
    (two clips for one place is an error)."""
    check_clip(rec, where, open_end)
    path = resolve(rec["audio"], root, where) if path is None else path
    key = (rec["split"], rec["story"], rec["sentence"], rec["lang"])
    if key in seen:
        raise SystemExit(f"{where}: duplicate clip for (split, story, sentence, lang) {key}")
    seen.add(key)
    clips.append(dict(rec, line=line, path=path, start=rec.get("start"), end=rec.get("end")))


def number_sentences(recs):
    """Readers whose format has no sentence index (lhotse cuts, Kaldi dirs): sentence k of a
    (split, story, lang) is its k-th record ordered by its recording's first appearance, then start
    time, then listing order. recs: dicts with split, story, lang, recording, start; adds 'sentence'."""
    first, groups = {}, {}
    for i, r in enumerate(recs):
        first.setdefault(r["recording"], len(first))
        groups.setdefault((r["split"], r["story"], r["lang"]), []).append(i)
    for idx in groups.values():
        order = sorted(idx, key=lambda i: (first[recs[i]["recording"]], recs[i]["start"] or 0.0, i))
        for k, i in enumerate(order):
            recs[i]["sentence"] = k


def clips_from_records(recs, what):
    """Records of a reader whose format has no sentence index (audio/lhotse_cuts.py, audio/kaldi.py)
    -> clips as read_manifest returns them: sentences numbered unless every record gives one."""
    given = sum(r["sentence"] is not None for r in recs)
    if given and given < len(recs):
        first = next(r for r in recs if r["sentence"] is None)
        raise SystemExit(f"{first['where']}: no custom 'sentence', while {given} of {len(recs)} records have "
                         f"one; give every record a sentence index or none (then they are numbered)")
    if not given:
        number_sentences(recs)
    clips, seen = [], set()
    for r in recs:
        add_clip(clips, seen, {k: r[k] for k in ("audio", "story", "sentence", "lang", "split", "start", "end")},
                 r["where"], r["line"], path=r["path"], open_end=r.get("open_end", False))
    if not clips:
        raise SystemExit(f"tokenize_audio.py: {what}: no clips")
    return clips


def split_specs(values, flag):
    """--cuts / --kaldi_dir values: SPLIT=PATH, or a bare PATH for train -> [(split, path)]."""
    out = []
    for v in values:
        split, eq, path = v.partition("=")
        if not eq:
            split, path = "train", v
        if split not in SPLITS:
            raise SystemExit(f"tokenize_audio.py: {flag} {v}: write SPLIT=PATH with SPLIT one of {SPLITS}")
        out.append((split, path))
    return out


def read_manifest(path):
    """-> list of clip dicts (manifest order) with 'path' resolved, 'line' kept for reports, and
    'start'/'end' (seconds, or None for a whole file)."""
    root, clips, seen = os.path.dirname(os.path.abspath(path)), [], set()
    for lineno, where, rec in read_jsonl(path):
        add_clip(clips, seen, rec, where, lineno, root=root)
    if not clips:
        raise SystemExit(f"{path}: no clips")
    return clips


def check_bench_item(rec, where):
    """-> (name, [prompt], good, bad) of one bench record, the clips as given (not yet resolved)."""
    name = rec.get("name")
    if not isinstance(name, str) or not BENCH_NAME.fullmatch(name):
        raise SystemExit(f"{where}: 'name' must be a file-safe set name like 'ssc_en-fr', got {name!r}")
    prompt = rec.get("prompt")
    prompt = [] if prompt is None else [prompt] if isinstance(prompt, str) else prompt
    if not isinstance(prompt, list):
        raise SystemExit(f"{where}: 'prompt' must be a list of clips, one clip, or null, got {prompt!r}")
    for key in ("good", "bad"):
        if key not in rec:
            raise SystemExit(f"{where}: missing '{key}' (a clip)")
    if rec["good"] == rec["bad"]:  # scores 0.5 whatever the model: not an item
        raise SystemExit(f"{where}: 'good' and 'bad' are the same clip {rec['good']!r}; an item needs two endings")
    return name, prompt, rec["good"], rec["bad"]


def read_bench_manifest(path):
    """-> list of item dicts {name, line, prompt: [paths], good: path, bad: path, group}. group
    (optional, a string or an integer): the items of one scored unit, e.g. one sLM21 pair read by
    several voices (audio/slm21.py writes it); bench/{name}.groups.npy keeps it for eval_cloze.py."""
    root, items = os.path.dirname(os.path.abspath(path)), []
    for lineno, where, rec in read_jsonl(path):
        name, prompt, good, bad = check_bench_item(rec, where)
        group = rec.get("group")
        if group is not None and (isinstance(group, bool) or not isinstance(group, (str, int))):
            raise SystemExit(f"{where}: 'group' must be a string or an integer, got {group!r}")
        items.append(dict(name=name, line=lineno, prompt=[resolve(p, root, where) for p in prompt],
                          good=resolve(good, root, where), bad=resolve(bad, root, where), group=group))
    return items
