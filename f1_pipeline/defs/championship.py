"""Championship odds for the current season, and how such odds did on past seasons.

`championship_odds` simulates the rest of the season from the standings after the last completed race and the
champion's pre-qualifying win probabilities for the next race, strengths drifting by a walk fitted on earlier
seasons and cars retiring; `championship_backtest` gives such odds as they could have been given after every round
from 3 to the second-to-last of every finished season from 2010, and scores them on who won beside the simulation
without drift and a standings baseline (`modeling/season_simulation.py`, `modeling/title_backtest.py`).
"""

from __future__ import annotations

import time
from typing import cast

import dagster as dg
import polars as pl

from f1_pipeline.defs.metadata import markdown_preview, other_table_metadata, table_metadata
from f1_pipeline.defs.resources import MlflowResource, ModelingResource, WarehouseResource
from f1_pipeline.modeling.season_simulation import (
    BACKTEST_SIMULATIONS,
    ENTITIES,
    SIMULATIONS,
    era_not_classified_rate,
    remaining_rounds,
    simulate,
    standings,
)
from f1_pipeline.modeling.strength_drift import Drift, fit_drift
from f1_pipeline.modeling.title_backtest import (
    BASELINE_FIRST_SEASON,
    CHECKPOINT_CONTRACT,
    CHECKPOINT_SCHEMA,
    CLOSE_GAP,
    DRIFT_HISTORY_SEASONS,
    FIRST_CHECKPOINT,
    MISS_PROBABILITY,
    MODEL,
    TITLE_FIRST_SEASON,
    TITLE_METHODS,
    checkpoint_scores,
    confident_forecasts,
    point_in_time_strengths,
    title_forecasts,
    title_metrics,
)
from f1_pipeline.modeling.title_forecasts import TITLE_FORECAST_CONTRACT, TITLE_FORECAST_SCHEMA, published_forecasts
from f1_pipeline.modeling.title_odds import (
    CHAMPIONSHIP_ODDS_CONTRACT,
    TITLE_ODDS_BY_ROUND_CONTRACT,
    odds_after_each_round,
    with_title_decided,
)
from f1_pipeline.serving_tables import TITLE_ORDER
from f1_pipeline.tables import (
    CHAMPIONSHIP_BACKTEST,
    CHAMPIONSHIP_ODDS,
    CONSTRUCTORS,
    DRIVERS,
    NEXT_RACE,
    RACE_FEATURES,
    RACE_PREDICTIONS,
    RACE_RESULTS,
    RACES,
    SPRINT_RESULTS,
    TITLE_FORECASTS,
    TITLE_ODDS_BY_ROUND,
    Table,
    writers,
)
from f1_pipeline.warehouse import Warehouse

TITLE_ODDS_INPUTS = (
    NEXT_RACE,
    RACE_PREDICTIONS,
    RACE_FEATURES,
    RACE_RESULTS,
    SPRINT_RESULTS,
    RACES,
    DRIVERS,
    CONSTRUCTORS,
)
DRIFT_FIT_SEASONS = 12
"""Earlier seasons the published odds' drift is fitted on (2014-2025 for 2026, all from the champion's predictions)."""
NOT_CLASSIFIED_COLUMN = {"not_classified_probability"}
"""The reliability model's per-driver chance of not being classified, used when the next race's table carries it."""
STRENGTHS_MODE = "pre_qualifying"
"""The next race's distribution before qualifying: a car's pace, not one grid, is what the rest of a season draws on."""
BY_ROUND_SIMULATIONS = 20_000
"""Per completed round: a line per contender over the season, where a few thousandths do not show."""


