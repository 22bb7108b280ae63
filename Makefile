# Quick start: `make run` (the main job) and `make test` (the whole suite); `make lint` runs ruff and mypy.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LINT_STAMP := $(VENV)/.installed-lint

.PHONY: run test test-fast bench lint venv clean

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[hw5,test,plot,bench]"
	touch $(STAMP)

$(LINT_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[lint]"
	touch $(LINT_STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(PY) -m hw5 quick --resume   # a second `make run` continues (nothing left: just the report)

test: $(STAMP)
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow"

bench: $(STAMP)
	$(PY) -m benchmarks.run

# configuration in pyproject.toml: ruff (E, F, I, B, UP; 120 columns) and mypy (check_untyped_defs)
# over minitorch/, hw5/ and benchmarks/
lint: $(LINT_STAMP)
	$(PY) -m ruff check minitorch hw5 benchmarks tests
	$(PY) -m mypy

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
