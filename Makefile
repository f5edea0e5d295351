# Two commands do all the set-up:  make lab  |  make test
# Both create .venv when it is missing and (re)install when a requirements file changes.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PY      = $(BIN)/python
STAMP   = $(VENV)/.installed
NB     ?=
PORT   ?= 8866

.PHONY: lab test unit notebooks execute browser present lint bench clean help

help:
	@echo "make lab        open JupyterLab on notebooks/ (sets up .venv first)"
	@echo "make test       unit tests + nbval on every notebook + browser suite (when Chromium is present)"
	@echo "make unit       unit tests only"
	@echo "make notebooks  nbval on every notebook, or one: make notebooks NB=03"
	@echo "make execute NB=03   re-run one notebook and store its outputs"
	@echo "make browser    end-to-end tests in headless Chromium"
	@echo "make present NB=05   one notebook as a clean app (Voila) for a projector"
	@echo "make bench      run the benchmarks under benchmarks/"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "nnlib needs Python 3.10 or newer, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --upgrade pip
	$(PY) -m pip install -r requirements-dev.txt -e .
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks/

test: $(STAMP)
	$(BIN)/ruff check nnlib tests benchmarks scripts
	$(PY) -m pytest tests
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:randomly notebooks
	@if $(PY) -c 'import tests.browser.env as e, sys; sys.exit(0 if e.chromium_path() else 1)' 2>/dev/null; then \
		$(PY) -m pytest -m browser tests/browser; \
	else \
		echo "SKIPPED the browser suite: no Chromium found (install Debian's chromium, or set CHROMIUM=/path/to/chromium)"; \
	fi

unit: $(STAMP)
	$(PY) -m pytest tests

notebooks: $(STAMP)
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg notebooks/$(NB)*.ipynb

execute: $(STAMP)
	@test -n "$(NB)" || (echo "usage: make execute NB=03" && exit 2)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=300 notebooks/$(NB)_*.ipynb

browser: $(STAMP)
	$(PY) -m pytest -m browser tests/browser

present: $(STAMP)
	@test -n "$(NB)" || (echo "usage: make present NB=05" && exit 2)
	@test -n "$(wildcard notebooks/$(NB)_*.ipynb)" || (echo "no notebook matches notebooks/$(NB)_*.ipynb" && exit 2)
	$(BIN)/voila --port=$(PORT) --strip_sources=True $(firstword $(wildcard notebooks/$(NB)_*.ipynb))

lint: $(STAMP)
	$(BIN)/ruff check nnlib tests benchmarks scripts

bench: $(STAMP)
	$(PY) benchmarks/lenet_speed.py
	$(PY) benchmarks/lenet_accuracy.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache artifacts
