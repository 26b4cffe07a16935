# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv first.
# `make test` is the whole suite (what CI runs); `make test-fast` the in-process tier (under a minute),
# `make test-e2e` the rest: loopback servers, subprocesses, PostgreSQL, whole campaigns.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
GOAL ?= Find active ML engineers

.PHONY: setup demo test test-fast test-e2e lint format clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/cmo-agent run "$(GOAL)" --demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/pytest

test-fast: $(STAMP)
	$(BIN)/pytest -m "not e2e"

test-e2e: $(STAMP)
	$(BIN)/pytest -m e2e

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
