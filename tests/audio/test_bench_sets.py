"""Bench sets through tokenize_audio.py: added to or replaced in an existing corpus with no clip encoded
again (--add_bench), and the 8-set suite (ssc/stc x en, fr, en-fr, fr-en) from Hugging Face datasets in one
run (a set-name column, the prompt a list of audio), the same corpus as the manifests', byte for byte; rows
with audio None and items whose good and bad are the same audio are skipped with their reasons.
Run: .venv/bin/python -m pytest -q tests/audio/test_bench_sets.py"""
import json
import os
import shutil

import pytest

import tokenbin
import tokenize_audio as ta
from audio.demo import write_demo
from tests.test_tokenize_audio import audio_cells, corpus_files, make_dataset

SETS = [f"{t}_{d}" for t in ("ssc", "stc") for d in ("en", "fr", "en-fr", "fr-en")]


def demo(tmp_path):
    """3 stories (1 train, 2 val) x 3 sentences x EN/FR of 0.3-0.4 s, and 16 items in the 8 sets."""
    d = tmp_path / "demo"
    write_demo(str(d), n_train=1, n_val=2, n_sentences=3, seconds=(0.3, 0.4), mimi=False)
    return d, [json.loads(line) for line in open(d / "clips.jsonl")], [json.loads(line) for line in open(d / "bench.jsonl")]


def test_bench_sets_added_and_replaced_without_encoding(tmp_path, mimi_path):
    d, _, items = demo(tmp_path)
    common = ["--mimi_weights", mimi_path, "--threads", "1"]
    first = ta.main(["--manifest", str(d / "clips.jsonl"), "--out_dir", str(tmp_path / "c"), *common])
    assert first["n_encoded"] == 18 and tokenbin.list_benches(tmp_path / "c") == []
    added = ta.main(["--add_bench", "--bench_manifest", str(d / "bench.jsonl"), "--out_dir", str(tmp_path / "c"), *common])
    assert (added["n_encoded"], added["n_reused"]) == (0, 12)  # the 12 clips of the 16 items are corpus clips
    shutil.copytree(tmp_path / "c" / "shards", tmp_path / "full" / "shards")  # a run with both manifests
    full = ta.main(["--manifest", str(d / "clips.jsonl"), "--bench_manifest", str(d / "bench.jsonl"),
                    "--out_dir", str(tmp_path / "full"), *common])
    assert full["n_encoded"] == 0 and tokenbin.list_benches(tmp_path / "full") == sorted(SETS)
    a, b = corpus_files(tmp_path / "c"), corpus_files(tmp_path / "full")
    ma, mb = json.loads(a.pop("meta.json")), json.loads(b.pop("meta.json"))
    assert sorted(a) == sorted(b) and all(a[f] == b[f] for f in a)  # byte for byte, skipped.jsonl too
    assert ma["counts"] == mb["counts"] and ma["tokenizer"] == mb["tokenizer"]
    assert all(ma["bench_sources"][s].endswith("(--add_bench)") for s in SETS)
    # replace one set (its endings swapped: another set, same clips) and add a new one: nothing encoded
    swapped = [dict(it, good=it["bad"], bad=it["good"]) for it in items if it["name"] == "ssc_en"]
    (d / "more.jsonl").write_text("".join(json.dumps(it) + "\n" for it in
                                          swapped + [dict(it, name="new_fr") for it in items if it["name"] == "ssc_fr"]))
    again = ta.main(["--add_bench", "--bench_manifest", str(d / "more.jsonl"), "--out_dir", str(tmp_path / "c"), *common])
    assert again["n_encoded"] == 0 and tokenbin.list_benches(tmp_path / "c") == sorted(SETS + ["new_fr"])
    after = corpus_files(tmp_path / "c")
    changed = {f for f in set(a) | set(after) if a.get(f) != after.get(f)}
    # (the items' ranges change only where a good and its bad differ in length)
    assert changed - {"bench/ssc_en.items.npy"} == {"meta.json", "bench/ssc_en.bin", "bench/new_fr.bin",
                                                     "bench/new_fr.items.npy", "bench/new_fr.total.npy"}
    assert tokenbin.load_bench_total(tmp_path / "c", "new_fr", 2) == (2, 0)  # complete: its 2 of 2 items
    t0, i0 = tokenbin.load_bench(tmp_path / "full", "ssc_en")
    t1, i1 = tokenbin.load_bench(tmp_path / "c", "ssc_en")
    assert all((t1[r[2]:r[3]] == t0[q[4]:q[5]]).all() for r, q in zip(i1, i0))  # the good is the old bad
    meta = tokenbin.read_meta(tmp_path / "c")
    assert meta["counts"]["bench"]["new_fr"] == 2 and meta["counts"]["bench_items_total"] == 18
    # a re-run of the corpus command (a clip fixed, say) keeps the added sets: nothing encoded, none removed
    before = corpus_files(tmp_path / "c")
    rerun = ta.main(["--manifest", str(d / "clips.jsonl"), "--out_dir", str(tmp_path / "c"), *common])
    assert rerun["n_encoded"] == 0 and tokenbin.list_benches(tmp_path / "c") == sorted(SETS + ["new_fr"])
    now = corpus_files(tmp_path / "c")
    assert {f for f in before if before[f] != now.get(f)} == {"meta.json"}
    assert tokenbin.read_meta(tmp_path / "c")["counts"]["bench"] == meta["counts"]["bench"]
    # units of another tokenizer setting are refused before anything is encoded
    with pytest.raises(SystemExit, match="tokenized with dtype float32, this run with bfloat16"):
        ta.main(["--add_bench", "--bench_manifest", str(d / "more.jsonl"), "--out_dir", str(tmp_path / "c"),
                 "--dtype", "bfloat16", *common])


