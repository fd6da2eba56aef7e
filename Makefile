# One command to run, one to test. Both install the locked dependencies into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint contracts asyncapi bench bench-quick bench-profile install clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml requirements-build.in
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

run: $(STAMP)  ## Embedded mode: all services and the staff API in one process on SQLite.
	$(BIN)/kotoutus run

test: $(STAMP)  ## Lint, type-check, contract check, then the whole test suite.
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/kotoutus contracts check
	$(BIN)/pytest

contracts: $(STAMP)  ## Regenerate the committed AsyncAPI and OpenAPI documents from the code.
	$(BIN)/kotoutus contracts write

asyncapi: contracts

bench: $(STAMP)  ## Every path and its raw ceiling in one run (PostgreSQL, RabbitMQ); bench-results.json.
	$(BIN)/python bench/run.py

bench-quick: $(STAMP)  ## The same figures and keys in under ten minutes (smaller histories).
	$(BIN)/python bench/run.py --quick

bench-profile: $(STAMP)  ## The distributed thread alone, each process sampled by py-spy: its top functions.
	$(BIN)/python bench/thread_bench.py --quick --profile

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
