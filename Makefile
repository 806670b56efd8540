# The two Quick start commands are `make serve` and `make test`; contributors
# loop on `make check`. Every target installs what it needs first: uv (from
# PyPI, into .cache/uv) and then, with uv, the locked toolchain into .venv.
PYTHON ?= python3
UV_VERSION := 0.13.9
UV := .cache/uv/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/pytest -n auto --dist load

export UV_PROJECT_ENVIRONMENT := $(VENV)
# MkDocs 1.6 and Material print banners about MkDocs 2; these silence them.
export DISABLE_MKDOCS_2_WARNING := true
export NO_MKDOCS_2_WARNING := 1
# The suite starts hundreds of Python processes that import this repository's
# modules; with bytecode caching off (as some machines set it) each compiles
# them again, and pytest rewrites every test module's asserts anew in each
# worker. About 5 s of `make check`.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: serve test check lint build drift bench lock clean

$(UV):
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is required") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv .cache/uv
	.cache/uv/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

# Exactly what uv.lock says, for every extra (docs and test). Compiled to
# bytecode once (7 s): the suite starts hundreds of Python processes, and
# where PYTHONDONTWRITEBYTECODE is set each would compile its imports again.
$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	$(UV) sync --locked --all-extras --python $(PYTHON) --quiet --compile-bytecode
	touch $@

serve: $(VENV)/.synced
	$(BIN)/mkdocs serve --dev-addr 127.0.0.1:8000

lint: $(VENV)/.synced
	$(BIN)/ruff check snippets tests docs/_hooks
	$(BIN)/ruff format --check snippets tests docs/_hooks

build: $(VENV)/.synced
	$(BIN)/mkdocs build --strict

# Everything: lint, the strict build, every test (browser and load tests
# included) and 100% coverage of snippets/.
# A passing run leaves its results and the commit it ran on (only when the
# tree was clean) in .cache/test-results/: `make drift DRIFT=--reuse` then
# takes its baseline from them instead of running the suite again.
RESULTS := .cache/test-results
test: lint
	@rm -rf $(RESULTS) && mkdir -p $(RESULTS)
	$(PYTEST) --cov --cov-report=term-missing --junitxml=$(RESULTS)/junit.xml
	@if [ -z "$$(git status --porcelain 2>/dev/null)" ]; then git rev-parse HEAD > $(RESULTS)/revision; fi

# The contributor's loop: everything but the browser and the load tests.
check: lint
	$(PYTEST) -m "not browser and not load"

# Plant a change in one fact at a time; fail unless the suite catches each.
drift: $(VENV)/.synced
	$(BIN)/python -m tests.support.drift $(DRIFT)

# Options go in BENCH: `make bench BENCH=--loop` times make check, make test
# and .ci/run; `BENCH=--quick` skips the slow parts.
bench: $(VENV)/.synced
	$(BIN)/python -m tests.support.benchmark $(BENCH)

# Refresh uv.lock to the newest releases pyproject.toml allows.
lock: | $(UV)
	$(UV) lock --upgrade

clean:
	rm -rf site .pytest_cache .coverage htmlcov
