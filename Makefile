# The two commands that matter: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install services lint format bench bench-quick bench-api bench-load bench-playbook bench-tariffs bench-i18n bench-retrieval bench-ingest-docs bench-ui ui ui-test ui-optional clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## The dashboard (luna_ui/): npm ci from the committed lock file, then a Vite build into luna_ui/dist.
## Make skips both when their outputs are newer than what they are built from.
UI := luna_ui
UI_MODULES := $(UI)/node_modules/.package-lock.json
UI_DIST := $(UI)/dist/index.html
UI_SOURCES := $(shell find $(UI)/src $(UI)/public -type f 2>/dev/null) \
	$(UI)/index.html $(UI)/package.json $(UI)/vite.config.ts $(UI)/tsconfig.json

$(UI_MODULES): $(UI)/package-lock.json
	@command -v npm >/dev/null || { echo "npm not found: install Node.js 20.19+ to build the dashboard" >&2; exit 1; }
	cd $(UI) && npm ci --no-audit --no-fund
	touch $@

$(UI_DIST): $(UI_MODULES) $(UI_SOURCES)
	cd $(UI) && npm run build

ui: $(UI_DIST)

## Component tests (Vitest + Testing Library in jsdom)
ui-test: $(UI_MODULES)
	cd $(UI) && npm test

# The demo still runs without Node.js: the API then explains at / how to build the dashboard.
ui-optional:
	@if command -v npm >/dev/null; then $(MAKE) --no-print-directory ui; \
	else echo "npm not found: the dashboard is not built (the API at / says how)"; fi

## make demo: embedded PostgreSQL, three demo tenants, every asset materialized, Dagster UI, dashboard
demo: install ui-optional
	$(BIN)/luna demo

## make test: the whole suite against PostgreSQL 127.0.0.1:5432, Mosquitto 127.0.0.1:1883,
## the dashboard's component tests, and its browser tests in Debian's chromium
test: install services ui
	$(BIN)/ruff check .
	cd $(UI) && npm test
	$(BIN)/python -m pytest -q

services:
	@bash scripts/ensure-services.sh

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .

## make bench: ETL vs raw COPY on 100 tenants x 5 meters x 1 year (17.5M rows)
bench: install services
	$(BIN)/python bench/etl.py

bench-quick: install services
	$(BIN)/python bench/etl.py --tenants 10

## make bench-api: /readings/aggregate over HTTP vs the bare SQL, 100 tenants x 1 year hourly
bench-api: install services
	$(BIN)/python bench/api.py

## make bench-load: mixed API traffic from 50 simulated customers over loopback, real auth
bench-load: install services
	$(BIN)/python bench/load.py

## make bench-playbook: optimised vs naive plans, 100 simulated tenants x 90 days (no database)
bench-playbook: install
	$(BIN)/python bench/playbook.py

## make bench-tariffs: the tariff comparison, 100 synthetic tenants x 12 months of 15-minute data (no database)
bench-tariffs: install
	$(BIN)/python bench/tariffs.py

## make bench-i18n: recommendations rendered at read time (catalogues, Babel) vs f-strings, German and English
bench-i18n: install
	$(BIN)/python bench/i18n.py

## make bench-retrieval: filtered top-5 vector search, 100 tenants x 1,000 chunks, pgvector and Qdrant local mode
bench-retrieval: install
	$(BIN)/python bench/retrieval.py

## make bench-ingest-docs: pages per second for extract, chunk, embed and index
bench-ingest-docs: install
	$(BIN)/python bench/ingest_docs.py

## make bench-ui: first meaningful paint of Home and of the smart meter with a year of 15-min data
bench-ui: install services ui
	$(BIN)/python bench/ui.py

clean:
	rm -rf $(VENV) .luna .pytest_cache .ruff_cache $(UI)/dist $(UI)/node_modules test-artifacts
