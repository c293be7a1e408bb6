# Rackroom: `make run` to try it, `make test` to prove it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export REFLEX_USE_NPM := 1
export PYTHONUNBUFFERED := 1

.PHONY: setup run test test-unit test-e2e bench lint fmt clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

## setup: virtualenv, dependencies and database migrations (shared by run and test)
setup: $(VENV)/.installed
	$(BIN)/alembic upgrade head

## run: set up, seed demo data into an empty database, and serve on :3000 (API :8000);
## the demo brand API (127.0.0.1:8765, the demo connectors' feeds) runs alongside
run: setup
	$(BIN)/rackroom seed --if-empty
	@$(BIN)/python -m jobs.demo_logins
	$(BIN)/rackroom connector demo --if-missing
	@$(BIN)/python -m jobs.demo_brand_api --drift 30 & api=$$!; \
	trap 'kill $$api 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/reflex run --env dev

## test: set up, then the whole suite (domain on SQLite and PostgreSQL, then the browser)
test: setup
	$(BIN)/ruff check .
	$(BIN)/pytest tests --ignore=tests/e2e
	$(BIN)/pytest tests/e2e

test-unit: setup
	$(BIN)/pytest tests --ignore=tests/e2e

test-e2e: setup
	$(BIN)/pytest tests/e2e

## bench: every benchmark, each on a fresh PostgreSQL database (BENCH_ARGS="--scale small")
bench: setup
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

lint: setup
	$(BIN)/ruff check .

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .web .states var
