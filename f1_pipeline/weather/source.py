"""Where weather comes from: nowhere (the default, offline), Open-Meteo, or a user's CSV file."""

from __future__ import annotations

from typing import Literal

from f1_pipeline.http_source.client import RetryPolicy
from f1_pipeline.http_source.throttle import Throttle
from f1_pipeline.weather.client import OpenMeteoClient

WeatherSource = Literal["none", "open-meteo", "csv"]
NO_WEATHER_REASON = (
    "F1_WEATHER_SOURCE is none (the offline default): no weather is fetched and the weather features stay null; "
    "set F1_WEATHER_SOURCE=open-meteo to fetch it, or csv with F1_WEATHER_PATH to read your own"
)


def build_client(
    *,
    archive_url: str,
    forecast_url: str,
    batch_size: int,
    attempts: int,
    backoff_seconds: float,
    throttle: Throttle,
) -> OpenMeteoClient:
    """`throttle` is shared by every client of a run, so the daily budget holds across assets."""
    return OpenMeteoClient(
        archive_url,
        forecast_url,
        throttle=throttle,
        retry=RetryPolicy(attempts=attempts, backoff_seconds=backoff_seconds),
        batch_size=batch_size,
    )
