# One command per dev loop step. Every target creates .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/scraper.toml

.PHONY: install lock lint format test run bench docs clean

# Installs come from the lock (exact versions, hashes checked), so a fresh clone months from now
# gets the same packages as today; `make lock` refreshes it on purpose after pyproject.toml changes.
$(STAMP): pyproject.toml requirements-dev.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

# Re-resolve pyproject.toml's ranges into the two locks (runtime for the Docker image, dev here).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes \
		--quiet -o requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --quiet -o requirements-dev.lock

lint: $(STAMP)
	$(BIN)/ruff format --check scraper tests bench
	$(BIN)/ruff check scraper tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format scraper tests bench
	$(BIN)/ruff check --fix scraper tests bench

test: lint
	$(BIN)/pytest

run: $(STAMP)
	$(BIN)/scraper --config $(CONFIG) serve

bench: $(STAMP)
	$(BIN)/python -m bench

docs: $(STAMP)
	$(BIN)/python -m scraper.cli.docgen > docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
