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

bench: $(VENV)/.installed-test bench-env
	$(PIP) install -q -e '.[test,bench]'
	@for script in benchmarks/[!_]*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# Benchmark peers that cannot live in .venv (mosaicml-streaming pins numpy<2.2), with the same
# CPU torch; benchmarks/loader.py re-runs itself here. PyPI's torchvision wheels (a dependency
# of streaming and litdata) are CUDA builds that cannot load beside CPU torch: the one matching
# torch is installed to satisfy the resolver, then removed (no benchmark uses it).
BENCH_VENV := .venv-bench
BENCH_PEERS := mosaicml-streaming==0.13.0 litdata==0.2.76 datasets==5.0.1 psutil

bench-env: $(BENCH_VENV)/.installed

$(BENCH_VENV)/.installed: pyproject.toml setup.py $(NATIVE_SOURCES)
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q $(TORCH)
	$(BENCH_VENV)/bin/python -m pip install -q "torchvision==0.28.*" $(BENCH_PEERS)
	$(BENCH_VENV)/bin/python -m pip uninstall -q -y torchvision
	$(BENCH_VENV)/bin/python -m pip install -q -e .
	touch $@

clean:
	rm -rf build src/*.egg-info src/lmio/tokenizer/*.so .pytest_cache .mypy_cache .ruff_cache

# The C core alone (no Python) under AddressSanitizer + UBSan (+ LeakSanitizer): unit checks, and a
# fuzz driver (own mutation/random driver, gcc is enough) for FUZZ_SECONDS over scanners, encoder,
# decoder, batch encoding, word counting and training. Seeds: real text from ../shared/corpora
# when present, and this repository's own sources.
SANITIZE_CFLAGS := -std=c11 -O1 -g -Wall -Wextra -Werror -pthread -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined -fno-omit-frame-pointer -Icsrc
CORE_C := $(wildcard csrc/*.c)
FUZZ_SECONDS ?= 60
FUZZ_SEEDS := $(wildcard ../shared/corpora/*/*.txt) README.md $(CORE_C) csrc/test/unit.c

asan:
	@mkdir -p build/sanitize
	$(CC) $(SANITIZE_CFLAGS) $(CORE_C) csrc/test/unit.c -o build/sanitize/unit
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 build/sanitize/unit

fuzz:
	@mkdir -p build/sanitize
	$(CC) $(SANITIZE_CFLAGS) $(CORE_C) csrc/test/fuzz.c -o build/sanitize/fuzz
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
		build/sanitize/fuzz $(FUZZ_SECONDS) $(FUZZ_SEEDS)
