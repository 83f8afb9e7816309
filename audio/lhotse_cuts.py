"""
audio/lhotse_cuts.py: lhotse CutSets (how LibriHeavy and most of lhotse's recipes ship) as clips for
tokenize_audio.py, read from the manifest file itself (JSONL, gzipped or not); lhotse is not needed.

    .venv/bin/python tokenize_audio.py --cuts train=data/libriheavy_cuts_small.jsonl.gz --lang en --unpaired \
        --out_dir data/libriheavy_small_en --device cuda

The format, as lhotse documents it: one cut a line, {"id", "start", "duration", "channel",
"supervisions": [...], "recording": {"id", "sources": [{"type": "file", "source": path, "channels"}],
"sampling_rate", "num_samples", "duration", "channel_ids"}, "type": "MonoCut"}. A cut is a window of
its recording starting at cut["start"]; a supervision's "start" is relative to its cut, so a sentence is
the recording's audio from cut.start + sup.start for sup.duration seconds. Both layouts read alike:
one cut per segment (trim_to_supervisions, LibriHeavy) and one cut per recording holding several
supervisions. The mapping (the README's LibriHeavy mapping):
    story     the supervision's custom "story" if it has one (a paired corpus: the EN and FR
              recordings of one story share it), else the recording id
    sentence  the supervision's custom "sentence" if every one has it, else its place among the
              story's supervisions in that language (audio/manifests.number_sentences: by recording,
              then start time)
    lang      --lang for every cut, else the supervision's "language", which must then be a code
              (LibriHeavy says "English": pass --lang en)
    split     the split the file was given for: --cuts train=cuts_train.jsonl.gz val=cuts_dev.jsonl.gz
A supervision listed in several cuts (overlapping windows) is one sentence, read once. Audio paths are
read as lhotse reads them: relative ones from the current directory, or from --audio_root.
Refused with the cut's line named (nothing is guessed): audio that is not a file (url, command,
memory, shar sources), a recording split over several sources, transforms (resample, speed,
volume: the audio would not be the file's), a cut or supervision selecting some channels only
(crosstalk downmixes every channel), MixedCut and PaddingCut.
"""
import os

from audio.manifests import LANG, read_jsonl


def _channels(x):
    return set(x) if isinstance(x, list) else {x}


def read_cuts(path, split, lang=None, audio_root=None):
    """-> records for manifests.clips_from_records: one per supervision, in cut order."""
    recs, seen = [], {}  # seen: supervision id -> its (recording, start, duration)
    for lineno, where, cut in read_jsonl(path):
        if cut.get("type") not in ("MonoCut", "MultiCut"):
            raise SystemExit(f"{where}: a {cut.get('type')!r} cut; tokenize_audio.py reads MonoCut and MultiCut "
                             f"(a window of one recording), not mixes or padding")
        rec, sups = cut.get("recording"), cut.get("supervisions")
        if not isinstance(rec, dict) or not isinstance(sups, list) or not isinstance(cut.get("start"), (int, float)):
            raise SystemExit(f"{where}: a cut needs 'start', 'recording' and 'supervisions' (lhotse's cut format)")
        sources = rec.get("sources") or []
        if len(sources) != 1 or sources[0].get("type") != "file" or not isinstance(sources[0].get("source"), str):
            raise SystemExit(f"{where}: recording {rec.get('id')!r} has sources {[s.get('type') for s in sources]}; "
                             f"only one audio file a recording is read: write the audio to files first")
        if rec.get("transforms"):
            raise SystemExit(f"{where}: recording {rec.get('id')!r} has transforms "
                             f"{[t.get('name') for t in rec['transforms']]}; the audio would not be the file's: "
                             f"apply them to the files, or drop them (resampling to 24 kHz is done anyway)")
        all_channels = set(rec.get("channel_ids") or sources[0].get("channels") or [0])
        audio = sources[0]["source"]
        full = os.path.abspath(os.path.join(audio_root or os.getcwd(), audio))
        for sup in sups:
            sid = sup.get("id")
            if _channels(cut.get("channel", 0)) != all_channels or _channels(sup.get("channel", 0)) != all_channels:
                raise SystemExit(f"{where}: supervision {sid!r} selects channels {sup.get('channel')} of "
                                 f"{sorted(all_channels)}; tokenize_audio.py downmixes every channel of a file")
            if not isinstance(sup.get("start"), (int, float)) or not isinstance(sup.get("duration"), (int, float)):
                raise SystemExit(f"{where}: supervision {sid!r} needs numeric 'start' and 'duration'")
            start = cut["start"] + sup["start"]
            span = (rec.get("id"), start, sup["duration"])
            if sid in seen:  # cut start + offset does not round-trip in floats: equal to a microsecond
                if seen[sid][0] != span[0] or any(abs(a - b) > 1e-6 for a, b in zip(seen[sid][1:], span[1:])):
                    raise SystemExit(f"{where}: supervision {sid!r} appears again with other times {span} "
                                     f"(first {seen[sid]}); supervision ids must be unique")
                continue
            seen[sid] = span
            custom = sup.get("custom") or {}
            code = lang if lang is not None else sup.get("language")
            if lang is None and not (isinstance(code, str) and LANG.fullmatch(code)):
                raise SystemExit(f"{where}: supervision {sid!r} has language {code!r}, not a 2-3 letter code: "
                                 f"pass --lang CODE (the language of every cut)")
            recs.append(dict(audio=audio, path=full, story=custom.get("story", rec.get("id")),
                             sentence=custom.get("sentence"), lang=code, split=split, start=start,
                             end=start + sup["duration"], recording=rec.get("id"), line=lineno,
                             where=f"{where} supervision {sid}"))
    return recs
