"""Any language codes, any number of them (issue 20 item 1, the audio side): a paired manifest in DE-JA and
one in EN-DE-JA through tokenize_audio.py (written + skipped = total; a story is kept when every language has
it whole), into train.py with lang_probs and eval_cloze.py on sets named by those codes (ssc_de-ja).
Run: .venv/bin/python -m pytest -q tests/audio/test_languages.py"""
import json
import math
import os
import wave

import eval_cloze
import tokenbin
import tokenize_audio as ta
import train
from audio.demo import write_demo


def corpus(tmp_path, langs, mimi_path, drop=None, **kw):
    d = tmp_path / "-".join(langs)
    write_demo(str(d), n_sentences=2, seconds=(0.3, 0.4), langs=langs, mimi=False, **kw)
    lines = [json.loads(line) for line in open(d / "clips.jsonl")]
    lines = [c for c in lines if (c["story"], c["lang"], c["sentence"]) != drop]
    (d / "clips.jsonl").write_text("".join(json.dumps(c) + "\n" for c in lines))
    out = str(d / "corpus")
    result = ta.main(["--manifest", str(d / "clips.jsonl"), "--bench_manifest", str(d / "bench.jsonl"),
                      "--out_dir", out, "--mimi_weights", mimi_path, "--threads", "1", "--batch_size", "8"])
    return out, result["counts"], len(lines)


def test_two_languages_other_than_en_fr_train_and_evaluate(tmp_path, mimi_path):
    out, c, n = corpus(tmp_path, ("de", "ja"), mimi_path, drop=("s01", "ja", 1), n_train=3, n_val=2)
    assert (c["clips_written"] + c["clips_skipped"], c["clips_total"]) == (n, n) == (19, 19)
    assert c["skip_reasons"] == {"story_dropped": 3}  # s01 lacks ja sentence 1: dropped from de and ja
    meta = tokenbin.read_meta(out)
    assert meta["languages"] == ["de", "ja"] and meta["paired"] and c["train"]["stories"] == 2
    sp = tokenbin.load_split(out, "train")
    assert sp.n_sentences == 4 and all(len(sp.offsets[lang]) == 5 for lang in ("de", "ja"))
    assert sorted(tokenbin.list_benches(out)) == sorted(f"{t}_{d}" for t in ("ssc", "stc")
                                                        for d in ("de", "ja", "de-ja", "ja-de"))
    run = str(tmp_path / "run")
    train.main(["--seq_len=32", "--batch_size=2", "--log_interval=1", "--eval_interval=2", "--eval_iters=1",
                "--model_preset=tiny", "--phase=finetune", "--init_from=scratch", f"--data_dir={out}", f"--out_dir={run}", "--max_iters=2",
                "--lang_probs={'de': 0.5, 'ja': 0.5}"])
    last = [json.loads(line) for line in open(os.path.join(run, "log.jsonl")) if "val_loss" in line][-1]
    assert {"val_loss_de", "val_loss_ja"} <= set(last), last  # a validation loss per language
    eval_cloze.main([run, "--corpus", out, "--sets", "ssc_de-ja", "ssc_ja-de", "--out_dir", str(tmp_path / "ev")])
    res = json.load(open(tmp_path / "ev" / "cloze_mean.json"))["results"]
    assert sorted(res) == ["ssc_de-ja", "ssc_ja-de"] and all(r["n"] == 2 for r in res.values())


def test_three_languages(tmp_path, mimi_path):
    out, c, n = corpus(tmp_path, ("en", "de", "ja"), mimi_path, n_train=1, n_val=2)
    assert (c["clips_written"], c["clips_skipped"], c["clips_total"]) == (18, 0, 18)
    meta = tokenbin.read_meta(out)
    assert meta["languages"] == ["en", "de", "ja"] and len(tokenbin.list_benches(out)) == 18
    val = tokenbin.load_split(out, "val")
    # sentence k of every language is the clip written for it: the story's order, language by language
    lines = [json.loads(line) for line in open(tmp_path / "en-de-ja" / "clips.jsonl")]
    frames = lambda path: math.ceil(wave.open(str(tmp_path / "en-de-ja" / path)).getnframes() / 1920)  # noqa: E731
    for lang in meta["languages"]:
        assert [len(val.sentence(lang, k)) for k in range(val.n_sentences)] == [
            frames(c["audio"]) for c in lines if c["lang"] == lang and c["split"] == "val"]
    run = str(tmp_path / "run3")
    train.main(["--seq_len=32", "--batch_size=2", "--log_interval=1", "--eval_interval=2", "--eval_iters=1",
                "--model_preset=tiny", "--phase=interleave", "--init_from=scratch", f"--data_dir={out}", f"--out_dir={run}", "--max_iters=2",
                "--lang_probs={'en': 0.4, 'de': 0.3, 'ja': 0.3}"])
    eval_cloze.main([run, "--corpus", out, "--sets", "ssc_de-ja", "stc_ja-en", "--out_dir", str(tmp_path / "ev3")])
    res = json.load(open(tmp_path / "ev3" / "cloze_mean.json"))["results"]
    assert sorted(res) == ["ssc_de-ja", "stc_ja-en"] and all(r["n"] == 2 for r in res.values())
