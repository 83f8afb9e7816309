# Two commands do all the set-up on a fresh machine (see README.md):
#   make toy    build the venv, then run the whole pipeline on the bundled toy corpus
#   make toy-seeds   the same pipeline for 3 seeds (out/toy/seed<S>/), what the README's toy results use
#   make toy-small   the pipeline with a bigger model, 2 seeds (out/toy_small/): (a) and (b) show
#   make test   build the venv (with test needs), then run the tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
MOSHI_VERSION := 0.2.13

.PHONY: venv test toy toy-seeds toy-small smoke gpu-check-cpu clean

$(BIN)/.installed: requirements.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps moshi==$(MOSHI_VERSION)
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed requirements-test.txt
	$(BIN)/pip install -q -r requirements-test.txt
	touch $@

venv: $(BIN)/.installed

test: $(BIN)/.installed-test
	$(BIN)/python -m pytest -q tests

toy: $(BIN)/.installed
	runs/toy.sh

toy-seeds: $(BIN)/.installed
	SEEDS="1337 7 42" runs/toy.sh

# the same pipeline with the small preset (4 layers, d 192, 2.0M parameters) for seeds 1337 and 7
# (out/toy_small/seed<S>/): the README's "small preset" results, 33-35 minutes a seed on 2 cores
toy-small: $(BIN)/.installed
	SEEDS="1337 7" OUT=out/toy_small TRAIN_ARGS=--model_preset=small runs/toy.sh

# the same pipeline on a tiny corpus with a few steps per stage: checks that every command runs
smoke: $(BIN)/.installed
	OUT=out/smoke DATA=out/smoke/data PREP_ARGS="--n_train_stories=600 --n_val_stories=60 --n_bench=40 --n_pairs=40" \
	TRAIN_ARGS="--max_iters=6 --eval_interval=3 --eval_iters=1 --log_interval=3" runs/toy.sh

# dev/gpu_check.sh (the one script for a GPU session) scaled down on CPU: checks that every step runs (~2 min)
gpu-check-cpu: $(BIN)/.installed
	GPU_CHECK_CPU=1 OUT=out/gpu_check_cpu dev/gpu_check.sh

clean:
	rm -rf $(VENV)
