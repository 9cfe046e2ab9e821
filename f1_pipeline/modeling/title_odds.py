"""The current season's title odds after every completed round, and whether a title is already decided.

Published so a reader can follow how the odds moved through the season: after round r the simulation starts from
the standings after r and the pre-qualifying win probabilities of round r + 1 (the champion's walk-forward
predictions for a completed race, its next-race odds for the next one), exactly as the odds were computed then.
A display may show 100% or 0% only for a title that is mathematically decided: `title_decided` says so.

Both tables of the current season's title odds (`predictions.championship_odds`, `predictions.title_odds_by_round`)
are declared here, in the title forecasts' words where they share a column; the published tables take their columns
from these declarations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from f1_pipeline.contracts import REQUIRED, ROUND, Column, ColumnRule, Contract, SumRule
from f1_pipeline.modeling.points import FIRST_MODELLED_SEASON, points_system
from f1_pipeline.modeling.season_simulation import (
    ENTITIES,
    Entity,
    Round,
    era_not_classified_rate,
    remaining_rounds,
    simulate,
    standings,
)
from f1_pipeline.modeling.strength_drift import Drift
from f1_pipeline.modeling.title_baseline import win_points
from f1_pipeline.modeling.title_forecasts import TITLE_FORECAST_CONTRACT
from f1_pipeline.tables import CHAMPIONSHIP_ODDS, TITLE_ODDS_BY_ROUND, Table

_TITLE_ODDS_KEY = ("season", "after_round", "entity", "id")


def _title_odds(table: Table, after_round: ColumnRule, distribution: tuple[str, ...]) -> Contract:
    """A table of title odds: the standings after `after_round` and the simulated rest of the season, each
    championship's title probabilities a distribution per `distribution` group."""
    forecast = TITLE_FORECAST_CONTRACT.column
    return Contract(
        table.qualified,
        table.row,
        (
            forecast("season"),
            forecast("after_round").ruled(after_round),
            forecast("entity"),
            forecast("id"),
            Column("name", pl.String, "the driver's or the team's name", REQUIRED, "Lando Norris"),
            Column(
                "points_now",
                pl.Float64,
                "championship points after `after_round` (races and sprints)",
                ColumnRule(not_null=True, finite=True),
                296.0,
            ),
            forecast("title_probability"),
            Column(
                "expected_points",
                pl.Float64,
                "mean final points over the simulated rest of the season",
                ColumnRule(not_null=True, finite=True),
                402.5,
            ),
            Column(
                "title_decided",
                pl.Boolean,
                "the title is mathematically won or lost given the points still available: only then is a "
                "probability of exactly 1 or 0 a fact rather than a rounding",
                REQUIRED,
                False,
            ),
        ),
        sums=(SumRule("title_probability", per=distribution),),
        key=_TITLE_ODDS_KEY,
    )


CHAMPIONSHIP_ODDS_CONTRACT = _title_odds(
    CHAMPIONSHIP_ODDS, ColumnRule(not_null=True, within=(0, 99)), ("season", "entity")
)
"""The odds now: after the last completed round, 0 before the season's first race."""
TITLE_ODDS_BY_ROUND_CONTRACT = _title_odds(TITLE_ODDS_BY_ROUND, ROUND, ("season", "after_round", "entity"))


def points_available(season: int, races_left: int, sprints_left: int, final_left: bool, entity: Entity) -> float:
    """The most one driver (or, with both cars first and second, one team) can still add."""
    cars = 2 if entity == "constructor" else 1
    if season < FIRST_MODELLED_SEASON:
        race = win_points(season) + (0.0 if cars == 1 else 8.0 if season >= 2003 else 6.0)
        return race * races_left
    system = points_system(season)
    race = sum(system.race[:cars]) + system.fastest_lap
    sprint = sum(system.sprint[:cars])
    double = race if final_left and system.double_final_race else 0.0
    return race * races_left + double + sprint * sprints_left


def title_decided(odds: pl.DataFrame, available: Mapping[str, float]) -> pl.DataFrame:
    """`odds` (entity, id, points_now, ...) with `title_decided`: the title is mathematically won by this entity (no
    one else can reach its points with what is left) or lost (it cannot reach the leader's)."""
    left = pl.col("entity").replace_strict(dict(available), return_dtype=pl.Float64)
    leader = pl.col("points_now").max().over("entity")
    others_best = (
        pl.when(pl.col("points_now") == leader)
        .then(pl.col("points_now").sort(descending=True).slice(1, 1).first().over("entity"))
        .otherwise(leader)
    )
    lost = leader - pl.col("points_now") > left
    won = (pl.col("points_now") == leader) & (pl.col("points_now") - others_best.fill_null(0.0) > left)
    return odds.with_columns(title_decided=lost | won)


def with_title_decided(odds: pl.DataFrame, season: int, rounds: Sequence[Round]) -> pl.DataFrame:
    """`title_decided` for odds simulated over `rounds` (the season's remaining rounds, with their sprints)."""
    sprints, final = sum(r.has_sprint for r in rounds), any(r.final for r in rounds)
    available: dict[str, float] = {
        entity: points_available(season, len(rounds), sprints, final, entity) for entity in ENTITIES
    }
    return title_decided(odds, available)


def odds_after_each_round(
    results: pl.DataFrame,
    sprints: pl.DataFrame,
    races: pl.DataFrame,
    strengths: pl.DataFrame,
    season: int,
    drift: Drift,
    simulations: int,
) -> pl.DataFrame:
    """season, after_round, entity, id, points_now, title_probability, expected_points, title_decided after every
    completed round of `season` whose next round has strengths (season, round, driver_id, constructor_id,
    probability, optionally not_classified_probability)."""
    completed = results.filter(pl.col("season") == season)["round"].unique().sort().to_list()
    parts = []
    for after_round in completed:
        upcoming = strengths.filter((pl.col("season") == season) & (pl.col("round") > after_round))
        if upcoming.is_empty():
            continue
        field = upcoming.filter(pl.col("round") == upcoming["round"].min())
        rounds = remaining_rounds(races, season, after_round)
        now = {entity: standings(results, sprints, season, after_round, entity) for entity in ENTITIES}
        rate = era_not_classified_rate(results, season, after_round)
        odds = simulate(season, now, field, rounds, simulations, spread=0.0, drift=drift, not_classified_rate=rate)
        parts.append(
            with_title_decided(odds, season, rounds).with_columns(
                season=pl.lit(season, pl.Int32), after_round=pl.lit(after_round, pl.Int32)
            )
        )
    if not parts:
        raise ValueError(f"no completed round of {season} has strengths for the round after it")
    return pl.concat(parts).select(
        "season", "after_round", "entity", "id", "points_now", "title_probability", "expected_points", "title_decided"
    )
