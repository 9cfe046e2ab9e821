"""Point-in-time features: one row per (race, driver), built only from races run before that race.

Every statistic is first computed *after* each race of an entity's history, then attached to a row with an
as-of join on the race's place in the calendar minus one. A row therefore cannot see its own race or any
later one, whatever the statistic: that single rule is what the no-leakage property test exercises.

The race weekend's own sessions are joined on the race itself, each only where it was held before the moment the
mode predicts at: the weekend features see the practice sessions (and, from 2024, the sprint) held before
qualifying; post-qualifying adds the grid and qualifying pace, known before the start.
Which session came first is read from the calendar's session dates and times where it has them (2021 on): FP2 of
the 2021-22 sprint weekends and the 2023 sprint shootouts ran after qualifying, the 2024- sprint qualifying and
sprint before it. Without a date a practice session counts as before qualifying (it always was), a sprint
session as after it (the conservative side).
For a completed race the grid is the real starting grid (penalties applied), for the race to come it is the
qualifying order, the best that is known before the start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from f1_pipeline.contracts import REQUIRED, Column, ColumnRule, Contract
from f1_pipeline.modeling.elo import DRIVER_ELO, TEAM_ELO, EloConfig
from f1_pipeline.tables import RACE_FEATURES

Mode = Literal["pre_qualifying", "post_qualifying"]
MODES: tuple[Mode, ...] = ("pre_qualifying", "post_qualifying")
MODE_COLUMN = Column(
    "mode",
    pl.String,
    "pre_qualifying (before the grid is known) or post_qualifying (with the grid)",
    ColumnRule(not_null=True, allowed=MODES),
)
"""The mode column of every table of models' predictions or scores."""

CORE_PRE_FEATURES = (
    "driver_elo",
    "team_elo",
    "driver_avg_finish_5",
    "team_avg_finish_5",
    "driver_circuit_starts",
    "driver_circuit_wins",
    "driver_circuit_avg_finish",
    "air_temperature",
    "wet",
    "wind_speed",
)
"""The core features, the models' first design: ratings, recent form, circuit record and weather (null where no
weather source is configured)."""

EXTRA_PRE_FEATURES = (
    "driver_starts",
    "driver_wins_rate_10",
    "driver_dnf_rate_10",
    "team_wins_rate_10",
    "season_points",
    "season_wins",
    "championship_position",
    "points_behind_leader",
    "driver_avg_qualifying_5",
    "driver_qualifying_gap_5",
    "team_avg_qualifying_5",
    "team_qualifying_gap_5",
    "driver_season_qualifying_gap",
    "team_season_qualifying_gap",
    "practice_best_gap",
    "practice_mean_gap",
    "practice_last_gap",
    "practice_mean_position",
    "team_practice_best_gap",
)
"""Added here; the backtest compares the models with and without them."""

POST_FEATURES = ("grid", "pit_lane_start", "qualifying_position", "qualifying_gap_pct")

PRACTICE_GAP_CAP = 5.0
"""Percent behind a session's fastest lap beyond which a best lap says nothing more about pace (no clean run, rain,
a problem): gaps are capped there so one such session cannot swamp a driver's mean."""

WEATHER_COLUMNS = ("air_temperature", "wet", "wind_speed")