@dg.asset(
    deps=writers(
        NEXT_RACE, RACE_PREDICTIONS, RACE_FEATURES, RACE_RESULTS, SPRINT_RESULTS, RACES, DRIVERS, CONSTRUCTORS
    ),
    group_name="predictions",
    kinds={"duckdb", "polars"},
)
def championship_odds(warehouse: WarehouseResource, modeling: ModelingResource) -> dg.MaterializeResult:
    """Drivers' and constructors' title probabilities and expected final points: the standings after the last completed
    race plus a simulation of every remaining round and sprint of the season from the champion's next-race odds."""
    store = warehouse.warehouse()
    strengths = store.read(NEXT_RACE).filter(pl.col("mode") == STRENGTHS_MODE)
    if strengths.is_empty():
        raise dg.Failure(f"{NEXT_RACE} has no {STRENGTHS_MODE} predictions: materialize {NEXT_RACE.asset}")
    season, next_round = int(strengths["season"][0]), int(strengths["round"][0])
    results, sprints = store.read(RACE_RESULTS), store.read(SPRINT_RESULTS)
    after = cast(int | None, results.filter(pl.col("season") == season)["round"].max()) or 0
    now = {entity: standings(results, sprints, season, after, entity) for entity in ENTITIES}
    rounds = remaining_rounds(store.read(RACES), season, after)
    started = time.perf_counter()
    drift = _fitted_drift(store, season, modeling.train_first_season)
    field = strengths.select(
        "driver_id", "constructor_id", "probability", *NOT_CLASSIFIED_COLUMN.intersection(strengths.columns)
    )
    rate = era_not_classified_rate(results, season, after)
    odds = simulate(season, now, field, rounds, spread=MODEL.spread, drift=drift, not_classified_rate=rate)
    seconds = time.perf_counter() - started
    table = (
        _named(store, with_title_decided(odds, season, rounds))
        .with_columns(season=pl.lit(season, pl.Int32), after_round=pl.lit(after, pl.Int32))
        .select(CHAMPIONSHIP_ODDS_CONTRACT.schema.keys())
    )
    store.replace_table(CHAMPIONSHIP_ODDS, table)
    leaders = table.group_by("entity", maintain_order=True).head(5)
    return dg.MaterializeResult(
        metadata=table_metadata(CHAMPIONSHIP_ODDS, table, CHAMPIONSHIP_ODDS_CONTRACT.descriptions)
        | {
            "season": season,
            "standings_after_round": after,
            "strengths_from": f"{season} round {next_round} ({STRENGTHS_MODE})",
            "rounds_simulated": len(rounds),
            "sprints_simulated": sum(r.has_sprint for r in rounds),
            "simulations": SIMULATIONS,
            "simulation_seconds": round(seconds, 2),
            "drift_per_round": f"team {drift.mean_team:.3f}, driver {drift.mean_driver:.3f} (log strength, fitted on "
            f"{min(drift.seasons)}-{max(drift.seasons)})",
            "fallback_not_classified_rate": round(rate, 4),
            "favourites": dg.MetadataValue.md(markdown_preview(leaders, rows=10)),
        }
    )


@dg.asset(
    deps=writers(
        NEXT_RACE, RACE_PREDICTIONS, RACE_FEATURES, RACE_RESULTS, SPRINT_RESULTS, RACES, DRIVERS, CONSTRUCTORS
    ),
    group_name="predictions",
    kinds={"duckdb", "polars"},
)
def title_odds_by_round(warehouse: WarehouseResource, modeling: ModelingResource) -> dg.MaterializeResult:
    """The current season's title odds after every completed round, as the simulation gave them then (standings after
    the round, the pre-qualifying odds of the round after it), so the odds can be drawn over the season."""
    store = warehouse.warehouse()
    upcoming = store.read(NEXT_RACE).filter(pl.col("mode") == STRENGTHS_MODE)
    if upcoming.is_empty():
        raise dg.Failure(f"{NEXT_RACE} has no {STRENGTHS_MODE} predictions: materialize {NEXT_RACE.asset}")
    season = int(upcoming["season"][0])
    predictions = store.read(RACE_PREDICTIONS).filter(pl.col("mode") == STRENGTHS_MODE)
    drift = _fitted_drift(store, season, modeling.train_first_season)
    columns = ["season", "round", "driver_id", "constructor_id", "probability"]
    extra = sorted(NOT_CLASSIFIED_COLUMN.intersection(upcoming.columns).intersection(predictions.columns))
    strengths = pl.concat(
        [predictions.filter(pl.col("season") == season).select(*columns, *extra), upcoming.select(*columns, *extra)],
        how="vertical_relaxed",
    )
    started = time.perf_counter()
    odds = odds_after_each_round(
        store.read(RACE_RESULTS),
        store.read(SPRINT_RESULTS),
        store.read(RACES),
        strengths,
        season,
        drift,
        BY_ROUND_SIMULATIONS,
    )
    seconds = time.perf_counter() - started
    table = (
        _named(store, odds)
        .select(TITLE_ODDS_BY_ROUND_CONTRACT.schema.keys())
        .sort(["after_round", "entity", *TITLE_ORDER[0]], descending=[False, False, *TITLE_ORDER[1]])
    )
    store.replace_table(TITLE_ODDS_BY_ROUND, table)
    return dg.MaterializeResult(
        metadata=table_metadata(TITLE_ODDS_BY_ROUND, table, TITLE_ODDS_BY_ROUND_CONTRACT.descriptions)
        | {
            "season": season,
            "rounds": table["after_round"].n_unique(),
            "simulations_per_round": BY_ROUND_SIMULATIONS,
            "seconds": round(seconds, 1),
        }
    )


