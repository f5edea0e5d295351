# Two commands do all the set-up:  make lab  |  make test
# Both create .venv when it is missing and (re)install when a requirements file changes.
# make lab installs the runtime requirements only; make test adds the developer tools on top
# (separate stamps: going back and forth between the two reinstalls nothing).

PYTHON  ?= python3
VENV    ?= .venv
BIN      = $(VENV)/bin
PY       = $(BIN)/python
RUNTIME  = $(VENV)/.runtime-installed
STAMP    = $(VENV)/.installed
MIN_VENV ?= .venv-min
NB      ?=
PORT    ?= 8866
ARGS    ?=

# JupyterLab refuses to run as root (Docker, many lab machines) unless told it may.
ALLOW_ROOT = $(if $(filter 0,$(shell id -u 2>/dev/null)),--allow-root)
NBVAL      = $(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with notebooks/sanitize.cfg -p no:randomly
# nbval's second configuration: numpy's AVX2/AVX-512 kernels off (numpy >= 2.4 names; on a
# CPU without AVX-512 the last three change nothing) and one BLAS thread. Stored outputs must
# not depend on either. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are never touched.
NO_AVX     = NPY_DISABLE_CPU_FEATURES="X86_V3 X86_V4 AVX512_ICL AVX512_SPR" OPENBLAS_NUM_THREADS=1

.PHONY: lab test test-min unit notebooks execute browser present lint bench student clean help

help:
	@echo "make lab        open JupyterLab on notebooks/ (runtime packages only; ARGS=\"--port 9999\" passes options)"
	@echo "make test       ruff, unit tests, nbval on every notebook under two CPU configurations, browser suite"
	@echo "make test-min   unit tests + every notebook executed with the oldest supported versions (.venv-min)"
	@echo "make unit       unit tests only"
	@echo "make notebooks  nbval on every notebook, or one: make notebooks NB=03"
	@echo "make execute NB=03   re-run one notebook and store its outputs"
	@echo "make browser    end-to-end tests in headless Chromium"
	@echo "make present NB=07   one notebook as lecture slides (Voila + reveal.js, projector scale)"
	@echo "make present         an index of every notebook's slides (ARGS=\"--Voila.ip=0.0.0.0\" passes options)"
	@echo "make bench      run the benchmarks under benchmarks/"
	@echo "make lint       ruff"
	@echo "make student    student versions of the notebooks (solutions removed)"

$(RUNTIME): requirements.txt pyproject.toml jupyter/overrides.json
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "nnlib needs Python 3.10 or newer, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements.txt -e .
	$(PY) scripts/install_lab_settings.py
	touch $(RUNTIME)

$(STAMP): $(RUNTIME) requirements-dev.txt
	$(PY) -m pip install -r requirements-dev.txt
	touch $(STAMP)

lab: $(RUNTIME)
	@if [ -n "$(ALLOW_ROOT)" ]; then echo "make lab: running as root, so JupyterLab is started with --allow-root"; fi
	$(BIN)/jupyter lab $(ALLOW_ROOT) $(ARGS) notebooks/

test: $(STAMP)
	$(BIN)/ruff check nnlib tests benchmarks scripts
	$(PY) -m pytest tests
	@status=0; \
	echo "== nbval, as is"; $(NBVAL) notebooks || status=1; \
	echo "== nbval, numpy's AVX2/AVX-512 kernels off, one BLAS thread"; \
	$(NO_AVX) $(PY) scripts/numpy_simd.py && $(NO_AVX) $(NBVAL) notebooks || status=1; \
	exit $$status
	@if $(PY) -c 'import tests.browser.env as e, sys; sys.exit(0 if e.chromium_path() else 1)' 2>/dev/null; then \
		$(PY) -m pytest -m browser tests/browser; \
	else \
		echo "SKIPPED the browser suite: no Chromium found (install Debian's chromium, or set CHROMIUM=/path/to/chromium)"; \
	fi

# The oldest versions nnlib supports (requirements-min.txt, as pip constraints), in a venv of
# their own: unit tests, then every notebook executed top to bottom (outputs not compared:
# they were stored with the newest versions). With IPython 8: IPython 9 dropped backend2gui,
# which matplotlib-inline imports for matplotlib < 3.9 when a cell raises (as a student's stub
# does); an old matplotlib comes with an old IPython.
$(MIN_VENV)/.installed: requirements.txt requirements-dev.txt requirements-min.txt pyproject.toml
	test -x $(MIN_VENV)/bin/python || $(PYTHON) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -c requirements-min.txt -r requirements-dev.txt -e . "ipython<9"
	touch $@

test-min: $(MIN_VENV)/.installed
	@status=0; \
	$(MIN_VENV)/bin/python -m pytest tests -p no:cacheprovider || status=1; \
	$(MIN_VENV)/bin/python scripts/execute_notebooks.py notebooks/*.ipynb || status=1; \
	exit $$status

unit: $(STAMP)
	$(PY) -m pytest tests

notebooks: $(STAMP)
	$(NBVAL) notebooks/$(NB)*.ipynb

execute: $(STAMP)
	@test -n "$(NB)" || (echo "usage: make execute NB=03" && exit 2)
	$(BIN)/jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=300 notebooks/$(NB)_*.ipynb

browser: $(STAMP)
	$(PY) -m pytest -m browser tests/browser

# Lecture slides (scripts/present.py): presentation copies in build/present/, Voila's reveal
# template, code hidden, exercises and checkers dropped, kernels preheated, projector scale.
present: $(RUNTIME)
	$(PY) scripts/present.py --nb="$(NB)" --port=$(PORT) -- $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check nnlib tests benchmarks scripts

bench: $(STAMP)
	$(PY) benchmarks/lenet_speed.py
	$(PY) benchmarks/lenet_accuracy.py
	$(PY) benchmarks/dashboard_throughput.py
	$(PY) benchmarks/process_pair.py

student: $(RUNTIME)
	$(PY) scripts/make_student.py

clean:
	rm -rf $(VENV) $(MIN_VENV) .pytest_cache .ruff_cache artifacts
