"""dev/fault_sweep.py: bad inputs through the real command lines; every one must end in one clear line.

    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --sweep               # all of it, 4-8 min on 2 cores
    OMP_NUM_THREADS=1 .venv/bin/python -m dev.fault_audit --sweep --only sample  # the cases whose name holds "sample"
    .venv/bin/python -m pytest -q tests/test_faults.py                          # the same cases, in-process

SWEEP is a plain list of (name, command, expectation). command: a script and its arguments, run as
`python SCRIPT ARGS` in the fixture folder W ({W} in an argument is its path; W/data/toy_enfr is a small
toy corpus, so a forgotten --data_dir lands there as it would in the repo). expectation: words that the
error line `<script>: error: ...` must hold, or OK for an input that must succeed. Add a case by adding a
line (and, if it needs one, a fixture in make_fixtures). Each run is classified:
    clear       exit != 0 and a line `<script>: error: ...` holding the expected words, no traceback
    misleading  exit != 0, no traceback, but no such line (or it says something else)
    traceback   a Python traceback (in-process: an exception that escaped the script's handler)
    silent      exit 0 where the input must be refused
    hang        still running after --timeout seconds
    ok / refused   for OK cases: exit 0 / an error
The summary counts them per script; the sweep exits 1 unless every bad input is a clear error and every
good one ok. Two checks follow the cases: the first run's files in an out_dir in use are untouched, and an
export with --replace leaves no stale shard or index.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OK = None
T = ["--seq_len=32", "--batch_size=2", "--eval_iters=1", "--max_iters=2", "--log_interval=1", "--compile=False"]
TOY = "--data_dir={W}/data/toy_enfr"
HOLDER = """import sys, time
sys.path.insert(0, sys.argv[1])
from training.lock import OutDirLock
locks = [OutDirLock(d, "train.py") for d in sys.argv[2:]]
for lock in locks:
    lock.acquire()
