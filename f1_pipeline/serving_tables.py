"""The tables the REST API serves, built from warehouse tables passed in as frames.

The API reads only what is published (see `f1_pipeline.publication`), never the warehouse, so every join it would
need is done here: names beside ids, winners on the calendar, outcomes beside predictions, season rankings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import cast

import polars as pl
import polars.selectors as cs
from tzfpy import get_tz

from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.outcomes import OUTCOME_COLUMNS
from f1_pipeline.publication import ColumnRule, Schema, SumRule, ValueRules
from f1_pipeline.registry.decisions import PROMOTION_SCHEMA

WINNER = 1
PODIUM = 3
SEASON_KEY = "season"
RATING_HISTORY_SEASONS = 5
"""Seasons of per-race ratings published for the history charts: the latest and the four before it."""

COLUMN_DOCS = {
    "starts_at": "race start in UTC; null when the schedule gives no time",
    "timezone": "the circuit's IANA time zone, from its coordinates; null when they are unknown",
    "is_next": "the first race without results: the one the next-race predictions are for",
    "winner_driver_id": "null until the race has a winner; a shared drive of the 1950s names the first driver by id",
    "finish_position": "classified position; null when not classified (or, beside a prediction, not started yet)",
    "won": "the driver won the race; null when the race has no result for him",
    "races": "races entered in the season",
    "wins": "races won in the season",
    "podiums": "top-3 finishes in the season (a team counts each of its cars)",
    "points": "points scored in the season, race plus sprint; not the championship total after dropped scores",
    "elo": "rating after the last race of the season",
    "elo_rank": "1 = highest rating in the season; ties broken by id",
    "points_rank": "1 = most points in the season; ties broken by wins, then by id",
    **OUTCOME_COLUMNS,
    "top_contributions": "JSON list of {feature, contribution}: the features that moved the driver's score most",
    "after_round": "the last completed round the title standings include",
    "entity": "driver or constructor: which championship",
    "points_now": "championship points after `after_round`",
    "title_probability": "share of simulated seasons the driver or team ends on top",
    "expected_points": "mean final points over the simulated seasons",
    "action": "promotion or refusal (the gate's), manual_promotion or rollback (an operator's)",
    "candidate_version": "the registry version the decision was about",
    "resulting_champion_version": "the version the champion alias named after the decision",
    "candidate_log_loss": "the candidate's walk-forward winner log loss; null when nothing was compared",
    "champion_log_loss": "the previous champion's on the same walk-forward; null without one, or when not compared",
    "deciding_outcomes": "comma-separated outcomes the gate's decision turned on (win: the winner log loss); "
    "null for an operator's decision",
    "reason": "the decision in words, as the registry's version description ends",
}


TITLE_ODDS: dict[str, pl.DataType] = {
    "season": pl.Int32(),
    "after_round": pl.Int32(),
    "entity": pl.String(),
    "id": pl.String(),
    "name": pl.String(),
    "points_now": pl.Float64(),
    "title_probability": pl.Float64(),
    "expected_points": pl.Float64(),
    "title_decided": pl.Boolean(),
}
"""The columns of every table of title odds (now, and after each round), in the order they are written."""

_RACE = {"season": pl.Int32, "round": pl.Int32, "race_name": pl.String, "date": pl.Date}
_NAMES = {
    "driver_id": pl.String,
    "driver_name": pl.String,
    "driver_code": pl.String,
    "constructor_id": pl.String,
    "constructor_name": pl.String,
}
_PREDICTION = {
    **_RACE,
    **_NAMES,
    "circuit_id": pl.String,
    "mode": pl.String,
    "probability": pl.Float64,
    "rank": pl.UInt32,
    "model_version": pl.String,
    **dict.fromkeys(OUTCOME_COLUMNS, pl.Float64),
}
_RANKING = {"races": pl.Int32, "wins": pl.Int32, "podiums": pl.Int32, "points": pl.Float64, "elo": pl.Float64}
SCHEMAS: dict[str, Schema] = {
    "calendar": {
        **_RACE,
        "starts_at": pl.Datetime("us", "UTC"),
        "circuit_id": pl.String,
        "circuit_name": pl.String,
        "locality": pl.String,
        "country": pl.String,
        "timezone": pl.String,
        "qualifying_date": pl.Date,
        "sprint_date": pl.Date,
        "has_sprint": pl.Boolean,
        "status": pl.String,
        "is_next": pl.Boolean,
        "winner_driver_id": pl.String,
        "winner_name": pl.String,
    },
    "results": {
        **_RACE,
        **_NAMES,
        "grid": pl.Int32,
        "finish_position": pl.Int32,
        "position_order": pl.Int32,
        "position_text": pl.String,
        "points": pl.Float64,
        "laps": pl.Int32,
        "status": pl.String,
    },
    "next_race": {**_PREDICTION, "model_name": pl.String, "top_contributions": pl.String},
    "next_race_features": {"season": pl.Int32, "round": pl.Int32, "driver_id": pl.String},
    "race_predictions": {**_PREDICTION, "won": pl.Boolean, "finish_position": pl.Int32},
    "prediction_accuracy": {
        **_RACE,
        "mode": pl.String,
        "model_version": pl.String,
        "log_loss": pl.Float64,
        "brier": pl.Float64,
        "correct_winner": pl.Boolean,
        "winner_in_top3": pl.Boolean,
        "winner_probability": pl.Float64,
        "field_size": pl.Int32,
    },
    "driver_rankings": {
        "season": pl.Int32,
        **{column: dtype for column, dtype in _NAMES.items() if column != "constructor_id"},
        **_RANKING,
        "elo_rank": pl.Int32,
        "points_rank": pl.Int32,
    },
    "team_rankings": {
        "season": pl.Int32,
        "constructor_id": pl.String,
        "constructor_name": pl.String,
        **_RANKING,
        "elo_rank": pl.Int32,
        "points_rank": pl.Int32,
    },
    "rating_history": {**_RACE, "entity": pl.String, "entity_id": pl.String, "name": pl.String, "elo": pl.Float64},
    "championship_odds": TITLE_ODDS,
    "title_odds_by_round": TITLE_ODDS,
    "promotions": {
        name: PROMOTION_SCHEMA[name]
        for name in (
            "decided_at",
            "action",
            "candidate_version",
            "previous_champion_version",
            "resulting_champion_version",
            "candidate_log_loss",
            "champion_log_loss",
            "deciding_outcomes",
            "reason",
        )
    },
}
"""Every published table's guaranteed columns: `read_publication(..., schemas=SCHEMAS)` refuses a snapshot that
does not match them, and the API then keeps serving the one it has. Tables may carry more columns; a reader relies
only on the declared ones, so a column a reader starts to use is declared here first."""

REQUIRED = ColumnRule(not_null=True)
PROBABILITY = ColumnRule(not_null=True, finite=True, within=(0.0, 1.0))
SHARE = ColumnRule(finite=True, within=(0.0, 1.0))
"""A probability that may be absent (an outcome an older model did not predict)."""
NUMBER = ColumnRule(finite=True)
SEASON = ColumnRule(not_null=True, within=(1950, 2100))
RACE_DATE = ColumnRule(not_null=True, within=(date(1950, 1, 1), date(2100, 12, 31)))
_RACE_RULES = {"season": SEASON, "round": ColumnRule(not_null=True, within=(1, 99)), "race_name": REQUIRED}
_PREDICTION_RULES = {
    **_RACE_RULES,
    "date": RACE_DATE,
    "driver_id": REQUIRED,
    "driver_name": REQUIRED,
    "mode": REQUIRED,
    "rank": REQUIRED,
    "probability": PROBABILITY,
    **{name: SHARE if name.endswith("_probability") else NUMBER for name in OUTCOME_COLUMNS},
}
_FIELD = SumRule("probability", per=("mode", "season", "round"))
"""Each race's field is a distribution: the drivers' win probabilities sum to 1."""
_RANKING_RULES = {"season": SEASON, "points": NUMBER, "elo": NUMBER}
VALUE_RULES: dict[str, ValueRules] = {
    "calendar": ValueRules({**_RACE_RULES, "date": RACE_DATE, "status": REQUIRED, "is_next": REQUIRED}),
    "results": ValueRules({**_RACE_RULES, "date": RACE_DATE, "driver_id": REQUIRED, "points": NUMBER}),
    "next_race": ValueRules(_PREDICTION_RULES, sums=(_FIELD,)),
    "next_race_features": ValueRules({"season": SEASON, "round": REQUIRED, "driver_id": REQUIRED}),
    "race_predictions": ValueRules(_PREDICTION_RULES, sums=(_FIELD,)),
    "prediction_accuracy": ValueRules(
        {**_RACE_RULES, "log_loss": NUMBER, "brier": NUMBER, "winner_probability": SHARE}
    ),
    "driver_rankings": ValueRules({**_RANKING_RULES, "driver_id": REQUIRED}),
    "team_rankings": ValueRules({**_RANKING_RULES, "constructor_id": REQUIRED}),
    "rating_history": ValueRules({**_RACE_RULES, "entity_id": REQUIRED, "elo": NUMBER}),
    "championship_odds": ValueRules(
        {"season": SEASON, "entity": REQUIRED, "id": REQUIRED, "title_probability": PROBABILITY},
        sums=(SumRule("title_probability", per=("season", "entity")),),
    ),
    "promotions": ValueRules(
        {
            "decided_at": REQUIRED,
            "action": REQUIRED,
            "candidate_version": REQUIRED,
            "resulting_champion_version": REQUIRED,
            "candidate_log_loss": NUMBER,
            "champion_log_loss": NUMBER,
            "reason": REQUIRED,
        }
    ),
}
"""Every published table's value contract, beside its schema: the pipeline refuses to publish a snapshot that
breaks it (`publish(..., rules=VALUE_RULES)`) and the API refuses to take one into service (`publication-invalid`).
A rule names a column; columns without one, and columns a table adds later, are not looked at."""


@dataclass(frozen=True)
class WarehouseTables:
    """The warehouse tables the serving tables are built from, as read (`clean.*`, `ratings.*`, ...)."""

    races: pl.DataFrame
    circuits: pl.DataFrame
    drivers: pl.DataFrame
    constructors: pl.DataFrame
    race_results: pl.DataFrame
    sprint_results: pl.DataFrame
    elo_history: pl.DataFrame
    race_features: pl.DataFrame
    next_race: pl.DataFrame
    race_predictions: pl.DataFrame
    prediction_accuracy: pl.DataFrame
    championship_odds: pl.DataFrame
    title_odds_by_round: pl.DataFrame
    promotions: pl.DataFrame


def serving_tables(warehouse: WarehouseTables) -> dict[str, pl.DataFrame]:
    """Every published table by name (the names `publication.TABLES` lists), each in a stable row order so that
    the same data always publishes the same content."""
    tables = {
        "calendar": calendar(warehouse.races, warehouse.circuits, warehouse.race_results, warehouse.drivers),
        "results": results(warehouse.race_results, warehouse.drivers, warehouse.constructors, warehouse.races),
        "next_race": next_race(warehouse.next_race),
        "next_race_features": next_race_features(warehouse.race_features),
        "race_predictions": race_predictions(warehouse.race_predictions, warehouse.race_results),
        "prediction_accuracy": prediction_accuracy(warehouse.prediction_accuracy),
        "driver_rankings": driver_rankings(
            warehouse.race_results,
            warehouse.sprint_results,
            warehouse.elo_history,
            warehouse.drivers,
            warehouse.constructors,
        ),
        "team_rankings": team_rankings(
            warehouse.race_results, warehouse.sprint_results, warehouse.elo_history, warehouse.constructors
        ),
        "rating_history": rating_history(
            warehouse.elo_history, warehouse.drivers, warehouse.constructors, warehouse.races
        ),
        "championship_odds": championship_odds(warehouse.championship_odds),
        "title_odds_by_round": title_odds_by_round(warehouse.title_odds_by_round),
        "promotions": promotions(warehouse.promotions),
    }
    return {name: in_utc(frame) for name, frame in tables.items()}


def in_utc(frame: pl.DataFrame) -> pl.DataFrame:
    """Instants labelled "UTC": DuckDB hands them over as "Etc/UTC", the same instant under a name clients may not
    know."""
    return frame.with_columns(cs.datetime(time_zone="*").dt.convert_time_zone("UTC"))


def with_names(
    frame: pl.DataFrame, drivers: pl.DataFrame, constructors: pl.DataFrame, races: pl.DataFrame
) -> pl.DataFrame:
    """`frame` (keyed by race, driver and team ids) with driver_name, driver_code, constructor_name, race_name, date
    and circuit_id beside the ids; rows without a match keep null names."""
    return (
        frame.join(_driver_names(drivers), on="driver_id", how="left")
        .join(_team_names(constructors), on="constructor_id", how="left")
        .join(races.select(*RACE_KEY, "race_name", "date", "circuit_id"), on=RACE_KEY, how="left")
    )


def calendar(
    races: pl.DataFrame, circuits: pl.DataFrame, race_results: pl.DataFrame, drivers: pl.DataFrame
) -> pl.DataFrame:
    """Every race on every schedule, with its circuit and, once run, its winner."""
    venues = circuits.select(
        "circuit_id",
        circuit_name="name",
        locality="locality",
        country="country",
        timezone=pl.struct("latitude", "longitude").map_elements(_timezone, return_dtype=pl.String),
    )
    winners = (
        race_results.filter(pl.col("finish_position") == WINNER)
        .sort(*RACE_KEY, "driver_id")
        .group_by(RACE_KEY, maintain_order=True)
        .agg(winner_driver_id=pl.col("driver_id").first())
        .join(
            _driver_names(drivers).select("driver_id", winner_name="driver_name"),
            left_on="winner_driver_id",
            right_on="driver_id",
            how="left",
        )
    )
    return (
        races.join(venues, on="circuit_id", how="left")
        .join(winners, on=RACE_KEY, how="left")
        .select(
            *RACE_KEY,
            "race_name",
            "date",
            "starts_at",
            "circuit_id",
            "circuit_name",
            "locality",
            "country",
            "timezone",
            "qualifying_date",
            "sprint_date",
            "has_sprint",
            "status",
            "is_next",
            "winner_driver_id",
            "winner_name",
        )
        .sort(RACE_KEY)
    )


def results(
    race_results: pl.DataFrame, drivers: pl.DataFrame, constructors: pl.DataFrame, races: pl.DataFrame
) -> pl.DataFrame:
    """Every car's result in every race, in finishing order, with names."""
    return (
        with_names(race_results, drivers, constructors, races)
        .select(
            *RACE_KEY,
            "race_name",
            "date",
            "driver_id",
            "driver_name",
            "driver_code",
            "constructor_id",
            "constructor_name",
            "grid",
            "finish_position",
            "position_order",
            "position_text",
            "points",
            "laps",
            "status",
        )
        .sort(*RACE_KEY, "position_order", "driver_id")
    )


