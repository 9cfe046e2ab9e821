"""Clean layer: typed tables in the `clean` schema, rejected rows in `quality.quarantine`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
import polars as pl

from f1_pipeline.cleaning import qualifying, reference
from f1_pipeline.cleaning import races as calendar
from f1_pipeline.cleaning import results as results_cleaning
from f1_pipeline.cleaning.quarantine import QUARANTINE_SCHEMA
from f1_pipeline.defs.metadata import markdown_preview, table_metadata
from f1_pipeline.defs.partitions import SINGLE_RUN
from f1_pipeline.defs.resources import WarehouseResource
from f1_pipeline.tables import (
    CIRCUITS,
    CONSTRUCTORS,
    DRIVERS,
    QUALIFYING_RESULTS,
    QUARANTINE,
    RACE_RESULTS,
    RACES,
    RAW_QUALIFYING,
    RAW_RACES,
    RAW_RESULTS,
    RAW_SPRINT,
    SPRINT_RESULTS,
    Table,
    writers,
)
from f1_pipeline.warehouse import Warehouse

ENTRANT_TABLES = (RAW_RESULTS, RAW_QUALIFYING, RAW_SPRINT)
"""Where drivers and constructors are found: every one who entered a race, a qualifying or a sprint."""
_CLEAN: dict[str, Any] = {"group_name": "clean", "kinds": {"duckdb", "polars"}, "backfill_policy": SINGLE_RUN}


def publish(
    warehouse: Warehouse,
    table: Table,
    frame: pl.DataFrame,
    quarantined: pl.DataFrame | None = None,
    column_docs: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dg.MaterializeResult:
    """Write a clean table and replace its quarantined rows in one transaction; describe both (and `extra`)."""
    with warehouse.transaction() as writes:
        writes.replace_table(table, frame)
        if quarantined is not None:
            writes.replace_partitions(QUARANTINE, quarantined.cast(QUARANTINE_SCHEMA), "source_table", [table.name])
    metadata = table_metadata(table, frame, column_docs)
    if quarantined is not None:
        metadata["quarantined_rows"] = quarantined.height
        if quarantined.height:
            metadata["quarantine_preview"] = dg.MetadataValue.md(markdown_preview(quarantined))
    return dg.MaterializeResult(metadata={**metadata, **(extra or {})})


@dg.asset(deps=writers(RAW_RACES, RAW_RESULTS), **_CLEAN)
def races(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The calendar: status scheduled / completed / cancelled, and `is_next` on the first race without results."""
    store = warehouse.warehouse()
    table, quarantined = calendar.races(store.read(RAW_RACES), store.read(RAW_RESULTS))
    extra = {
        "next_race": race_label(table.filter(pl.col("is_next"))),
        "completed_races": table.filter(pl.col("status") == "completed").height,
    }
    return publish(store, RACES, table, quarantined, calendar.RACES_CONTRACT.descriptions, extra)


@dg.asset(deps=writers(RAW_RESULTS, RACES), **_CLEAN)
def race_results(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per car and driver in each race: classified position, status category, times in seconds. The last
    race with results is in the metadata: the post-race sensor retrains when it changes."""
    store = warehouse.warehouse()
    schedule = store.read(RACES)
    table, quarantined = results_cleaning.results(store.read(RAW_RESULTS), schedule, RACE_RESULTS.name)
    last = table.select(*calendar.RACE_KEY).unique().sort(*calendar.RACE_KEY).tail(1)
    extra = race_metadata("last_race", schedule.join(last, on=calendar.RACE_KEY))
    return publish(store, RACE_RESULTS, table, quarantined, results_cleaning.RACE_RESULTS_CONTRACT.descriptions, extra)


@dg.asset(deps=writers(RAW_SPRINT, RACES), **_CLEAN)
def sprint_results(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Sprint results, typed like race results."""
    store = warehouse.warehouse()
    table, quarantined = results_cleaning.results(store.read(RAW_SPRINT), store.read(RACES), SPRINT_RESULTS.name)
    return publish(store, SPRINT_RESULTS, table, quarantined, results_cleaning.SPRINT_RESULTS_CONTRACT.descriptions)


@dg.asset(deps=writers(RAW_QUALIFYING, RACES), **_CLEAN)
def qualifying_results(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Qualifying position with Q1/Q2/Q3 and the best time in seconds. Whether the next race has qualifying is in
    the metadata: the post-qualifying sensor predicts again when it does."""
    store = warehouse.warehouse()
    schedule = store.read(RACES)
    table, quarantined = qualifying.qualifying(store.read(RAW_QUALIFYING), schedule)
    upcoming = schedule.filter(pl.col("is_next"))
    extra = {
        **race_metadata("next_race", upcoming),
        "next_race_qualifying_rows": table.join(upcoming, on=calendar.RACE_KEY).height,
    }
    return publish(store, QUALIFYING_RESULTS, table, quarantined, qualifying.QUALIFYING_CONTRACT.descriptions, extra)


@dg.asset(deps=writers(*ENTRANT_TABLES), **_CLEAN)
def drivers(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every driver in results, qualifying or sprints, with the API's current name, code and nationality."""
    store = warehouse.warehouse()
    table, flagged = reference.drivers(*_entrants(store))
    return publish(store, DRIVERS, table, flagged, reference.DRIVERS_CONTRACT.descriptions)


@dg.asset(deps=writers(*ENTRANT_TABLES), **_CLEAN)
def constructors(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every constructor in results, qualifying or sprints."""
    store = warehouse.warehouse()
    return publish(
        store,
        CONSTRUCTORS,
        reference.constructors(*_entrants(store)),
        column_docs=reference.CONSTRUCTORS_CONTRACT.descriptions,
    )


@dg.asset(deps=writers(RAW_RACES), **_CLEAN)
def circuits(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Every circuit on a schedule, with latitude and longitude for weather lookups."""
    store = warehouse.warehouse()
    return publish(
        store, CIRCUITS, *reference.circuits(store.read(RAW_RACES)), reference.CIRCUITS_CONTRACT.descriptions
    )


def race_label(race: pl.DataFrame) -> str:
    """A one-row slice of the calendar as the UI shows it (2026 round 12: Dutch Grand Prix), or "none"."""
    if race.is_empty():
        return "none"
    return f"{race['season'][0]} round {race['round'][0]}: {race['race_name'][0]}"


def race_metadata(prefix: str, race: pl.DataFrame) -> dict[str, object]:
    """A race for people (`<prefix>`) and for sensors (`<prefix>_season`, `<prefix>_round`; absent without one)."""
    metadata: dict[str, object] = {prefix: race_label(race)}
    if not race.is_empty():
        metadata |= {f"{prefix}_season": int(race["season"][0]), f"{prefix}_round": int(race["round"][0])}
    return metadata


def _entrants(store: Warehouse) -> tuple[pl.DataFrame, ...]:
    return tuple(store.read(table) for table in ENTRANT_TABLES)


CLEAN_ASSETS = [races, race_results, sprint_results, qualifying_results, drivers, constructors, circuits]
