"""Predictions layer: what the serving API publishes, from the champion only.

`next_race_predictions` runs the registered champion on the next race's features; `race_predictions` are the
champion's walk-forward predictions of every backtested race (what it would have said before each one);
`prediction_accuracy` scores those race by race. Both prediction tables carry, beside P(win), what the win
distribution says of the whole finishing order (`modeling/outcomes.py`), checked for consistency before serving.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

import dagster as dg
import polars as pl

from f1_pipeline.defs.metadata import markdown_preview, table_metadata
from f1_pipeline.defs.resources import MlflowResource, WarehouseResource
from f1_pipeline.modeling.champion_predictions import (
    NEXT_RACE_CONTRACT,
    PREDICTION_ACCURACY_CONTRACT,
    RACE_PREDICTIONS_CONTRACT,
    accuracy_by_race,
)
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import PODIUM_BASELINE, outcome_calibration, outcome_scores
from f1_pipeline.modeling.outcomes import CONSISTENCY_TOLERANCE, outcome_problems
from f1_pipeline.registry.scoring import available_modes, reliability_of, score, with_outcomes, with_rank
from f1_pipeline.serving_tables import with_names
from f1_pipeline.tables import (
    CHAMPION_BACKTEST,
    CONSTRUCTORS,
    DRIVERS,
    NEXT_RACE,
    PREDICTION_ACCURACY,
    RACE_FEATURES,
    RACE_PREDICTIONS,
    RACE_RESULTS,
    RACES,
    Table,
    writers,
)
from f1_pipeline.warehouse import Warehouse

_PREDICTIONS: dict[str, Any] = {"group_name": "predictions", "kinds": {"duckdb", "polars"}}


@dg.asset(
    deps=[
        "champion_model",
        *writers(RACE_PREDICTIONS),
        *writers(RACE_FEATURES),
        *writers(RACE_RESULTS),
        *writers(RACES),
    ],
    **_PREDICTIONS,
)
def next_race_predictions(warehouse: WarehouseResource, mlflow: MlflowResource) -> dg.MaterializeResult:
    """The champion's probability for every driver on the next race's entry list: pre-qualifying always, and
    post-qualifying once that race's qualifying is in the data. The race law's trouble is chosen from the last
    backtested races (`race_predictions`; before any, the first share of `TROUBLE_SHARES`)."""
    store = warehouse.warehouse()
    registry = mlflow.registry()
    champion = registry.champion()
    if champion is None:
        raise dg.Failure("no champion model is registered yet: materialize champion_model")
    rows = store.read(RACE_FEATURES).filter(pl.col("is_next"))
    if rows.is_empty():
        raise dg.Failure("no next race in the calendar: every scheduled race has results")
    modes = available_modes(rows)
    history = store.read(RACE_PREDICTIONS) if str(RACE_PREDICTIONS) in store.tables() else None
    predicted = with_outcomes(score(registry.load(champion.version), rows), rows, reliability_of(store, rows), history)
    table = (
        _named(store, predicted, rows)
        .with_columns(
            model_name=pl.lit(mlflow.registered_model_name),
            model_version=pl.lit(str(champion.version)),
            predicted_at=pl.lit(datetime.now(UTC)),
        )
        .select(NEXT_RACE_CONTRACT.schema.keys())
    )
    store.replace_table(NEXT_RACE, table)
    latest = table.filter(pl.col("mode") == modes[-1])
    return dg.MaterializeResult(
        metadata=table_metadata(NEXT_RACE, table, NEXT_RACE_CONTRACT.descriptions)
        | {
            "race": f"{latest['season'][0]} round {latest['round'][0]}: {latest['race_name'][0]}",
            "mode": modes[-1],
            "model_version": champion.version,
            "favourite": f"{latest['driver_name'][0]} ({latest['probability'][0]:.1%} to win, "
            f"{latest['podium_probability'][0]:.1%} podium)",
            "predictions": dg.MetadataValue.md(markdown_preview(latest, rows=latest.height)),
        }
    )


@dg.asset(deps=[*writers(CHAMPION_BACKTEST), *writers(RACE_RESULTS), *writers(RACES)], **_PREDICTIONS)
def race_predictions(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The champion's walk-forward probabilities for every backtested race and both modes."""
    store = warehouse.warehouse()
    backtest = store.read(CHAMPION_BACKTEST)
    features = store.read(RACE_FEATURES)
    published = backtest.drop("model", "evaluation_fingerprint", "podium_probability", PODIUM_BASELINE, strict=False)
    started = time.perf_counter()
    predicted = with_outcomes(
        published,
        features,
        reliability_of(store, features.join(published.select(*RACE_KEY).unique(), on=RACE_KEY, how="semi")),
    )
    seconds = time.perf_counter() - started
    table = _named(store, predicted, features).select(RACE_PREDICTIONS_CONTRACT.schema.keys())
    store.replace_table(RACE_PREDICTIONS, table)
    return dg.MaterializeResult(
        metadata=table_metadata(RACE_PREDICTIONS, table, RACE_PREDICTIONS_CONTRACT.descriptions)
        | {
            "races": table.select(*RACE_KEY).n_unique(),
            "model_version": backtest["model_version"][0],
            "outcome_seconds": round(seconds, 2),
        }
    )


