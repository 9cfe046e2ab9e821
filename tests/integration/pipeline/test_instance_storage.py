"""`dagster_home/dagster.yaml`: SQLite by default, the real PostgreSQL when F1_DAGSTER_POSTGRES_URL is set."""

import shutil
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_pipeline.instance_storage import POSTGRES_URL_ENV
from f1_pipeline.settings import REPO_ROOT
from tests.conftest import run_job

STORED = ("raw_races", "raw_results")
"""Two raw assets of one season and their checks: what a run records, and where, is the subject here."""


@pytest.fixture
def dagster_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv(POSTGRES_URL_ENV, raising=False)
    return home


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


def test_sqlite_storage_under_dagster_home_by_default(dagster_home, settings_for):
    with dg.DagsterInstance.get() as instance:
        result = run_job(settings_for(), "2021", "2021", instance=instance, assets=STORED)
        assert result.success
        assert [run.status for run in instance.get_runs()] == [dg.DagsterRunStatus.SUCCESS]
    assert (dagster_home / "history" / "runs.db").exists()


@pytest.mark.postgres
def test_a_run_is_recorded_in_dagster_storage_on_the_real_postgresql(
    dagster_home, settings_for, postgres_database, monkeypatch
):
    monkeypatch.setenv(POSTGRES_URL_ENV, postgres_database)
    with dg.DagsterInstance.get() as instance:
        result = run_job(settings_for(), "2021", "2021", instance=instance, assets=STORED)
        assert result.success

    assert not (dagster_home / "history" / "runs.db").exists()
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
