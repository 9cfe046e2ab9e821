"""Typed errors that name the URL, so a failed weather fetch says which request to look at."""

from __future__ import annotations


class WeatherError(Exception):
    """Base class of everything the Open-Meteo client raises on purpose."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url


class WeatherHTTPError(WeatherError):
    """The server answered with an error status, after the retries it deserved; `detail` is its `reason`."""

    def __init__(self, url: str, status_code: int, attempts: int, detail: str | None = None) -> None:
        super().__init__(
            url, f"HTTP {status_code}: {detail}" if detail else f"HTTP {status_code} after {attempts} attempt(s)"
        )
        self.status_code = status_code
        self.attempts = attempts


class WeatherRateLimitedError(WeatherHTTPError):
    """The server asks to wait longer than the retry policy allows (an hourly or daily budget is spent)."""

    def __init__(self, url: str, status_code: int, retry_after: float) -> None:
        detail = f"the server asks to wait {retry_after:.0f} s, longer than the retry policy allows; try again later"
        super().__init__(url, status_code, attempts=1, detail=detail)
        self.retry_after = retry_after


class WeatherUnavailableError(WeatherError):
    """The server could not be reached (timeouts, refused connections) after the last attempt."""


class MalformedWeatherError(WeatherError):
    """An answer that is not Open-Meteo's JSON layout: not JSON, wrong number of locations, ragged hourly arrays."""
