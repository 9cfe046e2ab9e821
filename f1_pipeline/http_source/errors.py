"""Typed errors that name the URL, so a failed fetch says which request to look at.

Each source (Ergast, Open-Meteo) has its own family of these kinds, so that its assets catch only their own
failures; the kinds and their messages are defined once, here.
"""

from __future__ import annotations

from dataclasses import dataclass


class SourceError(Exception):
    """Base class of everything a source client raises on purpose."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url


class SourceHTTPError(SourceError):
    """The server answered with an error status, after the retries it deserved; `detail` is what it said."""

    def __init__(self, url: str, status_code: int, attempts: int, detail: str | None = None) -> None:
        super().__init__(
            url, f"HTTP {status_code}: {detail}" if detail else f"HTTP {status_code} after {attempts} attempt(s)"
        )
        self.status_code = status_code
        self.attempts = attempts


class SourceRateLimitedError(SourceHTTPError):
    """The server asks to wait longer than the retry policy allows (e.g. an hourly budget is spent)."""

    def __init__(self, url: str, status_code: int, retry_after: float) -> None:
        detail = f"the server asks to wait {retry_after:.0f} s, longer than the retry policy allows; try again later"
        super().__init__(url, status_code, attempts=1, detail=detail)
        self.retry_after = retry_after


class SourceUnavailableError(SourceError):
    """The server could not be reached (timeouts, refused connections) after the last attempt."""


class MalformedAnswerError(SourceError):
    """An answer that is not in the source's layout."""


@dataclass(frozen=True)
class SourceErrors:
    """The classes one source raises for each kind of failure."""

    http: type[SourceHTTPError]
    rate_limited: type[SourceRateLimitedError]
    unavailable: type[SourceUnavailableError]
    malformed: type[MalformedAnswerError]
