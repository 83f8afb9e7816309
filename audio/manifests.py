"""
The JSONL manifests tokenize_audio.py reads: sentence clips and cloze items, checked line by line.

clips.jsonl, one clip a line (audio: absolute, or relative to the manifest's folder):
    {"audio": "wav/s0001_en_00.flac", "story": "s0001", "sentence": 0, "lang": "en", "split": "train"}
A segment of a longer recording adds "start" and "end" in seconds (the long file is decoded once for
all its segments):
    {"audio": "chapter_12.flac", "start": 12.3, "end": 15.8, "story": "ch12", "sentence": 4, ...}
bench.jsonl, one cloze item a line; prompt: a list of clips (played in order), one clip, or null:
    {"name": "ssc_en-fr", "prompt": ["p0.wav", "p1.wav"], "good": "g.wav", "bad": "b.wav"}

A line that is not what these promise is an error naming the file and line (SystemExit), never a
traceback and never a guess: "sentence": true is not sentence 1.
"""
import json
import math
import os
import re

LANGS = ("en", "fr")       # a paired corpus's languages, in meta.json order
SPLITS = ("train", "val")
OTHER_LANG = re.compile(r"[a-z]{2,3}")  # an unpaired corpus may hold any ISO 639 language code
BENCH_NAME = re.compile(r"[A-Za-z0-9_.-]+")


def read_jsonl(path):
    """-> (line number, "path:line", object) for each non-blank line."""
    if not os.path.isfile(path):
        raise SystemExit(f"tokenize_audio.py: manifest {path} not found")
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
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


def check_clip(rec, where, unpaired):
    """One clip record (manifest line or dataset row): raise SystemExit naming `where` if malformed."""
    missing = [k for k in ("audio", "story", "sentence", "lang", "split") if k not in rec]
    lang_ok = rec.get("lang") in LANGS or (unpaired and isinstance(rec.get("lang"), str)
                                             and OTHER_LANG.fullmatch(rec["lang"]))
    story = rec.get("story")
    if (missing or not lang_ok or rec.get("split") not in SPLITS or isinstance(story, bool)
            or not isinstance(story, (str, int)) or not is_index(rec.get("sentence"))):
        langs = "a 2-3 letter code" if unpaired else f"one of {LANGS}; other languages need --unpaired"
        raise SystemExit(f"{where}: need audio (path), story (id: string or integer), sentence (integer "
                         f">= 0), lang ({langs}), split (one of {SPLITS}); missing {missing}, got {rec}")
    has = [k in rec and rec[k] is not None for k in ("start", "end")]
    if any(has) and not (all(has) and is_seconds(rec["start"]) and is_seconds(rec["end"])):
        raise SystemExit(f"{where}: a segment needs both 'start' and 'end' as numbers of seconds, got "
                         f"start {rec.get('start')!r}, end {rec.get('end')!r}")


def read_manifest(path, unpaired=False):
    """-> list of clip dicts (manifest order) with 'path' resolved, 'line' kept for reports, and
    'start'/'end' (seconds, or None for a whole file)."""
    root, clips, seen = os.path.dirname(os.path.abspath(path)), [], set()
    for lineno, where, rec in read_jsonl(path):
        check_clip(rec, where, unpaired)
        key = (rec["split"], rec["story"], rec["sentence"], rec["lang"])
        if key in seen:
            raise SystemExit(f"{where}: duplicate clip for (split, story, sentence, lang) {key}")
        seen.add(key)
        clips.append(dict(rec, line=lineno, path=resolve(rec["audio"], root, where),
                          start=rec.get("start"), end=rec.get("end")))
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
