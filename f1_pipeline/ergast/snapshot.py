"""An httpx transport that answers Ergast URLs from the bundled snapshot, paging like the live API.

Offline mode therefore runs the same client, paging and parsing code as live mode: only the bytes
come from disk. The snapshot holds unpaged season files; this transport slices their rows by
`limit`/`offset` (capped at the live API's 100) and regroups them by race, as Jolpica does.
"""

from __future__ import annotations

import gzip
import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

import httpx

from f1_pipeline.ergast.client import MAX_PAGE_SIZE, QUALIFYING, RESULTS, SCHEDULE, SPRINT, Endpoint

BUNDLED_SNAPSHOT = Path(str(resources.files("f1_pipeline") / "data" / "ergast"))

_ENDPOINTS = {endpoint.name: endpoint for endpoint in (SCHEDULE, RESULTS, QUALIFYING, SPRINT)}
_PATH = re.compile(r"/(?P<season>\d{4})(?:/(?P<round>\d{1,2}))?/(?P<endpoint>\w+)\.json$")


class SnapshotTransport(httpx.AsyncBaseTransport):
    """Serves `{base}/{season}[/{round}]/{races,results,qualifying,sprint}.json` from season files."""

    def __init__(self, snapshot_dir: Path = BUNDLED_SNAPSHOT, max_limit: int = MAX_PAGE_SIZE) -> None:
        self._dir = Path(snapshot_dir)
        self._max_limit = max_limit
        self._seasons: dict[tuple[str, str], dict[str, Any]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        match = _PATH.search(request.url.path)
        endpoint = _ENDPOINTS.get(match["endpoint"]) if match else None
        if match is None or endpoint is None:
            return _error(404, f"the snapshot does not serve {request.url.path}")
        try:
            limit = min(int(request.url.params.get("limit", 30)), self._max_limit)
            offset = int(request.url.params.get("offset", 0))
        except ValueError:
            return _error(400, "limit and offset must be integers")
        if limit < 0 or offset < 0:
            return _error(400, "limit and offset must not be negative")
        season_file = self._season(match["season"], endpoint)
        if season_file is None:
            return _error(404, f"the snapshot has no {endpoint.name} file for {match['season']}")
        body = _page(season_file, endpoint, match["round"], limit, offset, str(request.url.copy_with(query=None)))
        return httpx.Response(200, json=body, request=request)

    def _season(self, season: str, endpoint: Endpoint) -> dict[str, Any] | None:
        """The season's file, parsed once per transport; None where the snapshot has no such season."""
        key = (season, endpoint.name)
        if key not in self._seasons:
            path = self._dir / season / f"{endpoint.name}.json.gz"
            if not path.exists():
                return None
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                self._seasons[key] = json.load(handle)
        return self._seasons[key]


def _page(
    season_file: dict[str, Any], endpoint: Endpoint, round_: str | None, limit: int, offset: int, url: str
) -> dict[str, Any]:
    races = season_file["MRData"][endpoint.table][endpoint.lists]
    if round_ is not None:
        races = [race for race in races if race.get("round") == round_]
    if endpoint.rows is None:
        page = races[offset : offset + limit]
        total = len(races)
    else:
        rows = [(race, row) for race in races for row in race[endpoint.rows]]
        total = len(rows)
        page = []
        for race, row in rows[offset : offset + limit]:
            if not page or page[-1]["round"] != race["round"]:
                page.append({**race, endpoint.rows: []})
            page[-1][endpoint.rows].append(row)
    table = {key: value for key, value in season_file["MRData"][endpoint.table].items() if key != endpoint.lists}
    if round_ is not None:
        table["round"] = round_
    return {
        "MRData": {
            **{key: value for key, value in season_file["MRData"].items() if key != endpoint.table},
            "url": url,
            "limit": str(limit),
            "offset": str(offset),
            "total": str(total),
            endpoint.table: {**table, endpoint.lists: page},
        }
    }


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": message})
