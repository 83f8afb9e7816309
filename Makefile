# Two commands do all the set-up on a fresh machine (see README.md):
#   make toy    build the venv, then run the whole pipeline on the bundled toy corpus
#   make test   build the venv (with test needs), then run the tests
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
MOSHI_VERSION := 0.2.13

.PHONY: venv test toy smoke bench clean

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

clean:
	rm -rf $(VENV)
