# 智慧人社 lakehouse. Quick start: `make run`, `make test` (see README.md).
# Every target installs what it needs first (idempotent; downloads cached in ~/.cache/lakehouse).

SHELL := /bin/bash
PY := .venv/bin/python
LH := .venv/bin/lakehouse
PERSONS ?= 2000
DAYS ?= 5
SEED ?= 7
SCALE ?= 20000x30
PYTEST_ARGS ?=
# this clone's code first, whatever clone the shared cached venv was last pointed at
export PYTHONPATH := $(CURDIR)

.PHONY: help setup setup-python setup-jars setup-trino setup-superset setup-system secrets \
        run test test-all lint bench trino superset mlflow airflow stop lock clean

help:
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

secrets:  ## per-installation secrets in .local/secrets.env (git-ignored), created once
	@bash scripts/init_secrets.sh .local/secrets.env

setup-python:
	@bash scripts/setup_python.sh

setup-jars:
	@bash scripts/setup_jars.sh

setup-trino:
	@bash scripts/setup_trino.sh

setup-superset:
	@bash scripts/setup_superset.sh

setup-system:
	@bash scripts/setup_system.sh

setup: secrets setup-python setup-jars  ## Python env, Delta jars, secrets

setup-all: setup setup-trino setup-superset setup-system

run: setup  ## generate a small city and run the nightly DAG through Airflow for each of its dates
	$(LH) synth --persons $(PERSONS) --days $(DAYS) --seed $(SEED)
	$(LH) airflow test --dag nightly_pipeline --all-dates
	$(LH) summary

test: setup-all  ## default test suite: every real component started at least once (< 30 min)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-all: setup-all  ## everything, including the slow end-to-end runs
	$(PY) -m pytest $(PYTEST_ARGS)

lint: setup  ## ruff, mypy, sqlfluff
	.venv/bin/ruff check lakehouse jobs models dags tests
	.venv/bin/mypy
	.venv/bin/sqlfluff lint sql

bench: setup  ## per-stage wall time, rows/s and peak memory on a generated city (SCALE=PERSONSxDAYS)
	$(LH) bench --scale $(SCALE)

trino: setup setup-trino  ## start a local Trino over the lake and register the tables
	$(LH) trino start

superset: setup setup-superset trino  ## start Superset with the Trino database and the dashboards
	$(LH) superset start

mlflow: setup  ## MLflow UI over the lake's model registry (champion, challenger, tags, model cards) on 127.0.0.1:18090
	$(PY) -m mlflow ui --host 127.0.0.1 --port 18090 --backend-store-uri "$$($(PY) -c 'from lakehouse.config import load_env; print(load_env().mlflow_tracking_uri)')"

airflow: setup  ## start a local Airflow (api-server, scheduler, dag-processor)
	$(LH) airflow start

stop:  ## stop every local server this checkout started
	-$(LH) superset stop
	-$(LH) trino stop
	-$(LH) airflow stop

lock:  ## re-resolve requirements/main.in into requirements/main.lock
	rm -rf /tmp/lakehouse-lock && python3.11 -m venv /tmp/lakehouse-lock
	/tmp/lakehouse-lock/bin/pip install -q -r requirements/main.in
	/tmp/lakehouse-lock/bin/pip freeze > requirements/main.lock

clean:  ## remove local data (lake, exports, generated city); keeps secrets and caches
	rm -rf .local/city .local/lake .local/exports .local/state
