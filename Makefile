# The README's two commands are `make demo` and `make test`; both work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
PIP    := $(PY) -m pip
# torch==2.13.0 resolves to the CPU build on this kind of machine; never pull a CUDA build.
TORCH  := torch==2.13.0
NATIVE_SOURCES := $(wildcard csrc/*.c csrc/*.h) src/lmio/tokenizer/_native.c

.PHONY: demo test lint typecheck pytest bench bench-env native asan fuzz clean

demo: $(VENV)/.installed
	$(BIN)/lmio quickstart

test: $(VENV)/.installed-test lint typecheck pytest

pytest: $(VENV)/.installed-test
	$(PY) -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks setup.py
	$(BIN)/ruff format --check src tests benchmarks setup.py

typecheck: $(VENV)/.installed-test
	$(BIN)/mypy

$(PY):
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "lmio needs Python 3.10 or newer"'
	$(PYTHON) -m venv $(VENV)

# Reinstalls when the metadata or the C sources change (the editable install compiles the extension).
$(VENV)/.installed: $(PY) pyproject.toml setup.py $(NATIVE_SOURCES)
	$(PIP) install -q $(TORCH)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PIP) install -q -e '.[test]'
	touch $@

# Rebuild the extension in place after editing csrc/ (what `make test` does on its own when needed).
native: $(VENV)/.installed
	$(PY) setup.py -q build_ext --inplace

bench: $(VENV)/.installed-test
	$(PIP) install -q -e '.[test,bench]'
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf build src/*.egg-info src/lmio/tokenizer/*.so .pytest_cache .mypy_cache .ruff_cache
