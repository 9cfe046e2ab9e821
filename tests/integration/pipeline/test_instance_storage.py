"""The laptop's instance files: `dagster_home/dagster.yaml` keeps runs in SQLite under DAGSTER_HOME, and
`dagster_home/postgres/dagster.yaml`, chosen by pointing DAGSTER_HOME at its folder, on the real PostgreSQL."""

import shutil
from collections.abc import Callable
from pathlib import Path

import dagster as dg
import psycopg2
import pytest
import yaml

from f1_pipeline.database_urls import DAGSTER_POSTGRES_URL_ENV, with_psycopg2_driver
from f1_pipeline.settings import REPO_ROOT
from tests.conftest import run_job

SQLITE_INSTANCE = REPO_ROOT / "dagster_home" / "dagster.yaml"
POSTGRES_INSTANCE = REPO_ROOT / "dagster_home" / "postgres" / "dagster.yaml"
STORED = ("raw_races", "raw_results")
"""Two raw assets of one season and their checks: what a run records, and where, is the subject here."""


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Callable[[Path], Path]:
    """DAGSTER_HOME set to a fresh folder holding a copy of the given instance file."""

    def home_with(instance_file: Path) -> Path:
        home = tmp_path / "dagster_home"
        home.mkdir()
        shutil.copy(instance_file, home / "dagster.yaml")
        monkeypatch.setenv("DAGSTER_HOME", str(home))
        return home

    return home_with


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg2://u@h:5432/db"),
        ("postgres://u@h/db", "postgresql+psycopg2://u@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg2://u@h/db"),
    ],
)
def test_urls_name_the_driver_dagster_postgres_runs_on(url, expected):
    assert with_psycopg2_driver(url) == expected


def test_the_two_instance_files_differ_only_in_their_storage():
    sqlite, postgres = (yaml.safe_load(path.read_text()) for path in (SQLITE_INSTANCE, POSTGRES_INSTANCE))
    assert sqlite.pop("storage") == {"sqlite": {"base_dir": {"env": "DAGSTER_HOME"}}}
    assert postgres.pop("storage") == {"postgres": {"postgres_url": {"env": DAGSTER_POSTGRES_URL_ENV}}}
    assert sqlite == postgres


def test_sqlite_storage_under_dagster_home_whatever_the_postgresql_variable_says(
    dagster_home, settings_for, monkeypatch
):
    home = dagster_home(SQLITE_INSTANCE)
    monkeypatch.setenv(DAGSTER_POSTGRES_URL_ENV, "postgresql+psycopg2://nobody@127.0.0.1:1/nothing")
    with dg.DagsterInstance.get() as instance:
        result = run_job(settings_for(), "2021", "2021", instance=instance, assets=STORED)
        assert result.success
        assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
    assert (home / "history" / "runs.db").exists()


@pytest.mark.postgres
def test_a_run_is_recorded_in_dagster_storage_on_the_real_postgresql(
    dagster_home, settings_for, postgres_database, monkeypatch
):
    home = dagster_home(POSTGRES_INSTANCE)
    monkeypatch.setenv(DAGSTER_POSTGRES_URL_ENV, with_psycopg2_driver(postgres_database))
    with dg.DagsterInstance.get() as instance:
        result = run_job(settings_for(), "2021", "2021", instance=instance, assets=STORED)
        assert result.success

    assert not (home / "history" / "runs.db").exists()
    with psycopg2.connect(postgres_database) as connection, connection.cursor() as cursor:
        cursor.execute("select run_id, status from runs")
        assert cursor.fetchall() == [(result.run_id, "SUCCESS")]
        cursor.execute(
            "select count(*) from event_logs where run_id = %s and dagster_event_type = 'ASSET_MATERIALIZATION'",
            (result.run_id,),
        )
        assert cursor.fetchone()[0] == len(STORED)
        cursor.execute(
            "select count(*) from asset_check_executions where run_id = %s and execution_status = %s",
            (result.run_id, "SUCCEEDED"),
        )
        assert cursor.fetchone()[0] == len(result.get_asset_check_evaluations())
