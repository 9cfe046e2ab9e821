"""The retried, throttled GET every live source makes, over one `httpx.AsyncClient`.

Every request first takes its weight from the shared throttle (retries too: the server counts them). A 429, a 5xx
or a transport failure is retried with exponential backoff, or after the wait the server asks for; a wait longer
than the policy allows (a spent hourly budget) ends the fetch at once rather than stalling the run. Every failure
raises the source's own typed error naming the URL. What differs between sources is a hook: which answers are worth
a retry, how the server says how long to wait, what an error body explains.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC
from typing import Any, Self, TypedDict

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from f1_pipeline.http_source.errors import SourceErrors
from f1_pipeline.http_source.throttle import Throttle

USER_AGENT = "f1-predict (+https://github.com/f1-predict)"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff for 429, 5xx and transport failures; `Retry-After` wins when the server sends it."""

    attempts: int = 5
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 120.0

    def wait(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_wait_seconds)
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_wait_seconds)


DEFAULT_RETRY = RetryPolicy()


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # the asctime form carries no zone; HTTP dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def retry_after(response: httpx.Response) -> float | None:
    """The wait a server asks for in its `Retry-After` header."""
    return parse_retry_after(response.headers.get("Retry-After"))


def overloaded(response: httpx.Response) -> bool:
    """429 and 5xx: the server may answer later."""
    return response.status_code == 429 or response.status_code >= 500


def no_detail(response: httpx.Response) -> str | None:
    """Most sources' error bodies say nothing the status does not."""
    return None


class _RetryableStatusError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


class Connection(TypedDict, total=False):
    """How a client reaches its server, as its constructor takes it (tests pass a transport, a throttle, a sleep)."""

    transport: httpx.AsyncBaseTransport | None
    throttle: Throttle | None
    retry: RetryPolicy
    timeout_seconds: float
    sleep: Callable[[float], Awaitable[None]]


class HttpSource:
    """A source's client over one `httpx.AsyncClient`, opened by `async with`; subclasses add its operations."""

    def __init__(
        self,
        errors: SourceErrors,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        throttle: Throttle | None = None,
        retry: RetryPolicy = DEFAULT_RETRY,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        follow_redirects: bool = False,
        retryable: Callable[[httpx.Response], bool] = overloaded,
        server_wait: Callable[[httpx.Response], float | None] = retry_after,
        error_detail: Callable[[httpx.Response], str | None] = no_detail,
    ) -> None:
        self.errors = errors
        self.retry = retry
        self._transport = transport
        self._throttle = throttle
        self._timeout = timeout_seconds
        self._sleep = sleep
        self._follow_redirects = follow_redirects
        self._retryable = retryable
        self._server_wait = server_wait
        self._error_detail = error_detail
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Self:
        self._http = httpx.AsyncClient(
            transport=self._transport,
            timeout=self._timeout,
            follow_redirects=self._follow_redirects,
            headers={"User-Agent": USER_AGENT},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def get(self, url: str, params: dict[str, Any] | None = None, *, weight: int = 1) -> httpx.Response:
        """The answer after the retries it deserves, each attempt charged `weight` calls; an error status raises."""
        if self._http is None:
            owner = type(self).__name__
            raise RuntimeError(f"{owner} must be used as 'async with {owner}(...) as client'")
        full_url = str(httpx.URL(url, params=params))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.retry.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableStatusError, httpx.TimeoutException, httpx.TransportError)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    await self._charge(weight)
                    response = await self._http.get(url, params=params)
                    if self._retryable(response):
                        self._refuse_long_waits(full_url, response)
                        raise _RetryableStatusError(response)
        except _RetryableStatusError as failure:
            raise self.errors.http(
                full_url, failure.response.status_code, self.retry.attempts, self._error_detail(failure.response)
            ) from failure
        except (httpx.TimeoutException, httpx.TransportError) as failure:
            raise self.errors.unavailable(
                full_url, f"{type(failure).__name__} after {self.retry.attempts} attempt(s): {failure}"
            ) from failure
        if response.is_error:
            raise self.errors.http(full_url, response.status_code, 1, self._error_detail(response))
        return response

    def json_body(self, url: str, response: httpx.Response, what: str) -> Any:
        """The answer's JSON body; `what` names it in the error when it is not JSON."""
        try:
            return response.json()
        except ValueError as error:
            raise self.errors.malformed(url, f"{what} is not JSON: {error}") from error

    async def _charge(self, weight: int) -> None:
        """Take `weight` calls from the throttle's windows, as the server will count them."""
        if self._throttle is not None:
            for _ in range(weight):
                await self._throttle.acquire()

    def _refuse_long_waits(self, url: str, response: httpx.Response) -> None:
        """A wait beyond the policy's longest (a spent hourly or daily budget) ends the fetch now."""
        wait = self._server_wait(response)
        if wait is not None and wait > self.retry.max_wait_seconds:
            raise self.errors.rate_limited(url, response.status_code, wait)

    def _wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        wait = self._server_wait(failure.response) if isinstance(failure, _RetryableStatusError) else None
        return self.retry.wait(state.attempt_number, wait)
