"""Which races to ask Open-Meteo about, where, and for which hours.

A race's window runs from its start for `RACE_WINDOW_HOURS` (a Grand Prix is limited to two hours of running),
widened to whole hours. Completed races are asked from the archive once it covers them; the next race is asked
from the forecast once it is within the forecast's reach. Every other race is left alone, and a race that should
have weather but cannot (its circuit has no coordinates, the archive is not there yet) is listed with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Literal

import polars as pl

from f1_pipeline.weather.client import Location

Kind = Literal["observed", "forecast"]
OBSERVED: Kind = "observed"
FORECAST: Kind = "forecast"

RACE_WINDOW_HOURS = 2
DEFAULT_LOCAL_START_HOUR = 14
"""Races without a start time (most before 2005) are taken to start at 14:00 local mean solar time, i.e. 14:00 UTC
minus the circuit's longitude / 15 hours, to the nearest hour: the traditional afternoon start."""
ARCHIVE_DELAY_DAYS = 7
"""The archive trails real time by about five days; a week's margin keeps every request inside its range."""
FORECAST_DAYS = 16
"""The forecast reaches 16 days ahead, today included."""
FORECAST_PAST_DAYS = 92
"""The forecast API also serves the last 92 days (a next race whose results are late)."""


def race_windows(races: pl.DataFrame, circuits: pl.DataFrame) -> pl.DataFrame:
    """Every race with its circuit's coordinates, its start in UTC (`start_assumed` where the default hour stood
    in) and its window: whole hours from `window_start` to `window_end`, on the UTC days `start_date`..`end_date`."""
    hour = pl.duration(hours=1)
    assumed_start = pl.col("date").cast(pl.Datetime("us", "UTC")) + pl.duration(
        hours=(pl.lit(DEFAULT_LOCAL_START_HOUR) - pl.col("longitude") / 15).round(0).cast(pl.Int64)
    )
    end = pl.col("race_start") + pl.duration(hours=RACE_WINDOW_HOURS)
    return (
        races.join(circuits.select("circuit_id", "latitude", "longitude"), on="circuit_id", how="left")
        .with_columns(
            start_assumed=pl.col("starts_at").is_null(),
            race_start=pl.coalesce(pl.col("starts_at").dt.convert_time_zone("UTC"), assumed_start),
        )
        .with_columns(
            window_start=pl.col("race_start").dt.truncate("1h"),
            window_end=pl.when(end == end.dt.truncate("1h")).then(end).otherwise(end.dt.truncate("1h") + hour),
        )
        .with_columns(start_date=pl.col("window_start").dt.date(), end_date=pl.col("window_end").dt.date())
        .select(
            "season",
            "round",
            "circuit_id",
            "status",
            "is_next",
            "latitude",
            "longitude",
            "race_start",
            "start_assumed",
            "window_start",
            "window_end",
            "start_date",
            "end_date",
        )
    )


def plan(windows: pl.DataFrame, seasons: Sequence[int], today: date) -> pl.DataFrame:
    """The windows of `seasons` that want weather, each with `ask` (observed / forecast / null) and, where null,
    `skip_reason`."""
    archive_until = today - timedelta(days=ARCHIVE_DELAY_DAYS)
    forecast_from = today - timedelta(days=FORECAST_PAST_DAYS)
    forecast_until = today + timedelta(days=FORECAST_DAYS - 1)
    completed = pl.col("status") == "completed"
    upcoming = pl.col("is_next") & (pl.col("status") == "scheduled")
    located = pl.col("latitude").is_not_null() & pl.col("longitude").is_not_null()
    in_archive = pl.col("end_date") <= archive_until
    in_forecast = (pl.col("start_date") >= forecast_from) & (pl.col("end_date") <= forecast_until)
    return (
        windows.filter(pl.col("season").is_in(list(seasons)) & (completed | upcoming))
        .with_columns(
            ask=pl.when(located & completed & in_archive)
            .then(pl.lit(OBSERVED))
            .when(located & upcoming & in_forecast)
            .then(pl.lit(FORECAST)),
            skip_reason=pl.when(~located)
            .then(pl.format("circuit {} has no coordinates", pl.col("circuit_id")))
            .when(completed & ~in_archive)
            .then(pl.lit(f"the archive covers races until {archive_until}; asked again on a later run"))
            .when(upcoming & ~in_forecast)
            .then(pl.lit(f"the forecast covers {forecast_from} to {forecast_until}")),
        )
        .sort("season", "round")
    )


def locations(asked: pl.DataFrame) -> list[Location]:
    """The client's locations for planned rows, in their order (answers come back in the same order)."""
    return [
        Location(row["latitude"], row["longitude"], row["start_date"], row["end_date"])
        for row in asked.iter_rows(named=True)
    ]
