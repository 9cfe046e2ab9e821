"""Race and sprint results, typed: the same rules serve both, since the API writes them alike.

`position_order` is the API's finishing order of every row; `finish_position` is the classified
position and is null for a car that was not classified (`R`, `D`, `W`, ...). A grid of "0" is a
pit-lane start for a car that started, and no grid slot at all for one that did not. Rows are matched to
the calendar on season, date and circuit; a row with no such race is quarantined, not guessed.
"""

from __future__ import annotations

import polars as pl

from f1_pipeline.cleaning import quarantine as rules
from f1_pipeline.cleaning.races import calendar_rules, with_calendar_round
from f1_pipeline.cleaning.status import StatusCategory, status_category_expr
from f1_pipeline.cleaning.timing import clock_seconds, is_clock
from f1_pipeline.contracts import REQUIRED, Column, ColumnRule, Contract, within
from f1_pipeline.tables import RACE_RESULTS, SPRINT_RESULTS

RESULT_KEY = ("season", "round", "driver_id", "position")
MAX_POINTS = 50

CLEAN_RESULT_KEY = ("season", "round", "driver_id", "position_order")
_PLACE = within(1, 99)
ENTRY_COLUMNS = (
    Column("season", pl.Int32, "championship year", REQUIRED),
    Column("round", pl.Int32, "round on the calendar (matched on season, date and circuit)", REQUIRED),
    Column("driver_id", pl.String, "the driver's Ergast id", REQUIRED),
    Column("constructor_id", pl.String, "the team's Ergast id", REQUIRED),
    Column("number", pl.Int32, "car number"),
)
"""A car's entry in a session, first in every table of results and qualifying."""
RESULT_COLUMNS = (
    *ENTRY_COLUMNS,
    Column("grid", pl.Int32, "starting slot; null for a pit-lane start or a car that did not start", _PLACE),
    Column("pit_lane_start", pl.Boolean, "started from the pit lane (API grid 0 for a car that started)"),
    Column("position_order", pl.Int32, "the API's finishing order of every row, classified or not", _PLACE),
    Column("finish_position", pl.Int32, "classified position; null when not classified (R, D, E, W, F, N)", _PLACE),
    Column("position_text", pl.String, "the API's positionText: a number or R, D, E, W, F, N"),
    Column("points", pl.Float64, "points scored", within(0, MAX_POINTS)),
    Column("laps", pl.Int32, "laps completed", within(0, 999)),
    Column("status", pl.String, "the API's status text (Ergast or Jolpica wording)"),
    Column(
        "status_category",
        pl.String,
        "finished / lapped / retired / disqualified / did_not_start",
        ColumnRule(allowed=tuple(category.value for category in StatusCategory)),
    ),
    Column("race_time_seconds", pl.Float64, "total race time in seconds (cars on the lead lap)"),
    Column("gap_seconds", pl.Float64, "gap to the winner in seconds; 0 for the winner"),
    Column("fastest_lap_rank", pl.Int32, "the rank of the driver's fastest lap among the field's"),
    Column("fastest_lap_number", pl.Int32, "the lap on which the driver set his fastest lap"),
    Column("fastest_lap_seconds", pl.Float64, "the driver's fastest lap in seconds"),
)
"""The columns of race and sprint results alike, in the order `results` writes them: "required" columns are
checked by the tables' blocking key suites, ranges and categories by their warning value suites
(`f1_pipeline.quality.suites`)."""
RACE_RESULTS_CONTRACT = Contract(RACE_RESULTS.qualified, RACE_RESULTS.row, RESULT_COLUMNS, key=CLEAN_RESULT_KEY)
SPRINT_RESULTS_CONTRACT = Contract(SPRINT_RESULTS.qualified, SPRINT_RESULTS.row, RESULT_COLUMNS, key=CLEAN_RESULT_KEY)


def _rules(races: pl.DataFrame) -> dict[str, pl.Expr]:
    return {
        "season is not an integer": rules.not_int("season") | rules.missing("season"),
        "round is not an integer": rules.not_int("round") | rules.missing("round"),
        "driver_id is missing": rules.missing("driver_id"),
        "constructor_id is missing": rules.missing("constructor_id"),
        "position is not a positive integer": rules.missing("position")
        | rules.not_int("position")
        | rules.outside("position", 1, 99),
        "points is not a number in range": rules.not_number("points") | rules.outside("points", 0, MAX_POINTS),
        "grid is not a grid slot": rules.not_int("grid") | rules.outside("grid", 0, 99),
        "laps is not a lap count": rules.not_int("laps") | rules.outside("laps", 0, 999),
        "number is not an integer": rules.not_int("number"),
        "time_millis is not an integer": rules.not_int("time_millis"),
        "time is not a race time or gap": ~is_clock("time"),
        "fastest_lap_time is not a lap time": ~is_clock("fastest_lap_time"),
        "fastest_lap_rank is not an integer": rules.not_int("fastest_lap_rank"),
        "fastest_lap_lap is not an integer": rules.not_int("fastest_lap_lap"),
        **calendar_rules(races),
    }


def results(raw: pl.DataFrame, races: pl.DataFrame, table: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(typed results, quarantined rows) for `raw_results` or `raw_sprint` rows."""
    good, quarantined = rules.split(raw, table, RESULT_KEY, _rules(races))
    category = status_category_expr()
    grid = pl.col("grid").cast(pl.Int32)
    started = category != StatusCategory.DID_NOT_START.value
    typed = with_calendar_round(good, races).select(
        season=pl.col("season").cast(pl.Int32),
        round=pl.col("calendar_round").cast(pl.Int32),
        driver_id="driver_id",
        constructor_id="constructor_id",
        number=pl.col("number").cast(pl.Int32),
        grid=pl.when(grid > 0).then(grid),
        pit_lane_start=(grid == 0) & started,
        position_order=pl.col("position").cast(pl.Int32),
        finish_position=pl.col("position_text").str.strip_chars().cast(pl.Int32, strict=False),
        position_text="position_text",
        points=pl.col("points").cast(pl.Float64),
        laps=pl.col("laps").cast(pl.Int32),
        status="status",
        status_category=category,
        race_time_seconds=pl.when(pl.col("time_millis").is_not_null())
        .then(pl.col("time_millis").cast(pl.Float64) / 1000)
        .when(~pl.col("time").str.starts_with("+"))
        .then(clock_seconds("time")),
        gap_seconds=pl.when(pl.col("time").str.starts_with("+"))
        .then(clock_seconds("time"))
        .when(pl.col("time").is_not_null() & (pl.col("position") == "1"))
        .then(0.0),
        fastest_lap_rank=pl.col("fastest_lap_rank").cast(pl.Int32),
        fastest_lap_number=pl.col("fastest_lap_lap").cast(pl.Int32),
        fastest_lap_seconds=clock_seconds("fastest_lap_time"),
    )
    return typed.sort("season", "round", "position_order", "driver_id"), quarantined
