"""Async client for the Ergast API as Jolpica serves it, live or from the bundled snapshot.

Paging is driven by what each page says (`limit`, `offset`, `total`), never by what was asked for:
the server caps `limit`, and a race's rows may be split across two pages, so pages are merged by race.
Every page is validated, and a short read is an error rather than a silently smaller season.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from f1_pipeline.ergast.errors import (
    ErgastHTTPError,
    ErgastRateLimitedError,
    ErgastUnavailableError,
    MalformedPageError,
)
from f1_pipeline.ergast.throttle import Throttle

JOLPICA_BASE_URL = "https://api.jolpi.ca/ergast/f1"
MAX_PAGE_SIZE = 100


@dataclass(frozen=True)
class Endpoint:
    """Where an operation's rows sit in `MRData`: `MRData[table][lists][i][rows]`."""

    name: str
    table: str
    lists: str
    rows: str | None = None


SCHEDULE = Endpoint("races", "RaceTable", "Races")
RESULTS = Endpoint("results", "RaceTable", "Races", "Results")
QUALIFYING = Endpoint("qualifying", "RaceTable", "Races", "QualifyingResults")
SPRINT = Endpoint("sprint", "RaceTable", "Races", "SprintResults")
DRIVER_STANDINGS = Endpoint("driverStandings", "StandingsTable", "StandingsLists", "DriverStandings")
CONSTRUCTOR_STANDINGS = Endpoint("constructorStandings", "StandingsTable", "StandingsLists", "ConstructorStandings")


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


@dataclass
class Fetched:
    """One operation's merged pages: the API's list (races or standings lists) with every row in place."""

    endpoint: Endpoint
    url: str
    season: str
    total: int = 0
    pages: int = 0
    items: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rows(self) -> int:
        if self.endpoint.rows is None:
            return len(self.items)
        return sum(len(item[self.endpoint.rows]) for item in self.items)


