"""The weather assets through the real job: offline by default (no request leaves the machine, and the metadata says
why the weather is null), and live against a local server that answers like Open-Meteo, fails and rate-limits,
with the clean table and the features compared to what that server served."""

import math
import socket
from collections.abc import Callable
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from f1_pipeline.definitions import build_definitions
from f1_pipeline.defs import weather as weather_defs
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import RACE_FEATURES, RACES, RAW_WEATHER, WEATHER
from f1_pipeline.weather.tables import WET_THRESHOLD_MM
from tests.conftest import run_job, warehouse_of
from tests.fake_open_meteo import FakeOpenMeteo, serving

TODAY = date(2026, 8, 20)
"""Three days before the bundled calendar's next race (2026 round 12, Zandvoort): within the forecast's reach."""


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    [event] = [event for event in result.asset_materializations_for_node(asset) if event.partition is None]
    return {key: value.value for key, value in event.metadata.items()}


def features(settings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    keys = [dg.AssetKey("elo_ratings"), dg.AssetKey("race_features")]
    return job.execute_in_process(instance=instance, asset_selection=keys, raise_on_error=False)


def test_offline_by_default_no_request_leaves_the_machine_and_the_metadata_says_why(settings_for, monkeypatch):
    def refuse(*args: object) -> None:
        raise AssertionError(f"a connection was attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    result = run_job(settings_for(), "2026", "2026")
    assert result.success
    assert warehouse_of(settings_for()).read(WEATHER).is_empty()
    assert "F1_WEATHER_SOURCE is none" in str(materialization(result, "weather")["reason"])
    [raw] = [event for event in result.asset_materializations_for_node("raw_weather")]
    assert "F1_WEATHER_SOURCE is none" in str(raw.metadata["reason"].value)


def open_meteo_settings(
    settings_for: Callable[..., PipelineSettings], root: str, **overrides: object
) -> PipelineSettings:
    """Settings reading the fake Open-Meteo at `root`, with step retries a thousand times faster than the default."""
    return settings_for(
        weather_source="open-meteo",
        open_meteo_archive_url=f"{root}/v1/archive",
        open_meteo_forecast_url=f"{root}/v1/forecast",
        retry_backoff_seconds=0.001,
        **overrides,
    )


def test_live_weather_from_a_flaky_server_fills_the_clean_table_and_the_features(settings_for, monkeypatch):
    monkeypatch.setattr(weather_defs, "utc_today", lambda: TODAY)
    app = FakeOpenMeteo(
        archive_until=TODAY - timedelta(days=5), fail_every=4, rate_limit_every=6, retry_after="0", forecast_offset=3.0
    )
    instance = dg.DagsterInstance.ephemeral()
    with serving(app) as root:
        settings = open_meteo_settings(
            settings_for,
            root,
            weather_batch_size=10,
            train_first_season=2025,
            validation_first_season=2026,
            backtest_first_season=2027,
        )
        ingested = run_job(settings, "2025", "2026", instance=instance)
    assert ingested.success
    assert features(settings, instance).success

    store = warehouse_of(settings)
    raw, table = store.read(RAW_WEATHER), store.read(WEATHER)
    completed = store.read(RACES).filter(pl.col("status") == "completed")
    assert table.filter(pl.col("kind") == "observed").height == completed.height == 35
    [forecast] = table.filter(pl.col("kind") == "forecast").iter_rows(named=True)
    assert (forecast["season"], forecast["round"]) == (2026, 12) and forecast["issued_at"] is not None

    hours = raw.filter(pl.col("time").is_between(pl.col("window_start"), pl.col("window_end")))
    for (season, round_), rows in hours.group_by("season", "round"):
        served = [
            FakeOpenMeteo.value("temperature_2m", row["grid_latitude"], row["grid_longitude"], row["time"])
            + (3.0 if row["kind"] == "forecast" else 0.0)
            for row in rows.iter_rows(named=True)
        ]
        clean = table.filter(season=int(season), round=round_).row(0, named=True)
        assert clean["air_temperature"] == pytest.approx(sum(served) / len(served), abs=0.051)  # served to 0.1
        assert clean["wet"] == (clean["precipitation"] >= WET_THRESHOLD_MM)
        assert clean["missing_hours"] == 0

    statuses = [status for _, _, status in app.requests]
    assert statuses.count(503) and statuses.count(429)  # the failures happened, and were retried
    archive = [params for path, params, status in app.requests if path == "/v1/archive" and status == 200]
    assert len(archive) == math.ceil(35 / 10)  # 10 races per request
    fetched = ingested.asset_materializations_for_node("raw_weather")[0].metadata
    assert (fetched["calls"].value, fetched["requests"].value) == (36, 5)  # 35 archive races in 4, 1 forecast

    rows = store.read(RACE_FEATURES)
    upcoming = rows.filter(pl.col("is_next"))
    assert upcoming["air_temperature"].unique().to_list() == [forecast["air_temperature"]]
    joined = rows.filter(~pl.col("is_next")).join(table, on=["season", "round"], suffix="_table")
    assert joined.height == rows.filter(~pl.col("is_next")).height
    assert (joined["air_temperature"] == joined["air_temperature_table"]).all()
    assert (joined["kind"] == "observed").all()


class CutOnce(FakeOpenMeteo):
    """Answers its first request with a body cut short, as a dropped connection through a proxy would."""

    def _answer(self, path: str, params: dict[str, list[str]], number: int):
        answer = super()._answer(path, params, number)
        if number == 1:
            return type(answer)(200, text=answer.text[:-40], headers={"content-type": "application/json"})
        return answer


def step_failures(result: dg.ExecuteInProcessResult) -> list[str]:
    return [str(event.step_failure_data.error) for event in result.all_events if event.is_step_failure]


def test_a_malformed_answer_fails_the_step_naming_the_url_and_its_retry_loads_the_season(settings_for, monkeypatch):
    monkeypatch.setattr(weather_defs, "utc_today", lambda: TODAY)
    app = CutOnce(archive_until=TODAY - timedelta(days=5))
    with serving(app) as root:
        settings = open_meteo_settings(
            settings_for,
            root,
        )
        result = run_job(settings, "2025", "2025")
    assert result.success
    [retry] = [event for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retry.step_key == "raw_weather"
    assert warehouse_of(settings).read(WEATHER).height == 24


def test_a_server_that_keeps_failing_ends_the_run_with_the_url(settings_for, monkeypatch):
    monkeypatch.setattr(weather_defs, "utc_today", lambda: TODAY)
    app = FakeOpenMeteo(fail_every=1)
    with serving(app) as root:
        settings = open_meteo_settings(
            settings_for,
            root,
            request_attempts=2,
        )
        result = run_job(settings, "2025", "2025")
    assert not result.success
    assert any(
        "WeatherHTTPError" in message
        and "HTTP 503 after 2 attempt(s)" in message
        and "/v1/archive?latitude=" in message
        for message in step_failures(result)
    )
    assert warehouse_of(settings).read(RACES).height == 24  # the other assets of the run are kept
