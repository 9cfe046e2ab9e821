"""The serving data broken and restored under a running API: a snapshot that does not match its declared schema,
a champion that cannot score the published features, the registry database truncated then restored by `mv` or
`cp`. Each time the last good data stays in service, every channel says so (`X-Serving-Degraded`, `/model`,
readiness), `refreshed_at` stays at the last refresh that succeeded, and a repaired source is picked up by the
next refresh."""

import os
import shutil

import polars as pl
import pytest
from fastapi.testclient import TestClient

from f1_pipeline.publication import Publication, PublicationInvalidError, publish, read_publication
from f1_pipeline.serving_tables import VALUE_RULES
from f1_serving.served.serving_state import (
    PUBLICATION_DEGRADED,
    PUBLICATION_INVALID,
    REGISTRY_DEGRADED,
    SCORING_DEGRADED,
)
from tests.api_support import champion_as_a_new_version, refresh

PREFIX = "/api/v1"


def _republish(settings, old: Publication, **changes: pl.DataFrame) -> str:
    """`old`'s tables with `changes` published as the current snapshot."""
    manifest = publish(
        settings.serving_dir,
        {**old.tables, **changes},
        model_name=old.manifest.model_name,
        model_version=old.manifest.model_version,
    )
    return manifest.snapshot_id


def _assert_degraded(client: TestClient, headers: dict[str, str], source: str, ready_before: dict) -> None:
    """Every channel names the failed source; readiness stays 200 on the data served before."""
    answer = client.get(PREFIX + "/predictions/next-race", headers=headers)
    assert answer.status_code == 200 and answer.headers["x-serving-degraded"] == source
    assert client.get(PREFIX + "/model", headers=headers).json()["degraded"] == [source]
    ready = client.get(PREFIX + "/health/ready")
    assert ready.status_code == 200 and ready.headers["x-serving-degraded"] == source
    body = ready.json()
    assert body["degraded"] == [source] and body["ready"]
    assert (body["snapshot_id"], body["model_version"]) == (ready_before["snapshot_id"], ready_before["model_version"])
    assert body["refreshed_at"] == ready_before["refreshed_at"], "a failed refresh does not move refreshed_at"


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("results", lambda frame: frame.drop("points")),
        ("next_race", lambda frame: frame.with_columns(pl.col("probability").cast(pl.String))),
        ("calendar", lambda frame: frame.drop("is_next")),
    ],
    ids=["results-without-points", "probability-as-text", "calendar-without-is_next"],
)
def test_a_snapshot_that_breaks_its_schema_is_refused_and_the_last_good_one_served(own_copy, table, change):
    settings, client, headers = own_copy
    before = client.get(PREFIX + "/health/ready").json()
    good = read_publication(settings.serving_dir)
    bad = _republish(settings, good, **{table: change(good.tables[table])})
    refresh(client)
    _assert_degraded(client, headers, PUBLICATION_DEGRADED, before)
    assert bad != before["snapshot_id"]
    for path in ("/races/2025", "/export/results?season=2025", "/predictions/races/2025/1"):
        assert client.get(PREFIX + path, headers=headers).status_code == 200, path
    repaired = _republish(settings, good)  # the pipeline publishes a correct snapshot again
    refresh(client)
    ready = client.get(PREFIX + "/health/ready").json()
    assert ready["degraded"] == [] and ready["snapshot_id"] == repaired
    assert ready["refreshed_at"] > before["refreshed_at"]


def _first_row(column: str, value: object) -> pl.Expr:
    """`column` with `value` in the first row only: one bad value among good ones."""
    return pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)


@pytest.mark.parametrize(
    ("table", "change"),
    [
        ("next_race", _first_row("probability", 7.5)),
        ("next_race", _first_row("probability", float("nan"))),
        ("next_race", _first_row("driver_name", None)),
        ("calendar", _first_row("season", None)),
        ("calendar", _first_row("race_name", None)),
        ("results", _first_row("date", None)),
        ("championship_odds", _first_row("title_probability", -0.1)),
    ],
    ids=[
        "probability-7.5",
        "probability-nan",
        "null-driver-name",
        "null-season",
        "null-race-name",
        "null-date",
        "negative-title-odds",
    ],
)
def test_a_snapshot_with_forbidden_values_is_refused_and_the_last_good_one_served(own_copy, table, change):
    settings, client, headers = own_copy
    before = client.get(PREFIX + "/health/ready").json()
    served = client.get(PREFIX + "/predictions/next-race", headers=headers).json()
    good = read_publication(settings.serving_dir)
    broken = good.tables[table].with_columns(change)
    with pytest.raises(PublicationInvalidError, match=table):  # the pipeline's own publication refuses it
        publish(
            settings.serving_dir, {**good.tables, table: broken}, model_name="m", model_version="1", rules=VALUE_RULES
        )
    _republish(settings, good, **{table: broken})  # written by something that skipped the rules
    refresh(client)
    _assert_degraded(client, headers, PUBLICATION_INVALID, before)
    assert client.get(PREFIX + "/predictions/next-race", headers=headers).json() == served
    assert client.get("/", headers=headers).status_code == 200
    repaired = _republish(settings, good)
    refresh(client)
    ready = client.get(PREFIX + "/health/ready").json()
    assert ready["degraded"] == [] and ready["snapshot_id"] == repaired


def test_a_new_champion_that_cannot_score_the_published_features_keeps_the_last_good_predictions(own_copy):
    settings, client, headers = own_copy
    before = client.get(PREFIX + "/health/ready").json()
    served = client.get(PREFIX + "/predictions/next-race", headers=headers).json()
    good = read_publication(settings.serving_dir)
    _republish(
        settings, good, next_race_features=good.tables["next_race_features"].select("season", "round", "driver_id")
    )
    current, _ = champion_as_a_new_version(settings)
    refresh(client)
    _assert_degraded(client, headers, SCORING_DEGRADED, before)
    assert client.get(PREFIX + "/predictions/next-race", headers=headers).json() == served
    assert client.get(PREFIX + "/model", headers=headers).json()["version"] == str(current.version)


@pytest.mark.parametrize("restore", ["mv", "cp"])
def test_a_truncated_registry_is_flagged_and_its_restored_copy_picked_up_by_the_next_refresh(
    own_copy, tmp_path, restore
):
    _, client, headers = own_copy
    before = client.get(PREFIX + "/health/ready").json()
    database = tmp_path / "mlflow.db"
    backup = tmp_path / "mlflow.db.backup"
    shutil.copy(database, backup)
    with database.open("w"):  # truncated in place, as a failed disk or a careless command would
        pass
    for _ in range(2):  # the first refresh fails on the pooled connection, the next on a fresh one
        refresh(client)
        _assert_degraded(client, headers, REGISTRY_DEGRADED, before)
    if restore == "mv":
        os.replace(backup, database)
    else:
        shutil.copyfile(backup, database)
    refresh(client)
    ready = client.get(PREFIX + "/health/ready").json()
    assert ready["degraded"] == [] and ready["model_version"] == before["model_version"]
    assert "x-serving-degraded" not in client.get(PREFIX + "/predictions/next-race", headers=headers).headers
