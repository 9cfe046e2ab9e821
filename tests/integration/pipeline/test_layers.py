"""The modelling package is pure: no orchestration, tracking or warehouse code, so it runs in a notebook, a test or
the serving process without Dagster, MLflow or DuckDB."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

import f1_pipeline.modeling
import f1_serving
from tests.import_rules import imported_modules, is_forbidden

PACKAGE = Path(f1_pipeline.modeling.__file__).parent
SOURCES = sorted(PACKAGE.glob("*.py"))


def test_the_package_has_the_expected_modules():
    names = {path.stem for path in SOURCES}
    assert {
        "field",
        "feature_matrix",
        "estimators",
        "backtest",
        "tuning",
        "candidates",
        "training",
        "promotion",
        "elo",
    } <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda path: path.name)
def test_no_module_imports_dagster_mlflow_or_duckdb(path):
    modules = imported_modules(path)
    assert not [module for module in modules if is_forbidden(module)]
    project = {module for module in modules if module.split(".")[0] in ("f1_pipeline", "f1_serving")}
    assert all(module.startswith("f1_pipeline.modeling.") for module in project), project


def test_importing_the_whole_package_loads_none_of_them():
    modules = [f"f1_pipeline.modeling.{path.stem}" for path in SOURCES if path.stem != "__init__"]
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    loaded = json.loads(completed.stdout)
    assert set(modules) <= set(loaded)
    assert not [module for module in loaded if is_forbidden(module)]


SERVING_SOURCES = sorted(Path(f1_serving.__file__).parent.rglob("*.py"))
SERVING_FORBIDDEN = ("dagster", "duckdb", "f1_pipeline.defs", "f1_pipeline.warehouse", "f1_pipeline.definitions")


@pytest.mark.parametrize("path", SERVING_SOURCES, ids=lambda path: path.name)
def test_the_api_never_touches_the_warehouse_or_dagster(path):
    """The API reads what the pipeline publishes; the DuckDB warehouse belongs to the pipeline's one writer."""
    modules = imported_modules(path)
    assert not [module for module in modules if module.startswith(SERVING_FORBIDDEN)], path
