"""Typed errors that name the URL, so a failed ingestion says which page to look at."""

from __future__ import annotations


class ErgastError(Exception):
    """Base class of everything the client raises on purpose."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{message} ({url})")
        self.url = url


class ErgastHTTPError(ErgastError):
    """The server answered with an error status, after the retries it deserved."""

    def __init__(self, url: str, status_code: int, attempts: int, detail: str | None = None) -> None:
        super().__init__(
            url, f"HTTP {status_code}: {detail}" if detail else f"HTTP {status_code} after {attempts} attempt(s)"
        )
        self.status_code = status_code
        self.attempts = attempts


class ErgastRateLimitedError(ErgastHTTPError):
    """The server asks to wait longer than the retry policy allows (e.g. the hourly budget is spent)."""

    def __init__(self, url: str, status_code: int, retry_after: float) -> None:
        detail = f"the server asks to wait {retry_after:.0f} s, longer than the retry policy allows; try again later"
        super().__init__(url, status_code, attempts=1, detail=detail)
        self.retry_after = retry_after


class ErgastUnavailableError(ErgastError):
    """The server could not be reached (timeouts, refused connections) after the last attempt."""


class MalformedPageError(ErgastError):
    """A page that is not the Ergast JSON layout: not JSON, no `MRData`, bad paging fields, missing rows."""