@dg.asset(
    deps=writers(RACE_PREDICTIONS, RACE_FEATURES, RACE_RESULTS, SPRINT_RESULTS, RACES),
    group_name="models",
    kinds={"duckdb", "polars"},
)
def championship_backtest(
    warehouse: WarehouseResource, modeling: ModelingResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Title odds after every round from 3 to the second-to-last of every finished season from 2010, from what was
    known then, scored by the log loss of the actual world champion: the drifting simulation, the fixed one it
    replaced, and the standings baseline (`modeling/title_backtest.py`). The title metrics are also logged on the
    champion's MLflow run, whose predictions they score."""
    store = warehouse.warehouse()
    predictions = store.read(RACE_PREDICTIONS).filter(pl.col("mode") == STRENGTHS_MODE)
    races = store.read(RACES)
    results, sprints = store.read(RACE_RESULTS), store.read(SPRINT_RESULTS)
    seasons = _finished_seasons(races, results, modeling.train_first_season)
    if not seasons:
        store.replace_table(CHAMPIONSHIP_BACKTEST, pl.DataFrame(schema=CHECKPOINT_SCHEMA))
        store.replace_table(TITLE_FORECASTS, pl.DataFrame(schema=TITLE_FORECAST_SCHEMA))
        return dg.MaterializeResult(metadata={"seasons": "none finished with enough seasons before it to train on"})
    started = time.perf_counter()
    features = store.read(RACE_FEATURES)
    drift_seasons = range(max(seasons[0] - DRIFT_HISTORY_SEASONS, modeling.train_first_season + 1), seasons[-1])
    history = point_in_time_strengths(features, predictions, drift_seasons, modeling.train_first_season)
    strengths = point_in_time_strengths(features, predictions, seasons, modeling.train_first_season)
    forecasts = title_forecasts(
        results,
        sprints,
        races,
        strengths,
        history,
        seasons,
        BACKTEST_SIMULATIONS,
        baseline_first_season=max(BASELINE_FIRST_SEASON, cast(int, results["season"].min())),
    )
    table = checkpoint_scores(forecasts, TITLE_METHODS, BACKTEST_SIMULATIONS)
    seconds = time.perf_counter() - started
    store.replace_table(CHAMPIONSHIP_BACKTEST, table)
    published = published_forecasts(forecasts)
    store.replace_table(TITLE_FORECASTS, published)
    summary = championship_summary(table)
    metrics = title_metrics(table, forecasts)
    run_id = mlflow.registry().log_to_champion_run(metrics)
    return dg.MaterializeResult(
        metadata=table_metadata(CHAMPIONSHIP_BACKTEST, table, CHECKPOINT_CONTRACT.descriptions)
        | other_table_metadata(TITLE_FORECASTS, published, TITLE_FORECAST_CONTRACT.descriptions)
        | {
            "seasons": f"{min(seasons)}-{max(seasons)}",
            "strengths": "champion's walk-forward pre-qualifying odds; conditional logit walk-forward before them",
            "simulations": BACKTEST_SIMULATIONS,
            "seconds": round(seconds, 1),
            "log_loss": dg.MetadataValue.md(markdown_preview(summary, rows=summary.height)),
            "mlflow_run": run_id or "no champion yet: metrics not logged",
            "title_metrics": dg.MetadataValue.json(metrics),
            **{
                f"{method}_confident": dg.MetadataValue.json(confident_forecasts(forecasts, method))
                for method in TITLE_METHODS
            },
        }
    )


def championship_summary(table: pl.DataFrame) -> pl.DataFrame:
    """Mean log loss of the actual world champion per championship, for the simulations and the baseline, and how
    often an eventual champion within 25 points of the lead was given under 5%."""
    losses = [pl.col(f"{name}_log_loss").mean() for name in TITLE_METHODS]
    close = pl.col("gap_of_champion") <= CLOSE_GAP
    missed = [
        (close & (pl.col(f"{name}_probability") < MISS_PROBABILITY)).sum().alias(f"{name}_missed")
        for name in TITLE_METHODS
    ]
    return table.group_by("entity").agg(pl.len().alias("checkpoints"), *losses, *missed).sort("entity")


def _fitted_drift(store: Warehouse, season: int, train_first_season: int) -> Drift:
    """The drift for `season`'s odds, fitted on up to `DRIFT_FIT_SEASONS` earlier seasons' pre-qualifying
    strengths: the champion's walk-forward predictions where it has them, a walk-forward conditional logit before."""
    seasons = range(max(season - DRIFT_FIT_SEASONS, train_first_season + 1), season)
    if not seasons:
        raise dg.Failure(f"no season between {train_first_season} and {season} to fit how strengths drift on")
    predictions = store.read(RACE_PREDICTIONS).filter(pl.col("mode") == STRENGTHS_MODE)
    history = point_in_time_strengths(store.read(RACE_FEATURES), predictions, seasons, train_first_season)
    return fit_drift(history)


def _finished_seasons(races: pl.DataFrame, results: pl.DataFrame, train_first_season: int) -> list[int]:
    """Seasons from 2010 (the current points scale) with a few seasons of training before them, every scheduled race
    run (none in a setup with too few seasons: the backtest is then an empty table)."""
    unfinished = set(races.filter(pl.col("status") == "scheduled")["season"].unique().to_list())
    first = max(TITLE_FIRST_SEASON, train_first_season + DRIFT_HISTORY_SEASONS)
    return sorted(s for s in results["season"].unique().to_list() if s >= first and s not in unfinished)


def _named(store: Warehouse, odds: pl.DataFrame) -> pl.DataFrame:
    drivers = store.read(DRIVERS).select(id="driver_id", driver="full_name")
    teams = store.read(CONSTRUCTORS).select(id="constructor_id", team="name")
    return (
        odds.join(drivers, on="id", how="left")
        .join(teams, on="id", how="left")
        .with_columns(name=pl.when(pl.col("entity") == "driver").then("driver").otherwise("team"))
    )


CHAMPIONSHIP_ASSETS = [championship_odds, title_odds_by_round, championship_backtest]


def _sums_to_one(source: Table, column: str, by: list[str], warehouse: WarehouseResource) -> dg.AssetCheckResult:
    table = warehouse.warehouse().read(source)
    totals = table.group_by(by).agg(total=pl.col(column).sum())
    worst = cast(float, (totals["total"] - 1).abs().max()) if totals.height else 0.0
    return dg.AssetCheckResult(
        passed=totals.height > 0 and worst < 1e-9,
        metadata={"actual": worst, "threshold": f"|sum of {column} - 1| < 1e-9 per {', '.join(by)}"},
    )


@dg.asset_check(asset=championship_odds, blocking=True)
def check_championship_odds_sum_to_one(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Each championship's title probabilities are a distribution: exactly one champion per simulated season."""
    return _sums_to_one(CHAMPIONSHIP_ODDS, "title_probability", ["entity"], warehouse)


@dg.asset_check(asset=championship_backtest, blocking=True)
def check_championship_backtest_covers_every_checkpoint(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every season and championship is scored after each round from the first checkpoint on, none skipped, with
    probabilities: a gap would make the mean log loss an average over chosen rounds."""
    table = warehouse.warehouse().read(CHAMPIONSHIP_BACKTEST)
    runs = table.group_by("season", "entity").agg(
        first=pl.col("after_round").min(), last=pl.col("after_round").max(), count=pl.len()
    )
    gaps = runs.filter(
        (pl.col("first") != FIRST_CHECKPOINT) | (pl.col("count") != pl.col("last") - pl.col("first") + 1)
    ).height
    out_of_range = sum(int((~table[f"{method}_probability"].is_between(0, 1)).sum()) for method in TITLE_METHODS)
    return dg.AssetCheckResult(
        passed=gaps == 0 and out_of_range == 0,
        metadata={
            "actual": f"{gaps} (season, championship) with a missing round, {out_of_range} probabilities out of [0, 1]",
            "threshold": f"every round from {FIRST_CHECKPOINT} to the second-to-last, every probability in [0, 1]",
            "rows": table.height,
        },
    )


@dg.asset_check(asset=championship_backtest)
def check_championship_backtest_beats_baselines(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Title odds worth publishing beat both the simulation without drift and the standings baseline in mean log loss,
    and never give an eventual champion within 25 points of the lead under 5%: warn otherwise."""
    summary = championship_summary(warehouse.warehouse().read(CHAMPIONSHIP_BACKTEST))
    beats = summary.select(
        (pl.col("model_log_loss") < pl.min_horizontal("fixed_log_loss", "baseline_log_loss")).all()
    ).item()
    missed = int(summary["model_missed"].sum())
    return dg.AssetCheckResult(
        passed=bool(beats) and missed == 0 and summary.height > 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "actual": dg.MetadataValue.md(markdown_preview(summary)),
            "threshold": f"model log loss below both others' in each championship; no champion within {CLOSE_GAP:g} "
            f"points of the lead under {MISS_PROBABILITY:.0%}",
        },
    )


@dg.asset_check(asset=title_odds_by_round, blocking=True)
def check_title_odds_by_round_sum_to_one(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """After every round, each championship's title probabilities are a distribution."""
    return _sums_to_one(TITLE_ODDS_BY_ROUND, "title_probability", ["after_round", "entity"], warehouse)


CHAMPIONSHIP_CHECKS = [
    check_championship_odds_sum_to_one,
    check_title_odds_by_round_sum_to_one,
    check_championship_backtest_covers_every_checkpoint,
    check_championship_backtest_beats_baselines,
]
