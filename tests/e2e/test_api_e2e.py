"""The API over a real materialized pipeline (the session's `trained` graph, seasons 2012-2026): every endpoint as a
client uses it, checked against the published tables and the registry; a champion moved and data republished while
the server runs; the registry failing underneath it."""

import io
import subprocess
import sys

import duckdb
import polars as pl
import pytest
from mlflow import MlflowClient

from f1_pipeline.modeling.points import points_places
from f1_pipeline.publication import publish, read_publication
from f1_serving.served.serving_state import REGISTRY_DEGRADED
from tests.api_support import champion_as_a_new_version, refresh

PREFIX = "/api/v1"


@pytest.fixture(scope="module")
def published(pipeline):
    return read_publication(pipeline.serving_dir)


def _get(client, headers, path, **params):
    return client.get(PREFIX + path, headers=headers, params=params)


def test_ready_names_the_champion_and_the_snapshot(client, pipeline, published):
    champion = MlflowClient(
        pipeline.mlflow_tracking_uri, registry_uri=pipeline.mlflow_tracking_uri
    ).get_model_version_by_alias(pipeline.registered_model_name, "champion")
    ready = client.get(PREFIX + "/health/ready")
    assert ready.status_code == 200
    body = ready.json()
    assert body["ready"] and body["degraded"] == []
    assert body["model_version"] == str(champion.version)
    assert body["snapshot_id"] == published.manifest.snapshot_id
    assert client.get(PREFIX + "/health").json() == {"status": "ok"}


def test_next_race_is_every_entrant_ranked_summing_to_one_and_cached(client, headers, published):
    first = _get(client, headers, "/predictions/next-race")
    assert first.status_code == 200 and "x-cache" not in first.headers
    body = first.json()
    upcoming = published.tables["calendar"].filter(pl.col("is_next")).row(0, named=True)
    assert (body["season"], body["round"], body["race_name"]) == (2026, upcoming["round"], upcoming["race_name"])
    assert body["mode"] == "pre_qualifying", "no qualifying for the next race in the bundled data"
    probabilities = [row["probability"] for row in body["predictions"]]
    assert sum(probabilities) == pytest.approx(1.0)
    assert probabilities == sorted(probabilities, reverse=True)
    assert [row["rank"] for row in body["predictions"]] == list(range(1, len(probabilities) + 1))
    expected = published.tables["next_race"].filter(pl.col("mode") == "pre_qualifying")
    assert {row["driver_id"] for row in body["predictions"]} == set(expected["driver_id"])
    assert body["model_version"] == published.manifest.model_version
    second = _get(client, headers, "/predictions/next-race", mode="pre_qualifying")
    assert second.json() == body
    again = _get(client, headers, "/predictions/next-race")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]


def test_post_qualifying_before_qualifying_is_a_clear_404(client, headers):
    response = _get(client, headers, "/predictions/next-race", mode="post_qualifying")
    assert response.status_code == 404
    assert response.json()["error_code"] == "predictions_not_available"
    assert "qualifying" in response.json()["error"]


def test_a_backtested_race_has_the_walk_forward_prediction_and_its_winner(client, headers, published):
    response = _get(client, headers, "/predictions/races/2025/1", mode="post_qualifying")
    assert response.status_code == 200
    body = response.json()
    assert body["walk_forward"] and body["mode"] == "post_qualifying"
    assert sum(row["probability"] for row in body["predictions"]) == pytest.approx(1.0)
    winners = [row["driver_id"] for row in body["predictions"] if row["won"]]
    results = published.tables["results"].filter((pl.col("season") == 2025) & (pl.col("round") == 1))
    assert winners == results.filter(pl.col("position_order") == 1)["driver_id"].to_list()


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/predictions/races/2013/1", 404, "predictions_not_available"),
        ("/predictions/races/2025/39", 404, "race_not_found"),
        ("/predictions/races/2025/41", 422, "invalid_request"),
        ("/predictions/races/1949/1", 422, "invalid_request"),
        ("/predictions/races/abc/1", 422, "invalid_request"),
        ("/predictions/races/2025/1%3B%20DROP%20TABLE%20users", 422, "invalid_request"),
        ("/predictions/races/2025/1?mode=' OR 1=1 --", 422, "invalid_request"),
        ("/predictions/next-race?mode=<script>alert(1)</script>", 422, "invalid_request"),
        ("/races/2000", 404, "season_not_found"),
        ("/races/20210", 422, "invalid_request"),
        ("/races/..%2F..%2Fetc%2Fpasswd", 404, "not_found"),
        ("/analytics/rankings/drivers?season=2023&sort=points;drop", 422, "invalid_request"),
        ("/analytics/rankings/drivers?limit=0", 422, "invalid_request"),
        ("/analytics/accuracy/2013", 404, "season_not_found"),
        ("/export/results?format=../../etc/passwd", 422, "invalid_request"),
        ("/export/predictions?season=1e9", 422, "invalid_request"),
    ],
)
def test_bad_requests_get_a_4xx_envelope(client, headers, path, status, code):
    response = client.get(PREFIX + path, headers=headers)
    assert response.status_code == status, response.text
    assert response.json()["error_code"] == code


