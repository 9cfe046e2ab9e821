# f1-predict: `make quickstart` sets everything up and runs the main job; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME ?= $(CURDIR)/dagster_home

# uv, which builds .venv, in a virtualenv of its own (.venv is synced exactly to uv.lock, which does not list uv), at
# the version pyproject.toml's [tool.uv] requires. It is first on PATH for every target: the tests run it too.
UV_HOME := .uv
UV := $(UV_HOME)/bin/uv
UV_REQUIRED = $(shell $(PYTHON) -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["tool"]["uv"]["required-version"])')
export PATH := $(CURDIR)/$(UV_HOME)/bin:$(PATH)

# Seasons to materialize, as a Dagster partition range: every season from 1950 to the current one.
SEASONS ?= 1950...$(shell date -u +%Y)

.PHONY: quickstart setup run dev serve mlflow notebooks test test-fast lint screenshots bench deploy-check clean

quickstart: setup run

setup: $(VENV)/.installed

$(UV): pyproject.toml
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/pip install --quiet --disable-pip-version-check "uv$(UV_REQUIRED)"
	touch $@

# Exactly the versions in uv.lock: the package (editable) and the dev group (the tools, and the production extra's
# PostgreSQL and Redis drivers the suite uses); --locked fails if uv.lock no longer matches pyproject.toml (`uv lock`
# updates it). Bytecode is compiled once here, not by the first run of every command (nor by every test worker).
$(VENV)/.installed: pyproject.toml uv.lock $(UV)
	$(UV) sync --quiet --locked --compile-bytecode --python $(PYTHON)
	touch $@

# The main job as a run of the workspace's code location (listed under the job in the Dagster UI), a line per stage.
run: setup
	$(BIN)/f1-predict run --seasons $(SEASONS)

# The Dagster UI and daemon at http://127.0.0.1:3000.
dev: setup
	$(BIN)/f1-predict ui

# The REST API and the dashboard on the champion and the data the pipeline published (settings: F1_* variables, see
# the README); uvicorn runs with --no-proxy-headers (see f1_pipeline/cli/servers.py), further uvicorn options follow.
HOST ?= 127.0.0.1
PORT ?= 8000
serve: setup
	$(BIN)/f1-predict serve --host $(HOST) --port $(PORT)

# The MLflow UI over the tracking store the pipeline writes (F1_MLFLOW_TRACKING_URI, SQLite under mlruns/ by default).
mlflow: setup
	$(BIN)/f1-predict mlflow

# JupyterLab on notebooks/ (the `notebooks` extra, installed from uv.lock beside the dev group the first time). Each
# notebook's first cell moves its kernel to the project root, where the default warehouse/ and mlruns/ are.
notebooks: setup
	$(BIN)/python -c "import jupyterlab" 2>/dev/null || $(UV) sync --quiet --locked --compile-bytecode --extra notebooks
	$(BIN)/jupyter lab notebooks/

test: setup
	$(BIN)/pytest

test-fast: setup
	$(BIN)/pytest -m "not e2e"

# ruff, then mypy over the packages and the benchmarks ([tool.mypy] in pyproject.toml).
lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy

# The documentation's dashboard images, taken in headless Chromium of the pages on what `make run` published here.
screenshots: setup
	DASHBOARD_SCREENSHOTS=docs/images $(BIN)/pytest -n 0 tests/e2e/test_dashboard_browser.py

bench: setup
	$(BIN)/python -m bench.materialize --write
	$(BIN)/python -m bench.graph --write
	$(BIN)/python -m bench.load --write
	$(BIN)/python -m bench.incremental --write

# The compose stack of deploy/ built and run from scratch with Docker, checked from outside, torn down
# (docs/operations.md). Standard library only: no `make setup` needed.
deploy-check:
	python3 deploy/check/deploy_check.py

clean:
	rm -rf warehouse dagster_home/history dagster_home/storage dagster_home/schedules dagster_home/logs dagster_home/postgres/storage