_DECLARED = (
    Column("season", pl.Int32, "championship year", REQUIRED),
    Column("round", pl.Int32, "the race's round in its season, from 1", REQUIRED),
    Column("date", pl.Date, "race day"),
    Column("circuit_id", pl.String, "the circuit's Ergast id"),
    Column("driver_id", pl.String, "the driver's Ergast id", REQUIRED),
    Column("constructor_id", pl.String, "the team's Ergast id"),
    Column("finish_position", pl.Int32, "classified place in the race; null when not classified or not run yet"),
    Column("won", pl.Boolean, "the driver won the race; null for the race to come"),
    Column("is_next", pl.Boolean, "the first race without results: the one the pipeline predicts"),
    Column("driver_elo", pl.Float64, "driver ELO rating before the race (the base for a newcomer)"),
    Column("team_elo", pl.Float64, "constructor ELO rating before the race"),
    Column(
        "driver_avg_finish_5",
        pl.Float64,
        "mean finishing order over the driver's last 5 races (retirements count where they fell)",
    ),
    Column("team_avg_finish_5", pl.Float64, "mean finishing order of the team's cars over its last 5 races"),
    Column("driver_circuit_starts", pl.Int64, "earlier races of the driver at this circuit"),
    Column("driver_circuit_wins", pl.Int64, "earlier wins of the driver at this circuit"),
    Column("driver_circuit_avg_finish", pl.Float64, "mean finishing order of the driver at this circuit"),
    Column("driver_starts", pl.Int64, "races started before this one (experience)"),
    Column("driver_wins_rate_10", pl.Float64, "share of the driver's last 10 races won"),
    Column(
        "driver_dnf_rate_10",
        pl.Float64,
        "share of the driver's last 10 races not finished (retired, disqualified, not started)",
    ),
    Column("team_wins_rate_10", pl.Float64, "share of the team's last 10 races won by one of its cars"),
    Column("season_points", pl.Float64, "championship points (races and sprints) before this race"),
    Column("season_wins", pl.Int64, "wins this season before this race"),
    Column("championship_position", pl.Int32, "standing before this race; null before the season's first race"),
    Column("points_behind_leader", pl.Float64, "points behind the championship leader before this race"),
    Column(
        "driver_avg_qualifying_5", pl.Float64, "mean qualifying position over the driver's last 5 qualifying sessions"
    ),
    Column(
        "driver_qualifying_gap_5", pl.Float64, "mean gap to pole (percent) over the driver's last 5 qualifying sessions"
    ),
    Column(
        "team_avg_qualifying_5", pl.Float64, "mean qualifying position of the team's best car over its last 5 sessions"
    ),
    Column(
        "team_qualifying_gap_5",
        pl.Float64,
        "mean gap to pole (percent) of the team's best car over its last 5 sessions",
    ),
    Column(
        "driver_season_qualifying_gap",
        pl.Float64,
        "mean gap to pole (percent) over the driver's qualifying sessions this season so"
        " far; null at his first race of the season (resets with every season: a new car's pace)",
    ),
    Column(
        "team_season_qualifying_gap", pl.Float64, "mean gap to pole (percent) of the team's best car this season so far"
    ),
    Column(
        "practice_best_gap",
        pl.Float64,
        "this weekend: the driver's best practice lap behind the session's fastest, in percent (capped"
        f" at {PRACTICE_GAP_CAP:g}), over the sessions held before qualifying; null without practice data",
    ),
    Column("practice_mean_gap", pl.Float64, "this weekend: the mean of those session gaps"),
    Column(
        "practice_last_gap",
        pl.Float64,
        "this weekend: the gap in the latest session before qualifying in which the driver set a time",
    ),
    Column(
        "practice_mean_position",
        pl.Float64,
        "this weekend: mean classification in the sessions before qualifying (sprint"
        " qualifying and, where it ran before qualifying (2024 on), the sprint included)",
    ),
    Column(
        "team_practice_best_gap", pl.Float64, "this weekend: the team's best car's best practice gap before qualifying"
    ),
    Column("grid", pl.Int32, "starting slot (post-qualifying); null for a pit-lane start or unknown"),
    Column("pit_lane_start", pl.Boolean, "starts from the pit lane (post-qualifying)"),
    Column("qualifying_position", pl.Int32, "qualifying position (post-qualifying)"),
    Column("qualifying_gap_pct", pl.Float64, "best qualifying lap relative to pole, in percent (post-qualifying)"),
    Column("air_temperature", pl.Float64, "air temperature in C, where a weather source is configured"),
    Column("wet", pl.Float64, "1 for a wet race, where a weather source is configured"),
    Column("wind_speed", pl.Float64, "wind speed in m/s, where a weather source is configured"),
)
"""Every column of the feature table with its type and meaning: the model inputs (`features_for`) and the columns
that identify a row and hold its outcome (`KEY_COLUMNS`)."""