def test_the_calendar_has_every_race_with_its_winner(client, headers):
    body = _get(client, headers, "/races/2021").json()
    assert body["season"] == 2021 and len(body["races"]) == 22
    abu_dhabi = body["races"][-1]
    assert abu_dhabi["race_name"] == "Abu Dhabi Grand Prix" and abu_dhabi["winner_driver_id"] == "max_verstappen"
    next_race = [race for race in _get(client, headers, "/races/2026").json()["races"] if race["is_next"]]
    assert len(next_race) == 1 and "winner_driver_id" not in next_race[0], "no winner field before the race is run"


def test_accuracy_by_season_and_its_race_breakdown_match_the_scores(client, headers, published):
    scores = published.tables["prediction_accuracy"].filter(
        (pl.col("mode") == "post_qualifying") & (pl.col("season") == 2025)
    )
    summary = _get(client, headers, "/analytics/accuracy").json()
    season = next(row for row in summary["seasons"] if row["season"] == 2025)
    assert season["races"] == scores.height
    assert season["log_loss"] == pytest.approx(scores["log_loss"].mean())
    assert season["correct_winner_rate"] == pytest.approx(scores["correct_winner"].mean())
    detail = _get(client, headers, "/analytics/accuracy/2025", mode="pre_qualifying").json()
    assert detail["mode"] == "pre_qualifying" and len(detail["race_breakdown"]) == detail["races"] == scores.height
    predictions = published.tables["race_predictions"].filter(
        (pl.col("mode") == "post_qualifying") & pl.col("won").is_not_null()
    )
    outcomes = {row["outcome"]: row for row in summary["outcomes"]}
    assert set(outcomes) == {"win", "podium", "top6", "points", "not_classified", "teammate"}
    points = outcomes["points"]
    assert points["forecasts"] == predictions.height == sum(row["count"] for row in points["bins"])
    scored = sum(row["count"] * row["observed_rate"] for row in points["bins"])
    places = pl.col("season").map_elements(points_places, return_dtype=pl.Int64)
    assert scored == pytest.approx(predictions.filter(pl.col("finish_position") <= places).height)
    assert 0 < points["ece"] < 0.1 and points["driver_log_loss"] < 0.69
    assert 0 <= points["calibration_p_value"] <= 1
    assert all(row["band_low"] <= row["mean_probability"] <= row["band_high"] for row in points["bins"])
    assert {row["outcome"] for row in detail["outcomes"]} == set(outcomes)
    titles = {row["outcome"]: row for row in summary["title_outcomes"]}
    forecasts = published.tables["title_forecasts"]
    assert set(titles) == {"title_driver", "title_constructor"}
    assert titles["title_driver"]["forecasts"] == forecasts.filter(entity="driver").height


def test_rankings_order_drivers_and_teams_by_points_elo_or_wins(client, headers):
    drivers = _get(client, headers, "/analytics/rankings/drivers", season=2023).json()["drivers"]
    assert drivers[0]["driver_id"] == "max_verstappen" and drivers[0]["wins"] == 19 and drivers[0]["points_rank"] == 1
    by_elo = _get(client, headers, "/analytics/rankings/drivers", season=2023, sort="elo", limit=5).json()["drivers"]
    assert len(by_elo) == 5 and [row["elo"] for row in by_elo] == sorted((row["elo"] for row in by_elo), reverse=True)
    teams = _get(client, headers, "/analytics/rankings/teams", season=2023, sort="wins").json()["teams"]
    assert teams[0]["constructor_id"] == "red_bull" and teams[0]["wins"] == 21
    latest = _get(client, headers, "/analytics/rankings/drivers").json()
    assert latest["season"] == 2026


def test_exports_are_csv_or_json_downloads_of_the_published_rows(client, headers, published):
    csv = _get(client, headers, "/export/predictions", season=2025)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="f1-predictions-2025.csv"'
    rows = pl.read_csv(io.BytesIO(csv.content))
    expected = published.tables["race_predictions"].filter(pl.col("season") == 2025)
    assert rows.height == expected.height and set(rows["driver_id"]) == set(expected["driver_id"])
    results = _get(client, headers, "/export/results", season=2021, format="json")
    assert results.headers["content-disposition"] == 'attachment; filename="f1-results-2021.json"'
    winners = [row for row in results.json() if row["finish_position"] == 1]
    assert len(winners) == 22


