"""The production configuration end to end, on the real PostgreSQL: the real CLI runs the whole graph (seasons
2023-2026, one Optuna trial) with Dagster storage, MLflow tracking and Optuna studies each in their own PostgreSQL
database and every step in its own process; then the API serves from that registry with users on PostgreSQL and rate
limits in the real Redis."""

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import optuna
import psycopg2
import pytest
import redis
from fastapi.testclient import TestClient
from mlflow import MlflowClient

from f1_pipeline.database_urls import DAGSTER_POSTGRES_URL_ENV, with_psycopg2_driver
from f1_pipeline.registry.tracking import CHAMPION
from f1_pipeline.settings import REPO_ROOT
from f1_pipeline.tables import TUNING_STUDIES
from f1_pipeline.warehouse import Warehouse
from f1_serving.main import create_app
from f1_serving.settings import ApiSettings
from tests.api_support import bearer, register
from tests.conftest import POSTGRES_ADMIN_URL, QUICK_SEASONS, QUICK_TRAINING, _postgres_reachable

pytestmark = [pytest.mark.postgres, pytest.mark.long]

PREFIX = "/api/v1"
FIRST_SEASON, LAST_SEASON = QUICK_SEASONS
MODEL_NAME = "f1-race-winner"
DATABASES = ("dagster", "mlflow", "optuna", "users")
CLI_TIMEOUT_SECONDS = 1800
"""Far more than the run needs (55 s on 2 quiet cores, each of the ~57 steps a process forked from a server that
imported the code location once), for when other test runs share the cores."""
KEPT_FROM_THE_SHELL = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "USER")


@dataclass(frozen=True)
class Production:
    """What the production run was given and what it left: the database URLs (plain `postgresql://`, as an operator
    writes them; the Dagster instance file takes its URL with the driver named), the folders, and the CLI's own
    process id."""

    urls: dict[str, str]
    dagster_home: Path
    warehouse_path: Path
    serving_dir: Path
    artifact_location: str
    cli_pid: int


@pytest.fixture(scope="module")
def postgres_databases() -> Iterator[dict[str, str]]:
    """One fresh database per role on the real server, dropped afterwards; their URLs by role."""
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}, and CI needs it")
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (set CI=1 to make this an error)")
    names = {role: f"f1_test_{role}_{uuid.uuid4().hex[:12]}" for role in DATABASES}
    admin = psycopg2.connect(POSTGRES_ADMIN_URL)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            for name in names.values():
                cursor.execute(f'create database "{name}"')
        server = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
        yield {role: f"{server}/{name}" for role, name in names.items()}
    finally:
        with admin.cursor() as cursor:
            for name in names.values():
                cursor.execute(f'drop database if exists "{name}" with (force)')
        admin.close()


def _tail(text: str, characters: int = 6000) -> str:
    return text[-characters:]