KEY_COLUMNS = (
    "season",
    "round",
    "date",
    "circuit_id",
    "driver_id",
    "constructor_id",
    "is_next",
    "won",
    "finish_position",
)
"""Identify the row and hold the outcome; never a model input."""


def features_for(mode: Mode, *, extended: bool = True) -> tuple[str, ...]:
    """The feature columns a model of this mode may use."""
    pre = CORE_PRE_FEATURES + (EXTRA_PRE_FEATURES if extended else ())
    return pre + POST_FEATURES if mode == "post_qualifying" else pre


_BY_NAME = {column.name: column for column in _DECLARED}
FEATURES_CONTRACT = Contract(
    RACE_FEATURES.qualified,
    RACE_FEATURES.row,
    tuple(_BY_NAME[name] for name in (*KEY_COLUMNS, *features_for("post_qualifying"))),
    key=("season", "round", "driver_id"),
)
"""The table `race_features` writes: its key and outcome columns, then every feature of either mode."""


@dataclass(frozen=True)
class FeatureInputs:
    """The clean tables features are built from; `ratings` is the ELO history (one row per race and entity)."""

    races: pl.DataFrame
    results: pl.DataFrame
    sprints: pl.DataFrame
    qualifying: pl.DataFrame
    ratings: pl.DataFrame
    weather: pl.DataFrame | None = None
    practice: pl.DataFrame | None = None
    """`clean.practice_results`: best lap per driver and session (fp1-fp4, sq); None where there is none."""
    driver_elo: EloConfig = DRIVER_ELO
    team_elo: EloConfig = TEAM_ELO
    """The configs the ratings were built with: their carry-over applies to a rating carried into a new season."""


def race_features(inputs: FeatureInputs) -> pl.DataFrame:
    """Every completed race's entrants and the next race's expected entrants, with all features."""
    calendar = _calendar(inputs.races)
    rows = _entries(inputs, calendar)
    driver_form = _form(inputs.results, calendar, "driver_id", "driver")
    team_form = _form(inputs.results, calendar, "constructor_id", "team")
    frame = (
        rows.pipe(attach_before, _ratings(inputs.ratings, calendar, "driver"), ["driver_id"])
        .pipe(_carried_into_season, "driver", inputs.driver_elo)
        .pipe(attach_before, _ratings(inputs.ratings, calendar, "team"), ["constructor_id"])
        .pipe(_carried_into_season, "team", inputs.team_elo)
        .pipe(attach_before, driver_form, ["driver_id"])
        .pipe(attach_before, team_form, ["constructor_id"])
        .pipe(attach_before, _circuit_form(inputs.results, calendar), ["driver_id", "circuit_id"])
        .pipe(attach_before, _qualifying_form(inputs.qualifying, calendar, "driver_id", "driver"), ["driver_id"])
        .pipe(
            attach_before, _qualifying_form(inputs.qualifying, calendar, "constructor_id", "team"), ["constructor_id"]
        )
        .pipe(
            attach_before,
            _season_qualifying(inputs.qualifying, calendar, "driver_id", "driver"),
            ["season", "driver_id"],
        )
        .pipe(
            attach_before,
            _season_qualifying(inputs.qualifying, calendar, "constructor_id", "team"),
            ["season", "constructor_id"],
        )
        .pipe(attach_before, _standings(inputs.results, inputs.sprints, calendar), ["season", "driver_id"])
        .pipe(_with_practice, inputs.practice, inputs.sprints, inputs.races)
        .pipe(_with_weather, inputs.weather)
        .pipe(_with_qualifying, inputs.qualifying)
    )
    zero_before_any = {"driver_starts", "driver_circuit_starts", "driver_circuit_wins", "season_points", "season_wins"}
    return frame.select(
        *KEY_COLUMNS,
        *(
            pl.col(column).fill_null(0) if column in zero_before_any else pl.col(column)
            for column in features_for("post_qualifying")
        ),
    ).sort("season", "round", "driver_id")


