"""The tables the REST API serves, built from warehouse tables passed in as frames.

The API reads only what is published (see `f1_pipeline.publication`), never the warehouse, so every join it would
need is done here: names beside ids, winners on the calendar, outcomes beside predictions, season rankings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

import polars as pl
import polars.selectors as cs
from tzfpy import get_tz

from f1_pipeline.contracts import (
    FINITE,
    PROBABILITY,
    RACE_DATE,
    REQUIRED,
    ROUND,
    SEASON,
    Column,
    ColumnRule,
    Contract,
    Schema,
    SumRule,
    ValueRules,
)
from f1_pipeline.modeling.champion_predictions import (
    NEXT_RACE_CONTRACT,
    PREDICTION_ACCURACY_CONTRACT,
    PREDICTION_COLUMNS,
    RACE_PREDICTIONS_CONTRACT,
)
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.title_forecasts import TITLE_FORECAST_CONTRACT
from f1_pipeline.modeling.title_odds import CHAMPIONSHIP_ODDS_CONTRACT
from f1_pipeline.registry.decisions import PROMOTIONS_CONTRACT

WINNER = 1
PODIUM = 3
SEASON_KEY = "season"
RATING_HISTORY_SEASONS = 5
"""Seasons of per-race ratings published for the history charts: the latest and the four before it."""

_MODE = replace(RACE_PREDICTIONS_CONTRACT.column("mode"), rule=None)
(
    _SEASON,
    _ROUND,
    _RACE_NAME,
    _DATE,
    _CIRCUIT_ID,
    _DRIVER_ID,
    _DRIVER_NAME,
    _DRIVER_CODE,
    _CONSTRUCTOR_ID,
    _CONSTRUCTOR_NAME,
    _MODEL_VERSION,
    _FINISH_POSITION,
) = (
    replace(RACE_PREDICTIONS_CONTRACT.column(name), rule=None)
    for name in (
        "season",
        "round",
        "race_name",
        "date",
        "circuit_id",
        "driver_id",
        "driver_name",
        "driver_code",
        "constructor_id",
        "constructor_name",
        "model_version",
        "finish_position",
    )
)
"""The race predictions' columns that every table naming a race, a driver or a team shares, in their words (each
table has its own rules)."""
_ENTITY_NAME = replace(CHAMPIONSHIP_ODDS_CONTRACT.column("name"), rule=None)
_RACE = (_SEASON.ruled(SEASON), _ROUND.ruled(ROUND), _RACE_NAME.ruled(REQUIRED))
_PUBLISHED_PREDICTION_RULES: dict[str, ColumnRule | None] = {
    "mode": REQUIRED,
    "model_version": None,
    "model_name": None,
    "won": None,
}
"""Where a published table of predictions checks a column otherwise than the warehouse's."""


def _published_predictions(contract: Contract, extra: tuple[str, ...]) -> tuple[Column, ...]:
    """A warehouse table of predictions' shared columns and its `extra` ones, under the published rules."""
    columns = (*PREDICTION_COLUMNS, *(contract.column(name) for name in extra))
    return tuple(
        replace(column, rule=_PUBLISHED_PREDICTION_RULES[column.name])
        if column.name in _PUBLISHED_PREDICTION_RULES
        else column
        for column in columns
    )


def _ranking(entity: tuple[Column, ...]) -> tuple[Column, ...]:
    """A driver's or team's season: its id and names, then what both rankings say of it."""
    return (
        _SEASON.ruled(SEASON),
        *entity,
        Column("races", pl.Int32, "races entered in the season"),
        Column("wins", pl.Int32, "races won in the season", example=4),
        Column("podiums", pl.Int32, "top-3 finishes in the season (a team counts each of its cars)", example=9),
        Column(
            "points",
            pl.Float64,
            "points scored in the season, race plus sprint; not the championship total after dropped scores",
            FINITE,
            250.5,
        ),
        Column("elo", pl.Float64, "ELO rating after the season's last race; null without a rating", FINITE, 1612.4),
        Column(
            "elo_rank",
            pl.Int32,
            "1 = highest rating in the season; ties broken by id; null without a rating",
            example=1,
        ),
        Column("points_rank", pl.Int32, "1 = most points in the season; ties broken by wins, then by id", example=1),
    )


