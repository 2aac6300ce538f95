# Two commands do all the set-up on a fresh machine:
#   make demo   - create .venv, install, train the default model on the shipped AG News sample
#   make test   - same install, run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# torch is pinned in the same pip command as everything else (a CPU build lies on disk here).
EXTRAS := glove,serve,dev,export,explain,mlflow,search
MIRROR := $(abspath ../shared/data)

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[$(EXTRAS)]" "torch==2.13.0"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/embedlab demo

test: install
	EMBEDLAB_DATA_MIRROR=$${EMBEDLAB_DATA_MIRROR:-$(MIRROR)} OMP_NUM_THREADS=1 \
		$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: install
	$(BIN)/ruff check src tests benchmarks

bench: install
	$(BIN)/pip install --quiet -e ".[$(EXTRAS),bench]" "torch==2.13.0"
	EMBEDLAB_DATA_MIRROR=$${EMBEDLAB_DATA_MIRROR:-$(MIRROR)} $(BIN)/python benchmarks/classify.py

clean:
	rm -rf $(VENV) runs .pytest_cache
