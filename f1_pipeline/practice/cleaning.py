"""Practice rows, typed: the `clean.practice_results` contract, with rows that break a rule quarantined.

`position` is the order within the session's classification over the rows kept: classified drivers by their
published position, then those not classified (`NC`), so every session reads 1..n. Without quarantined rows it is
the published position. A row whose weekend is not a race on the calendar, or a driver listed twice in one
session, is set aside with the reason rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from f1_pipeline.cleaning import quarantine as rules
from f1_pipeline.cleaning.timing import clock_seconds, is_clock
from f1_pipeline.contracts import REQUIRED, Column, ColumnRule, Contract, within
from f1_pipeline.tables import PRACTICE_RESULTS

SESSIONS = ("fp1", "fp2", "fp3", "fp4", "sq")
UNCLASSIFIED = ("NC", "DNS", "DNF", "DNQ", "DNPQ", "DNP", "DSQ", "EX", "PL")
"""F1DB's position texts for a driver without a classified position."""
PRACTICE_KEY = ("season", "round", "session", "driver_id")
SESSION_KEY = ("season", "round", "session")
MAX_LAP_SECONDS = 86_400
TIME_TOLERANCE_SECONDS = 0.0005


PRACTICE_CONTRACT = Contract(
    PRACTICE_RESULTS.qualified,
    PRACTICE_RESULTS.row,
    (
        Column("season", pl.Int32, "championship year", REQUIRED),
        Column("round", pl.Int32, "round on the Ergast calendar", REQUIRED),
        Column(
            "session",
            pl.String,
            "fp1, fp2, fp3, fp4 (early-1990s extra session) or sq (sprint qualifying / shootout)",
            ColumnRule(not_null=True, allowed=SESSIONS),
        ),
        Column(
            "position",
            pl.Int32,
            "order in the session's classification, 1..n; drivers not classified (NC) last",
            REQUIRED,
        ),
        Column("driver_id", pl.String, "Ergast id; f1db:<id> for a driver who never started a race", REQUIRED),
        Column("constructor_id", pl.String, "Ergast id", REQUIRED),
        Column(
            "time_seconds",
            pl.Float64,
            "the driver's best lap of the session in seconds; null when no time was set (always for sq)",
            within(30, 3600),
        ),
        Column(
            "laps",
            pl.Int32,
            "laps run in the session; null where the source does not say (older seasons)",
            within(0, 300),
        ),
    ),
    key=PRACTICE_KEY,
)
"""The columns `practice_results` writes, in order: "required" ones and the key are the blocking `keys` suite,
ranges and sessions the warning `values` suite (`f1_pipeline.practice.suites`)."""
SCHEMA = PRACTICE_CONTRACT.schema


def _race_key(as_int: Callable[[str], pl.Expr]) -> pl.Expr:
    """ "season|round" with both read as integers, so that "01" in a row and 1 on the calendar agree."""
    return pl.concat_str([as_int("season"), as_int("round")], separator="|")


def _text_as_int(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().cast(pl.Int64, strict=False)


def _rules(races: pl.DataFrame) -> dict[str, pl.Expr]:
    calendar = races.select(_race_key(lambda column: pl.col(column).cast(pl.Int64))).to_series()
    position = pl.col("position").str.strip_chars()
    stated = pl.col("time_seconds").str.strip_chars().cast(pl.Float64, strict=False)
    return {
        "season is not an integer": rules.missing("season") | rules.not_int("season"),
        "round is not an integer": rules.missing("round") | rules.not_int("round"),
        "session is not one of fp1, fp2, fp3, fp4, sq": ~pl.col("session").is_in(SESSIONS),
        "position is neither a positive integer nor a status such as NC": rules.missing("position")
        | (rules.not_int("position") & ~position.is_in(UNCLASSIFIED))
        | rules.outside("position", 1, 999),
        "driver_id is missing": rules.missing("driver_id"),
        "constructor_id is missing": rules.missing("constructor_id"),
        "time is not a lap time": ~is_clock("time"),
        "time_seconds is not a lap time in seconds": rules.not_number("time_seconds")
        | rules.outside("time_seconds", 1, MAX_LAP_SECONDS),
        "time and time_seconds disagree": ((clock_seconds("time") - stated).abs() > TIME_TOLERANCE_SECONDS).fill_null(
            False
        ),
        "laps is not a lap count": rules.not_int("laps") | rules.outside("laps", 0, 999),
        "no race with this season and round on the calendar": ~_race_key(_text_as_int).is_in(calendar.implode()),
        "the driver appears more than once in this session": (pl.len().over(PRACTICE_KEY) > 1),
    }


def practice_results(raw: pl.DataFrame, races: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed practice results, quarantined rows) from `raw.practice` and `clean.races`."""
    good, quarantined = rules.split(raw, "practice_results", PRACTICE_KEY, _rules(races))
    typed = good.select(
        season=pl.col("season").str.strip_chars().cast(pl.Int32),
        round=pl.col("round").str.strip_chars().cast(pl.Int32),
        session="session",
        published=pl.col("position").str.strip_chars().cast(pl.Int32, strict=False),
        driver_id="driver_id",
        constructor_id="constructor_id",
        time_seconds=pl.coalesce(
            pl.col("time_seconds").str.strip_chars().cast(pl.Float64), clock_seconds("time")
        ).round(3),
        laps=pl.col("laps").str.strip_chars().cast(pl.Int32),
    )
    ordered = typed.sort(*SESSION_KEY, "published", "driver_id", nulls_last=True)
    table = ordered.with_columns(position=pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(SESSION_KEY))
    return table.select(*SCHEMA).cast(pl.Schema(SCHEMA)).sort(*SESSION_KEY, "position"), quarantined
