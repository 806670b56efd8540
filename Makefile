# The two Quick start commands: `make serve` and `make test`.
# Both create .venv with the Python on PATH (3.11+) and install what they need.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# MkDocs 1.6 and Material print banners about MkDocs 2; these settings silence them.
export DISABLE_MKDOCS_2_WARNING := true
export NO_MKDOCS_2_WARNING := 1

.PHONY: serve test lint build bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.docs-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[docs]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[docs,test]'
	touch $@

serve: $(VENV)/.docs-installed
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

lint: $(VENV)/.test-installed
	$(BIN)/ruff check snippets tests docs/_hooks
	$(BIN)/ruff format --check snippets tests docs/_hooks

build: $(VENV)/.docs-installed
	$(BIN)/mkdocs build --strict

test: lint
	$(BIN)/pytest --cov --cov-report=term-missing

bench: $(VENV)/.test-installed
	$(BIN)/python -m tests.support.benchmark

clean:
	rm -rf site .pytest_cache .coverage htmlcov