@pytest.fixture(scope="module")
def production(postgres_databases, tmp_path_factory) -> Production:
    """`dagster job execute` of the main job as an operator runs it: nothing but the environment configures it."""
    root = tmp_path_factory.mktemp("production")
    dagster_home = root / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "postgres" / "dagster.yaml", dagster_home / "dagster.yaml")
    urls = postgres_databases
    artifact_location = (root / "mlartifacts").as_uri()
    env = {name: os.environ[name] for name in KEPT_FROM_THE_SHELL if name in os.environ}
    env |= {
        "DAGSTER_HOME": str(dagster_home),
        DAGSTER_POSTGRES_URL_ENV: with_psycopg2_driver(urls["dagster"]),
        "F1_MLFLOW_TRACKING_URI": urls["mlflow"],
        "F1_MLFLOW_ARTIFACT_LOCATION": artifact_location,
        "F1_OPTUNA_STORAGE": urls["optuna"],
        "F1_DAGSTER_EXECUTOR": "multiprocess",
        "F1_DATA_SOURCE": "bundled",
        "F1_WAREHOUSE_PATH": str(root / "warehouse" / "f1.duckdb"),
        "F1_SERVING_DIR": str(root / "serving"),
        **{f"F1_{name.upper()}": str(value) for name, value in QUICK_TRAINING.items()},
    }
    tags = {"dagster/asset_partition_range_start": FIRST_SEASON, "dagster/asset_partition_range_end": LAST_SEASON}
    command = [
        str(Path(sys.executable).parent / "dagster"),
        *("job", "execute", "-m", "f1_pipeline.definitions", "-j", "main", "--tags", json.dumps(tags)),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=CLI_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the CLI and the step processes it started
        output, _ = process.communicate()
        pytest.fail(f"the CLI ran over {CLI_TIMEOUT_SECONDS} s; its output ended with:\n{_tail(output)}")
    print(f"dagster job execute: {time.perf_counter() - started:.0f} s")
    assert process.returncode == 0, f"the CLI exited with {process.returncode}; its output ended with:\n{_tail(output)}"
    return Production(
        urls=urls,
        dagster_home=dagster_home,
        warehouse_path=root / "warehouse" / "f1.duckdb",
        serving_dir=root / "serving",
        artifact_location=artifact_location,
        cli_pid=process.pid,
    )


@pytest.fixture
def instance(production, monkeypatch) -> Iterator[dg.DagsterInstance]:
    """The Dagster instance the run used, opened as the webserver would: the same dagster.yaml and URL."""
    monkeypatch.setenv("DAGSTER_HOME", str(production.dagster_home))
    monkeypatch.setenv(DAGSTER_POSTGRES_URL_ENV, with_psycopg2_driver(production.urls["dagster"]))
    with dg.DagsterInstance.get() as instance:
        yield instance


def test_the_run_is_recorded_a_success_in_dagster_storage_on_postgresql(production):
    with psycopg2.connect(production.urls["dagster"]) as connection, connection.cursor() as cursor:
        cursor.execute("select run_id, pipeline_name, status from runs")
        runs = cursor.fetchall()
        assert [(name, status) for _, name, status in runs] == [("main", "SUCCESS")], runs
        cursor.execute(
            "select count(*) from event_logs where run_id = %s and dagster_event_type = 'STEP_FAILURE'", (runs[0][0],)
        )
        assert cursor.fetchone()[0] == 0
    assert not (production.dagster_home / "history" / "runs.db").exists(), "no SQLite run storage beside it"


def test_every_step_ran_in_its_own_process_under_the_multiprocess_executor(production, instance):
    [run] = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.tags["dagster/asset_partition_range_start"] == FIRST_SEASON
    assert run.tags["dagster/asset_partition_range_end"] == LAST_SEASON
    records = instance.all_logs(run.run_id)
    engine_messages = [
        record.dagster_event.message or ""
        for record in records
        if record.dagster_event and record.dagster_event.event_type == dg.DagsterEventType.ENGINE_EVENT
    ]
    assert any("multiprocess executor" in message for message in engine_messages), engine_messages
    starts = {
        record.dagster_event.step_key: record.dagster_event.pid
        for record in records
        if record.dagster_event and record.dagster_event.event_type == dg.DagsterEventType.STEP_START
    }
    successes = {
        record.dagster_event.step_key
        for record in records
        if record.dagster_event and record.dagster_event.event_type == dg.DagsterEventType.STEP_SUCCESS
    }
    assert len(starts) > 1 and set(starts) == successes
    assert production.cli_pid not in starts.values(), "no step ran in the CLI's own process"
    assert len(set(starts.values())) == len(starts), f"steps sharing a process: {starts}"


def mlflow_client(production: Production) -> MlflowClient:
    """Both URIs explicit: a client without a registry URI reads MLflow's process-wide one, which an earlier test
    of the session may have pointed at its own SQLite registry."""
    url = with_psycopg2_driver(production.urls["mlflow"])
    return MlflowClient(tracking_uri=url, registry_uri=url)


def test_the_champion_is_in_the_mlflow_registry_on_postgresql(production):
    with psycopg2.connect(production.urls["mlflow"]) as connection, connection.cursor() as cursor:
        cursor.execute("select name, alias, version from registered_model_aliases")
        [(name, alias, version)] = cursor.fetchall()
    assert (name, alias) == (MODEL_NAME, CHAMPION)
    client = mlflow_client(production)
    champion = client.get_model_version_by_alias(MODEL_NAME, CHAMPION)
    assert int(champion.version) == version
    run = client.get_run(champion.run_id)
    assert run.info.status == "FINISHED"
    assert run.info.artifact_uri.startswith(production.artifact_location), "artifacts where F1_MLFLOW_... said"


def test_the_optuna_studies_are_on_postgresql(production):
    summaries = optuna.get_all_study_summaries(storage=with_psycopg2_driver(production.urls["optuna"]))
    families = ("random_forest", "xgboost", "conditional_logit", "plackett_luce")
    modes = ("pre_qualifying", "post_qualifying")
    assert sorted(summary.study_name.split("-")[:2] for summary in summaries) == sorted(
        [family, mode] for family in families for mode in modes
    )
    assert all(summary.n_trials == QUICK_TRAINING["tuning_trials"] for summary in summaries)
    assert all(summary.best_trial is not None for summary in summaries)
    logged = Warehouse(production.warehouse_path, read_only=True).read(TUNING_STUDIES)
    assert set(logged["study_name"]) == {summary.study_name for summary in summaries}


def test_the_api_serves_the_champion_from_postgresql_with_users_there_and_limits_in_redis(production, redis_url):
    champion = mlflow_client(production).get_model_version_by_alias(MODEL_NAME, CHAMPION)
    settings = ApiSettings(
        environment="production",
        secret_key=secrets.token_urlsafe(48),
        mlflow_tracking_uri=production.urls["mlflow"],
        mlflow_artifact_location=production.artifact_location,
        serving_dir=production.serving_dir,
        users_database_url=production.urls["users"],
        redis_url=redis_url,
        refresh_seconds=3600,
    )
    with TestClient(create_app(settings)) as client:
        ready = client.get(PREFIX + "/health/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json()["model_version"] == str(champion.version) and ready.json()["degraded"] == []

        headers = bearer(register(client))
        me = client.get(PREFIX + "/users/me", headers=headers).json()

        next_race = client.get(PREFIX + "/predictions/next-race", headers=headers)
        assert next_race.status_code == 200, next_race.text
        body = next_race.json()
        assert body["season"] == int(LAST_SEASON)
        assert sum(row["probability"] for row in body["predictions"]) == pytest.approx(1.0)
        assert body["model_version"] == str(champion.version)
        for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
            assert name in next_race.headers, name
        assert "x-serving-degraded" not in next_race.headers

        model = client.get(PREFIX + "/model", headers=headers)
        assert model.status_code == 200, model.text
        assert (model.json()["name"], model.json()["version"]) == (MODEL_NAME, str(champion.version))
        assert model.json()["published_by_version"] == str(champion.version)

    counted = redis.Redis.from_url(redis_url).keys(f"f1:ratelimit:user:{me['id']}:*")
    assert counted, "the user's requests were counted in Redis"
    with psycopg2.connect(production.urls["users"]) as connection, connection.cursor() as cursor:
        cursor.execute("select email from users")
        assert cursor.fetchall() == [(me["email"],)]