_CURRENT_TITLE_ODDS_RULES = {"season": SEASON, "entity": REQUIRED, "id": REQUIRED, "title_probability": PROBABILITY}
"""What a published table of the current title odds checks: a season, and per contender a probability."""


def _title_odds(name: str, row: str, rules: bool) -> Contract:
    """A table of title odds in the warehouse's columns; the current ones (`rules`) are checked as a distribution per
    championship."""
    return Contract(
        name,
        row,
        tuple(
            replace(column, rule=_CURRENT_TITLE_ODDS_RULES.get(column.name) if rules else None)
            for column in CHAMPIONSHIP_ODDS_CONTRACT.columns
        ),
        sums=(SumRule("title_probability", per=("season", "entity")),) if rules else (),
    )


CONTRACTS: tuple[Contract, ...] = (
    Contract(
        "calendar",
        "a race on a season's schedule, with its circuit and, once run, its winner",
        (
            *_RACE,
            _DATE.ruled(RACE_DATE),
            Column(
                "starts_at",
                pl.Datetime("us", "UTC"),
                "race start in UTC; null when the schedule gives no time",
                example="2026-08-23T13:00:00Z",
            ),
            _CIRCUIT_ID,
            Column("circuit_name", pl.String, "the circuit's name", example="Circuit Park Zandvoort"),
            Column("locality", pl.String, "the town or city of the circuit", example="Zandvoort"),
            Column("country", pl.String, "the circuit's country", example="Netherlands"),
            Column(
                "timezone",
                pl.String,
                "the circuit's IANA time zone; null when its coordinates are unknown",
                example="Europe/Amsterdam",
            ),
            Column("qualifying_date", pl.Date, "qualifying day; null when unknown", example="2026-08-22"),
            Column("sprint_date", pl.Date, "sprint day; null without a sprint", example="2026-08-22"),
            Column("has_sprint", pl.Boolean, "whether the weekend has a sprint race", example=True),
            Column(
                "status", pl.String, "the race's state in the schedule: scheduled, completed or cancelled", REQUIRED
            ),
            Column(
                "is_next",
                pl.Boolean,
                "the first race without results: the one the next-race predictions are for",
                REQUIRED,
                False,
            ),
            Column(
                "winner_driver_id",
                pl.String,
                "the winner's driver id; null until the race has a winner; a shared drive of the 1950s names the "
                "first driver by id",
                example="norris",
            ),
            Column(
                "winner_name", pl.String, "the winner's name; null until the race has a winner", example="Lando Norris"
            ),
        ),
    ),
    Contract(
        "results",
        "a car and driver in a race, with names",
        (
            *_RACE,
            _DATE.ruled(RACE_DATE),
            _DRIVER_ID.ruled(REQUIRED),
            _DRIVER_NAME,
            _DRIVER_CODE,
            _CONSTRUCTOR_ID,
            _CONSTRUCTOR_NAME,
            Column("grid", pl.Int32, "starting slot; null for a pit-lane start or a car that did not start", example=3),
            _FINISH_POSITION,
            Column("position_order", pl.Int32, "the finishing order of every car, classified or not", example=1),
            Column(
                "position_text",
                pl.String,
                "the position as published: a number, or R (retired), D (disqualified), ...",
                example="1",
            ),
            Column("points", pl.Float64, "points scored in the race", FINITE),
            Column("laps", pl.Int32, "laps completed", example=52),
            Column("status", pl.String, "the finishing status in the source's words (Finished, +1 Lap, Engine, ...)"),
        ),
    ),
    Contract(
        "next_race",
        "a driver's chances in the next race, in a mode",
        _published_predictions(NEXT_RACE_CONTRACT, ("model_name", "top_contributions")),
        sums=NEXT_RACE_CONTRACT.sums,
    ),
    Contract(
        "next_race_features",
        "a driver in the next race with the features the champion reads (the key is what is guaranteed)",
        (_SEASON.ruled(SEASON), _ROUND.ruled(REQUIRED), _DRIVER_ID.ruled(REQUIRED)),
    ),
    Contract(
        "race_predictions",
        "a driver's walk-forward chances in a backtested race and mode, beside what happened",
        _published_predictions(RACE_PREDICTIONS_CONTRACT, ("won", "finish_position")),
        sums=RACE_PREDICTIONS_CONTRACT.sums,
    ),
    Contract(
        "prediction_accuracy",
        "how the champion's predictions of a race scored, in a mode",
        (
            *_RACE,
            _DATE,
            _MODE,
            _MODEL_VERSION,
            *(
                PREDICTION_ACCURACY_CONTRACT.column(name)
                for name in (
                    "log_loss",
                    "brier",
                    "correct_winner",
                    "winner_in_top3",
                    "winner_probability",
                    "field_size",
                )
            ),
        ),
    ),
    Contract(
        "driver_rankings",
        "a driver's season: his results, his rating at its end and his ranks on both",
        _ranking((_DRIVER_ID.ruled(REQUIRED), _DRIVER_NAME, _DRIVER_CODE, _CONSTRUCTOR_NAME)),
    ),
    Contract(
        "team_rankings",
        "a team's season: its results, its rating at its end and its ranks on both",
        _ranking((_CONSTRUCTOR_ID.ruled(REQUIRED), _CONSTRUCTOR_NAME)),
    ),
    Contract(
        "rating_history",
        f"a driver's or team's rating after a race of the last {RATING_HISTORY_SEASONS} seasons",
        (
            *_RACE,
            _DATE,
            Column("entity", pl.String, "driver or team: whose rating"),
            Column("entity_id", pl.String, "the driver's or the team's Ergast id", REQUIRED),
            _ENTITY_NAME,
            Column("elo", pl.Float64, "ELO rating after the race", FINITE),
        ),
    ),
    _title_odds("championship_odds", "a driver's or constructor's odds of this season's title", rules=True),
    _title_odds(
        "title_odds_by_round",
        "a driver's or constructor's title odds after a completed round of this season",
        rules=False,
    ),
    replace(
        TITLE_FORECAST_CONTRACT,
        name="title_forecasts",
        row="a driver's or constructor's title odds after a round of a past season, from the published simulation "
        "(what it would have said then), and whether it became world champion: what the title odds' calibration is "
        "measured on",
    ),
    Contract(
        "promotions",
        "a decision on the champion alias, as people are shown it (who decided stays in the warehouse)",
        (
            *(
                PROMOTIONS_CONTRACT.column(name)
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
            ),
        ),
    ),
)
"""Every published table, in publication order (`publication.TABLES`): what a reader may rely on, column by column.
`read_publication(..., schemas=SCHEMAS)` refuses a snapshot that lacks a column or holds it in another type, and the
API then keeps serving the one it has; the pipeline refuses to publish a snapshot that breaks a value rule
(`publish(..., rules=VALUE_RULES)`) and the API refuses to take one into service (`publication-invalid`). A column
without a rule, and a column a table carries beyond its contract, is not looked at."""
BY_NAME = {contract.name: contract for contract in CONTRACTS}
SCHEMAS: dict[str, Schema] = {contract.name: contract.schema for contract in CONTRACTS}
VALUE_RULES: dict[str, ValueRules] = {contract.name: contract.rules for contract in CONTRACTS}


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
    title_forecasts: pl.DataFrame


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
        "title_forecasts": warehouse.title_forecasts.select(SCHEMAS["title_forecasts"].keys()).sort(
            "entity", "season", "after_round", "id"
        ),
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
