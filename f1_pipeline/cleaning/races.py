"""The calendar: every scheduled race with its status, and which race is next.

A race is `completed` once it has results; `cancelled` when it has none although a later race (of any
season) does; otherwise `scheduled`. So a past race whose results went missing is never taken for the
next race: it shows as cancelled, which a check reports. The next race is the earliest scheduled one:
on the bundled data the first race without results, the 2026 Dutch Grand Prix. Results are matched to the
schedule on season, date and circuit (not round), because round numbers of future races can differ
between sources.
"""

from __future__ import annotations

from enum import StrEnum

import polars as pl

from f1_pipeline.cleaning import quarantine as rules
from f1_pipeline.contracts import REQUIRED, Column, ColumnRule, Contract
from f1_pipeline.tables import RACES


class RaceStatus(StrEnum):
    SCHEDULED = "scheduled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


RACE_KEY = ("season", "round")
WEEKEND_SESSIONS = {
    "first_practice": ("first_practice",),
    "second_practice": ("second_practice",),
    "third_practice": ("third_practice",),
    "sprint_qualifying": ("sprint_qualifying", "sprint_shootout"),
    "qualifying": ("qualifying",),
    "sprint": ("sprint",),
}
"""Each session's columns in the table and the schedule fields they come from (2023's shootout was its sprint
qualifying). The features read them to know which session a weekend held before which."""
_SESSION_COLUMNS = tuple(
    Column(
        f"{session}_{part}",
        pl.Date if part == "date" else pl.Time,
        f"{session.replace('_', ' ')} {'date' if part == 'date' else 'start (UTC)'}, where known",
    )
    for session in WEEKEND_SESSIONS
    for part in ("date", "time")
    if part == "time" or session not in ("qualifying", "sprint")
)
RACES_CONTRACT = Contract(
    RACES.qualified,
    RACES.row,
    (
        Column("season", pl.Int32, "championship year", REQUIRED),
        Column("round", pl.Int32, "round in the season's schedule", ColumnRule(not_null=True, within=(1, 40))),
        Column("race_name", pl.String, "the Grand Prix's name"),
        Column("date", pl.Date, "race day", REQUIRED),
        Column("starts_at", pl.Datetime("us", "UTC"), "race start in UTC, where the API gives a time"),
        Column("circuit_id", pl.String, "the circuit's Ergast id", REQUIRED),
        Column("url", pl.String, "the race's Wikipedia page, as the API gives it"),
        Column("qualifying_date", pl.Date, "qualifying session date, where known"),
        Column("sprint_date", pl.Date, "sprint date, where the weekend has one"),
        Column("has_sprint", pl.Boolean, "whether the weekend has a sprint"),
        *_SESSION_COLUMNS,
        Column(
            "status",
            pl.String,
            "scheduled / completed (has results) / cancelled (no results, a later race has)",
            ColumnRule(not_null=True, allowed=tuple(status.value for status in RaceStatus)),
        ),
        Column("is_next", pl.Boolean, "the first scheduled race: the one to predict"),
    ),
    key=RACE_KEY,
)
RACE_RULES = {
    "season is not an integer": rules.not_int("season") | rules.missing("season"),
    "round is not an integer": rules.not_int("round") | rules.missing("round"),
    "circuit_id is missing": rules.missing("circuit_id"),
    "date is not a date": rules.not_date("date") | rules.missing("date"),
}
RACE_FLAGS = rules.kept(
    "race",
    {
        **{f"{session}_date is not a date": rules.not_date(f"{session}_date") for session in ("qualifying", "sprint")},
        "time is not a UTC time of day": ~(
            pl.col("time").is_null() | pl.col("time").str.contains(r"^\d{2}:\d{2}:\d{2}Z$")
        ),
    },
)


def _session_date(prefix: str) -> pl.Expr:
    return rules.as_date(f"{prefix}_date")


