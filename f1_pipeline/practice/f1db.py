"""The live practice source: F1DB's own data files, read from its repository as they are committed.

Why F1DB's repository files rather than OpenF1 or F1DB's release archives:

- They are the files the bundled copy was built from, so live rows mean what bundled rows mean (the official
  classification: each driver's best lap, position, laps run, drivers not classified) and carry the same ids
  through one map.
- F1DB commits each session's classification during the race weekend; its releases (CSV/JSON archives) come out
  after the race, too late for a prediction made before qualifying.
- OpenF1 serves laps, from 2023 only: the best lap would have to be recomputed (deleted laps included), car
  numbers mapped to drivers through results that a reserve driver in first practice does not have, and meetings
  matched to rounds by date.

A season is one listing of its race folders (GitHub's contents API, `{listing_url}/{season}/races`) and one
YAML file per session (`{files_url}/{season}/races/{NN-name}/free-practice-1-results.yml`, ...). A session not
held, or not yet published, answers 404 and has no rows. Requests go through the shared HTTP source: a
shared throttle, retries of 429, 5xx and timeouts with exponential backoff or the server's `Retry-After` (GitHub's
rate-limit headers count as one), and typed errors that name the URL.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Unpack, cast

import httpx
import polars as pl
import yaml

from f1_pipeline.cleaning.timing import clock_seconds
from f1_pipeline.ergast.errors import ERGAST_ERRORS, ErgastHTTPError, MalformedPageError
from f1_pipeline.http_source.client import Connection, HttpSource, parse_retry_after
from f1_pipeline.practice.ids import ErgastIds
from f1_pipeline.practice.raw import RAW_COLUMNS, RAW_SCHEMA, PracticeBatch, SeasonFetch

F1DB_LISTING_URL = "https://api.github.com/repos/f1db/f1db/contents/src/data/seasons"
F1DB_FILES_URL = "https://raw.githubusercontent.com/f1db/f1db/main/src/data/seasons"
SESSION_FILES = {
    "fp1": "free-practice-1-results.yml",
    "fp2": "free-practice-2-results.yml",
    "fp3": "free-practice-3-results.yml",
    "fp4": "free-practice-4-results.yml",
    "sq": "sprint-qualifying-results.yml",
}
_RACE_FOLDER = re.compile(r"^(?P<round>\d{1,2})-[a-z0-9-]+$")
_SEASON_FOLDER = re.compile(r"^\d{4}$")
_REQUIRED = ("position", "driverId", "constructorId")
_YAML_NULLS = ("", "~", "null", "Null", "NULL")


@dataclass(frozen=True)
class RaceFolder:
    round: int
    name: str


def server_wait(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asks to wait: `Retry-After`, or GitHub's spent budget (`X-RateLimit-Remaining: 0`)
    until `X-RateLimit-Reset` (epoch seconds)."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
    if retry_after is not None:
        return retry_after
    reset = response.headers.get("X-RateLimit-Reset", "")
    if response.headers.get("X-RateLimit-Remaining") == "0" and reset.isdigit():
        return max(0.0, int(reset) - (time.time() if now is None else now))
    return None


def _retryable(response: httpx.Response) -> bool:
    """429 and 5xx, and GitHub's 403 that carries a wait (its rate limits); any other 403 is a refusal."""
    limited = response.status_code == 403 and server_wait(response) is not None
    return response.status_code == 429 or response.status_code >= 500 or limited


class F1dbClient(HttpSource):
    """Practice results of whole seasons from F1DB's repository; use as `async with F1dbClient(...) as f1db`."""

    def __init__(
        self,
        listing_url: str = F1DB_LISTING_URL,
        files_url: str = F1DB_FILES_URL,
        *,
        ids: ErgastIds | None = None,
        **connection: Unpack[Connection],
    ) -> None:
        self.listing_url = listing_url.rstrip("/")
        self.files_url = files_url.rstrip("/")
        self._ids = ids or ErgastIds.load()
        super().__init__(
            ERGAST_ERRORS, follow_redirects=True, retryable=_retryable, server_wait=server_wait, **connection
        )

    async def season(self, season: str) -> tuple[pl.DataFrame, SeasonFetch]:
        """Every practice and sprint-qualifying row of `season` in the raw layout, and where it came from."""
        listing = f"{self.listing_url}/{season}/races"
        folders, requests = await self._race_folders(season, listing)
        files = [
            (folder, session, f"{self.files_url}/{season}/races/{folder.name}/{name}")
            for folder in folders
            for session, name in SESSION_FILES.items()
        ]
        texts = await asyncio.gather(*(self._text(url) for _, _, url in files))
        rows = [
            row
            for (folder, session, url), text in zip(files, texts, strict=True)
            if text is not None
            for row in session_rows(url, text, season, folder.round, session, self._ids)
        ]
        return raw_frame(rows), SeasonFetch(season, listing, requests + len(files))

    async def _race_folders(self, season: str, listing: str) -> tuple[list[RaceFolder], int]:
        """The season's race folders by round, and how many listings that took."""
        body = await self._json(listing)
        if body is None:
            await self._no_season_folder(season, listing)
            return [], 2
        folders = [_race_folder(listing, entry) for entry in _entries(listing, body) if entry.get("type") == "dir"]
        rounds = [folder.round for folder in folders]
        if len(set(rounds)) != len(rounds):
            raise MalformedPageError(listing, f"two race folders share a round: {sorted(rounds)}")
        return sorted(folders, key=lambda folder: folder.round), 1

    async def _no_season_folder(self, season: str, listing: str) -> None:
        """A season F1DB does not have yet (or no longer covers) has no practice; a hole inside its seasons, or a
        listing with no seasons at all (a mistyped URL), is an error: read as "no practice", it would empty that
        season's partition."""
        body = await self._json(self.listing_url)
        seasons = sorted(
            int(entry["name"])
            for entry in _entries(self.listing_url, body or [])
            if _SEASON_FOLDER.match(str(entry.get("name")))
        )
        if not seasons:
            raise MalformedPageError(self.listing_url, "the listing holds no season folders")
        if seasons[0] <= int(season) <= seasons[-1] and int(season) not in seasons:
            raise ErgastHTTPError(listing, 404, 1, f"F1DB has no folder for season {season}")

    async def _json(self, url: str) -> Any:
        response = await self._get(url)
        return None if response is None else self.json_body(url, response, "the listing")

    async def _text(self, url: str) -> str | None:
        response = await self._get(url)
        return None if response is None else response.text

    async def _get(self, url: str) -> httpx.Response | None:
        """The answer after the retries it deserves; None for a 404 (a session or season not there)."""
        try:
            return await self.get(url)
        except ErgastHTTPError as error:
            if error.status_code == 404:
                return None
            raise