def test_eight_sets_from_hugging_face_in_one_run(tmp_path, mimi_path):
    d, clips, items = demo(tmp_path)
    common = ["--mimi_weights", mimi_path, "--threads", "1", "--batch_size", "8"]
    ref = ta.main(["--manifest", str(d / "clips.jsonl"), "--bench_manifest", str(d / "bench.jsonl"),
                   "--out_dir", str(tmp_path / "ref"), *common])["counts"]
    assert ref["bench"] == dict.fromkeys(SETS, 2) and ref["clips_written"] == 18
    wav = lambda p: str(d / p)  # noqa: E731
    rows = clips + [dict(audio=None, story="X", sentence=0, lang="en", split="train"),  # audio None: skipped
                    dict(clips[0], story="X", lang="fr")]                              # its translation: dropped
    clip_ds = make_dataset(dict(audio=[c["audio"] and audio_cells([wav(c["audio"])])[0] for c in rows],
                                story=[c["story"] for c in rows], sentence=[c["sentence"] for c in rows],
                                lang=[c["lang"] for c in rows], split=[c["split"] for c in rows]), ["audio"])
    extra = [dict(name="odd", prompt=[], good=None, bad=items[0]["bad"]),                  # good None: skipped
             dict(name="odd", prompt=items[0]["prompt"], good=items[0]["good"], bad=items[0]["good"])]  # same audio
    bench = items + extra
    cells = lambda paths: [None if p is None else audio_cells([wav(p)])[0] for p in paths]  # noqa: E731
    bench_ds = make_dataset(dict(set=[it["name"] for it in bench], good=cells([it["good"] for it in bench]),
                                 bad=cells([it["bad"] for it in bench])), ["good", "bad"])
    from datasets import Audio, List, Value
    bench_ds = bench_ds.add_column("context", [cells(it["prompt"]) for it in bench],  # the prompt: a list of audio
                                   feature=List({"bytes": Value("binary"), "path": Value("string")}))
    bench_ds = bench_ds.cast_column("context", List(Audio()))
    clip_ds.save_to_disk(str(tmp_path / "clips_ds"))
    bench_ds.to_parquet(str(tmp_path / "suite.parquet"))
    out = ta.main(["--hf_dataset", str(tmp_path / "clips_ds"), "--lang_column", "lang", "--split_column", "split",
                   "--story_column", "story", "--sentence_column", "sentence", "--hf_bench", str(tmp_path / "suite.parquet"),
                   "--bench_name_column", "set", "--prompt_column", "context", "--out_dir", str(tmp_path / "hf"), *common])
    got, want = corpus_files(tmp_path / "hf"), corpus_files(tmp_path / "ref")
    for f in ("meta.json", "skipped.jsonl"):
        got.pop(f), want.pop(f)
    assert sorted(got) == sorted(want) and all(got[f] == want[f] for f in want)  # the 8 sets and the splits
    c = out["counts"]
    assert (c["clips_written"], c["clips_skipped"], c["clips_total"]) == (18, 2, 20)
    assert (c["bench_items_total"], c["bench_items_skipped"], c["bench"]) == (18, 2, ref["bench"])
    skipped = {(r.get("story"), r.get("name"), r["reason"]) for r in map(json.loads, open(tmp_path / "hf" / "skipped.jsonl"))}
    assert skipped == {("X", None, "no_audio"), ("X", None, "story_dropped"), (None, "odd", "clip_skipped"),
                       (None, "odd", "same_audio")}


def test_a_prompt_as_several_audio_columns(tmp_path):
    """--prompt_column p0 p1: the columns in order, as a list column would give them (read only, no encoding)."""
    from audio import hf_datasets
    d, _, items = demo(tmp_path)
    items = [it for it in items if it["name"] == "ssc_en-fr"]
    cols = {f"p{k}": audio_cells([d / it["prompt"][k] for it in items]) for k in range(2)}
    make_dataset(dict(cols, good=audio_cells([d / it["good"] for it in items]),
                      bad=audio_cells([d / it["bad"] for it in items])), ["p0", "p1", "good", "bad"]).save_to_disk(str(tmp_path / "b"))
    args = ta.get_args(["--hf_bench", str(tmp_path / "b"), "--bench_name", "ssc_en-fr", "--prompt_column", "p0", "p1",
                        "--out_dir", str(tmp_path / "o")])
    got, rows, _ = hf_datasets.read_bench(args)
    assert [len(it["prompt"]) for it in got] == [2, 2] and [it["name"] for it in got] == ["ssc_en-fr"] * 2
    for it, want in zip(got, items):
        for key, path in zip(it["prompt"], want["prompt"]):
            p, temporary = rows.fetch(*rows.cells[key][1:])
            assert open(p, "rb").read() == (d / path).read_bytes()
            os.remove(p)