def _calendar(races: pl.DataFrame) -> pl.DataFrame:
    """Completed races and the next one, with `order`: their place in history (1, 2, ...)."""
    return (
        races.filter((pl.col("status") == "completed") | pl.col("is_next"))
        .sort("season", "round")
        .select("season", "round", "date", "circuit_id", "is_next", order=pl.int_range(1, pl.len() + 1))
    )


def _entries(inputs: FeatureInputs, calendar: pl.DataFrame) -> pl.DataFrame:
    """Who races: the classified field of a completed race; for the next race its qualifying entrants,
    else the drivers of the season's latest race (the entry list as last seen)."""
    completed = (
        _one_row_per_driver(inputs.results)
        .join(calendar.filter(~pl.col("is_next")), on=["season", "round"])
        .select(
            *calendar.columns,
            "driver_id",
            "constructor_id",
            won=(pl.col("finish_position") == 1).fill_null(False),
            finish_position="finish_position",
            grid="grid",
            pit_lane_start="pit_lane_start",
        )
    )
    upcoming = calendar.filter(pl.col("is_next"))
    if upcoming.is_empty():
        return completed
    race = upcoming.row(0, named=True)
    entrants = inputs.qualifying.filter(season=race["season"], round=race["round"]).select(
        "driver_id", "constructor_id"
    )
    if entrants.is_empty():
        latest = completed.filter(pl.col("order") < race["order"]).filter(pl.col("order") == pl.col("order").max())
        entrants = latest.select("driver_id", "constructor_id")
    next_rows = upcoming.join(entrants.unique("driver_id"), how="cross").with_columns(
        won=pl.lit(None, pl.Boolean),
        finish_position=pl.lit(None, pl.Int32),
        grid=pl.lit(None, pl.Int32),
        pit_lane_start=pl.lit(None, pl.Boolean),
    )
    return pl.concat([completed, next_rows.select(completed.columns)])


def _one_row_per_driver(results: pl.DataFrame) -> pl.DataFrame:
    """A shared drive (1950s) leaves a driver several rows in one race: his best one counts."""
    return results.sort("position_order").unique(["season", "round", "driver_id"], keep="first")


def attach_before(rows: pl.DataFrame, stats: pl.DataFrame, by: Sequence[str]) -> pl.DataFrame:
    """Join the latest `stats` row of each key (none: of the whole history) from a race strictly before the row's
    race: what point in time means for every feature."""
    return (
        rows.with_columns(known_before=pl.col("order") - 1)
        .sort("known_before")
        .join_asof(
            stats.rename({"order": "known_before"}).sort("known_before"),
            on="known_before",
            by=list(by) or None,
            strategy="backward",
            check_sortedness=False,
        )
        .drop("known_before")
    )


def _ratings(ratings: pl.DataFrame, calendar: pl.DataFrame, entity: str) -> pl.DataFrame:
    key = "driver_id" if entity == "driver" else "constructor_id"
    return (
        ratings.filter(entity=entity)
        .join(calendar.select("season", "round", "order"), on=["season", "round"])
        .select(
            "order",
            pl.col("entity_id").alias(key),
            pl.col("rating_after").alias(f"{entity}_elo"),
            pl.col("season").alias(f"{entity}_elo_season"),
        )
    )