def next_race(predictions: pl.DataFrame) -> pl.DataFrame:
    """The champion's next-race probabilities as predicted (names and ranks already beside them)."""
    return predictions.sort("mode", *RACE_KEY, "rank")


def next_race_features(race_features: pl.DataFrame) -> pl.DataFrame:
    """The next race's feature rows, so the API can predict it with a champion promoted after this publication."""
    return race_features.filter(pl.col("is_next")).sort(*RACE_KEY, "driver_id")


def race_predictions(predictions: pl.DataFrame, race_results: pl.DataFrame) -> pl.DataFrame:
    """The champion's walk-forward probabilities with what happened: every prediction row is kept."""
    return (
        predictions.drop("won", "finish_position", strict=False)
        .join(_outcomes(race_results), on=[*RACE_KEY, "driver_id"], how="left")
        .sort("mode", *RACE_KEY, "rank")
    )


def prediction_accuracy(accuracy: pl.DataFrame) -> pl.DataFrame:
    return accuracy.sort("mode", *RACE_KEY)


TITLE_ORDER = (["title_probability", "expected_points", "name"], [True, True, False])
"""How every table of title odds is ordered (warehouse, API, dashboard, CLI): chance, then expected points, then
name; the columns and whether each sorts descending."""


def championship_odds(odds: pl.DataFrame) -> pl.DataFrame:
    """The current season's title odds, drivers' then constructors', each ordered as every title table is: chance,
    then expected points, then name (`TITLE_ORDER`)."""
    return odds.sort(pl.col("entity") != "driver", *TITLE_ORDER[0], "id", descending=[False, *TITLE_ORDER[1], False])


