"""Ratings layer: driver and team ELO, K and carry-over tuned on the training seasons, history in `ratings`."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from f1_pipeline.defs.metadata import markdown_preview, other_table_metadata, table_metadata
from f1_pipeline.defs.resources import ModelingResource, WarehouseResource
from f1_pipeline.modeling import elo
from f1_pipeline.tables import ELO_HISTORY, ELO_PARAMETERS, RACE_RESULTS, RACES, writers
from f1_pipeline.warehouse import Warehouse

K_GRID = (16.0, 32.0, 48.0, 64.0, 96.0, 112.0, 128.0, 160.0, 192.0)
CARRYOVER_GRID = (0.6, 0.7, 0.8, 0.9, 1.0)
WORLD_CHAMPION_TOP = 3
WORLD_CHAMPION_SHARE = 0.8
_RATINGS: dict[str, Any] = {"group_name": "ratings", "kinds": {"duckdb", "polars"}}


@dg.asset(deps=writers(RACE_RESULTS, RACES), **_RATINGS)
def elo_ratings(warehouse: WarehouseResource, modeling: ModelingResource) -> dg.MaterializeResult:
    """Every driver's and team's rating before and after every race. K and the season carry-over are tuned per
    rating entity on the pairwise log loss of the seasons before validation starts (the classic K of 32 is on the
    grid)."""
    store = warehouse.warehouse()
    results = store.read(RACE_RESULTS)
    seasons = range(modeling.train_first_season, modeling.validation_first_season)
    grids = {entity: elo.tune(results, K_GRID, CARRYOVER_GRID, seasons, entity=entity) for entity in elo.ENTITIES}
    chosen = {entity: grid.row(0, named=True) for entity, grid in grids.items()}
    configs = {entity: elo.EloConfig(k=row["k"], carryover=row["carryover"]) for entity, row in chosen.items()}
    history = elo.elo_history(results, configs[elo.DRIVER], configs[elo.TEAM])
    parameters = (
        pl.DataFrame([{"entity": entity, "base": configs[entity].base, **row} for entity, row in chosen.items()])
        .select(elo.PARAMETERS_CONTRACT.schema.keys())
        .cast(pl.Schema(elo.PARAMETERS_CONTRACT.schema))
    )
    with store.transaction() as writes:
        writes.replace_table(ELO_HISTORY, history)
        writes.replace_table(ELO_PARAMETERS, parameters)
    metadata = (
        table_metadata(ELO_HISTORY, history, elo.HISTORY_CONTRACT.descriptions)
        | other_table_metadata(ELO_PARAMETERS, parameters, elo.PARAMETERS_CONTRACT.descriptions)
        | {
            "driver_k": configs[elo.DRIVER].k,
            "driver_carryover": configs[elo.DRIVER].carryover,
            "team_k": configs[elo.TEAM].k,
            "team_carryover": configs[elo.TEAM].carryover,
            "tuning_seasons": f"{seasons.start}-{seasons.stop - 1}",
            "tuning": dg.MetadataValue.md(
                markdown_preview(pl.concat(grids.values()).sort("entity", "log_loss"), rows=12)
            ),
            "top_drivers_now": dg.MetadataValue.md(markdown_preview(top_drivers_now(history))),
        }
    )
    return dg.MaterializeResult(metadata=metadata)


def top_drivers_now(history: pl.DataFrame, count: int = 10) -> pl.DataFrame:
    """The highest-rated drivers of the latest season, each at his rating after his last race of it. A rating
    stays frozen after a driver's last race, so ranking the whole history would list drivers retired for decades."""
    current = history.filter(pl.col("entity") == elo.DRIVER, pl.col("season") == history["season"].max())
    return (
        current.sort("season", "round")
        .group_by("entity_id", maintain_order=True)
        .agg(pl.all().last())
        .sort("rating_after", descending=True)
        .head(count)
    )


def elo_configs(store: Warehouse) -> dict[str, elo.EloConfig]:
    """The tuned configs the ratings were built with, as `FeatureInputs` takes them."""
    configs = {
        row["entity"]: elo.EloConfig(base=row["base"], k=row["k"], carryover=row["carryover"])
        for row in store.read(ELO_PARAMETERS).iter_rows(named=True)
    }
    return {"driver_elo": configs[elo.DRIVER], "team_elo": configs[elo.TEAM]}


def _configs(warehouse: WarehouseResource) -> tuple[pl.DataFrame, dict[str, elo.EloConfig]]:
    store = warehouse.warehouse()
    configs = elo_configs(store)
    return store.read(ELO_HISTORY), {elo.DRIVER: configs["driver_elo"], elo.TEAM: configs["team_elo"]}


@dg.asset_check(asset=elo_ratings, blocking=True)
def check_elo_ratings_finite(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """A NaN or infinite rating would poison every feature downstream."""
    history, _ = _configs(warehouse)
    bad = elo.non_finite(history)
    return dg.AssetCheckResult(passed=bad == 0, metadata={"actual": bad, "threshold": 0})


@dg.asset_check(asset=elo_ratings, blocking=True)
def check_elo_ratings_mean_near_base(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """The update is zero-sum and the carry-over pulls toward the base, so the mean must stay at the base."""
    history, configs = _configs(warehouse)
    drift = elo.field_mean_drift(history, configs[elo.DRIVER], configs[elo.TEAM])
    return dg.AssetCheckResult(passed=drift < 1e-6, metadata={"actual": drift, "threshold": 1e-6})


@dg.asset_check(asset=elo_ratings, blocking=True)
def check_elo_ratings_rookies_at_base(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """A debut is rated at the base: nobody starts ahead or behind."""
    history, configs = _configs(warehouse)
    bad = elo.rookies_not_at_base(history, configs[elo.DRIVER].base)
    return dg.AssetCheckResult(passed=bad == 0, metadata={"actual": bad, "threshold": 0})


@dg.asset_check(asset=elo_ratings, additional_deps=writers(RACE_RESULTS, RACES))
def check_elo_ratings_world_champion_top_rated(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Ratings that mean something put the world champion near the top when the season ends."""
    history, _ = _configs(warehouse)
    store = warehouse.warehouse()
    ranks = elo.world_champion_rank_at_season_end(
        history, store.read(RACE_RESULTS), elo.completed_seasons(store.read(RACES))
    )
    share = elo.share_in_top(ranks, WORLD_CHAMPION_TOP)
    misses = ranks.filter(pl.col("rank").fill_null(WORLD_CHAMPION_TOP + 1) > WORLD_CHAMPION_TOP)
    return dg.AssetCheckResult(
        passed=bool(share >= WORLD_CHAMPION_SHARE),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "actual": share,
            "threshold": WORLD_CHAMPION_SHARE,
            "seasons": ranks.height,
            "misses": dg.MetadataValue.md(markdown_preview(misses, rows=20)),
        },
    )


RATINGS_ASSETS = [elo_ratings]
RATINGS_CHECKS = [
    check_elo_ratings_finite,
    check_elo_ratings_mean_near_base,
    check_elo_ratings_rookies_at_base,
    check_elo_ratings_world_champion_top_rated,
]
