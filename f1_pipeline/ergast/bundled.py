"""An httpx transport that answers Ergast URLs from the bundled data, paging like the live API.

Offline mode therefore runs the same client, paging and parsing code as live mode: only the bytes
come from disk. The bundled data holds unpaged season files; this transport slices their rows by
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

BUNDLED_ERGAST = Path(str(resources.files("f1_pipeline") / "data" / "ergast"))

_ENDPOINTS = {endpoint.name: endpoint for endpoint in (SCHEDULE, RESULTS, QUALIFYING, SPRINT)}
_PATH = re.compile(r"/(?P<season>\d{4})(?:/(?P<round>\d{1,2}))?/(?P<endpoint>\w+)\.json$")


class BundledTransport(httpx.AsyncBaseTransport):
    """Serves `{base}/{season}[/{round}]/{races,results,qualifying,sprint}.json` from season files."""

    def __init__(self, bundled_dir: Path = BUNDLED_ERGAST, max_limit: int = MAX_PAGE_SIZE) -> None:
        self._dir = Path(bundled_dir)
        self._max_limit = max_limit
        self._files: dict[Path, Any] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        match = _PATH.search(request.url.path)
        endpoint = _ENDPOINTS.get(match["endpoint"]) if match else None
        if match is None or endpoint is None:
            return _error(404, f"the bundled data does not serve {request.url.path}")
        try:
            limit = min(int(request.url.params.get("limit", 30)), self._max_limit)
            offset = int(request.url.params.get("offset", 0))
        except ValueError:
            return _error(400, "limit and offset must be integers")
        if limit < 0 or offset < 0:
            return _error(400, "limit and offset must not be negative")
        path = self._dir / match["season"] / f"{endpoint.name}.json.gz"
        url = str(request.url.copy_with(query=None))
        if not path.exists():
            return self._missing(request, endpoint, match["season"], url)
        season_file = self._season(path)
        try:
            body = _page(season_file, endpoint, match["round"], limit, offset, url)
        except (KeyError, TypeError, AttributeError):
            # Not the Ergast layout: serve the file as it is, and let the client say what is wrong with it.
            return httpx.Response(200, content=_raw_bytes(path), headers={"content-type": "application/json"})
        return httpx.Response(200, json=body, request=request)

    def _missing(self, request: httpx.Request, endpoint: Endpoint, season: str, url: str) -> httpx.Response:
        """Outside the bundled seasons, an empty table, as the live API answers; inside, an error.

        A hole inside the range, or a folder with no seasons at all (a mistyped F1_BUNDLED_DIR), must not
        pass for a season without races: it would empty that season's partition.
        """
        seasons = sorted(int(child.name) for child in self._dir.glob("[0-9][0-9][0-9][0-9]") if child.is_dir())
        if not seasons:
            return _error(404, f"the bundled data folder {self._dir} holds no season folders")
        if seasons[0] <= int(season) <= seasons[-1]:
            return _error(404, f"the bundled data has no {endpoint.name} file for {season} in {self._dir}")
        return httpx.Response(200, json=_empty(endpoint, season, url), request=request)

    def _season(self, path: Path) -> Any:
        """The season file, parsed once per transport; None where it is not JSON at all."""
        if path not in self._files:
            try:
                self._files[path] = json.loads(_raw_bytes(path))
            except ValueError:
                self._files[path] = None
        return self._files[path]


def _raw_bytes(path: Path) -> bytes:
    """The file's bytes, un-gzipped when they are gzip (a corrupt archive is served as it is)."""
    data = path.read_bytes()
    try:
        return gzip.decompress(data)
    except (OSError, EOFError):
        return data


def _page(
    season_file: Any, endpoint: Endpoint, round_: str | None, limit: int, offset: int, url: str
) -> dict[str, Any]:
    races = season_file["MRData"][endpoint.table][endpoint.lists]
    if round_ is not None:
        races = [race for race in races if race.get("round") == str(int(round_))]
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


def _empty(endpoint: Endpoint, season: str, url: str) -> dict[str, Any]:
    table = {"season": season, endpoint.lists: []}
    return {
        "MRData": {
            "xmlns": "",
            "series": "f1",
            "url": url,
            "limit": "30",
            "offset": "0",
            "total": "0",
            endpoint.table: table,
        }
    }


def _error(status: int, message: str) -> httpx.Response:
    return httpx.Response(status, json={"detail": message})
