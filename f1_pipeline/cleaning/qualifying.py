"""Qualifying results, typed, with each session's time and the best of them in seconds.

Before 1994 many races have a single qualifying time, which the Ergast data keeps in Q1; `best_seconds`
is therefore the fastest of whatever sessions a driver has, comparable within one race.
"""

from __future__ import annotations

import polars as pl

from f1_pipeline.cleaning import quarantine as rules
from f1_pipeline.cleaning.races import calendar_rules, with_calendar_round
from f1_pipeline.cleaning.results import ENTRY_COLUMNS
from f1_pipeline.cleaning.timing import clock_seconds, is_clock
from f1_pipeline.contracts import Column, Contract, within
from f1_pipeline.tables import QUALIFYING_RESULTS

QUALIFYING_KEY = ("season", "round", "driver_id")
_SESSIONS = ("q1", "q2", "q3")
QUALIFYING_CONTRACT = Contract(
    QUALIFYING_RESULTS.qualified,
    QUALIFYING_RESULTS.row,
    (
        *ENTRY_COLUMNS,
        Column("position", pl.Int32, "qualifying position", within(1, 99)),
        Column("q1_seconds", pl.Float64, "Q1 time in seconds (the only time before 1994 for many races)"),
        Column("q2_seconds", pl.Float64, "Q2 time in seconds"),
        Column("q3_seconds", pl.Float64, "Q3 time in seconds"),
        Column("best_seconds", pl.Float64, "fastest of the driver's session times", within(30, 1200)),
    ),
    key=QUALIFYING_KEY,
)
"""The columns `qualifying` writes, in order; "required" columns are checked by the table's blocking key suite,
ranges by its warning value suite (`f1_pipeline.quality.suites`)."""


def qualifying(raw: pl.DataFrame, races: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed qualifying results, quarantined rows)."""
    checks = {
        "season is not an integer": rules.not_int("season") | rules.missing("season"),
        "round is not an integer": rules.not_int("round") | rules.missing("round"),
        "driver_id is missing": rules.missing("driver_id"),
        "constructor_id is missing": rules.missing("constructor_id"),
        "position is not a positive integer": rules.not_int("position") | rules.outside("position", 1, 99),
        "number is not an integer": rules.not_int("number"),
        **{f"{session} is not a lap time": ~is_clock(session) for session in _SESSIONS},
        **calendar_rules(races),
    }
    good, quarantined = rules.split(raw, "qualifying_results", QUALIFYING_KEY, checks)
    typed = (
        with_calendar_round(good, races)
        .select(
            season=pl.col("season").cast(pl.Int32),
            round=pl.col("calendar_round").cast(pl.Int32),
            driver_id="driver_id",
            constructor_id="constructor_id",
            number=pl.col("number").cast(pl.Int32),
            position=pl.col("position").cast(pl.Int32),
            **{f"{session}_seconds": clock_seconds(session) for session in _SESSIONS},
        )
        .with_columns(best_seconds=pl.min_horizontal(*(f"{session}_seconds" for session in _SESSIONS)))
    )
    return typed.sort("season", "round", "position", "driver_id"), quarantined
