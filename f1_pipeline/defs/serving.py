"""Serving layer: what the REST API reads, published as a Parquet snapshot so the API never opens the warehouse."""

from __future__ import annotations

from typing import Any

import dagster as dg
import polars as pl

from f1_pipeline.defs.resources import ServingResource, WarehouseResource
from f1_pipeline.publication import (
    Manifest,
    PublicationError,
    PublicationInvalidError,
    current_snapshot,
    publish,
    read_publication,
)
from f1_pipeline.serving_tables import BY_NAME, VALUE_RULES, WarehouseTables, serving_tables
from f1_pipeline.tables import SERVED, writers
from f1_pipeline.warehouse import Warehouse


@dg.asset(
    deps=writers(*SERVED),
    group_name="serving",
    kinds={"parquet", "polars"},
)
def serving_data(warehouse: WarehouseResource, serving: ServingResource) -> dg.MaterializeResult:
    """Calendar, results, predictions (with finishing-order outcomes), accuracy, rankings and title odds as one
    Parquet snapshot that the API switches to atomically; the same content as the current snapshot publishes nothing
    new."""
    tables = serving_tables(read_sources(warehouse.warehouse()))
    model_name, model_version = champion_of(tables["next_race"])
    directory = serving.directory()
    before = current_snapshot(directory)
    try:
        manifest = publish(directory, tables, model_name=model_name, model_version=model_version, rules=VALUE_RULES)
    except PublicationInvalidError as error:
        raise dg.Failure(f"nothing published, the current snapshot stays: {error}", allow_retries=False) from error
    return dg.MaterializeResult(
        metadata=publication_metadata(manifest, tables)
        | {
            "directory": dg.MetadataValue.path(str(directory)),
            "new_snapshot": manifest.snapshot_id != before,
        }
    )


def read_sources(store: Warehouse) -> WarehouseTables:
    return WarehouseTables(**{table.name: store.read(table) for table in SERVED})


def champion_of(next_race: pl.DataFrame) -> tuple[str, str]:
    """The model whose predictions are published: the one model that predicted the next race."""
    models = next_race.select("model_name", "model_version").unique()
    if models.height != 1:
        raise dg.Failure(f"the next race's predictions come from {models.height} models, expected the champion only")
    return models["model_name"][0], models["model_version"][0]


def publication_metadata(manifest: Manifest, tables: dict[str, pl.DataFrame]) -> dict[str, Any]:
    return {
        "snapshot_id": manifest.snapshot_id,
        "published_at": manifest.published_at.isoformat(),
        "model": f"{manifest.model_name} v{manifest.model_version}",
        "rows": dg.MetadataValue.json(manifest.rows),
        "columns": dg.MetadataValue.md(columns_markdown(tables)),
    }


def columns_markdown(tables: dict[str, pl.DataFrame]) -> str:
    """Each table's columns and types as published, with what each declared column means (`serving_tables.CONTRACTS`):
    the API's contract."""
    lines = ["| table | column | type | meaning |", "|---|---|---|---|"]
    lines += [
        f"| {name} | {column} | {dtype} | {BY_NAME[name].descriptions.get(column, '')} |"
        for name, frame in tables.items()
        for column, dtype in frame.schema.items()
    ]
    return "\n".join(lines)


@dg.asset_check(asset=serving_data, blocking=True)
def check_serving_data_readable(serving: ServingResource) -> dg.AssetCheckResult:
    """The API reads the current snapshot back the same way: every table must load and hold rows (but one its
    contract lets be empty: the title odds of past seasons need enough history to exist)."""
    try:
        publication = read_publication(serving.directory())
    except PublicationError as error:
        return dg.AssetCheckResult(passed=False, metadata={"error": str(error)})
    empty = [name for name, frame in publication.tables.items() if frame.is_empty() and not BY_NAME[name].may_be_empty]
    return dg.AssetCheckResult(
        passed=not empty,
        metadata={
            "snapshot_id": publication.manifest.snapshot_id,
            "actual": dg.MetadataValue.json(publication.manifest.rows),
            "threshold": "every table has rows, but those whose contract lets them be empty",
            "empty_tables": ", ".join(empty) or "none",
        },
    )


SERVING_ASSETS = [serving_data]
SERVING_CHECKS = [check_serving_data_readable]
