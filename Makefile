# One command per dev loop step. Every target creates .venv from pyproject.toml first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CONFIG ?= config/scraper.toml
# Debian packages the tests need: tmux (the terminal test of the crawl progress bar), chromium
# and chromium-driver (the reading room's browser test drives Debian's browser; nothing is
# downloaded by a test), docker-compose (`docker-compose config` validates docker-compose.yml)
SYSDEPS := tmux chromium chromium-driver docker-compose

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

# installs only what is missing (apt-get as root or with passwordless sudo; otherwise one line
# says what to run); a test that needs one of them fails without it, it never skips
sysdeps:
	@missing=$$(for p in $(SYSDEPS); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	elif sudo -n true 2>/dev/null; then \
		sudo -n apt-get update -qq && sudo -n DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else \
		echo "missing Debian packages: run 'sudo apt-get install -y" $$missing"' (the tests that need them fail until then)"; \
	fi

lint: $(STAMP)
	$(BIN)/ruff format --check scraper tests bench
	$(BIN)/ruff check scraper tests bench
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format scraper tests bench
	$(BIN)/ruff check --fix scraper tests bench

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

# about an hour on 2 cores (archive and web each build 100,000 articles), ~2.5 GB in the temp dir while it runs (make bench BENCH=extract: one)
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH)

docs: $(STAMP)
	$(BIN)/python -m scraper.cli.docgen > docs/cli.md

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