def title_odds_by_round(odds: pl.DataFrame) -> pl.DataFrame:
    """The title odds after every completed round, by round, drivers' then constructors', each ordered as every title
    table is."""
    return odds.sort(
        "after_round",
        pl.col("entity") != "driver",
        *TITLE_ORDER[0],
        "id",
        descending=[False, False, *TITLE_ORDER[1], False],
    )


def promotions(decisions: pl.DataFrame) -> pl.DataFrame:
    """Every decision on the champion alias, oldest first, with what people are told of it (the versions, both
    scores, the deciding outcomes and the reason); who decided (a Dagster run id) and the evaluation's fingerprint
    stay in the warehouse."""
    return decisions.select(SCHEMAS["promotions"].keys()).sort("decided_at")


_RANKING_STATS = ("races", "wins", "podiums", "points", "elo", "elo_rank", "points_rank")
"""What driver and team rankings both say of their entity's season, after its id and names."""


def driver_rankings(
    race_results: pl.DataFrame,
    sprint_results: pl.DataFrame,
    elo_history: pl.DataFrame,
    drivers: pl.DataFrame,
    constructors: pl.DataFrame,
) -> pl.DataFrame:
    """One row per driver and season: his results, his rating at the season's end and his ranks on both."""
    last_team = (
        race_results.sort(*RACE_KEY, "position_order")
        .group_by(SEASON_KEY, "driver_id")
        .agg(pl.col("constructor_id").last())
        .join(_team_names(constructors), on="constructor_id", how="left")
        .drop("constructor_id")
    )
    return (
        _season_totals(race_results, sprint_results, "driver_id")
        .join(_season_end_elo(elo_history, "driver", "driver_id"), on=[SEASON_KEY, "driver_id"], how="left")
        .join(_driver_names(drivers), on="driver_id", how="left")
        .join(last_team, on=[SEASON_KEY, "driver_id"], how="left")
        .pipe(_with_ranks, "driver_id")
        .select(
            SEASON_KEY,
            "driver_id",
            "driver_name",
            "driver_code",
            "constructor_name",
            *_RANKING_STATS,
        )
    )


