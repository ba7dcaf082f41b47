# `make run` serves the API; `make test` runs the whole suite. Both set up .venv first, from
# the lock files (`make lock` updates them after a change to pyproject.toml's dependencies).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK     := requirements.lock
DEV_LOCK := requirements-dev.lock
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-index-url --no-emit-find-links

.PHONY: run test fuzz fault-test lint migrate install install-dev lock lock-upgrade \
	settings-doc screenshots clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exactly the locked versions (with their hashes), then the project itself without deps.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: $(DEV_LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r $(DEV_LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

migrate: install
	$(BIN)/fittrackee-oauth2 migrate

# The launcher: checks the settings and the database, migrates, then serves (HOST, PORT,
# WORKERS, DATABASE_URL... from the environment or .env; see docs/settings.md).
run: install
	$(BIN)/fittrackee-oauth2 serve --migrate

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

# The README's screenshots of the pages (docs/screenshots/), with Debian's Chromium.
screenshots: install-dev
	$(BIN)/python -m tests.screenshots

# Stops and starts a PostgreSQL cluster of its own (made on first use, port 5433).
fault-test: install-dev
	$(BIN)/pytest -m faults tests/faults

# Re-lock after editing pyproject.toml's dependencies: existing pins are kept where they still
# fit. `make lock-upgrade` moves every pin to the newest release allowed.
lock: install-dev
	$(PIP_COMPILE) -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --extra dev --constraint $(LOCK) -o $(DEV_LOCK) pyproject.toml

lock-upgrade: install-dev
	$(PIP_COMPILE) --upgrade -o $(LOCK) pyproject.toml
	$(PIP_COMPILE) --upgrade --extra dev --constraint $(LOCK) -o $(DEV_LOCK) pyproject.toml

# The settings reference and .env.example, generated from app/config.py (a test checks them).
settings-doc: install
	$(BIN)/python -m app.settings_reference > docs/settings.md
	$(BIN)/python -m app.settings_reference --env-example > .env.example

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
