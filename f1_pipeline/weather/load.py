"""Fetch the planned races' weather: the archive for races that were run, the forecast for the next one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from f1_pipeline.ergast.ingest import run_blocking
from f1_pipeline.weather.client import OpenMeteoClient
from f1_pipeline.weather.tables import raw_rows
from f1_pipeline.weather.windows import FORECAST, OBSERVED, locations


@dataclass(frozen=True)
class WeatherBatch:
    frame: pl.DataFrame
    """Raw hourly rows of every race asked (see `tables.RAW_SCHEMA`)."""
    urls: list[str]
    fetched_at: datetime


async def fetch_planned(client: OpenMeteoClient, planned: pl.DataFrame) -> WeatherBatch:
    """The hourly rows of the races `planned` asks for; any failed or malformed answer fails the whole batch."""
    observed = planned.filter(pl.col("ask") == OBSERVED)
    forecast = planned.filter(pl.col("ask") == FORECAST)
    async with client:
        history = await client.archive(locations(observed)) if observed.height else []
        outlook = await client.forecast(locations(forecast)) if forecast.height else []
    fetched_at = datetime.now(UTC)
    frame = pl.concat(
        [raw_rows(history, observed, OBSERVED, fetched_at), raw_rows(outlook, forecast, FORECAST, fetched_at)]
    )
    return WeatherBatch(frame=frame, urls=[answer.url for answer in (*history, *outlook)], fetched_at=fetched_at)


def load_planned(client: OpenMeteoClient, planned: pl.DataFrame) -> WeatherBatch:
    """`fetch_planned` for synchronous callers (a Dagster asset, a notebook)."""
    return run_blocking(fetch_planned(client, planned))
