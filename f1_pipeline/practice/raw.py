"""The raw practice layout both sources produce: the bundled CSV's columns, every value as text.

Keeping the source's text untouched in `raw.practice` means a value the cleaning cannot read is quarantined with
its original spelling, whichever source sent it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

RAW_COLUMNS = (
    "season",
    "round",
    "session",
    "position",
    "driver_id",
    "constructor_id",
    "time",
    "time_seconds",
    "gap",
    "laps",
)
RAW_SCHEMA = pl.Schema(dict.fromkeys(RAW_COLUMNS, pl.String))


@dataclass(frozen=True)
class SeasonFetch:
    """Where one season's rows came from, for the season partition's metadata."""

    season: str
    url: str
    requests: int


@dataclass(frozen=True)
class PracticeBatch:
    frame: pl.DataFrame
    fetched: list[SeasonFetch]
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def requests(self) -> int:
        return sum(item.requests for item in self.fetched)

    def season(self, season: str) -> pl.DataFrame:
        return self.frame.filter(pl.col("season") == season)


def empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)
