"""Title odds as they could have been given after every round of past seasons, scored on who won.

Every checkpoint from round `FIRST_CHECKPOINT` to the second-to-last of each evaluated season, for drivers and
constructors, gets three forecasts over the whole field, each from what was known then:
- `model`: the season simulation with strengths drifting by a walk fitted on earlier seasons (`strength_drift.py`)
  and retirements (the era's non-classification rate before the checkpoint, or the field's own chances);
- `fixed`: the simulation as it was before the drift (one log-normal team factor per simulated season, every car
  classified), kept to show what the drift buys;
- `baseline`: the standings logit (`title_baseline.py`) fitted on earlier seasons' checkpoints.
Strengths are the pre-qualifying win distributions of the round after the checkpoint, from a model trained on
earlier seasons only. The multi-class log loss of a checkpoint is -ln P(actual champion).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl

from f1_pipeline.contracts import FINITE, REQUIRED, Column, Contract
from f1_pipeline.modeling.estimators import ConditionalLogit
from f1_pipeline.modeling.metrics import forecast_scores
from f1_pipeline.modeling.season_simulation import (
    ENTITIES,
    RANDOM_STATE,
    STRENGTH_SPREAD,
    era_not_classified_rate,
    remaining_rounds,
    simulate,
    standings,
    world_champions,
)
from f1_pipeline.modeling.strength_drift import Drift, fit_drift
from f1_pipeline.modeling.title_baseline import StandingsLogit, standings_features
from f1_pipeline.modeling.title_odds import points_available
from f1_pipeline.tables import CHAMPIONSHIP_BACKTEST

FIRST_CHECKPOINT = 3
BASELINE_FIRST_SEASON = 1991
"""The first season the standings baseline trains on: from 1991 every result counted (no dropped scores)."""
TITLE_FIRST_SEASON = 2010
"""The first season evaluated: the current 25-18-15 points scale, which the simulation pays."""
DRIFT_HISTORY_SEASONS = 5
"""Seasons before the first evaluated one whose strengths the first drift is fitted on."""
_METHOD_WORDS = {
    "model": "the published simulation (drifting strengths, retirements)",
    "fixed": "the simulation without drift or retirements (one team factor per simulated season)",
    "baseline": "the standings logit on the gap to the leader and the points still available",
}
TITLE_METHODS = tuple(_METHOD_WORDS)
"""The forecasts made at each checkpoint, `model` the published one; the others show what it is worth."""
CLOSE_GAP = 25.0
MISS_PROBABILITY = 0.05
"""An eventual champion within `CLOSE_GAP` points of the lead given less than this is a miss the goals forbid."""


@dataclass(frozen=True)
class SimulationSettings:
    """One way of simulating a season: the one-off team spread, a drift scale (None: no drift) and retirements."""

    spread: float = 0.0
    drift_scale: float | None = 1.0
    retirements: bool = True


MODEL = SimulationSettings()
FIXED = SimulationSettings(spread=STRENGTH_SPREAD, drift_scale=None, retirements=False)


def checkpoints(
    results: pl.DataFrame, sprints: pl.DataFrame, races: pl.DataFrame, seasons: Sequence[int]
) -> pl.DataFrame:
    """season, after_round, entity, id, points, wins, points_available, champion: every contender at every
    checkpoint of `seasons` (finished ones), with the standings-baseline features."""
    frames = []
    for season in seasons:
        season_results = results.filter(pl.col("season") == season)
        season_sprints = sprints.filter(pl.col("season") == season)
        last = cast(int, season_results["round"].max())
        champions = world_champions(season_results, season_sprints, season)
        for after_round in range(FIRST_CHECKPOINT, last):
            rounds = remaining_rounds(races, season, after_round)
            for entity in ENTITIES:
                now = standings(season_results, season_sprints, season, after_round, entity)
                available = points_available(
                    season, len(rounds), sum(r.has_sprint for r in rounds), any(r.final for r in rounds), entity
                )
                frames.append(
                    now.with_columns(
                        season=pl.lit(season, pl.Int64),
                        after_round=pl.lit(after_round, pl.Int64),
                        entity=pl.lit(entity),
                        points_available=pl.lit(available, pl.Float64),
                        champion=pl.col("id") == champions[entity],
                    )
                )
    return standings_features(pl.concat(frames, how="vertical_relaxed"))


def title_forecasts(
    results: pl.DataFrame,
    sprints: pl.DataFrame,
    races: pl.DataFrame,
    strengths: pl.DataFrame,
    strength_history: pl.DataFrame,
    seasons: Sequence[int],
    simulations: int,
    variants: Mapping[str, SimulationSettings] | None = None,
    baseline_first_season: int = BASELINE_FIRST_SEASON,
    random_state: int = RANDOM_STATE,
) -> pl.DataFrame:
    """Every contender at every checkpoint of `seasons`, with each variant's and the baseline's P(title).

    `strengths`: pre-qualifying win distributions (season, round, driver_id, constructor_id, probability and
    optionally not_classified_probability) of the evaluated seasons; `strength_history`: the same for earlier
    seasons, which the drift of season S is fitted on (only its seasons before S are used).
    """
    variants = {"model": MODEL, "fixed": FIXED} if variants is None else variants
    history = checkpoints(results, sprints, races, range(baseline_first_season, max(seasons)))
    evaluated = checkpoints(results, sprints, races, seasons)
    parts = []
    for season in seasons:
        baseline = StandingsLogit().fit(history.filter(pl.col("season") < season))
        drift = fit_drift(strength_history.filter(pl.col("season") < season))
        rows = evaluated.filter(pl.col("season") == season)
        rows = rows.with_columns(baseline=pl.Series(baseline.predict(rows)))
        for after_round in rows["after_round"].unique().sort().to_list():
            at = rows.filter(pl.col("after_round") == after_round)
            parts.append(
                _simulated(
                    results,
                    sprints,
                    races,
                    strengths,
                    season,
                    after_round,
                    at,
                    drift,
                    variants,
                    simulations,
                    random_state,
                )
            )
    return pl.concat(parts, how="vertical_relaxed")


def _simulated(
    results: pl.DataFrame,
    sprints: pl.DataFrame,
    races: pl.DataFrame,
    strengths: pl.DataFrame,
    season: int,
    after_round: int,
    at: pl.DataFrame,
    drift: Drift,
    variants: Mapping[str, SimulationSettings],
    simulations: int,
    random_state: int,
) -> pl.DataFrame:
    upcoming = strengths.filter((pl.col("season") == season) & (pl.col("round") > after_round))
    field = upcoming.filter(pl.col("round") == upcoming["round"].min())
    now = {entity: at.filter(pl.col("entity") == entity).select("id", "points", "wins") for entity in ENTITIES}
    rounds = remaining_rounds(races, season, after_round)
    rate = era_not_classified_rate(results, season, after_round)
    for name, settings in variants.items():
        odds = simulate(
            season,
            now,
            field,
            rounds,
            simulations,
            random_state,
            spread=settings.spread,
            drift=None if settings.drift_scale is None else drift.scaled(settings.drift_scale),
            not_classified_rate=rate if settings.retirements else 0.0,
        )
        if not settings.retirements and "not_classified_probability" in field.columns:
            raise ValueError("a variant without retirements needs a field without not_classified_probability")
        at = at.join(
            odds.select("entity", "id", pl.col("title_probability").alias(name)), on=["entity", "id"], how="left"
        ).with_columns(pl.col(name).fill_null(0.0))
    return at


def _floor(simulations: int) -> float:
    return 1.0 / simulations


CHECKPOINT_CONTRACT = Contract(
    CHAMPIONSHIP_BACKTEST.qualified,
    CHAMPIONSHIP_BACKTEST.row,
    (
        Column("season", pl.Int64, "championship year", REQUIRED),
        Column("after_round", pl.Int64, "the standings' round: odds given after it, before the next race", REQUIRED),
        Column("entity", pl.String, "driver or constructor: which championship", REQUIRED),
        Column("leader_now", pl.String, "who led the standings after `after_round`"),
        Column("gap_of_champion", pl.Float64, "the world champion's points behind the leader after `after_round`"),
        Column("world_champion", pl.String, "who won that title at the end of the season", REQUIRED),
        *(
            Column(f"{method}_probability", pl.Float64, f"P(title) of the world champion from {words}", FINITE)
            for method, words in _METHOD_WORDS.items()
        ),
        *(
            Column(f"{method}_log_loss", pl.Float64, f"-ln P(title) of the world champion from {words}", FINITE)
            for method, words in _METHOD_WORDS.items()
        ),
    ),
    key=("season", "after_round", "entity"),
)
CHECKPOINT_SCHEMA = pl.Schema(CHECKPOINT_CONTRACT.schema)
"""`checkpoint_scores`' columns: also the empty table's, when no season can be evaluated yet."""


def checkpoint_scores(forecasts: pl.DataFrame, methods: Sequence[str], simulations: int) -> pl.DataFrame:
    """One row per (season, after_round, entity): the champion, the leader, and each method's P(champion) and log
    loss (a Monte Carlo zero counts as 1 / `simulations`)."""
    leader = (
        forecasts.sort("points", "wins", descending=True)
        .group_by("season", "after_round", "entity", maintain_order=True)
        .agg(leader_now=pl.col("id").first(), gap_of_champion=pl.col("gap").filter("champion").first())
    )
    champion = forecasts.filter("champion").select(
        "season", "after_round", "entity", pl.col("id").alias("world_champion"), *methods
    )
    floor = _floor(simulations)
    scored = champion.with_columns(*[(-pl.col(m).clip(floor).log()).alias(f"{m}_log_loss") for m in methods]).rename(
        {m: f"{m}_probability" for m in methods}
    )
    return leader.join(scored, on=["season", "after_round", "entity"]).sort("entity", "season", "after_round")


def confident_forecasts(forecasts: pl.DataFrame, method: str, threshold: float = 0.9) -> dict[str, float]:
    """Forecasts at or above `threshold`: how many, their mean, and how often they came true."""
    confident = forecasts.filter(pl.col(method) >= threshold)
    return {
        "count": float(confident.height),
        "mean_forecast": float(confident[method].mean() or np.nan),  # type: ignore[arg-type]
        "observed": float(confident["champion"].mean() or 0.0) if confident.height else float("nan"),  # type: ignore[arg-type]
    }


def point_in_time_strengths(
    features: pl.DataFrame, predictions: pl.DataFrame, seasons: Sequence[int], train_first_season: int
) -> pl.DataFrame:
    """Pre-qualifying win distributions of `seasons`: the champion's walk-forward `predictions` where it has them,
    else a conditional logit on the race features fitted on [`train_first_season`, S) and predicting season S, so
    every season's strengths, like the champion's, come from a model that never saw it (2010-2013 have none)."""
    keep = ["season", "round", "driver_id", "constructor_id", "probability"]
    predicted = set(predictions["season"].unique().to_list())
    parts = [predictions.filter(pl.col("season").is_in(list(seasons))).select(keep)]
    for season in sorted(set(seasons) - predicted):
        train = features.filter(
            pl.col("season").is_between(train_first_season, season - 1) & pl.col("won").is_not_null()
        )
        if train.is_empty():
            raise ValueError(f"no race features before {season} to fit its strengths on")
        rows = features.filter((pl.col("season") == season) & pl.col("won").is_not_null())
        model = ConditionalLogit(mode="pre_qualifying").fit(train)
        parts.append(rows.select(keep[:-1]).with_columns(probability=pl.Series(model.predict(rows))))
    return pl.concat(parts, how="vertical_relaxed").sort("season", "round", "driver_id")


def title_metrics(table: pl.DataFrame, forecasts: pl.DataFrame) -> dict[str, float]:
    """The title backtest as flat metrics, one name per championship and method (`title_<entity>_<method>_<what>`):
    mean log loss, close misses (an eventual champion within `CLOSE_GAP` points given under `MISS_PROBABILITY`),
    expected calibration error over ten bins of every contender's forecast, and the forecasts of 90% or more (count,
    mean, observed rate)."""
    metrics: dict[str, float] = {}
    for entity in ENTITIES:
        rows = table.filter(pl.col("entity") == entity)
        everyone = forecasts.filter(pl.col("entity") == entity)
        if rows.is_empty():
            continue
        calibration_errors = dict(
            forecast_scores(
                pl.concat(
                    everyone.select(outcome=pl.lit(method), forecast=pl.col(method), happened=pl.col("champion"))
                    for method in TITLE_METHODS
                )
            )
            .select("outcome", "ece")
            .iter_rows()
        )
        for method in TITLE_METHODS:
            key = f"title_{entity}_{method}"
            metrics[f"{key}_log_loss"] = float(rows[f"{method}_log_loss"].mean())  # type: ignore[arg-type]
            close = (rows["gap_of_champion"] <= CLOSE_GAP) & (rows[f"{method}_probability"] < MISS_PROBABILITY)
            metrics[f"{key}_close_misses"] = float(close.sum())
            metrics[f"{key}_calibration_error"] = float(calibration_errors[method])
            confident = confident_forecasts(everyone, method)
            metrics |= {f"{key}_confident_{name}": value for name, value in confident.items()}
    return metrics
