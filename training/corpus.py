"""
training/corpus.py: what a model knows of the corpus it was trained on, and the checks that keep a run,
an evaluation or a prompt on the units and the data the model was trained with.

A train.py checkpoint stores "corpus": one record per corpus it trains on (data_dir, or each corpus of
data_mix in order), {"dir": absolute path, "units": tokenbin.unit_identity, "files": tokenbin.fingerprint}.
An export_hf.py folder keeps "unit_identity" and "corpus_dir" in its speech_vocab.json. The checks:
    check_units      init_from, resume, eval_cloze.py, align_probe.py, sample.py: the corpus holds the
                     model's units (the same tokenizer; tokenbin.units_mismatch); check_checkpoint for
                     train.py adds its vocabulary and languages
    check_unchanged  a resume: every file of the corpus is the one the run trained on (names the file)
    own_corpus       eval_cloze.py / align_probe.py without --corpus: the model's own corpus
    model_corpus     the corpus given, or the model's own, checked (eval_cloze.py, align_probe.py, sample.py)
A checkpoint written before "corpus" existed is read by its "meta" (its units, as tokenbin reads an old
meta.json) and its config's data_dir; its files were never recorded, so a resume from it is not checked
(and says so).

    .venv/bin/python -m training.corpus out/toy/interleave        # the corpus a run was trained on
"""
import json
import os
import sys

import tokenbin
from training.checkpoint import CheckpointError, is_checkpoint, read_metadata


class CorpusError(ValueError):
    """A corpus that is not the one a model or a run needs; the message names both and what to do."""


def records(metas):
    """{corpus_dir: meta} -> the checkpoint's "corpus" records (module docstring), in the same order."""
    return [{"dir": os.path.abspath(d), "units": tokenbin.unit_identity(m), "files": tokenbin.fingerprint(d, m)}
            for d, m in metas.items()]


def checkpoint_corpus(md):
    """A checkpoint's plain values (read_metadata, or the loaded dict) -> (units or None, [corpus dirs])."""
    if md.get("corpus"):
        return md["corpus"][0]["units"], [r["dir"] for r in md["corpus"]]
    meta, cfg = md.get("meta") or {}, md.get("config") or {}  # written before "corpus" existed
    dirs = list(cfg["data_mix"]) if cfg.get("data_mix") else [cfg["data_dir"]] if cfg.get("data_dir") else []
    return (tokenbin.unit_identity(meta) if "vocab_size" in meta else None), dirs


def trained_on(spec):
    """A model spec (a run's out_dir or its ckpt/, an HF folder or Hub id) -> (units or None, [corpus dirs]).
    (None, []): a model that names no corpus (an HF text model: its speech embedding starts fresh)."""
    spec = str(spec)
    if is_checkpoint(spec):
        return checkpoint_corpus(read_metadata(spec))
    vocab = os.path.join(spec, "speech_vocab.json")
    if os.path.isfile(vocab):  # an export_hf.py folder
        try:
            with open(vocab) as f:
                v = json.load(f)
        except (OSError, ValueError) as e:
            raise CorpusError(f"{vocab}: unreadable ({e}); re-export the folder with export_hf.py") from None
        return v.get("unit_identity"), [v["corpus_dir"]] if v.get("corpus_dir") else []
    return None, []


def check_units(model, units, corpus_dir, meta, fix=""):
    """CorpusError unless corpus_dir (its meta) holds the units a model was trained on (None: not known)."""
    theirs = tokenbin.unit_identity(meta)
    if units is not None and (diff := tokenbin.units_mismatch(units, theirs)):
        raise CorpusError(f"{model} was trained on {tokenbin.describe_units(units)}, but {corpus_dir} holds "
                          f"{tokenbin.describe_units(theirs)}: other units ({diff}), the same ids would mean "
                          f"other sounds. {fix or 'Use a corpus made with the same tokenizer.'}")


def check_checkpoint(ckpt_path, ckpt, where, meta):
    """train.py's init_from / resume: token ids mean the same only under the same tokenizer, so the
    checkpoint's corpus and this one (where: its data_dir; meta) share vocabulary, languages and units."""
    for key in ("vocab_size", "languages"):
        if ckpt["meta"].get(key) != meta.get(key):
            raise CheckpointError(
                f"{ckpt_path} was trained on a corpus with {key}={ckpt['meta'].get(key)!r}, but {where}/meta.json "
                f"has {key}={meta.get(key)!r}: corpus/vocabulary mismatch. Train on a corpus made with the same "
                f"tokenizer, or start from scratch.")
    units, dirs = checkpoint_corpus(ckpt)
    check_units(ckpt_path, units, where, meta, fix=f"Give a data_dir of the same units (its own: "
                                                   f"{', '.join(dirs) or 'not recorded'}), or start from scratch.")


def own_corpus(spec):
    """The corpus eval_cloze.py / align_probe.py use when none is named: the model's own -> its dir."""
    _, dirs = trained_on(spec)
    if not dirs:
        raise CorpusError(f"{spec} names no corpus of its own (an HF model, or a checkpoint without its "
                          f"config): give --corpus DIR")
    if len(dirs) > 1:
        raise CorpusError(f"{spec} was trained on a mixture ({', '.join(dirs)}): give --corpus, one of them or "
                          f"another corpus of the same units")
    if not os.path.isfile(os.path.join(dirs[0], "meta.json")):
        raise CorpusError(f"{spec} was trained on {dirs[0]}, which holds no corpus now (moved, or another "
                          f"working directory?): give --corpus DIR")
    return dirs[0]


def model_corpus(spec, corpus=None):
    """The corpus a model is scored or prompted on: `corpus`, else its own (own_corpus), checked to hold
    the model's units -> (corpus_dir, meta)."""
    units, dirs = trained_on(spec)
    corpus = corpus or own_corpus(spec)
    meta = tokenbin.read_meta(corpus)
    check_units(spec, units, corpus, meta, fix=f"Use a corpus of its units{' (its own: ' + dirs[0] + ')' if dirs else ''}"
                                               f", or leave --corpus out to use its own.")
    return corpus, meta


def check_unchanged(ckpt_path, saved, now):
    """A resume: CorpusError naming the first file that differs from the one the run trained on."""
    if saved is None:
        print(f"{ckpt_path}: written before checkpoints recorded their corpus's files: the corpus is not "
              f"checked against the one the run trained on")
        return
    for was, cur in zip(saved, now):
        for name in sorted(set(was["files"]) | set(cur["files"])):
            a, b = was["files"].get(name), cur["files"].get(name)
            if a != b:
                how = ("is new" if a is None else "is gone" if b is None else
                       f"changed ({a[0]:,} -> {b[0]:,} bytes)" if a[0] != b[0] else "changed (same size, other content)")
                raise CorpusError(f"{os.path.join(cur['dir'], name)} {how} since {ckpt_path} was written "
                                  f"(from {was['dir']}): the resumed run would not continue the one it "
                                  f"checkpointed. Restore the corpus, or start a new run from it "
                                  f"(--init_from={ckpt_path} and another out_dir).")


if __name__ == "__main__":
    try:
        units, dirs = trained_on(sys.argv[1])
    except (CorpusError, CheckpointError) as e:
        sys.exit(f"training/corpus.py: error: {e}")
    print(f"{sys.argv[1]}: units {tokenbin.describe_units(units) if units else 'not recorded'}; "
          f"corpus {', '.join(dirs) or 'not recorded'}")
