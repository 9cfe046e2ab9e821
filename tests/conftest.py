"""Shared fixtures: a pipeline pointed at temporary files, runs of the real job, the real PostgreSQL."""

import gzip
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest
from fastapi.testclient import TestClient
from threadpoolctl import threadpool_limits

from f1_pipeline.cli.workspace_run import QUIET
from f1_pipeline.definitions import build_definitions
from f1_pipeline.ergast.bundled import BUNDLED_ERGAST
from f1_pipeline.settings import ENV_FILE_VARIABLE, PipelineSettings
from f1_pipeline.warehouse import Warehouse
from f1_serving.main import create_app
from tests.api_support import api_on_a_copy, api_settings, bearer, register

POSTGRES_ADMIN_URL = os.environ.get("F1_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
os.environ[ENV_FILE_VARIABLE] = ""  # a developer's .env reaches no test, no session fixture, no server a test starts
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    # pytest-xdist runs a worker per core: one BLAS/OpenMP thread each, in the processes the tests start too, rather
    # than every worker's threads spinning on the same cores
    os.environ.setdefault(_variable, "1")
threadpool_limits(1)  # the same for a library loaded before this file


TIERS = ("unit", "integration", "e2e")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test's tier is the folder it lives in (tests/unit, tests/integration, tests/e2e), so `-m` selects by tier.

    Under pytest-xdist's `--dist loadgroup` (pyproject's addopts), what shares a materialization runs on one worker,
    which builds it once: every test on the session's `trained` graph, otherwise the tests of one module (its
    module-scoped fixtures). xdist groups by an "@<group>" suffix of the node id; it appends its `xdist_group` marks
    to `item._nodeid`, which pytest 9 no longer reads (the id is a structured `_id`), so the suffix is set here.

    Workers take groups in the order of the items: the `long` ones come first, so that the last minute of the suite is
    not one worker finishing a long group while the other has nothing left."""
    grouped = getattr(config.option, "loadgroup", False)  # what xdist's workers are told of --dist loadgroup
    for item in items:
        path = item.path.relative_to(config.rootpath)
        tier = next((part for part in path.parts if part in TIERS), None)
        if tier:
            item.add_marker(tier)
        if grouped:
            group = "trained" if "trained" in item.fixturenames else path.as_posix()
            item._id = type(item._id).parse(f"{item.nodeid}@{group}")
    items.sort(key=lambda item: item.get_closest_marker("long") is None)  # stable: otherwise in collection order


def run_job(
    settings: PipelineSettings,
    first: str,
    last: str,
    instance: dg.DagsterInstance | None = None,
    job: str = "ingest_and_clean",
    assets: Sequence[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Run a job of the real code location over seasons `first`..`last` in one run, as the README's command does
    (its console kept to warnings, as `f1-predict run` keeps it: the events are in the result); `assets` runs only
    those of the job's assets, with their checks."""
    definitions = build_definitions(settings)
    return definitions.resolve_job_def(job).execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        run_config=QUIET,
        asset_selection=None if assets is None else [dg.AssetKey(name) for name in assets],
        tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last},
        raise_on_error=False,
    )


@pytest.fixture(autouse=True)
def _no_pipeline_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests state their settings; an F1_DATA_SOURCE=live left in a shell must never send them to the network."""
    for name in list(os.environ):
        if name.startswith("F1_") and name not in {"F1_TEST_POSTGRES_URL", ENV_FILE_VARIABLE}:
            monkeypatch.delenv(name)


@pytest.fixture
def bundled_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled Ergast data, for tests that corrupt it."""
    target = tmp_path / "bundled"
    shutil.copytree(BUNDLED_ERGAST, target)
    return target


def edit_season_file(bundled_dir: Path, season: str, endpoint: str, edit: Callable[[dict[str, Any]], None]) -> None:
    """Apply `edit` to one season file of a copy of the bundled data, in place."""
    path = bundled_dir / season / f"{endpoint}.json.gz"
    body = json.loads(gzip.decompress(path.read_bytes()))
    edit(body)
    path.write_bytes(gzip.compress(json.dumps(body).encode()))