class _RetryableStatusError(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


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


class ErgastClient:
    """The seed's operations over one `httpx.AsyncClient`; use as `async with ErgastClient(...) as api`."""

    def __init__(
        self,
        base_url: str = JOLPICA_BASE_URL,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        throttle: Throttle | None = None,
        retry: RetryPolicy = RetryPolicy(),
        page_size: int = MAX_PAGE_SIZE,
        timeout_seconds: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._transport = transport
        self._throttle = throttle
        self._retry = retry
        self._page_size = page_size
        self._timeout = timeout_seconds
        self._sleep = sleep
        self._http: httpx.AsyncClient | None = None

    async def __aenter__(self) -> ErgastClient:
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=self._transport,
            timeout=self._timeout,
            headers={"User-Agent": "f1-predict (+https://github.com/f1-predict)"},
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    async def schedule(self, season: int | str) -> Fetched:
        return await self.fetch(SCHEDULE, season)

    async def results(self, season: int | str, round_: int | str | None = None) -> Fetched:
        return await self.fetch(RESULTS, season, round_)

    async def qualifying(self, season: int | str, round_: int | str | None = None) -> Fetched:
        return await self.fetch(QUALIFYING, season, round_)

    async def sprint(self, season: int | str, round_: int | str | None = None) -> Fetched:
        return await self.fetch(SPRINT, season, round_)

    async def driver_standings(self, season: int | str, round_: int | str | None = None) -> Fetched:
        return await self.fetch(DRIVER_STANDINGS, season, round_)

    async def constructor_standings(self, season: int | str, round_: int | str | None = None) -> Fetched:
        return await self.fetch(CONSTRUCTOR_STANDINGS, season, round_)

    async def fetch(self, endpoint: Endpoint, season: int | str, round_: int | str | None = None) -> Fetched:
        """Every page of one endpoint, merged; raises if the pages do not add up to `total`."""
        path = f"{season}/{endpoint.name}.json" if round_ is None else f"{season}/{round_}/{endpoint.name}.json"
        url = self.base_url + path
        merged: dict[tuple[str, str], dict[str, Any]] = {}
        fetched = Fetched(endpoint=endpoint, url=url, season=str(season))
        offset = 0
        while True:
            page_url, mr_data = await self._page(path, offset)
            fetched.pages += 1
            total, page_offset = _paging(page_url, mr_data)
            if page_offset != offset:
                raise MalformedPageError(page_url, f"asked for offset {offset}, page says {page_offset}")
            if fetched.pages > 1 and total != fetched.total:
                raise MalformedPageError(page_url, f"total changed from {fetched.total} to {total} between pages")
            fetched.total = total
            received = _merge_page(page_url, mr_data, endpoint, merged, str(season))
            offset += received
            if offset >= total:
                break
            if received == 0:
                raise MalformedPageError(page_url, f"page is empty at offset {offset} but total is {total}")
        fetched.items = list(merged.values())
        if fetched.rows != fetched.total:
            raise MalformedPageError(url, f"pages held {fetched.rows} rows but total promised {fetched.total}")
        return fetched

    async def _page(self, path: str, offset: int) -> tuple[str, dict[str, Any]]:
        response = await self._get(path, {"limit": self._page_size, "offset": offset})
        url = str(response.request.url)
        try:
            body = response.json()
        except ValueError as error:
            raise MalformedPageError(url, f"page is not JSON: {error}") from error
        if not isinstance(body, dict) or not isinstance(body.get("MRData"), dict):
            raise MalformedPageError(url, "page has no MRData object")
        return url, body["MRData"]

    async def _get(self, path: str, params: dict[str, int]) -> httpx.Response:
        if self._http is None:
            raise RuntimeError("ErgastClient must be used as 'async with ErgastClient(...) as client'")
        url = str(httpx.URL(self.base_url + path, params=params))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._retry.attempts),
            wait=self._wait,
            retry=retry_if_exception_type((_RetryableStatusError, httpx.TimeoutException, httpx.TransportError)),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if self._throttle is not None:
                        await self._throttle.acquire()
                    response = await self._http.get(path, params=params)
                    if response.status_code == 429 or response.status_code >= 500:
                        self._refuse_long_waits(url, response)
                        raise _RetryableStatusError(response)
        except _RetryableStatusError as failure:
            raise ErgastHTTPError(url, failure.response.status_code, self._retry.attempts) from failure
        except (httpx.TimeoutException, httpx.TransportError) as failure:
            raise ErgastUnavailableError(
                url, f"{type(failure).__name__} after {self._retry.attempts} attempt(s): {failure}"
            ) from failure
        if response.is_error:
            raise ErgastHTTPError(url, response.status_code, 1)
        return response

    def _refuse_long_waits(self, url: str, response: httpx.Response) -> None:
        """A `Retry-After` beyond the policy's longest wait (an exhausted hourly budget) ends the fetch now."""
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None and retry_after > self._retry.max_wait_seconds:
            raise ErgastRateLimitedError(url, response.status_code, retry_after)

    def _wait(self, state: RetryCallState) -> float:
        failure = state.outcome.exception() if state.outcome else None
        retry_after = None
        if isinstance(failure, _RetryableStatusError):
            retry_after = parse_retry_after(failure.response.headers.get("Retry-After"))
        return self._retry.wait(state.attempt_number, retry_after)


def _paging(url: str, mr_data: dict[str, Any]) -> tuple[int, int]:
    try:
        return int(mr_data["total"]), int(mr_data["offset"])
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedPageError(url, f"MRData lacks a numeric total/offset: {error!r}") from error


def _merge_page(
    url: str,
    mr_data: dict[str, Any],
    endpoint: Endpoint,
    merged: dict[tuple[str, str], dict[str, Any]],
    season: str,
) -> int:
    """Fold one page into `merged` (keyed by season and round) and return how many rows it held.

    An entry of another season (or of none) is refused: stored under the asked-for season's partition
    it would never be replaced.
    """
    table = mr_data.get(endpoint.table)
    items = table.get(endpoint.lists) if isinstance(table, dict) else None
    if not isinstance(items, list):
        raise MalformedPageError(url, f"MRData has no {endpoint.table}.{endpoint.lists} list")
    received = 0
    for item in items:
        if not isinstance(item, dict):
            raise MalformedPageError(url, f"an entry of {endpoint.lists} is not an object")
        if str(item.get("season")) != season:
            raise MalformedPageError(
                url, f"an entry of {endpoint.lists} is of season {item.get('season')!r}, not {season}"
            )
        key = (season, str(item.get("round")))
        if endpoint.rows is None:
            merged[key] = item
            received += 1
            continue
        rows = item.get(endpoint.rows)
        if not isinstance(rows, list):
            raise MalformedPageError(url, f"an entry of {endpoint.lists} has no {endpoint.rows} list")
        if key in merged:
            merged[key][endpoint.rows].extend(rows)
        else:
            merged[key] = {**item, endpoint.rows: list(rows)}
        received += len(rows)
    return received
