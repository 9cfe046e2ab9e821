"""Async client for Open-Meteo's historical archive and forecast: hourly weather at many places per request.

Open-Meteo takes comma-separated `latitude`, `longitude`, `start_date` and `end_date` lists (one entry per
location) and then answers a JSON list with one object per location, in the order asked; a single location is
answered with the object alone. Every answer is validated, so a short or ragged one is an error, not a silently
smaller table. The free API counts calls, not requests: each location counts at least one call (more for long
periods or many variables), so the throttle is charged each request's weight.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Unpack

import httpx

from f1_pipeline.http_source.client import Connection, HttpSource
from f1_pipeline.http_source.throttle import RateLimit
from f1_pipeline.weather.errors import WEATHER_ERRORS, MalformedWeatherError

ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"
FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
HOURLY_VARIABLES = ("temperature_2m", "precipitation", "rain", "relative_humidity_2m", "wind_speed_10m")
MAX_LOCATIONS = 100
"""Locations per request: Open-Meteo accepts up to 1,000, but 100 keep the URL near 5 KB, below common proxy limits."""
FREE_API_LIMITS = (RateLimit(600, 60.0), RateLimit(5_000, 3_600.0), RateLimit(10_000, 86_400.0))
"""The published limits of the free non-commercial API, in calls per minute, hour and day."""


@dataclass(frozen=True)
class Location:
    """One place and UTC day range to ask for (a race's circuit and the days its window touches)."""

    latitude: float
    longitude: float
    start_date: date
    end_date: date


@dataclass(frozen=True)
class HourlySeries:
    """One location's answer: the grid cell the server used and its hourly values, in UTC."""

    location: Location
    latitude: float
    longitude: float
    elevation: float | None
    times: list[datetime]
    values: dict[str, list[float | None]]


@dataclass(frozen=True)
class Answer:
    """One request: its URL and one series per location asked, in the same order."""

    url: str
    series: list[HourlySeries]


def call_weight(locations: Sequence[Location], variables: int = len(HOURLY_VARIABLES)) -> float:
    """API calls a request counts for, by Open-Meteo's published rule: per location, the larger of variables / 10
    and (days / 14) x (variables / 10), at least 1."""
    variable_share = variables / 10
    return sum(
        max(1.0, variable_share, ((location.end_date - location.start_date).days + 1) / 14 * variable_share)
        for location in locations
    )


class OpenMeteoClient(HttpSource):
    """The archive and forecast operations over one `httpx.AsyncClient`; use as `async with OpenMeteoClient(...)`."""

    def __init__(
        self,
        archive_url: str = ARCHIVE_URL,
        forecast_url: str = FORECAST_URL,
        *,
        batch_size: int = MAX_LOCATIONS,
        **connection: Unpack[Connection],
    ) -> None:
        self.archive_url = archive_url
        self.forecast_url = forecast_url
        self._batch_size = batch_size
        connection.setdefault("timeout_seconds", 60.0)
        super().__init__(WEATHER_ERRORS, error_detail=_reason, **connection)

    async def archive(self, locations: Sequence[Location]) -> list[Answer]:
        """Observed history (reanalysis), from 1940 to about five days ago."""
        return await self._fetch(self.archive_url, locations)

    async def forecast(self, locations: Sequence[Location]) -> list[Answer]:
        """The current forecast (up to 16 days ahead; its first hours cover the recent past)."""
        return await self._fetch(self.forecast_url, locations)

    async def _fetch(self, base_url: str, locations: Sequence[Location]) -> list[Answer]:
        """One request per batch, one after the other: the throttle paces them, the server sees no burst."""
        batches = [locations[i : i + self._batch_size] for i in range(0, len(locations), self._batch_size)]
        return [await self._request(base_url, batch) for batch in batches]

    async def _request(self, base_url: str, batch: Sequence[Location]) -> Answer:
        params = {
            "latitude": ",".join(f"{location.latitude:g}" for location in batch),
            "longitude": ",".join(f"{location.longitude:g}" for location in batch),
            "start_date": ",".join(location.start_date.isoformat() for location in batch),
            "end_date": ",".join(location.end_date.isoformat() for location in batch),
            "hourly": ",".join(HOURLY_VARIABLES),
            "timezone": "UTC",
            "wind_speed_unit": "ms",
        }
        response = await self.get(base_url, params, weight=math.ceil(call_weight(batch)))
        url = str(response.request.url)
        return Answer(url=url, series=parse_answer(url, self.json_body(url, response, "answer"), batch))


def _reason(response: httpx.Response) -> str | None:
    """Open-Meteo's error object is `{"error": true, "reason": "..."}`; other bodies say nothing useful."""
    try:
        body = response.json()
    except ValueError:
        return None
    return str(body["reason"]) if isinstance(body, dict) and "reason" in body else None


def parse_answer(url: str, body: Any, batch: Sequence[Location]) -> list[HourlySeries]:
    """One series per location asked, or `MalformedWeatherError` saying what is wrong with the answer."""
    items = [body] if isinstance(body, dict) and len(batch) == 1 else body
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise MalformedWeatherError(url, f"expected a list of {len(batch)} location object(s)")
    if len(items) != len(batch):
        raise MalformedWeatherError(url, f"asked for {len(batch)} location(s), the answer has {len(items)}")
    return [
        _series(url, item, location, number) for number, (item, location) in enumerate(zip(items, batch, strict=True))
    ]


def _series(url: str, item: dict[str, Any], location: Location, number: int) -> HourlySeries:
    where = f"location {number}"
    if item.get("utc_offset_seconds", 0) != 0:
        raise MalformedWeatherError(url, f"{where} is not in UTC (utc_offset_seconds {item['utc_offset_seconds']})")
    hourly = item.get("hourly")
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise MalformedWeatherError(url, f"{where} has no hourly.time list")
    try:
        times = [datetime.fromisoformat(stamp).replace(tzinfo=UTC) for stamp in hourly["time"]]
        latitude, longitude = float(item["latitude"]), float(item["longitude"])
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedWeatherError(url, f"{where} has an unreadable time or coordinate: {error!r}") from error
    values = {}
    for variable in HOURLY_VARIABLES:
        column = hourly.get(variable)
        if not isinstance(column, list) or len(column) != len(times):
            raise MalformedWeatherError(url, f"{where}: hourly.{variable} is missing or not one value per hour")
        if not all(
            value is None or (isinstance(value, int | float) and not isinstance(value, bool)) for value in column
        ):
            raise MalformedWeatherError(url, f"{where}: hourly.{variable} holds a value that is not a number")
        values[variable] = [None if value is None else float(value) for value in column]
    elevation = item.get("elevation")
    return HourlySeries(
        location=location,
        latitude=latitude,
        longitude=longitude,
        elevation=float(elevation) if isinstance(elevation, int | float) else None,
        times=times,
        values=values,
    )