def team_rankings(
    race_results: pl.DataFrame, sprint_results: pl.DataFrame, elo_history: pl.DataFrame, constructors: pl.DataFrame
) -> pl.DataFrame:
    """One row per team and season: its results, its rating at the season's end and its ranks on both."""
    return (
        _season_totals(race_results, sprint_results, "constructor_id")
        .join(_season_end_elo(elo_history, "team", "constructor_id"), on=[SEASON_KEY, "constructor_id"], how="left")
        .join(_team_names(constructors), on="constructor_id", how="left")
        .pipe(_with_ranks, "constructor_id")
        .select(
            SEASON_KEY,
            "constructor_id",
            "constructor_name",
            *_RANKING_STATS,
        )
    )


def rating_history(
    elo_history: pl.DataFrame, drivers: pl.DataFrame, constructors: pl.DataFrame, races: pl.DataFrame
) -> pl.DataFrame:
    """Every driver's and team's rating after each race of the last `RATING_HISTORY_SEASONS` seasons, named, for
    the history charts (the whole history is in the warehouse; a chart needs only the recent seasons)."""
    names = pl.concat(
        [
            _driver_names(drivers).select(pl.lit("driver").alias("entity"), entity_id="driver_id", name="driver_name"),
            _team_names(constructors).select(
                pl.lit("team").alias("entity"), entity_id="constructor_id", name="constructor_name"
            ),
        ]
    )
    first = cast(int, elo_history[SEASON_KEY].max()) - RATING_HISTORY_SEASONS + 1 if elo_history.height else 0
    return (
        elo_history.filter(pl.col(SEASON_KEY) >= first)
        .select(*RACE_KEY, "entity", "entity_id", elo="rating_after")
        .join(names, on=["entity", "entity_id"], how="left")
        .join(races.select(*RACE_KEY, "race_name", "date"), on=RACE_KEY, how="left")
        .select(*RACE_KEY, "race_name", "date", "entity", "entity_id", "name", "elo")
        .sort("entity", "entity_id", *RACE_KEY)
    )