def _weekend_sessions(schedule: pl.DataFrame) -> dict[str, pl.Expr]:
    """Each session's date and UTC start time (where the schedule gives them; only from 2021 on it does)."""

    def field(source: str, part: str) -> pl.Expr:
        name = f"{source}_{part}"
        return pl.col(name) if name in schedule.columns else pl.lit(None, pl.String)

    columns = {}
    for session, sources in WEEKEND_SESSIONS.items():
        if session not in ("qualifying", "sprint"):
            columns[f"{session}_date"] = pl.coalesce(
                field(source, "date").str.strip_chars().str.to_date("%Y-%m-%d", strict=False) for source in sources
            )
        columns[f"{session}_time"] = pl.coalesce(
            field(source, "time").str.strip_chars().str.to_time("%H:%M:%SZ", strict=False) for source in sources
        )
    return columns


def races(raw_races: pl.DataFrame, raw_results: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(races, quarantined schedule rows)."""
    good, quarantined = rules.split(raw_races, "races", RACE_KEY, RACE_RULES)
    quarantined = pl.concat([quarantined, rules.flag(good, "races", RACE_KEY, RACE_FLAGS)])
    completed = raw_results.select("season", "date", "circuit_id").unique().with_columns(__done=pl.lit(True))
    calendar = (
        good.join(completed, on=["season", "date", "circuit_id"], how="left")
        .with_columns(
            season=pl.col("season").cast(pl.Int32),
            round=pl.col("round").cast(pl.Int32),
            date=rules.as_date("date"),
            has_results=pl.col("__done").fill_null(False),
        )
        .with_columns(
            last_result=pl.col("date").filter(pl.col("has_results")).max(),
        )
        .with_columns(
            status=pl.when(pl.col("has_results"))
            .then(pl.lit(RaceStatus.COMPLETED.value))
            .when(pl.col("last_result").is_not_null() & (pl.col("date") < pl.col("last_result")))
            .then(pl.lit(RaceStatus.CANCELLED.value))
            .otherwise(pl.lit(RaceStatus.SCHEDULED.value))
        )
        .sort("season", "round")
    )
    upcoming = calendar.filter(pl.col("status") == RaceStatus.SCHEDULED.value).sort("date", "round").head(1)
    is_next = (
        (pl.col("season") == upcoming["season"][0]) & (pl.col("round") == upcoming["round"][0])
        if upcoming.height
        else pl.lit(False)
    )
    table = calendar.select(
        "season",
        "round",
        "race_name",
        "date",
        starts_at=pl.concat_str(pl.col("date").cast(pl.String), pl.col("time").fill_null("")).str.to_datetime(
            "%Y-%m-%d%H:%M:%SZ", strict=False, time_zone="UTC"
        ),
        circuit_id="circuit_id",
        url=pl.col("race_url"),
        qualifying_date=_session_date("qualifying"),
        sprint_date=_session_date("sprint"),
        has_sprint=pl.col("sprint_date").is_not_null(),
        **_weekend_sessions(calendar),
        status="status",
        is_next=is_next,
    )
    return table, quarantined


_MATCH = ("season", "date", "circuit_id")


def calendar_index(races: pl.DataFrame) -> pl.DataFrame:
    """The calendar as raw rows name a race (season, date, circuit as strings) with its calendar round."""
    return races.select(
        season=pl.col("season").cast(pl.String),
        date=pl.col("date").cast(pl.String),
        circuit_id="circuit_id",
        calendar_round="round",
    )


def calendar_rules(races: pl.DataFrame) -> dict[str, pl.Expr]:
    """Row-level rules tying a raw result row to its race: date and circuit given, and on the calendar."""
    index = calendar_index(races).select(pl.concat_str(*_MATCH, separator="|")).to_series()
    return {
        "date is missing": rules.missing("date"),
        "circuit_id is missing": rules.missing("circuit_id"),
        "no scheduled race on this date at this circuit": ~pl.concat_str(*_MATCH, separator="|").is_in(index.implode()),
    }


def with_calendar_round(raw: pl.DataFrame, races: pl.DataFrame) -> pl.DataFrame:
    """`raw` with `calendar_round`: the round the calendar gives its race."""
    return raw.join(calendar_index(races), on=list(_MATCH), how="left")