@dg.asset(deps=writers(RACE_PREDICTIONS), **_PREDICTIONS)
def prediction_accuracy(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per completed race and mode: Brier score, log loss, whether the favourite won, the winner in the top 3, the
    podium's (top-3 membership) log loss and Brier score, and every published chance's mean binary log loss over the
    race's drivers (`{outcome}_driver_log_loss`); the metadata holds every outcome's scores and reliability table."""
    store = warehouse.warehouse()
    predictions = store.read(RACE_PREDICTIONS)
    table = accuracy_by_race(predictions, store.read(RACES))
    store.replace_table(PREDICTION_ACCURACY, table)
    by_mode = table.group_by("mode").agg(
        races=pl.len(),
        log_loss=pl.col("log_loss").mean(),
        brier=pl.col("brier").mean(),
        correct_winner=pl.col("correct_winner").mean(),
        winner_in_top3=pl.col("winner_in_top3").mean(),
        podium_log_loss=pl.col("podium_log_loss").mean(),
        podium_brier=pl.col("podium_brier").mean(),
    )
    calibration = outcome_calibration(predictions, by=("mode",))
    outcomes = outcome_scores(predictions, by=("mode",))
    return dg.MaterializeResult(
        metadata=table_metadata(PREDICTION_ACCURACY, table, PREDICTION_ACCURACY_CONTRACT.descriptions)
        | {
            "by_mode": dg.MetadataValue.md(markdown_preview(by_mode.sort("mode"))),
            "outcome_scores": dg.MetadataValue.md(markdown_preview(outcomes, rows=outcomes.height)),
            "outcome_calibration": dg.MetadataValue.md(markdown_preview(calibration, rows=calibration.height)),
        }
    )


def _named(store: Warehouse, predictions: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """Race, driver and team names beside the ids, and each driver's rank in his race and mode; `features` are
    the rows predicted from, which say each driver's team."""
    entrants = features.select(*RACE_KEY, "driver_id", "constructor_id")
    if "constructor_id" not in predictions.columns:
        predictions = predictions.join(entrants, on=[*RACE_KEY, "driver_id"], how="left")
    return (
        with_names(
            predictions,
            drivers=store.read(DRIVERS),
            constructors=store.read(CONSTRUCTORS),
            races=store.read(RACES),
        )
        .pipe(with_rank)
        .sort("mode", *RACE_KEY, "rank")
    )


PREDICTIONS_ASSETS = [next_race_predictions, race_predictions, prediction_accuracy]


@dg.asset_check(asset=next_race_predictions, blocking=True)
def check_next_race_predictions_sum_to_one(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Each mode's field is a distribution: probabilities in [0, 1] summing to 100%."""
    table = warehouse.warehouse().read(NEXT_RACE)
    totals = table.group_by("mode").agg(total=pl.col("probability").sum(), low=pl.col("probability").min())
    worst = cast(float, (totals["total"] - 1).abs().max())
    return dg.AssetCheckResult(
        passed=worst < 1e-9 and bool((totals["low"] >= 0).all()),
        metadata={"actual": worst, "threshold": "|sum - 1| < 1e-9, no negative probability"},
    )


def _consistency(source: Table, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    table = warehouse.warehouse().read(source)
    problems = outcome_problems(table, by=("mode",))
    return dg.AssetCheckResult(
        passed=problems.is_empty(),
        metadata={
            "races_checked": table.select("mode", *RACE_KEY).n_unique(),
            "problems": dg.MetadataValue.md(markdown_preview(problems, rows=10)) if problems.height else "none",
            "threshold": f"per race: P(win) sums to 1, P(podium) to min(3, field); per driver: P(win) <= P(podium) "
            f"<= P(top 6) <= P(points), expected position in [1, field] (tolerance {CONSISTENCY_TOLERANCE:g})",
        },
    )


@dg.asset_check(asset=next_race_predictions, blocking=True)
def check_next_race_outcomes_consistent(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Podium, top-6 and points chances agree with the win chances before the API serves them."""
    return _consistency(NEXT_RACE, warehouse)


@dg.asset_check(asset=race_predictions, blocking=True)
def check_race_predictions_outcomes_consistent(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every backtested race's outcome probabilities agree with its win probabilities before they are published."""
    return _consistency(RACE_PREDICTIONS, warehouse)


PREDICTIONS_CHECKS = [
    check_next_race_predictions_sum_to_one,
    check_next_race_outcomes_consistent,
    check_race_predictions_outcomes_consistent,
]
