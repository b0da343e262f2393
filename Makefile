# The two commands that matter: `make demo` and `make test` (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install services lint format bench bench-quick bench-api bench-load bench-playbook bench-retrieval bench-ingest-docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## make demo: embedded PostgreSQL, three demo tenants, every asset materialized, Dagster UI
demo: install
	$(BIN)/luna demo

## make test: the whole suite against PostgreSQL 127.0.0.1:5432, Mosquitto 127.0.0.1:1883
test: install services
	$(BIN)/ruff check .
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

## make bench-retrieval: filtered top-5 vector search, 100 tenants x 1,000 chunks, pgvector and Qdrant local mode
bench-retrieval: install
	$(BIN)/python bench/retrieval.py

## make bench-ingest-docs: pages per second for extract, chunk, embed and index
bench-ingest-docs: install
	$(BIN)/python bench/ingest_docs.py

clean:
	rm -rf $(VENV) .luna .pytest_cache .ruff_cache
