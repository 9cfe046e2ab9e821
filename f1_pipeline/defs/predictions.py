"""Predictions layer: what the serving API publishes, from the champion only.

`next_race_predictions` runs the registered champion on the next race's features; `race_predictions` are the
champion's walk-forward predictions of every backtested race (what it would have said before each one);
`prediction_accuracy` scores those race by race.
"""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from f1_pipeline.defs.features import FEATURES_TABLE
from f1_pipeline.defs.metadata import markdown_preview, table_metadata
from f1_pipeline.defs.models import CHAMPION_BACKTEST_TABLE
from f1_pipeline.defs.resources import MlflowResource, WarehouseResource
from f1_pipeline.modeling.backtest import race_scores
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.registry.scoring import available_modes, score, with_rank
from f1_pipeline.serving_tables import with_names
from f1_pipeline.warehouse import Warehouse

NEXT_RACE_TABLE = "predictions.next_race"
RACE_PREDICTIONS_TABLE = "predictions.race_predictions"
ACCURACY_TABLE = "predictions.prediction_accuracy"
_PREDICTIONS = {"group_name": "predictions", "kinds": {"duckdb", "polars"}}
COLUMN_DOCS = {
    "probability": "win probability; the field's probabilities sum to 1 per race and mode",
    "rank": "1 = the most likely winner",
    "mode": "pre_qualifying (nothing from the weekend) or post_qualifying (grid known)",
    "model_version": "registered version of the champion that made the prediction",
}


@dg.asset(deps=["champion_model", "race_features"], **_PREDICTIONS)
def next_race_predictions(warehouse: WarehouseResource, mlflow: MlflowResource) -> dg.MaterializeResult:
    """The champion's probability for every driver on the next race's entry list: pre-qualifying always, and
    post-qualifying once that race's qualifying is in the data."""
    store = warehouse.warehouse()
    registry = mlflow.registry()
    champion = registry.champion()
    if champion is None:
        raise dg.Failure("no champion model is registered yet: materialize champion_model")
    rows = store.read(FEATURES_TABLE).filter(pl.col("is_next"))
    if rows.is_empty():
        raise dg.Failure("no next race in the calendar: every scheduled race has results")
    modes = available_modes(rows)
    predicted = score(registry.load(champion.version), rows)
    table = _named(store, predicted, rows).with_columns(
        model_name=pl.lit(mlflow.registered_model_name),
        model_version=pl.lit(str(champion.version)),
        predicted_at=pl.lit(datetime.now(UTC)),
    )
    store.replace_table(NEXT_RACE_TABLE, table)
    latest = table.filter(pl.col("mode") == modes[-1])
    return dg.MaterializeResult(
        metadata=table_metadata(NEXT_RACE_TABLE, table, COLUMN_DOCS)
        | {
            "race": f"{latest['season'][0]} round {latest['round'][0]}: {latest['race_name'][0]}",
            "mode": modes[-1],
            "model_version": champion.version,
            "favourite": f"{latest['driver_name'][0]} ({latest['probability'][0]:.1%})",
            "predictions": dg.MetadataValue.md(markdown_preview(latest, rows=latest.height)),
        }
    )


@dg.asset(deps=["champion_model"], **_PREDICTIONS)
def race_predictions(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The champion's walk-forward probabilities for every backtested race and both modes."""
    store = warehouse.warehouse()
    backtest = store.read(CHAMPION_BACKTEST_TABLE)
    table = _named(store, backtest.drop("model", "evaluation_fingerprint"), store.read(FEATURES_TABLE))
    store.replace_table(RACE_PREDICTIONS_TABLE, table)
    return dg.MaterializeResult(
        metadata=table_metadata(RACE_PREDICTIONS_TABLE, table, COLUMN_DOCS)
        | {"races": table.select(*RACE_KEY).n_unique(), "model_version": backtest["model_version"][0]}
    )


@dg.asset(deps=["race_predictions"], **_PREDICTIONS)
def prediction_accuracy(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Per completed race and mode: Brier score, log loss, whether the favourite won, the winner in the top 3."""
    store = warehouse.warehouse()
    predictions = store.read(RACE_PREDICTIONS_TABLE)
    scores = race_scores(predictions.with_columns(model=pl.col("model_version")))
    table = (
        scores.rename({"model": "model_version", "top1": "correct_winner", "top3": "winner_in_top3"})
        .join(store.read("clean.races").select(*RACE_KEY, "race_name", "date"), on=RACE_KEY, how="left")
        .sort("mode", *RACE_KEY)
    )
    store.replace_table(ACCURACY_TABLE, table)
    by_mode = table.group_by("mode").agg(
        races=pl.len(),
        log_loss=pl.col("log_loss").mean(),
        brier=pl.col("brier").mean(),
        correct_winner=pl.col("correct_winner").mean(),
        winner_in_top3=pl.col("winner_in_top3").mean(),
    )
    return dg.MaterializeResult(
        metadata=table_metadata(ACCURACY_TABLE, table)
        | {"by_mode": dg.MetadataValue.md(markdown_preview(by_mode.sort("mode")))}
    )


def _named(store: Warehouse, predictions: pl.DataFrame, features: pl.DataFrame) -> pl.DataFrame:
    """Race, driver and team names beside the ids, and each driver's rank in his race and mode; `features` are
    the rows predicted from, which say each driver's team."""
    entrants = features.select(*RACE_KEY, "driver_id", "constructor_id")
    return (
        with_names(
            predictions.join(entrants, on=[*RACE_KEY, "driver_id"], how="left"),
            drivers=store.read("clean.drivers"),
            constructors=store.read("clean.constructors"),
            races=store.read("clean.races"),
        )
        .pipe(with_rank)
        .sort("mode", *RACE_KEY, "rank")
    )


PREDICTIONS_ASSETS = [next_race_predictions, race_predictions, prediction_accuracy]


@dg.asset_check(asset=next_race_predictions, blocking=True)
def check_next_race_predictions_sum_to_one(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Each mode's field is a distribution: probabilities in [0, 1] summing to 100%."""
    table = warehouse.warehouse().read(NEXT_RACE_TABLE)
    totals = table.group_by("mode").agg(total=pl.col("probability").sum(), low=pl.col("probability").min())
    worst = float((totals["total"] - 1).abs().max())
    return dg.AssetCheckResult(
        passed=worst < 1e-9 and bool((totals["low"] >= 0).all()),
        metadata={"actual": worst, "threshold": "|sum - 1| < 1e-9, no negative probability"},
    )


PREDICTIONS_CHECKS = [check_next_race_predictions_sum_to_one]