def isolated_settings(root: Path, **overrides: Any) -> PipelineSettings:
    """Settings whose every file (warehouse, MLflow, Optuna, serving data) lives under `root`, not in the repo."""
    return PipelineSettings(
        **{
            "data_source": "bundled",
            "warehouse_path": root / "warehouse.duckdb",
            "mlflow_tracking_uri": f"sqlite:///{root / 'mlflow.db'}",
            "mlflow_artifact_location": (root / "mlartifacts").as_uri(),
            "optuna_storage": f"sqlite:///{root / 'optuna.db'}",
            "serving_dir": root / "serving",
            **overrides,
        }
    )


SMALL_TRAINING = {
    "train_first_season": 2012,
    "validation_first_season": 2020,
    "backtest_first_season": 2025,
    "tuning_trials": 1,
}
"""A training setup small enough for tests: seasons 2012-2026, one Optuna trial (the default parameters),
backtest 2025-2026."""

QUICK_SEASONS = ("2023", "2026")
QUICK_TRAINING = {
    "train_first_season": 2024,
    "validation_first_season": 2025,
    "backtest_first_season": 2026,
    "tuning_trials": 1,
}
"""Smaller still, for runs of `QUICK_SEASONS` (2023 gives the ratings a season to settle): tests about which runs
start, what a killed run leaves or where production keeps its state, not about the model."""


@pytest.fixture
def settings_for(tmp_path: Path) -> Callable[..., PipelineSettings]:
    def build(**overrides: Any) -> PipelineSettings:
        return isolated_settings(tmp_path, **overrides)

    return build


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineSettings, dg.ExecuteInProcessResult]:
    """The whole asset graph (main job) materialized once for the session on seasons 2012-2026."""
    settings = isolated_settings(tmp_path_factory.mktemp("trained"), **SMALL_TRAINING)
    return settings, run_job(settings, "2012", "2026", job="main")


@pytest.fixture(scope="module")
def pipeline(trained) -> PipelineSettings:
    """The `trained` graph's settings, once it is known to have materialized."""
    settings, result = trained
    assert result.success
    return settings


@pytest.fixture
def own_copy(pipeline, tmp_path) -> Iterator[tuple[PipelineSettings, TestClient, dict[str, str]]]:
    """The API over a copy of the `trained` graph's registry and publication, so a test can move the champion,
    republish, or break and restore them: the copy's settings, a client and a user's header."""
    with api_on_a_copy(pipeline, tmp_path) as api:
        yield api


@pytest.fixture(scope="module")
def client(pipeline, tmp_path_factory) -> Iterator[TestClient]:
    """The API on the `trained` graph's registry and publication, limits out of the way."""
    settings = api_settings(tmp_path_factory.mktemp("api"), pipeline, rate_limit_per_minute=100_000)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture(scope="module")
def headers(client) -> dict[str, str]:
    """A fresh account's bearer header on `client`."""
    return bearer(register(client))


def warehouse_of(settings: PipelineSettings) -> Warehouse:
    return Warehouse(settings.warehouse_path, read_only=True)


def _postgres_reachable() -> bool:
    try:
        psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=3).close()
    except psycopg2.OperationalError:
        return False
    return True


@pytest.fixture
def postgres_database() -> Iterator[str]:
    """A fresh, empty database on the real server, dropped afterwards; its URL."""
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}, and CI needs it")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (set CI=1 to make this an error)")
    name = f"f1_test_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


REDIS_URL = os.environ.get("F1_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_url() -> str:
    """The real Redis server's URL (tests keep their keys apart by user id, which is a fresh UUID)."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis is not reachable at {REDIS_URL}, and CI needs it")
        pytest.skip(f"Redis is not reachable at {REDIS_URL} (set CI=1 to make this an error)")
    return REDIS_URL