print("held", flush=True)
time.sleep(3600)
"""

SWEEP = [
    # train.py: config files, out_dirs, values
    ("train: config file with a syntax error", ["train.py", "{W}/cfg_syntax.py", TOY, "--out_dir={W}/o", *T], "syntax error"),
    ("train: config file naming an undefined name", ["train.py", "{W}/cfg_name.py", TOY, "--out_dir={W}/o", *T], "NameError"),
    ("train: config file in latin-1", ["train.py", "{W}/cfg_latin1.py", TOY, "--out_dir={W}/o", *T], "not UTF-8"),
    ("train: read-only out_dir", ["train.py", TOY, "--out_dir=/sys/crosstalk_run", *T], "cannot use out_dir"),
    ("train: out_dir is a file", ["train.py", TOY, "--out_dir={W}/afile", *T], "cannot use out_dir"),
    ("train: unknown model preset", ["train.py", TOY, "--out_dir={W}/o", "--model_preset=huge", *T], "model_preset='huge'"),
    ("train: lang_probs given as a string", ["train.py", TOY, "--out_dir={W}/o", "--lang_probs=en", *T], "lang_probs"),
    ("train: --device=cuda without CUDA", ["train.py", TOY, "--out_dir={W}/o", "--device=cuda", *T], "no CUDA device"),
    # train.py: what it starts from
    ("train: init_from an HF folder with bad JSON", ["train.py", TOY, "--out_dir={W}/o", "--init_from={W}/hf_badjson", *T],
     "not a readable JSON config"),
    ("train: init_from an HF folder missing a key", ["train.py", TOY, "--out_dir={W}/o", "--init_from={W}/hf_nokey", *T],
     "has no 'num_hidden_layers'"),
    ("train: init_from an HF folder of the wrong shapes", ["train.py", TOY, "--out_dir={W}/o", "--init_from={W}/hf_shape", *T],
     "has shape"),
    ("train: init_from a damaged checkpoint", ["train.py", TOY, "--out_dir={W}/o", "--init_from={W}/bad_run", "--phase=interleave", *T],
     "the checkpoint changed after it was written"),
    ("train: init_from a checkpoint of other units (Mimi onto the toy)",
     ["train.py", TOY, "--out_dir={W}/o", "--init_from={W}/run_mimi", "--phase=interleave", *T], "other units"),
    ("train: init_from a toy of another seed", ["train.py", TOY, "--out_dir={W}/o", "--init_from={W}/run7", "--phase=interleave", *T],
     "other units"),
    ("train: --data_dir forgotten warm-starting a Mimi model", ["train.py", "--out_dir={W}/o", "--init_from={W}/run_mimi",
                                                                "--phase=interleave", *T], "other units"),
    ("train: resume on a corpus of other units", ["train.py", "--data_dir={W}/mimi", "--out_dir={W}/run_r1", "--init_from=resume", *T],
     "other units"),
    ("train: data_mix of two tokenizers", ["train.py", "--out_dir={W}/o", "--data_mix={'{W}/data/toy_enfr': 1, '{W}/mimi': 1}", *T],
     "same units"),
    # train.py: a corpus, a log, an out_dir changed under a run
    ("train: resume after train_en.bin was rewritten (same length)",
     ["train.py", "--data_dir={W}/toy_rw", "--out_dir={W}/run_rw", "--init_from=resume", *T], "train_en.bin changed (same size"),
    ("train: resume after val_en.bin was rewritten", ["train.py", "--data_dir={W}/toy_rv", "--out_dir={W}/run_rv", "--init_from=resume", *T],
     "val_en.bin changed"),
    ("train: resume after re-tokenizing with other Mimi weights",
     ["train.py", "--data_dir={W}/mimi_rt", "--out_dir={W}/run_rt", "--init_from=resume", *T], "other units"),
    ("train: a second run in an out_dir in use", ["train.py", TOY, "--out_dir={W}/busy", *T], "in use by another run"),
    ("train: resume with a garbled log.jsonl line", ["train.py", TOY, "--out_dir={W}/run_log", "--init_from=resume", *T],
     "line 2 is not a log record"),
    ("train: resume with the corpus moved (same files)", ["train.py", "--data_dir={W}/toy_copy", "--out_dir={W}/run_mv",
                                                          "--init_from=resume", *T], OK),
    # eval_cloze.py
    ("eval: a run with no --corpus scores its own", ["eval_cloze.py", "{W}/run"], OK),
    ("eval: the toy named for a Mimi-trained model", ["eval_cloze.py", "{W}/run_mimi", "--corpus", "{W}/data/toy_enfr"], "other units"),
    ("eval: the toy named for a model of another toy seed", ["eval_cloze.py", "{W}/run7", "--corpus", "{W}/data/toy_enfr"],
     "other units"),
    ("eval: results would replace those of another corpus", ["eval_cloze.py", "{W}/run_res", "--corpus", "{W}/toy_copy"],
     "holds results on"),
    ("eval: an HF folder with bad JSON", ["eval_cloze.py", "{W}/hf_badjson", "--corpus", "{W}/data/toy_enfr"],
     "not a readable JSON config"),
    ("eval: an HF folder missing a key", ["eval_cloze.py", "{W}/hf_nokey", "--corpus", "{W}/data/toy_enfr"], "has no"),
    ("eval: an HF folder of the wrong shapes", ["eval_cloze.py", "{W}/hf_shape", "--corpus", "{W}/data/toy_enfr"], "has shape"),
    ("eval: an HF model with no corpus and no --corpus", ["eval_cloze.py", "{W}/hf_plain"], "give --corpus"),
    ("eval: an export of toy units on a Mimi corpus", ["eval_cloze.py", "{W}/hf", "--corpus", "{W}/mimi"], "other units"),
    ("eval: --device cuda without CUDA", ["eval_cloze.py", "{W}/run", "--device", "cuda"], "no CUDA device"),
    ("eval: a damaged checkpoint", ["eval_cloze.py", "{W}/bad_run", "--corpus", "{W}/data/toy_enfr"], "the checkpoint changed after it was written"),
    ("eval: a bench item longer than the context", ["eval_cloze.py", "{W}/run", "--corpus", "{W}/toy_long", "--out_dir", "{W}/o_long"],
     "longer than the model's context"),
    # align_probe.py
    ("probe: a run with no --corpus probes its own", ["align_probe.py", "{W}/run", "--n_pairs", "8"], OK),
    ("probe: the toy named for a Mimi-trained model", ["align_probe.py", "{W}/run_mimi", "--corpus", "{W}/data/toy_enfr"], "other units"),
    ("probe: align.json would replace one of another corpus", ["align_probe.py", "{W}/run_res", "--corpus", "{W}/toy_copy",
                                                               "--n_pairs", "8"], "holds results on"),
    ("probe: --device cuda without CUDA", ["align_probe.py", "{W}/run", "--device", "cuda"], "no CUDA device"),
    ("probe: a damaged checkpoint", ["align_probe.py", "{W}/bad_run", "--corpus", "{W}/data/toy_enfr"], "the checkpoint changed after it was written"),
    ("probe: an HF folder with bad JSON", ["align_probe.py", "{W}/hf_badjson", "--corpus", "{W}/data/toy_enfr"],
     "not a readable JSON config"),
    # sample.py
    ("sample: top_p 0", ["sample.py", "{W}/run", "--corpus", "{W}/data/toy_enfr", "--top_p", "0"], "--top_p 0.0"),
    ("sample: top_k -1", ["sample.py", "{W}/run", "--corpus", "{W}/data/toy_enfr", "--top_k", "-1"], "--top_k -1"),
    ("sample: max_new_tokens -5", ["sample.py", "{W}/run", "--corpus", "{W}/data/toy_enfr", "--max_new_tokens", "-5"],
     "--max_new_tokens -5"),
    ("sample: temperature -1", ["sample.py", "{W}/run", "--corpus", "{W}/data/toy_enfr", "--temperature", "-1"], "--temperature -1.0"),
    ("sample: a continuation past the context", ["sample.py", "{W}/run", "--corpus", "{W}/data/toy_enfr", "--max_new_tokens", "5000"],
     "context"),
    ("sample: a damaged checkpoint", ["sample.py", "{W}/bad_run", "--corpus", "{W}/data/toy_enfr"], "the checkpoint changed after it was written"),
    ("sample: --mimi_weights a pickle", ["sample.py", "{W}/run_mimi", "--audio", "{W}/prompt.wav", "--mimi_weights", "{W}/mimi.pt"],
     "not a safetensors file"),
    ("sample: another Mimi than the corpus's", ["sample.py", "{W}/run_mimi", "--audio", "{W}/prompt.wav", "--mimi_weights",
                                                "{W}/mimi_b.safetensors"], "another Mimi"),
    ("sample: an audio prompt for a model of toy units", ["sample.py", "{W}/run", "--audio", "{W}/prompt.wav", "--mimi_weights",
                                                          "{W}/mimi_a.safetensors"], "not Mimi codes"),
    ("sample: prompts from a corpus of other units", ["sample.py", "{W}/run_mimi", "--corpus", "{W}/data/toy_enfr"], "other units"),
    ("sample: a toy prompt", ["sample.py", "{W}/run", "--corpus", "{W}/data/toy_enfr", "--n", "2", "--max_new_tokens", "8"], OK),
    ("sample: an audio prompt through the corpus's Mimi", ["sample.py", "{W}/run_mimi", "--audio", "{W}/prompt.wav", "--mimi_weights",
                                                           "{W}/mimi_a.safetensors", "--n", "1", "--max_new_tokens", "4"], OK),
    # export_hf.py
    ("export: a damaged checkpoint", ["export_hf.py", "{W}/bad_run", "{W}/exp_new"], "the checkpoint changed after it was written"),
    ("export: into a folder holding the user's README.md", ["export_hf.py", "{W}/run", "{W}/exp_user"], "not empty"),
    ("export: into a folder with an older sharded model", ["export_hf.py", "{W}/run", "{W}/exp_old"], "not empty"),
    ("export: into a file", ["export_hf.py", "{W}/run", "{W}/afile"], "is a file"),
    ("export: into a read-only place", ["export_hf.py", "{W}/run", "/sys/crosstalk_export"], "cannot write"),
    ("export: --replace an older sharded model", ["export_hf.py", "{W}/run", "{W}/exp_old_r", "--replace"], OK),
    # tokenize_audio.py (its other cases: helper "audio")
    ("tokenize: a second run in an out_dir in use", ["tokenize_audio.py", "--manifest", "{W}/clips.jsonl", "--out_dir", "{W}/busy_tok",
                                                     "--unpaired", "--mimi_weights", "{W}/mimi_a.safetensors"], "in use by another run"),
]


def run(cmd, cwd, timeout=300):
    """`python SCRIPT ARGS` (SCRIPT from the repo root) in cwd -> (exit code, or None on a timeout; stderr)."""
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, cmd[0]), *cmd[1:]], cwd=cwd, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True, start_new_session=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": ROOT, "TQDM_DISABLE": "1"})
    try:
        err = p.communicate(timeout=timeout)[1]
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return None, ""
    return p.returncode, err


def run_here(cmd, cwd):
    """The same in this process (the tests): the script's handler (its cli, else its main) called with
    the arguments -> (exit code, stderr); an exception that escapes it is a traceback."""
    import contextlib
    import importlib
    import io
    import traceback
    name = cmd[0][:-len(".py")]
    if name not in ("train", "eval_cloze", "align_probe", "sample", "export_hf", "tokenize_audio"):
        return run(cmd, cwd)  # no in-process entry point
    module, err, old = importlib.import_module(name), io.StringIO(), os.getcwd()
    entry = getattr(module, "cli", None) or module.main
    os.chdir(cwd)
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            entry(cmd[1:])
        code = 0
    except SystemExit as e:  # as the interpreter would report it
        code = 0 if e.code is None else e.code if isinstance(e.code, int) else 1
        if isinstance(e.code, str):
            err.write(e.code + "\n")
    except Exception:
        code = 1
        err.write(traceback.format_exc())
    finally:
        os.chdir(old)
    return code, err.getvalue()


def classify(cmd, expect, code, err):
    """One run -> clear | misleading | traceback | silent | hang, or ok | refused for a good input."""
    if code is None:
        return "hang"
    if "Traceback (most recent call last)" in err:
        return "traceback"
    if expect is OK:
        return "ok" if code == 0 else "refused"
    if code == 0:
        return "silent"
    lines = [line for line in err.splitlines() if line.startswith(f"{cmd[0]}: error: ")]
    return "clear" if lines and expect in lines[-1] else "misleading"


def fill(cmd, W):
    return [a.replace("{W}", W) for a in cmd]


def cases(only=None):
    """SWEEP, less --device cuda on a machine that has CUDA, filtered by name."""
    import torch
    return [c for c in SWEEP if (not only or only in c[0]) and not (torch.cuda.is_available() and "without CUDA" in c[0])]


# ----------------------------------------------------------------------------- fixtures

def must(cmd, cwd):
    code, err = run_here(cmd, cwd)
    if code != 0:
        raise RuntimeError(f"fixture {' '.join(cmd)} failed:\n{err[-2000:]}")


def make_fixtures(W):
    """Everything SWEEP names, in W, made with the real scripts -> the process holding W/busy's lock (stop
    it with stop()). Works on older versions of the code too (their sweep shows what was fixed)."""
    import numpy as np
    import torch
    import tokenbin
    from audio.demo import RATE, random_mimi, signal, write_wav
    toy, small = f"{W}/data/toy_enfr", ["--n_train_stories=60", "--n_val_stories=20", "--n_bench=8", "--n_pairs=8"]
    os.makedirs(W, exist_ok=True)
    must(["data/toy_enfr/prepare.py", f"--out_dir={toy}", *small], W)
    must(["data/toy_enfr/prepare.py", f"--out_dir={W}/toy7", "--seed=7", *small], W)
    for name, seed in (("mimi_a", 0), ("mimi_b", 1)):
        random_mimi(f"{W}/{name}.safetensors", seed)
    torch.save({"encoder.weight": torch.zeros(2)}, f"{W}/mimi.pt")  # a pickle, not safetensors
    write_wav(f"{W}/prompt.wav", signal(3, 1.0, RATE), RATE)
    with open(f"{W}/clips.jsonl", "w") as f:
        f.write(json.dumps(dict(audio="prompt.wav", story="s0", sentence=0, lang="en", split="train")) + "\n")
    relabel(toy, f"{W}/mimi", sha_of(f"{W}/mimi_a.safetensors"))  # the toy's ids as this Mimi's: a Mimi corpus
    for run_dir, data in (("run", toy), ("run_mimi", f"{W}/mimi"), ("run7", f"{W}/toy7")):
        must(["train.py", f"--data_dir={data}", f"--out_dir={W}/{run_dir}", "--stop_iter=1", *T], W)
    copy = lambda a, b: shutil.copytree(f"{W}/{a}", f"{W}/{b}")  # noqa: E731
    for d in ("run_r1", "run_rw", "run_rv", "run_log", "run_mv", "run_res", "busy"):
        copy("run", d)
    copy("run_mimi", "run_rt")
    for d in ("toy_copy", "toy_rw", "toy_rv", "toy_long"):
        shutil.copytree(toy, f"{W}/{d}")
    rewrite(f"{W}/toy_rw/train_en.bin")
    rewrite(f"{W}/toy_rv/val_en.bin")
    relabel(f"{W}/mimi", f"{W}/mimi_rt", sha_of(f"{W}/mimi_b.safetensors"))  # re-tokenized with another Mimi
    rewrite(f"{W}/mimi_rt/train_en.bin")
    lines = open(f"{W}/run_log/log.jsonl").readlines()
    open(f"{W}/run_log/log.jsonl", "w").writelines(lines[:1] + ["{not a record}\n"] + lines[1:])
    tokenbin.write_bench(f"{W}/toy_long", "long_en", [(np.arange(1100) % 2048, [1, 2], [3, 4])], 2048)
    must(["eval_cloze.py", f"{W}/run_res", "--corpus", toy], W)
    must(["align_probe.py", f"{W}/run_res", "--corpus", toy, "--n_pairs", "8"], W)
    shutil.copytree(f"{W}/run/ckpt", f"{W}/bad_run/ckpt")  # its shard cut to a third
    data = open(f"{W}/run/ckpt/__0_0.distcp", "rb").read()
    open(f"{W}/bad_run/ckpt/__0_0.distcp", "wb").write(data[:len(data) // 3])
    must(["export_hf.py", f"{W}/run", f"{W}/hf"], W)
    for d in ("hf_plain", "hf_badjson", "hf_nokey", "hf_shape"):
        copy("hf", d)
    os.remove(f"{W}/hf_plain/speech_vocab.json")
    cfg_path = f"{W}/hf_badjson/config.json"
    text = open(cfg_path).read()
    open(cfg_path, "w").write(text[:len(text) // 2])
    for d, change in (("hf_nokey", lambda c: c.pop("num_hidden_layers")),
                      ("hf_shape", lambda c: c.update(intermediate_size=2 * c["intermediate_size"]))):
        c = json.load(open(f"{W}/{d}/config.json"))
        change(c)
        json.dump(c, open(f"{W}/{d}/config.json", "w"))
    for name, text in (("cfg_syntax.py", "max_iters = = 2\n"), ("cfg_name.py", "max_iters = undefined_name\n")):
        open(f"{W}/{name}", "w").write(text)
    open(f"{W}/cfg_latin1.py", "wb").write("# caf\u00e9 au lait\nmax_iters = 2\n".encode("latin-1"))
    open(f"{W}/afile", "w").write("a file, not a folder\n")
    os.makedirs(f"{W}/exp_user")
    open(f"{W}/exp_user/README.md", "w").write("my notes on this model\n")
    os.makedirs(f"{W}/exp_old")
    for name in ("model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "config.json"):
        open(f"{W}/exp_old/{name}", "w").write("an older model\n")
    json.dump({"weight_map": {"lm_head.weight": "model-00002-of-00002.safetensors"}},
              open(f"{W}/exp_old/model.safetensors.index.json", "w"))
    copy("exp_old", "exp_old_r")
    os.makedirs(f"{W}/busy_tok")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, ROOT, f"{W}/busy", f"{W}/busy_tok"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    if holder.stdout.readline().strip() != "held":  # a version without training/lock.py: nothing holds it
        holder.wait()
    os.makedirs(f"{W}/busy/ckpt.tmp", exist_ok=True)  # the first run, mid-save
    open(f"{W}/busy/ckpt.tmp/__0_0.distcp", "wb").write(data[:5000])
    return holder


def stop(holder):
    if holder.poll() is None:
        holder.kill()
        holder.wait()


def sha_of(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def relabel(src, dst, sha):
    """dst = a copy of corpus src whose meta.json says its units are the Mimi of sha."""
    if src != dst:
        shutil.copytree(src, dst)
    meta = json.load(open(f"{dst}/meta.json"))
    meta["tokenizer"] = dict(name="mimi", codebooks=1, frame_rate=12.5, weights_sha256=sha)
    meta["units"] = dict(tokenizer="mimi", sha256=sha, vocab_size=meta["vocab_size"])
    json.dump(meta, open(f"{dst}/meta.json", "w"), indent=2, sort_keys=True)


def rewrite(path):
    """The same length, other tokens: what re-tokenizing in place does to a .bin file."""
    import numpy as np
    data = np.fromfile(path, dtype=np.uint8)
    tokens = data[1024:].view("<u2")
    tokens[:] = (tokens.astype(np.int64) + 1) % 2048
    data.tofile(path)


def post_checks(W, results):
    """What the refused cases must have left alone -> [(what, held)]."""
    out = []
    if "train: a second run in an out_dir in use" in results:
        files = lambda d: {f: open(f"{d}/{f}", "rb").read() for f in os.listdir(d)}  # noqa: E731
        first = files(f"{W}/run/ckpt") == files(f"{W}/busy/ckpt")
        tmp = os.path.isfile(f"{W}/busy/ckpt.tmp/__0_0.distcp")
        out.append(("the first run's ckpt/ and in-flight ckpt.tmp/ in an out_dir in use are untouched", first and tmp))
    if "export: --replace an older sharded model" in results:
        left = [f for f in os.listdir(f"{W}/exp_old_r") if f.startswith("model-") or f.endswith(".index.json")]
        out.append(("export --replace leaves no stale shard or index", not left))
    return out


# ----------------------------------------------------------------------------- the sweep

def sweep(W, only=None, timeout=300):
    """Run the cases -> prints each verdict and the summary; returns True when all is as expected."""
    t0, holder = time.time(), make_fixtures(W)
    print(f"fixtures in {W}: {time.time() - t0:.0f} s")
    results = {}
    try:
        for name, cmd, expect in cases(only):
            t = time.time()
            code, err = run(fill(cmd, W), W, timeout)
            verdict = classify(cmd, expect, code, err)
            results[name] = (cmd[0], expect, verdict)
            line = ([l for l in err.splitlines() if l.strip()] or [""])[-1]
            print(f"{verdict:>10}  {name} ({time.time() - t:.1f} s){'' if verdict in ('clear', 'ok') else ': ' + line[:300]}")
    finally:
        stop(holder)
    checks = post_checks(W, results)
    print("\n| script | bad inputs | clear errors | misleading | tracebacks | silent (exit 0) | hangs | good inputs | ok |")
    print("|---|---|---|---|---|---|---|---|---|")
    for script in [*dict.fromkeys(r[0] for r in results.values()), "all"]:
        rs = [r for r in results.values() if script in ("all", r[0])]
        n = lambda v: sum(r[2] == v for r in rs)  # noqa: E731
        bad = [r for r in rs if r[1] is not OK]
        print(f"| {script} | {len(bad)} | {n('clear')} | {n('misleading')} | {n('traceback')} | {n('silent')} | "
              f"{n('hang')} | {len(rs) - len(bad)} | {n('ok')} |")
    for what, held in checks:
        print(f"{'held' if held else 'BROKEN'}: {what}")
    return all(r[2] in ("clear", "ok") for r in results.values()) and all(h for _, h in checks)