def _timezone(coordinates: dict[str, float | None]) -> str | None:
    """The IANA zone at a circuit's coordinates (offline polygons), so a start time can be shown in local time."""
    latitude, longitude = coordinates["latitude"], coordinates["longitude"]
    if latitude is None or longitude is None:
        return None
    return get_tz(longitude, latitude) or None


def _driver_names(drivers: pl.DataFrame) -> pl.DataFrame:
    return drivers.select("driver_id", driver_name="full_name", driver_code="code")


def _team_names(constructors: pl.DataFrame) -> pl.DataFrame:
    return constructors.select("constructor_id", constructor_name="name")


def _outcomes(race_results: pl.DataFrame) -> pl.DataFrame:
    """Per (race, driver): his best classified position and whether he won. A driver sharing cars in the 1950s has
    two rows in a race; he won if either car did."""
    return race_results.group_by(*RACE_KEY, "driver_id").agg(
        won=(pl.col("finish_position") == WINNER).fill_null(False).any(),
        finish_position=pl.col("finish_position").min(),
    )


def _season_totals(race_results: pl.DataFrame, sprint_results: pl.DataFrame, entity: str) -> pl.DataFrame:
    """Races, wins, podiums and points (race plus sprint) per season and driver or team. A driver counts a race
    once even when he shared cars; a team counts each of its cars' podiums."""
    finishes = race_results.with_columns(
        won=(pl.col("finish_position") == WINNER).fill_null(False),
        podium=(pl.col("finish_position") <= PODIUM).fill_null(False),
    )
    podiums = pl.col("podium").sum() if entity == "constructor_id" else pl.col("round").filter("podium").n_unique()
    race_totals = finishes.group_by(SEASON_KEY, entity).agg(
        races=pl.col("round").n_unique().cast(pl.Int32),
        wins=pl.col("round").filter("won").n_unique().cast(pl.Int32),
        podiums=podiums.cast(pl.Int32),
        race_points=pl.col("points").sum(),
    )
    sprint_points = sprint_results.group_by(SEASON_KEY, entity).agg(sprint_points=pl.col("points").sum())
    return (
        race_totals.join(sprint_points, on=[SEASON_KEY, entity], how="left")
        .with_columns(points=pl.col("race_points") + pl.col("sprint_points").fill_null(0.0))
        .drop("race_points", "sprint_points")
    )


