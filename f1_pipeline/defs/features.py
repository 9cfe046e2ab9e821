"""Features layer: one row per (race, driver), point in time, for every completed race and the next one."""

from __future__ import annotations

import dagster as dg
import polars as pl

from f1_pipeline.defs.metadata import markdown_preview, table_metadata
from f1_pipeline.defs.ratings import elo_configs
from f1_pipeline.defs.resources import ModelingResource, WarehouseResource
from f1_pipeline.modeling.feature_matrix import FEATURES_CONTRACT, FeatureInputs, race_features
from f1_pipeline.tables import (
    ELO_HISTORY,
    PRACTICE_RESULTS,
    QUALIFYING_RESULTS,
    RACE_FEATURES,
    RACE_RESULTS,
    RACES,
    SPRINT_RESULTS,
    WEATHER,
    writers,
)
from f1_pipeline.weather.tables import feature_weather

SHARED_DRIVES_UNTIL = 1960
"""Before this season two drivers could share a car and its win."""


@dg.asset(
    name=RACE_FEATURES.asset,
    deps=writers(ELO_HISTORY, RACES, RACE_RESULTS, SPRINT_RESULTS, QUALIFYING_RESULTS, PRACTICE_RESULTS, WEATHER),
    group_name="features",
    kinds={"duckdb", "polars"},
)
def race_features_asset(warehouse: WarehouseResource, modeling: ModelingResource) -> dg.MaterializeResult:
    """Pre-qualifying columns use the race weekend's sessions held before qualifying (practice, from 2024 the
    sprint); post-qualifying ones add grid, qualifying and the sprint.
    Weather comes from the clean weather table: observed for a race that was run, the forecast for the next race;
    its columns stay null where there is none (no weather source configured)."""
    store = warehouse.warehouse()
    races = store.read(RACES)
    inputs = FeatureInputs(
        races=races,
        results=store.read(RACE_RESULTS),
        sprints=store.read(SPRINT_RESULTS),
        qualifying=store.read(QUALIFYING_RESULTS),
        ratings=store.read(ELO_HISTORY),
        practice=store.read(PRACTICE_RESULTS),
        weather=feature_weather(store.read(WEATHER), races),
        **elo_configs(store),
    )
    frame = race_features(inputs)
    store.replace_table(RACE_FEATURES, frame)
    upcoming = frame.filter(pl.col("is_next")).sort("driver_elo", descending=True)
    return dg.MaterializeResult(
        metadata=table_metadata(RACE_FEATURES, frame, FEATURES_CONTRACT.descriptions)
        | {
            "races": frame.select("season", "round").n_unique(),
            "next_race_entrants": upcoming.height,
            "next_race_preview": dg.MetadataValue.md(markdown_preview(upcoming, rows=25)),
        }
    )


@dg.asset_check(asset=race_features_asset, blocking=True)
def check_race_features_one_row_per_driver(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """A driver twice in a race would get two shares of its probability."""
    frame = warehouse.warehouse().read(RACE_FEATURES)
    duplicates = frame.height - frame.select("season", "round", "driver_id").n_unique()
    return dg.AssetCheckResult(passed=duplicates == 0, metadata={"actual": duplicates, "threshold": 0})


@dg.asset_check(asset=race_features_asset, blocking=True)
def check_race_features_one_winner_per_race(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Models learn from races with exactly one winner; only the 1950s' shared drives may have two."""
    frame = warehouse.warehouse().read(RACE_FEATURES).filter(pl.col("won").is_not_null())
    odd = frame.group_by("season", "round").agg(winners=pl.col("won").sum()).filter(pl.col("winners") != 1)
    unexplained = odd.filter(pl.col("season") >= SHARED_DRIVES_UNTIL)
    return dg.AssetCheckResult(
        passed=unexplained.is_empty(),
        metadata={
            "actual": unexplained.height,
            "threshold": f"0 races from {SHARED_DRIVES_UNTIL} on",
            "races_not_one_winner": dg.MetadataValue.md(markdown_preview(odd.sort("season", "round"), rows=20)),
        },
    )


FEATURES_ASSETS = [race_features_asset]
FEATURES_CHECKS = [check_race_features_one_row_per_driver, check_race_features_one_winner_per_race]
