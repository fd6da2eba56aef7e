# One command to run, one to test. Both install the locked dependencies into .venv first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint contracts asyncapi bench install clean

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

bench: $(STAMP)
	$(BIN)/python bench/thread_bench.py
	$(BIN)/python bench/readside_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