def _season_end_elo(elo_history: pl.DataFrame, entity: str, id_column: str) -> pl.DataFrame:
    return (
        elo_history.filter(pl.col("entity") == entity)
        .sort(RACE_KEY)
        .group_by(SEASON_KEY, "entity_id")
        .agg(elo=pl.col("rating_after").last())
        .rename({"entity_id": id_column})
    )


def _with_ranks(frame: pl.DataFrame, entity: str) -> pl.DataFrame:
    """Ordinal ranks within each season: no two share a rank, and a rerun ranks ties the same way."""
    return (
        frame.pipe(_ordinal_rank, "elo_rank", ["elo", entity], [True, False])
        .pipe(_ordinal_rank, "points_rank", ["points", "wins", entity], [True, True, False])
        .sort(SEASON_KEY, "points_rank")
    )


def _ordinal_rank(frame: pl.DataFrame, name: str, by: list[str], descending: list[bool]) -> pl.DataFrame:
    """`name` = 1, 2, ... within each season in the order of `by`; null where the first key is null."""
    position = pl.int_range(1, pl.len() + 1, dtype=pl.Int32).over(SEASON_KEY)
    return frame.sort(SEASON_KEY, *by, descending=[False, *descending], nulls_last=True).with_columns(
        pl.when(pl.col(by[0]).is_not_null()).then(position).alias(name)
    )
