"""
audio/kaldi.py: a Kaldi data directory as clips for tokenize_audio.py.

    .venv/bin/python tokenize_audio.py --kaldi_dir train=data/train val=data/dev --lang en --unpaired \
        --out_dir data/my_kaldi_corpus

The files, as Kaldi's data preparation documents them (one "<id> <value>" a line):
    wav.scp     <recording-id> <path>          the recordings (required)
    segments    <utterance-id> <recording-id> <begin> <end>   seconds; end -1: to the end of the file
                (optional: without it each recording is one utterance, its id the recording's)
    utt2lang    <utterance-id> <code>          optional, the language of each utterance (--lang, when
                given, is the language of every one)
    utt2story   <utterance-id> <story-id>      optional, a crosstalk addition in Kaldi's utt2X style:
                the story an utterance belongs to, shared by its translations (a paired corpus);
                without it a story is a recording
    utt2sentence <utterance-id> <index>        optional, a crosstalk addition too: sentence k (0, 1, ...)
                of its story; give it whenever file order is not story order (Kaldi files are sorted
                as strings, so s1_10 comes before s1_2)
    utt2spk, text, spk2utt, ...                 optional and not read: crosstalk learns from speech alone
A sentence is an utterance; without utt2sentence, sentence k of a story in one language is its k-th
utterance by recording (in wav.scp order), then begin time (audio/manifests.number_sentences). Relative paths are
read from the current directory, as Kaldi's recipes run, or from --audio_root.
Refused with the file and line named: a piped wav.scp entry (`<id> sox in.flac -t wav - |`: a
command, not a file; write its output to a file and list that), any other entry that is not one
path, a segments line with a channel column (crosstalk downmixes every channel), ids listed twice, an
utterance of a recording wav.scp lacks or with no language.
"""
import os

from audio.manifests import is_seconds, read_lines


def read_table(path, n_fields, required=True):
    """{id: [fields]} of one Kaldi file, in file order (None if absent and not required)."""
    if not os.path.exists(path):
        if required:
            raise SystemExit(f"tokenize_audio.py: {path} not found; a Kaldi data dir needs wav.scp")
        return None
    table = {}
    for lineno, line in read_lines(path):
        if not line.strip():
            continue
        fields = line.split()
        where = f"{path}:{lineno}"
        if os.path.basename(path) == "wav.scp" and line.rstrip().endswith("|"):
            raise SystemExit(f"{where}: {line.strip()[:100]!r} is a command (a piped entry), not an audio "
                             f"file; run it once to write a file and list that file")
        if os.path.basename(path) == "wav.scp" and len(fields) != 2:
            raise SystemExit(f"{where}: {line.strip()[:100]!r} is not '<recording-id> <path>' (a command, or a "
                             f"path with a space: Kaldi paths cannot hold one; rename or link the file)")
        if len(fields) != n_fields:
            raise SystemExit(f"{where}: expected {n_fields} fields, got {len(fields)}: {line.strip()[:100]!r}"
                             + ("; a 5th column selects a channel: tokenize_audio.py downmixes every channel"
                                if os.path.basename(path) == "segments" and len(fields) == 5 else ""))
        if fields[0] in table:
            raise SystemExit(f"{where}: id {fields[0]!r} listed twice")
        table[fields[0]] = fields[1:] + [lineno]
    return table


def read_kaldi_dir(folder, split, lang=None, audio_root=None):
    """-> records for manifests.clips_from_records: one per utterance, in segments (or wav.scp) order."""
    wavs = read_table(os.path.join(folder, "wav.scp"), 2)
    segments = read_table(os.path.join(folder, "segments"), 4, required=False)
    langs = read_table(os.path.join(folder, "utt2lang"), 2, required=False)
    stories = read_table(os.path.join(folder, "utt2story"), 2, required=False)
    sentences = read_table(os.path.join(folder, "utt2sentence"), 2, required=False)
    if segments is None:  # each recording is one utterance, the whole file
        segments = {rec: [rec, None, None, line] for rec, (_, line) in wavs.items()}
        where_of = lambda utt: f"{os.path.join(folder, 'wav.scp')}:{segments[utt][3]}"  # noqa: E731
    else:
        where_of = lambda utt: f"{os.path.join(folder, 'segments')}:{segments[utt][3]}"  # noqa: E731
    recs = []
    for utt, (rec, begin, end, line) in segments.items():
        where = where_of(utt)
        if rec not in wavs:
            raise SystemExit(f"{where}: recording {rec!r} of utterance {utt!r} is not in wav.scp")
        if begin is not None:
            try:
                begin, end = float(begin), float(end)
            except ValueError:
                raise SystemExit(f"{where}: begin and end must be seconds, got {begin!r} {end!r}") from None
            if not (is_seconds(begin) and is_seconds(end)):
                raise SystemExit(f"{where}: begin and end must be finite seconds, got {begin} {end}")
            end = None if end == -1 else end  # Kaldi: -1 runs to the end of the file
        for name, table, flag in (("utt2lang", langs, lang), ("utt2story", stories, True),
                                  ("utt2sentence", sentences, True)):
            if flag is None and (table is None or utt not in table) or table is not None and utt not in table:
                raise SystemExit(f"{where}: utterance {utt!r} is not in {os.path.join(folder, name)}"
                                 + (" (or pass --lang CODE, the language of every utterance)" if name == "utt2lang"
                                    else "; list every utterance there, or none"))
        code = lang if lang is not None else langs[utt][0]
        story = stories[utt][0] if stories is not None else rec
        sentence = None
        if sentences is not None:
            text = sentences[utt][0]
            if not text.isdigit():
                raise SystemExit(f"{os.path.join(folder, 'utt2sentence')}:{sentences[utt][1]}: sentence of "
                                 f"{utt!r} must be an integer >= 0, got {text!r}")
            sentence = int(text)
        audio = wavs[rec][0]
        recs.append(dict(audio=audio, path=os.path.abspath(os.path.join(audio_root or os.getcwd(), audio)),
                         story=story, sentence=sentence, lang=code, split=split, start=begin, end=end,
                         recording=rec, line=line, where=f"{where} utterance {utt}", open_end=True))
    return recs
