"""A local stand-in for F1DB's repository: season and race-folder listings, session files, scripted failures.

Session files are written in F1DB's YAML layout from the bundled copy (Ergast ids mapped back to F1DB's), so
a live fetch through this server must give back exactly the bundled rows. Used by the live-source tests, and by
hand to try the live practice source offline:

    python -m tests.fake_f1db --port 8766 --seasons 2024 2025 --fail-every 10
    F1_PRACTICE_SOURCE=live F1_PRACTICE_LISTING_URL=http://127.0.0.1:8766/api/seasons \
        F1_PRACTICE_FILES_URL=http://127.0.0.1:8766/raw/seasons make run SEASONS=2024...2025
"""

import argparse
import json
from collections.abc import Iterable, Sequence

import polars as pl
import uvicorn

from f1_pipeline.practice.bundled import read_bundled
from f1_pipeline.practice.f1db import SESSION_FILES
from f1_pipeline.practice.ids import F1DB_PREFIX, ErgastIds
from tests.local_server import Answer, FlakyServer

Seasons = dict[str, dict[str, dict[str, str]]]
"""season -> race folder ("01-grand-prix-1") -> session file name -> YAML text."""


class FakeF1db(FlakyServer):
    """An ASGI app: `/api/seasons[/{season}/races]` lists folders as GitHub's contents API does, and
    `/raw/seasons/{season}/races/{folder}/{file}` serves files. Every `fail_every`-th request answers 503, every
    `rate_limit_every`-th 429 with Retry-After."""

    def __init__(
        self, seasons: Seasons, fail_every: int = 0, rate_limit_every: int = 0, retry_after: str = "1"
    ) -> None:
        super().__init__(fail_every, rate_limit_every, retry_after)
        self.seasons = seasons

    async def answer(self, scope: dict) -> Answer:
        parts = scope["path"].strip("/").split("/")
        if parts[:2] == ["api", "seasons"]:
            return self._listing(parts[2:])
        if parts[:2] == ["raw", "seasons"] and len(parts) == 6 and parts[3] == "races":
            text = self.seasons.get(parts[2], {}).get(parts[4], {}).get(parts[5])
            if text is not None:
                return 200, [(b"content-type", b"text/plain; charset=utf-8")], text.encode()
        return 404, [(b"content-type", b"application/json")], b'{"message": "Not Found"}'

    def _listing(self, rest: list[str]) -> Answer:
        if not rest:
            names = list(self.seasons)
        elif len(rest) == 2 and rest[1] == "races" and rest[0] in self.seasons:
            names = list(self.seasons[rest[0]])
        else:
            return 404, [(b"content-type", b"application/json")], b'{"message": "Not Found"}'
        entries = [{"name": name, "type": "dir", "path": "/".join([*rest, name])} for name in sorted(names)]
        return 200, [(b"content-type", b"application/json")], json.dumps(entries).encode()


def folder(round_: int) -> str:
    return f"{round_:02d}-grand-prix-{round_}"


def session_yaml(rows: Iterable[dict[str, str | None]]) -> str:
    """Rows in F1DB's layout: quoted times and gaps, empty values left blank."""
    lines = []
    for row in rows:
        lines.append(f"- position: {row['position']}")
        for key in ("driverId", "constructorId", "engineManufacturerId"):
            lines.append(f"  {key}: {row.get(key) or ''}".rstrip())
        for key in ("time", "gap"):
            lines.append(f'  {key}: "{row[key]}"' if row.get(key) else f"  {key}:")
        lines.append(f"  laps: {row.get('laps') or ''}".rstrip())
    return "\n".join(lines) + "\n"


class _F1dbIds:
    """Ergast ids back to F1DB ids (and an engine), so that `ErgastIds` maps them forward to the same ids."""

    def __init__(self, ids: ErgastIds) -> None:
        self._ids = ids
        self._drivers = {ergast: f1db for f1db, ergast in ids.drivers.items()}
        keys = [key.split("|") for key in (*ids.constructors_by_season, *ids.constructors_by_engine)]
        self._candidates = [(parts[-2], parts[-1]) for parts in keys] + [(key, None) for key in ids.constructors]

    def driver(self, driver_id: str) -> str:
        return driver_id.removeprefix(F1DB_PREFIX) if driver_id.startswith(F1DB_PREFIX) else self._drivers[driver_id]

    def constructor(self, constructor_id: str, season: str) -> tuple[str, str | None]:
        for f1db_id, engine in self._candidates:
            if self._ids.constructor(f1db_id, engine, season) == constructor_id:
                return f1db_id, engine
        raise KeyError(constructor_id)


def bundled_seasons(seasons: Sequence[str]) -> Seasons:
    """The bundled copy's sessions of `seasons` as F1DB's files (one race folder per weekend with practice)."""
    bundled = read_bundled().filter(pl.col("season").is_in(list(seasons)))
    back = _F1dbIds(ErgastIds.load())
    files: Seasons = {season: {} for season in seasons}
    for (season, round_, session), rows in bundled.group_by("season", "round", "session", maintain_order=True):
        entries = []
        for row in rows.iter_rows(named=True):
            constructor, engine = back.constructor(row["constructor_id"], season)
            entries.append(
                {
                    **row,
                    "driverId": back.driver(row["driver_id"]),
                    "constructorId": constructor,
                    "engineManufacturerId": engine,
                }
            )
        files[season].setdefault(folder(int(round_)), {})[SESSION_FILES[session]] = session_yaml(entries)
    return files


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--seasons", nargs="+", default=["2024"])
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--rate-limit-every", type=int, default=0)
    args = parser.parse_args()
    app = FakeF1db(bundled_seasons(args.seasons), fail_every=args.fail_every, rate_limit_every=args.rate_limit_every)
    uvicorn.run(app, host="127.0.0.1", port=args.port, lifespan="off")


if __name__ == "__main__":
    main()
