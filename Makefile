# One command per dev loop step. Every target creates .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/scraper.toml

.PHONY: install lock sysdeps lint format test mutate run bench docs clean

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

# System packages the tests need (Debian names; each provides a command of the same name):
# docker-compose validates docker-compose.yml in tests/test_docker.py. Installed when absent;
# without root (or sudo) this fails and says what to install, so the test never skips.
SYSDEPS := docker-compose

sysdeps:
	@missing=""; for p in $(SYSDEPS); do command -v $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		sudo_cmd=""; \
		if [ "$$(id -u)" -ne 0 ]; then sudo_cmd="sudo -n"; fi; \
		echo "installing$$missing (apt-get)"; \
		{ $$sudo_cmd apt-get update -qq \
			&& DEBIAN_FRONTEND=noninteractive $$sudo_cmd apt-get install -y -qq $$missing; } \
			>/dev/null 2>&1 || { echo "error: cannot install$$missing; install it as root" >&2; exit 1; }; \
	fi

test: lint sysdeps
	$(BIN)/pytest

# Mutation testing of the core modules listed under [tool.mutmut] in pyproject.toml (slow: not
# part of `test`). MUTANTS narrows it, e.g. `make mutate MUTANTS='scraper.polite*'`; the surviving
# mutants and why each is kept are in docs/testing.md.
MUTANTS ?=
mutate: $(STAMP)
	$(BIN)/mutmut run $(MUTANTS)
	$(BIN)/mutmut results

run: $(STAMP)
	$(BIN)/scraper --config $(CONFIG) serve

bench: $(STAMP)
	$(BIN)/python -m bench

docs: $(STAMP)
	$(BIN)/python -m scraper.cli.docgen > docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
