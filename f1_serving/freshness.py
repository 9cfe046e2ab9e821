"""How fresh the served data is against the calendar: the one rule every surface says it by (the API's `data_through`,
`stale` and `stale_reason`, the dashboard's banner on every page, the `f1-predict` command's warning line), so all
of them say the same thing of the same data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl

from f1_serving.dashboard.formatting import day


@dataclass(frozen=True)
class Freshness:
    last: dict[str, Any] | None
    """The calendar row of the last race with results (None before any)."""
    overdue: pl.DataFrame
    """Races the calendar dates after `last` and before today that have no results: empty when the data is fresh."""

    @property
    def stale(self) -> bool:
        return not self.overdue.is_empty()

    @property
    def data_through(self) -> str | None:
        """The last race with results in words, e.g. "Hungarian Grand Prix, 26 July 2026"."""
        return None if self.last is None else f"{self.last['race_name']}, {day(self.last['date'])}"

    @property
    def reason(self) -> str | None:
        """Why the data is behind the calendar, in one sentence (None when it is not)."""
        if self.last is None or not self.stale:
            return None
        latest = self.overdue.row(-1, named=True)
        races = "race" if self.overdue.height == 1 else "races"
        return (
            f"the calendar lists {self.overdue.height} {races} held after the {self.data_through} without results "
            f"in the data (the latest: {latest['race_name']}, {day(latest['date'])}); the predictions are "
            "for the first race without results, which has already been run"
        )

    def has_passed(self, season: int, round_: int) -> bool:
        """Whether the race is one the calendar dates before today with no results in the data: a "next race" that
        has in fact been run."""
        return not self.overdue.filter((pl.col("season") == season) & (pl.col("round") == round_)).is_empty()


def freshness(calendar: pl.DataFrame, today: date) -> Freshness:
    """Published data lags the calendar when races dated before `today` still have no results (the pipeline has not
    run on live data since), and the "next race" may then already have been run."""
    done = calendar.filter(pl.col("status") == "completed").sort("season", "round")
    if done.is_empty():
        return Freshness(None, calendar.clear())
    last = done.row(-1, named=True)
    overdue = calendar.filter(
        (pl.col("status") == "scheduled") & (pl.col("date") < today) & (pl.col("date") > last["date"])
    ).sort("date")
    return Freshness(last, overdue)