def test_model_info_describes_the_resolved_champion(client, headers, pipeline):
    info = _get(client, headers, "/model").json()
    champion = MlflowClient(
        pipeline.mlflow_tracking_uri, registry_uri=pipeline.mlflow_tracking_uri
    ).get_model_version_by_alias(pipeline.registered_model_name, "champion")
    assert (info["name"], info["version"], info["alias"]) == (
        pipeline.registered_model_name,
        str(champion.version),
        "champion",
    )
    assert info["run_id"] == champion.run_id and info["trained_at"] is not None
    assert info["metrics"]["evaluation_log_loss"] > 0
    assert info["metrics"]["post_qualifying.elo_grid_logistic.log_loss"] > 0  # the baselines it was compared with
    assert set(info["families"]) == {"pre_qualifying", "post_qualifying"}


def test_the_api_answers_while_the_pipeline_holds_the_warehouse_for_writing(client, headers, pipeline):
    writer = duckdb.connect(str(pipeline.warehouse_path))
    try:
        assert _get(client, headers, "/predictions/races/2025/2").status_code == 200
    finally:
        writer.close()


def test_the_serving_package_never_imports_duckdb():
    code = "import sys, f1_serving.main, f1_serving.routes; print('duckdb' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_a_new_champion_is_served_without_a_restart(own_copy):
    settings, client, headers = own_copy
    before = _get(client, headers, "/predictions/next-race").json()
    _, promoted = champion_as_a_new_version(settings)
    refresh(client)
    assert client.app.state.runtime.state.problems == {}
    assert _get(client, headers, "/model").json()["version"] == str(promoted.version)
    after = _get(client, headers, "/predictions/next-race")
    body = after.json()
    assert body["model_version"] == str(promoted.version)
    assert {row["driver_id"]: row["probability"] for row in body["predictions"]} == pytest.approx(
        {row["driver_id"]: row["probability"] for row in before["predictions"]}
    ), "the same model files under a new version score the published features the same"
    by_driver = {row["driver_id"]: row for row in before["predictions"]}
    for row in body["predictions"]:
        for column in ("podium_probability", "top6_probability", "points_probability", "expected_position"):
            assert row[column] == pytest.approx(by_driver[row["driver_id"]][column]), column
        assert row["win_pct"] == round(100 * row["probability"], 1)
        assert [part["feature"] for part in row["top_contributions"]] == [
            part["feature"] for part in by_driver[row["driver_id"]]["top_contributions"]
        ], "re-scored by the new champion, the same contributions"
    assert sum(row["podium_probability"] for row in body["predictions"]) == pytest.approx(3.0)


def test_a_new_publication_is_served_and_the_cache_forgets_the_old_one(own_copy):
    settings, client, headers = own_copy
    assert _get(client, headers, "/predictions/races/2025/1").status_code == 200
    old = read_publication(settings.serving_dir)
    tables = dict(old.tables)
    tables["race_predictions"] = tables["race_predictions"].filter(
        ~((pl.col("season") == 2025) & (pl.col("round") == 1))
    )
    manifest = publish(
        settings.serving_dir, tables, model_name=old.manifest.model_name, model_version=old.manifest.model_version
    )
    assert manifest.snapshot_id != old.manifest.snapshot_id
    refresh(client)
    assert client.get(PREFIX + "/health/ready").json()["snapshot_id"] == manifest.snapshot_id
    assert _get(client, headers, "/predictions/races/2025/1").status_code == 404


def test_with_the_registry_down_the_last_good_champion_is_served_and_flagged(own_copy, tmp_path):
    _, client, headers = own_copy
    database = tmp_path / "mlflow.db"
    saved = database.read_bytes()
    database.write_bytes(b"this is not a database" * 100)
    try:
        refresh(client)
        response = _get(client, headers, "/predictions/next-race")
        assert response.status_code == 200 and response.headers["x-serving-degraded"] == REGISTRY_DEGRADED
        ready = client.get(PREFIX + "/health/ready").json()
        assert ready["ready"] and ready["degraded"] == [REGISTRY_DEGRADED] and REGISTRY_DEGRADED in ready["problems"]
        assert _get(client, headers, "/model").json()["degraded"] == [REGISTRY_DEGRADED]
    finally:
        database.write_bytes(saved)
    refresh(client)
    assert "x-serving-degraded" not in _get(client, headers, "/predictions/next-race").headers
