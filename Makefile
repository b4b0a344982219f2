# One command per dev loop step. Every target creates .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/scraper.toml

.PHONY: install lint format test run bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

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
