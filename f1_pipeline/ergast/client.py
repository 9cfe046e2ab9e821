"""Async client for the Ergast API as Jolpica serves it, live or from the bundled data.

Paging is driven by what each page says (`limit`, `offset`, `total`), never by what was asked for:
the server caps `limit`, and a race's rows may be split across two pages, so pages are merged by race.
Every page is validated, and a short read is an error rather than a silently smaller season.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Unpack

from f1_pipeline.ergast.errors import ERGAST_ERRORS, MalformedPageError
from f1_pipeline.http_source.client import Connection, HttpSource

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


class ErgastClient(HttpSource):
    """The Ergast API's season operations over one `httpx.AsyncClient`; use as
    `async with ErgastClient(...) as api`."""

    def __init__(
        self,
        base_url: str = JOLPICA_BASE_URL,
        *,
        page_size: int = MAX_PAGE_SIZE,
        **connection: Unpack[Connection],
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/"
        self._page_size = page_size
        super().__init__(ERGAST_ERRORS, **connection)

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
        response = await self.get(self.base_url + path, {"limit": self._page_size, "offset": offset})
        url = str(response.request.url)
        body = self.json_body(url, response, "page")
        if not isinstance(body, dict) or not isinstance(body.get("MRData"), dict):
            raise MalformedPageError(url, "page has no MRData object")
        return url, body["MRData"]


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
