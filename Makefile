# Rackroom: `make run` to try it, `make test` to prove it, `make prod` to serve it.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv installs the locked dependencies (uv.lock); it lives in its own small venv.
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
export REFLEX_USE_NPM := 1
export PYTHONUNBUFFERED := 1
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: deps setup local-key run prod test test-unit test-e2e test-prod bench lock lint fmt clean graphql-schema audit

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet uv==$(UV_VERSION)

$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --all-extras --python $(PYTHON) --quiet
	touch $@

## deps: the virtualenv from the lock, nothing else (deployments: docs/deploy.md)
deps: $(VENV)/.installed

## setup: virtualenv from the lock, the local key (when RACKROOM_SECRET_KEY is unset),
## and database migrations (shared by run and test)
setup: local-key
	$(BIN)/alembic upgrade head

## audit: pip-audit over the locked dependencies (uv.lock); fails on a known
## vulnerability that has a fixed version (docs/security.md)
PIP_AUDIT_VERSION := 2.10.1
audit: | $(UV)
	@mkdir -p $(VENV); rm -f $(VENV)/audit.json
	$(UV) export --locked --format requirements-txt --no-hashes --all-extras --no-emit-project --quiet -o $(VENV)/audit-requirements.txt
	$(UV) tool run --from pip-audit==$(PIP_AUDIT_VERSION) pip-audit --requirement $(VENV)/audit-requirements.txt --no-deps --disable-pip --progress-spinner off --format json --output $(VENV)/audit.json || true
	@$(PYTHON) deploy/audit_gate.py $(VENV)/audit.json

## lock: re-resolve uv.lock after changing pyproject.toml
lock: $(UV)
	$(UV) lock

## run: set up, seed demo data into an empty database, and serve on :3000 (API :8000);
## the demo brand API (127.0.0.1:8765, the demo connectors' feeds) runs alongside, and
## RACKROOM_OUTBOUND_ALLOW (default 127.0.0.1 here) lets the syncs reach it
run: setup
	$(BIN)/rackroom seed --if-empty
	@$(BIN)/python -m jobs.demo_logins
	$(BIN)/rackroom connector demo --if-missing
	@$(BIN)/python -m jobs.demo_brand_api --drift 30 & api=$$!; \
	trap 'kill $$api 2>/dev/null' EXIT; trap 'exit 130' INT TERM; \
	RACKROOM_LOG_FORMAT=$${RACKROOM_LOG_FORMAT:-text} \
	RACKROOM_OUTBOUND_ALLOW=$${RACKROOM_OUTBOUND_ALLOW:-127.0.0.1} \
	$(BIN)/reflex run --env dev --frontend-port 3000 --backend-port 8000

## local-key: without RACKROOM_SECRET_KEY, the local database's connector tokens and
## signing secrets are encrypted with a key made once in var/secret.key (0600); make
## prod never makes one (it requires RACKROOM_SECRET_KEY)
local-key: $(VENV)/.installed
	@$(BIN)/rackroom secrets local-key

## prod: production on one port (PORT, default 8080): checks, migrates, builds the
## frontend once, then serves it with the scheduler beside (README: Production)
prod: $(VENV)/.installed
	@exec $(BIN)/python -m dashboard.serve

## test: set up, then the whole suite (domain on SQLite and PostgreSQL, the browser,
## then the production build with two workers, Redis and nginx)
test: setup
	$(BIN)/ruff check .
	$(MAKE) --no-print-directory audit
	$(BIN)/pytest tests --ignore=tests/e2e --ignore=tests/prod
	$(BIN)/pytest tests/e2e
	$(BIN)/pytest tests/prod

test-unit: setup
	$(BIN)/pytest tests --ignore=tests/e2e --ignore=tests/prod

test-e2e: setup
	$(BIN)/pytest tests/e2e

test-prod: setup
	$(BIN)/pytest tests/prod

## bench: every benchmark, each on a fresh PostgreSQL database (BENCH_ARGS="--scale small")
bench: setup
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

## graphql-schema: print the GraphQL schema to docs/schema.graphql (a test keeps it current)
graphql-schema: $(VENV)/.installed
	$(BIN)/python -m dashboard.api.graphql > docs/schema.graphql

lint: setup
	$(BIN)/ruff check .

fmt: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf .web .states var