def _entries(url: str, body: Any) -> list[Mapping[str, Any]]:
    if not isinstance(body, list) or not all(isinstance(entry, dict) for entry in body):
        raise MalformedPageError(url, "the listing is not a list of folder entries")
    return body


def _race_folder(url: str, entry: Mapping[str, Any]) -> RaceFolder:
    match = _RACE_FOLDER.match(str(entry.get("name")))
    if match is None:
        raise MalformedPageError(url, f"race folder {entry.get('name')!r} is not named <round>-<grand prix>")
    return RaceFolder(int(match["round"]), match[0])


def session_rows(
    url: str, text: str, season: str, round_: int, session: str, ids: ErgastIds
) -> list[dict[str, str | None]]:
    """One session file's classification as raw rows, in the file's order, with Ergast ids.

    Every scalar is read as text (YAML's base loader): an unquoted `1:32.869` would otherwise become a number of
    seconds in base 60, and the raw layer keeps the source's spelling anyway.
    """
    try:
        entries = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as error:
        raise MalformedPageError(url, f"the session file is not YAML: {error}") from error
    if entries is None:  # F1DB keeps an empty file for a session without a classification
        return []
    if not isinstance(entries, list):
        raise MalformedPageError(url, "the session file is not a list of results")
    rows = []
    for number, entry in enumerate(entries, start=1):
        if not isinstance(entry, dict):
            raise MalformedPageError(url, f"result {number} is not a mapping")
        values = {key: _scalar(url, number, key, value) for key, value in entry.items()}
        missing = [key for key in _REQUIRED if not values.get(key)]
        if missing:
            raise MalformedPageError(url, f"result {number} lacks {', '.join(missing)}")
        rows.append(
            {
                "season": season,
                "round": str(round_),
                "session": session,
                "position": values["position"],
                "driver_id": ids.driver(cast(str, values["driverId"])),  # required: checked above
                "constructor_id": ids.constructor(
                    cast(str, values["constructorId"]), values.get("engineManufacturerId"), season
                ),
                "time": values.get("time"),
                "gap": values.get("gap"),
                "laps": values.get("laps"),
            }
        )
    return rows


def _scalar(url: str, number: int, key: str, value: Any) -> str | None:
    """The value's text; None for YAML's spellings of null (F1DB leaves the value blank)."""
    if not isinstance(value, str):
        raise MalformedPageError(url, f"result {number}: {key} is not a single value")
    text = value.strip()
    return None if text in _YAML_NULLS else text


def raw_frame(rows: Sequence[Mapping[str, str | None]]) -> pl.DataFrame:
    """Rows in the raw layout; `time_seconds` from `time`, as the bundled file states it (text, 3 decimals)."""
    frame = pl.DataFrame(list(rows), schema={name: pl.String for name in RAW_COLUMNS if name != "time_seconds"})
    seconds = clock_seconds("time").round(3).cast(pl.String)
    return frame.with_columns(time_seconds=seconds).select(RAW_COLUMNS).cast(RAW_SCHEMA)


async def fetch_seasons(client: F1dbClient, seasons: Sequence[str]) -> PracticeBatch:
    """Every season's rows; any failed or malformed answer fails the whole batch."""
    async with client:
        fetched = await asyncio.gather(*(client.season(season) for season in seasons))
    return PracticeBatch(
        frame=pl.concat([raw_frame([]), *(frame for frame, _ in fetched)]),
        fetched=[where for _, where in fetched],
    )
