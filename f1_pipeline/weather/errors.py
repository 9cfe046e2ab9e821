"""The Open-Meteo source's errors: the shared kinds, marked as weather's so its asset catches only its own failures."""

from __future__ import annotations

from f1_pipeline.http_source.errors import (
    MalformedAnswerError,
    SourceError,
    SourceErrors,
    SourceHTTPError,
    SourceRateLimitedError,
    SourceUnavailableError,
)


class WeatherError(SourceError):
    """Base class of everything the Open-Meteo client raises on purpose."""


class WeatherHTTPError(SourceHTTPError, WeatherError):
    """The server answered with an error status, after the retries it deserved; `detail` is its `reason`."""


class WeatherRateLimitedError(SourceRateLimitedError, WeatherHTTPError):
    """The server asks to wait longer than the retry policy allows (an hourly or daily budget is spent)."""


class WeatherUnavailableError(SourceUnavailableError, WeatherError):
    """The server could not be reached (timeouts, refused connections) after the last attempt."""


class MalformedWeatherError(MalformedAnswerError, WeatherError):
    """An answer that is not Open-Meteo's JSON layout: not JSON, wrong number of locations, ragged hourly arrays."""


WEATHER_ERRORS = SourceErrors(WeatherHTTPError, WeatherRateLimitedError, WeatherUnavailableError, MalformedWeatherError)