def _carried_into_season(rows: pl.DataFrame, entity: str, config: EloConfig) -> pl.DataFrame:
    """The rating as the ratings themselves carry it: pulled toward the base once per season started since it was
    earned (what `rating_before` holds at a season's first race); a newcomer at the base."""
    rating, earned = pl.col(f"{entity}_elo"), pl.col(f"{entity}_elo_season")
    seasons = (pl.col("season") - earned).cast(pl.Float64)
    carried = config.base + pl.lit(config.carryover).pow(seasons) * (rating - config.base)
    return rows.with_columns(carried.fill_null(config.base).alias(f"{entity}_elo")).drop(earned.meta.output_name())


def _race_rows(results: pl.DataFrame, calendar: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per race and entity: best finishing order, a win, a non-finish, in calendar order."""
    return (
        results.join(calendar.select("season", "round", "order", "circuit_id"), on=["season", "round"])
        .group_by("order", "circuit_id", key)
        .agg(
            finish=pl.col("position_order").mean(),
            won=(pl.col("finish_position") == 1).any().cast(pl.Float64),
            dnf=pl.col("status_category").is_in(["retired", "disqualified", "did_not_start"]).all().cast(pl.Float64),
        )
        .sort(key, "order")
    )


def _form(results: pl.DataFrame, calendar: pl.DataFrame, key: str, prefix: str) -> pl.DataFrame:
    """Rolling form after each race of a driver or team."""
    window: dict[str, Any] = {"min_samples": 1}
    stats = {
        f"{prefix}_avg_finish_5": pl.col("finish").rolling_mean(5, **window),
        f"{prefix}_wins_rate_10": pl.col("won").rolling_mean(10, **window),
    }
    if prefix == "driver":
        stats |= {
            "driver_dnf_rate_10": pl.col("dnf").rolling_mean(10, **window),
            "driver_starts": pl.int_range(1, pl.len() + 1),
        }
    return _race_rows(results, calendar, key).select(
        "order", key, **{name: expr.over(key) for name, expr in stats.items()}
    )


def _circuit_form(results: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    """The driver's record at a circuit after each of his races there."""
    over = ["driver_id", "circuit_id"]
    return (
        _race_rows(results, calendar, "driver_id")
        .sort("order")
        .select(
            "order",
            *over,
            driver_circuit_starts=pl.int_range(1, pl.len() + 1).over(over),
            driver_circuit_wins=pl.col("won").cum_sum().over(over).cast(pl.Int64),
            driver_circuit_avg_finish=(pl.col("finish").cum_sum() / pl.int_range(1, pl.len() + 1)).over(over),
        )
    )


def _qualifying_form(qualifying: pl.DataFrame, calendar: pl.DataFrame, key: str, prefix: str) -> pl.DataFrame:
    """Qualifying pace after each session (a team by its best car): the car's speed, before the weekend's own."""
    sessions = (
        _with_gap_to_pole(qualifying)
        .join(calendar.select("season", "round", "order"), on=["season", "round"])
        .group_by("order", key)
        .agg(position=pl.col("position").min(), gap=pl.col("qualifying_gap_pct").min())
        .sort(key, "order")
    )
    return sessions.select(
        "order",
        key,
        **{
            f"{prefix}_avg_qualifying_5": pl.col("position").rolling_mean(5, min_samples=1).over(key),
            f"{prefix}_qualifying_gap_5": pl.col("gap").rolling_mean(5, min_samples=1).over(key),
        },
    )


def _season_qualifying(qualifying: pl.DataFrame, calendar: pl.DataFrame, key: str, prefix: str) -> pl.DataFrame:
    """Mean gap to pole over the season's sessions so far, after each one: a strength that starts afresh with
    every season (a new car, new rules) and moves fast early on, when each session is a large share of it."""
    sessions = (
        _with_gap_to_pole(qualifying)
        .join(calendar.select("season", "round", "order"), on=["season", "round"])
        .group_by("season", "order", key)
        .agg(gap=pl.col("qualifying_gap_pct").min())
        .sort(key, "order")
    )
    return sessions.select(
        "season",
        "order",
        key,
        **{
            f"{prefix}_season_qualifying_gap": pl.col("gap").cum_sum().over(key, "season")
            / pl.col("gap").is_not_null().cum_sum().over(key, "season")
        },
    )


def _with_gap_to_pole(qualifying: pl.DataFrame) -> pl.DataFrame:
    """Best lap relative to the session's fastest, in percent (null where no time was set)."""
    pole = pl.col("best_seconds").min().over("season", "round")
    return qualifying.with_columns(qualifying_gap_pct=(pl.col("best_seconds") / pole - 1) * 100)


def _standings(results: pl.DataFrame, sprints: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    """The drivers' championship after each race of a season (sprint points counted with their race)."""
    scored = (
        pl.concat(
            [results.select("season", "round", "driver_id", "points", "finish_position"), _sprint_points(sprints)]
        )
        .join(calendar.select("season", "round", "order"), on=["season", "round"])
        .group_by("season", "order", "driver_id")
        .agg(points=pl.col("points").fill_null(0).sum(), wins=(pl.col("finish_position") == 1).sum())
    )
    grid = (
        scored.select("season", "order")
        .unique()
        .join(scored.select("season", "driver_id").unique(), on="season")
        .join(scored, on=["season", "order", "driver_id"], how="left")
        .sort("season", "driver_id", "order")
        .with_columns(
            season_points=pl.col("points").fill_null(0).cum_sum().over("season", "driver_id"),
            season_wins=pl.col("wins").fill_null(0).cum_sum().over("season", "driver_id"),
            started=pl.col("points").is_not_null().cum_max().over("season", "driver_id"),
        )
        .filter("started")
    )
    return grid.select(
        "season",
        "order",
        "driver_id",
        "season_points",
        pl.col("season_wins").cast(pl.Int64),
        championship_position=pl.col("season_points")
        .rank("min", descending=True)
        .over("season", "order")
        .cast(pl.Int32),
        points_behind_leader=(pl.col("season_points").max() - pl.col("season_points")).over("season", "order"),
    )


def _sprint_points(sprints: pl.DataFrame) -> pl.DataFrame:
    """Sprint points only: a sprint win is not a race win."""
    return sprints.select("season", "round", "driver_id", "points", finish_position=pl.lit(None, pl.Int32))


def _with_weather(rows: pl.DataFrame, weather: pl.DataFrame | None) -> pl.DataFrame:
    if weather is None:
        return rows.with_columns(pl.lit(None, pl.Float64).alias(column) for column in WEATHER_COLUMNS)
    return rows.join(weather.select("season", "round", *WEATHER_COLUMNS), on=["season", "round"], how="left")


def _with_qualifying(rows: pl.DataFrame, qualifying: pl.DataFrame) -> pl.DataFrame:
    """Post-qualifying columns: this race's own grid and qualifying, known before its start."""
    session = (
        _with_gap_to_pole(qualifying)
        .select("season", "round", "driver_id", "qualifying_gap_pct", qualifying_position="position")
        .unique(["season", "round", "driver_id"])
    )
    joined = rows.join(session, on=["season", "round", "driver_id"], how="left")
    expected = pl.col("is_next") & pl.col("qualifying_position").is_not_null()
    return joined.with_columns(
        grid=pl.when(expected).then(pl.col("qualifying_position")).otherwise(pl.col("grid")),
        pit_lane_start=pl.when(expected).then(False).otherwise(pl.col("pit_lane_start")),
    )


SESSION_COLUMNS = {
    "fp1": "first_practice",
    "fp2": "second_practice",
    "fp3": "third_practice",
    "sq": "sprint_qualifying",
    "sprint": "sprint",
}
"""A weekend session's name in the practice and sprint tables -> its prefix among the calendar's columns."""
DEFAULT_BEFORE_QUALIFYING = {"fp1": True, "fp2": True, "fp3": True, "fp4": True, "sq": False, "sprint": False}


def before_qualifying(races: pl.DataFrame, session: str) -> pl.DataFrame:
    """(season, round, before_qualifying) per race: was `session` held before qualifying? From the calendar's session
    dates and times (UTC); on the same day without both times, a practice session counts as earlier."""
    default = pl.lit(DEFAULT_BEFORE_QUALIFYING[session])
    prefix = SESSION_COLUMNS.get(session)
    columns = set(races.columns)
    if prefix is None or not {f"{prefix}_date", "qualifying_date"} <= columns:
        return races.select("season", "round", before_qualifying=default)
    date, qualifying_date = pl.col(f"{prefix}_date"), pl.col("qualifying_date")
    time = pl.col(f"{prefix}_time") if f"{prefix}_time" in columns else pl.lit(None, pl.Time)
    qualifying_time = pl.col("qualifying_time") if "qualifying_time" in columns else pl.lit(None, pl.Time)
    same_day = pl.when(time.is_not_null() & qualifying_time.is_not_null()).then(time < qualifying_time)
    earlier = (
        pl.when(date.is_null() | qualifying_date.is_null())
        .then(default)
        .when(date != qualifying_date)
        .then(date < qualifying_date)
        .otherwise(same_day.otherwise(pl.lit(session.startswith("fp"))))
    )
    return races.select("season", "round", before_qualifying=earlier)


def _practice_before_qualifying(practice: pl.DataFrame, races: pl.DataFrame) -> pl.DataFrame:
    """The practice rows of sessions held before their weekend's qualifying, with their gap to the session's
    fastest and their place in the weekend's order of sessions."""
    held = pl.concat(
        before_qualifying(races, session).with_columns(session=pl.lit(session)) for session in DEFAULT_BEFORE_QUALIFYING
    )
    fastest = pl.col("time_seconds").min().over("season", "round", "session")
    return (
        practice.join(held, on=["season", "round", "session"], how="left")
        .filter(pl.col("before_qualifying").fill_null(pl.col("session").str.starts_with("fp")))
        .with_columns(gap=((pl.col("time_seconds") / fastest - 1) * 100).clip(upper_bound=PRACTICE_GAP_CAP))
    )


def _with_practice(
    rows: pl.DataFrame, practice: pl.DataFrame | None, sprints: pl.DataFrame, races: pl.DataFrame
) -> pl.DataFrame:
    """This weekend's pace before qualifying: each driver's and his team's best gap, mean gap, the gap of the
    latest session he set a time in, and his mean classification, a sprint held before qualifying counted as one
    more classified session. (As a column of its own the sprint result was fitted on a handful of races: it cost
    log loss 0.02 pre-qualifying and 0.01 post-qualifying in the walk-forward, so it has none; inside the mean
    classification it costs nothing.)"""
    names = ("practice_best_gap", "practice_mean_gap", "practice_last_gap", "practice_mean_position")
    if practice is None:
        return rows.with_columns(pl.lit(None, pl.Float64).alias(name) for name in (*names, "team_practice_best_gap"))
    early_sprints = (
        sprints.join(before_qualifying(races, "sprint").filter("before_qualifying"), on=["season", "round"])
        .select("season", "round", "driver_id", "constructor_id", session=pl.lit("sprint"), position="position_order")
        .with_columns(gap=pl.lit(None, pl.Float64))
    )
    weekend = _practice_before_qualifying(practice, races)
    sessions = pl.concat([weekend, early_sprints], how="diagonal_relaxed").sort("season", "round", "session")
    driver = sessions.group_by("season", "round", "driver_id").agg(
        practice_best_gap=pl.col("gap").min(),
        practice_mean_gap=pl.col("gap").mean(),
        practice_last_gap=pl.col("gap").drop_nulls().last(),
        practice_mean_position=pl.col("position").mean(),
    )
    team = sessions.group_by("season", "round", "constructor_id").agg(team_practice_best_gap=pl.col("gap").min())
    return rows.join(driver, on=["season", "round", "driver_id"], how="left").join(
        team, on=["season", "round", "constructor_id"], how="left"
    )
