# Two commands for a fresh machine: `make run` and `make test`. Everything else is for developers.
SHELL := /bin/bash
PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
SPARK_VENV := .venv-spark
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)
# Installs .pyc files: with PYTHONDONTWRITEBYTECODE set (as it is on the machines we build on) Python would otherwise compile
# dagster, dbt and Great Expectations from source in every process, ~14 s per start; each dbt step is one
export UV_COMPILE_BYTECODE := 1
export CRMGRADE_CONFIG ?= $(CURDIR)/crmgrade.yml
export CRMGRADE_WAREHOUSE ?= $(CURDIR)/data/warehouse.duckdb
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: run test test-spark chromium lint lint-sql format dev docs bench bench-stages bench-identity dbt demo simulate clean

# uv itself is pinned and installed into a private folder, then builds .venv exactly from uv.lock.
$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/crmgrade: $(UV) uv.lock pyproject.toml
	$(UV) sync --frozen --quiet
	@touch $@

run: $(BIN)/crmgrade  ## install, generate the demo data if absent, run every asset, print the summary
	$(BIN)/crmgrade run --config crmgrade.yml

# The Spark comparison test's own environment, pinned by the same lock (pyproject.toml's `spark` group: pyspark
# beside Great Expectations would break GE's import in pytest's workers).
$(SPARK_VENV)/bin/dbt: $(UV) uv.lock pyproject.toml
	$(UV) venv --quiet --allow-existing $(SPARK_VENV)
	$(UV) export --frozen --only-group spark --no-emit-project --quiet -o $(SPARK_VENV)/requirements.txt
	$(UV) pip sync --quiet --python $(SPARK_VENV)/bin/python $(SPARK_VENV)/requirements.txt
	@touch $@

# The report test opens the HTML report in Debian's Chromium (headless); installed here when missing.
chromium:
	@command -v chromium >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "Chromium is missing and this user cannot install it: apt-get install chromium" >&2; exit 1; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium; }

test: $(BIN)/crmgrade $(SPARK_VENV)/bin/dbt chromium  ## install, lint, run the whole test suite, then the Spark comparison
	$(MAKE) --no-print-directory lint
	$(BIN)/pytest -m "not spark"
	$(MAKE) --no-print-directory test-spark

# The dbt models on Spark compared with DuckDB (tests/e2e/test_marts_on_spark.py): ~4 min of its own, so it runs
# after the main suite (which keeps within 10 minutes on 2 cores) instead of inside it.
test-spark: $(BIN)/crmgrade $(SPARK_VENV)/bin/dbt
	$(BIN)/pytest -m spark --numprocesses=0

lint: $(BIN)/crmgrade  ## ruff, the import layers (import-linter), sqlfluff on the dbt models and snapshots
	$(BIN)/ruff check pipeline tests bench
	$(BIN)/ruff format --check pipeline tests bench
	$(BIN)/lint-imports
	$(MAKE) --no-print-directory lint-sql

# sqlfluff's dbt templater compiles the project: on a warehouse of its own (never the job's, which a run may hold)
# and its own target folder. dbt_project/.sqlfluff holds the rules; `make lint-sql FIX=1` applies the fixes.
LINT_DIR := $(CURDIR)/.lint
SQL ?= models snapshots tests
lint-sql: $(BIN)/crmgrade
	@mkdir -p $(LINT_DIR)
	cd dbt_project && PYTHONWARNINGS=ignore CRMGRADE_WAREHOUSE=$(LINT_DIR)/warehouse.duckdb DBT_TARGET_PATH=$(LINT_DIR)/target \
	  ../$(BIN)/sqlfluff $(if $(FIX),fix,lint) $(SQL) --processes 2 --disable-progress-bar 2>&1 | grep -v '^WARNING .* is a macro'; \
	  exit $${PIPESTATUS[0]}

format: $(BIN)/crmgrade
	$(BIN)/ruff format pipeline tests bench
	$(BIN)/ruff check --fix pipeline tests bench

dev: $(BIN)/crmgrade  ## the Dagster UI on http://127.0.0.1:3000
	@mkdir -p $(DAGSTER_HOME)
	@# one run at a time: DuckDB has one writer, so a UI backfill's runs queue instead of retrying on the lock
	@test -f $(DAGSTER_HOME)/dagster.yaml || printf 'concurrency:\n  runs:\n    max_concurrent_runs: 1\ncode_servers:\n  local_startup_timeout: 600\n' > $(DAGSTER_HOME)/dagster.yaml
	@# the dbt parse before the UI: loading the code then finds the manifest fresh instead of parsing (and timing out)
	$(BIN)/python -c 'from pipeline.defs.dbt.project import prepare_manifest; prepare_manifest()'
	@# ruff, the import layers and sqlfluff before each commit (.pre-commit-config.yaml; local hooks, no download)
	@test -f .git/hooks/pre-commit || $(BIN)/pre-commit install --install-hooks >/dev/null
	$(BIN)/dagster dev -w workspace.yaml

# the dbt vars a run of crmgrade.yml passes (as-of date, time zone, drift thresholds, ...)
RUN_DBT_VARS = $$(../$(BIN)/python -c 'import json; from pipeline.config import load_settings; print(json.dumps(load_settings().dbt_vars()))')

docs: $(BIN)/crmgrade  ## dbt docs generate on the warehouse, with the run's dbt vars (as-of date, time zone)
	cd dbt_project && ../$(BIN)/dbt docs generate --vars "$(RUN_DBT_VARS)"

dbt: $(BIN)/crmgrade  ## dbt as the job runs it, on the warehouse with the run's vars: make dbt ARGS="build --select fct_customer"
	cd dbt_project && ../$(BIN)/dbt $(ARGS) --vars "$(RUN_DBT_VARS)"

SIM_DIR ?= data/simulation
simulate: $(BIN)/crmgrade  ## 30 nights of the demo, one day's files delivered per night; checks snapshots, migrations, the planted drift alert
	$(BIN)/crmgrade simulate --out $(SIM_DIR) --nights 30

bench: $(BIN)/crmgrade  ## the demo run and a no-op run (bench/demo.py); recommendations at 4,000 products (bench/catalogue.py); the whole job at 1M and 10M orders (bench/pipeline.py)
	$(BIN)/python -m bench.demo
	$(BIN)/python -m bench.catalogue --lines 500000 --products 4000
	$(BIN)/python -m bench.pipeline --orders 1000000 --orders 10000000

bench-identity: $(BIN)/crmgrade  ## identity on labelled data (people_fake_1000, FEBRL 1 and 2, the demo) beside Splink's documented models
	$(BIN)/python -m bench.identity_labelled

BENCH_DATA ?= /tmp/crmgrade-bench-10m
bench-stages: $(BIN)/crmgrade  ## at 10M orders: the demo generator, then ingest + validation per stage; identity at ~1M records
	$(BIN)/python -m bench.generator --orders 10000000 --keep $(BENCH_DATA)
	$(BIN)/python -m bench.ingest --orders 10000000 --data $(BENCH_DATA)
	$(BIN)/python -m bench.identity --customers 80000
	rm -rf $(BENCH_DATA)

clean:
	rm -rf data/demo data/warehouse.duckdb data/warehouse.duckdb.* data/reports data/outbox dbt_project/target .lint
