# `make run` serves the API; `make test` runs the whole suite. Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
WORKERS ?= 1
export HOST PORT

.PHONY: run test fuzz fault-test lint migrate install install-dev settings-doc clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/alembic upgrade head

run: migrate
	$(BIN)/uvicorn app.asgi:app --host $(HOST) --port $(PORT) --workers $(WORKERS) \
		--loop uvloop --http httptools --proxy-headers --no-access-log

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest

# schemathesis against /openapi.json through a real server; FUZZ_MAX_EXAMPLES bounds the budget.
fuzz: install-dev
	$(BIN)/python -m tests.fuzz.run

# Stops and starts a PostgreSQL cluster of its own (made on first use, port 5433).
fault-test: install-dev
	$(BIN)/pytest -m faults tests/faults

# The settings reference, generated from app/config.py (a test checks it is up to date).
settings-doc: install
	$(BIN)/python -m app.settings_reference > docs/settings.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
