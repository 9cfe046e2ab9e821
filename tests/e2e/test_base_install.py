"""A laptop's install is the base one, without the production extra (the PostgreSQL and Redis drivers,
dagster-postgres, dagster-k8s): the quick start runs in processes where importing any of them fails, as it would
where they are not installed."""

import json
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from f1_pipeline.settings import REPO_ROOT

ABSENT = """
import importlib.abc
import sys

ABSENT = {absent!r}


class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ABSENT:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Absent())
"""
"""A `sitecustomize` module: every Python process started with it on PYTHONPATH (the CLI, the run's step
processes) fails to import those modules."""


def production_modules() -> set[str]:
    """The top-level modules the production extra's distributions install, read from pyproject.toml."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    extra = {Requirement(line).name for line in project["optional-dependencies"]["production"]}
    return {
        module
        for module, distributions in packages_distributions().items()
        if extra & {name.lower() for name in distributions} and module.isidentifier()
    }


@pytest.fixture
def base_install(tmp_path: Path) -> dict[str, str]:
    """The environment of the quick start's processes, every file under tmp_path, the production modules absent."""
    modules = production_modules()
    assert {"psycopg2", "redis", "dagster_postgres", "dagster_k8s"} <= modules
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(ABSENT.format(absent=sorted(modules)))
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home)  # the project's instance: SQLite when no URL
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("F1_", "DAGSTER_"))}
    return {
        **environment,
        "PYTHONPATH": str(site),
        "DAGSTER_HOME": str(home),
        "F1_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "F1_SERVING_DIR": str(tmp_path / "serving"),
        "F1_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "F1_MLFLOW_ARTIFACT_LOCATION": (tmp_path / "mlartifacts").as_uri(),
        "F1_OPTUNA_STORAGE": f"sqlite:///{tmp_path / 'optuna.db'}",
    }


def f1_predict(environment: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "f1-predict"), *arguments]
    return subprocess.run(
        command, env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600, check=False
    )


def test_the_production_modules_are_absent_in_those_processes(base_install):
    for module in ("psycopg2", "redis", "dagster_postgres", "dagster_k8s"):
        probe = [sys.executable, "-c", f"import {module}"]
        completed = subprocess.run(probe, env=base_install, capture_output=True, text=True, check=False)
        assert completed.returncode == 1 and "ModuleNotFoundError" in completed.stderr, module


def test_the_quick_start_runs_without_the_production_extra(base_install):
    """`f1-predict run` as `make run` starts it, on one season, then the registry command."""
    ran = f1_predict(base_install, "run", "--job", "ingest_and_clean", "--seasons", "2026...2026")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "succeeded" in ran.stdout and "races with results" in ran.stdout
    shown = f1_predict(base_install, "registry", "show")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == []


def test_the_api_answers_without_the_production_extra(base_install):
    """`f1-predict serve` on a laptop: the app builds and answers with its in-process rate limiter and SQLite users."""
    probe = (
        "from fastapi.testclient import TestClient\n"
        "from f1_serving.main import create_app\n"
        "with TestClient(create_app()) as client:\n"
        "    print(client.get('/api/v1/health').status_code)\n"
    )
    environment = {**base_install, "F1_USERS_DATABASE_URL": f"sqlite:///{base_install['F1_SERVING_DIR']}-users.db"}
    completed = subprocess.run(
        [sys.executable, "-c", probe], env=environment, cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split()[-1] == "200"
