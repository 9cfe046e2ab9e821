"""The raw practice layout both sources produce: the bundled CSV's columns, every value as text.

Keeping the source's text untouched in `raw.practice` means a value the cleaning cannot read is quarantined with
its original spelling, whichever source sent it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from f1_pipeline.contracts import Column, Contract
from f1_pipeline.tables import RAW_PRACTICE

_RAW_WORDS = (
    ("season", "championship year"),
    ("round", "round on the Ergast calendar"),
    ("session", "fp1, fp2, fp3, fp4 or sq, as the source names the session"),
    ("position", "the source's position: a number, or NC, DNS and the like for a driver not classified"),
    ("driver_id", "Ergast id (F1DB's own id mapped); f1db:<id> for a driver who never started a race"),
    ("constructor_id", "Ergast id (F1DB's own id mapped)"),
    ("time", "the driver's best lap as the source writes it (m:ss.fff)"),
    ("time_seconds", "the same lap in seconds"),
    ("gap", "behind the session's fastest lap as the source writes it (+s.fff)"),
    ("laps", "laps run in the session; empty where the source does not say"),
)
RAW_PRACTICE_CONTRACT = Contract(
    RAW_PRACTICE.qualified,
    RAW_PRACTICE.row,
    tuple(Column(name, pl.String, f"{words}, as text") for name, words in _RAW_WORDS),
)
"""`raw.practice`, whichever source filled it: the bundled copy's columns, every value as the source gave it."""
RAW_COLUMNS = tuple(RAW_PRACTICE_CONTRACT.schema)
RAW_SCHEMA = pl.Schema(RAW_PRACTICE_CONTRACT.schema)


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
