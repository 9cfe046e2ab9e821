"""The Ergast source's errors: the shared kinds, marked as Ergast's so its assets catch only their own failures."""

from __future__ import annotations

from f1_pipeline.http_source.errors import (
    MalformedAnswerError,
    SourceError,
    SourceErrors,
    SourceHTTPError,
    SourceRateLimitedError,
    SourceUnavailableError,
)


class ErgastError(SourceError):
    """Base class of everything the Ergast (and F1DB practice) clients raise on purpose."""


class ErgastHTTPError(SourceHTTPError, ErgastError):
    """The server answered with an error status, after the retries it deserved."""


class ErgastRateLimitedError(SourceRateLimitedError, ErgastHTTPError):
    """The server asks to wait longer than the retry policy allows (e.g. the hourly budget is spent)."""


class ErgastUnavailableError(SourceUnavailableError, ErgastError):
    """The server could not be reached (timeouts, refused connections) after the last attempt."""


class MalformedPageError(MalformedAnswerError, ErgastError):
    """A page that is not the Ergast JSON layout: not JSON, no `MRData`, bad paging fields, missing rows."""


ERGAST_ERRORS = SourceErrors(ErgastHTTPError, ErgastRateLimitedError, ErgastUnavailableError, MalformedPageError)
