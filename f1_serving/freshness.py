"""How fresh the served data is against the calendar: the API's answers and the dashboard's banner read it here, so
both say the same thing of the same data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Staleness:
    last: dict[str, Any] | None
    """The calendar row of the last race with results (None before any)."""
    overdue: pl.DataFrame
    """Races the calendar dates after `last` and before today that have no results: empty when the data is fresh."""


def staleness(calendar: pl.DataFrame, today: date) -> Staleness:
    """Published data lags the calendar when races dated before `today` still have no results (the pipeline has not
    run on live data since), and the "next race" may then already have been run."""
    done = calendar.filter(pl.col("status") == "completed").sort("season", "round")
    if done.is_empty():
        return Staleness(None, calendar.clear())
    last = done.row(-1, named=True)
    overdue = calendar.filter(
        (pl.col("status") == "scheduled") & (pl.col("date") < today) & (pl.col("date") > last["date"])
    ).sort("date")
    return Staleness(last, overdue)
