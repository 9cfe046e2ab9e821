"""Where the command reads what it prints: the published serving data (what the API serves), else the warehouse.

Reads only; a warehouse that does not exist yet is reported, never created.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from f1_pipeline.publication import PublicationError, read_publication
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import Table
from f1_pipeline.warehouse import MissingTableError, Warehouse

CALENDAR = "calendar"
"""The published table of every race and its status (f1_serving reads it under this name too)."""


@dataclass(frozen=True)
class Source:
    frame: pl.DataFrame
    where: str
    calendar: pl.DataFrame | None = None
    """The published calendar beside it, which says how fresh the data is; None when read from the warehouse."""


def warehouse_table(settings: PipelineSettings, table: Table) -> pl.DataFrame:
    if not settings.warehouse_path.exists():
        raise MissingTableError(f"no warehouse at {settings.warehouse_path}: run `f1-predict run` first")
    return Warehouse(settings.warehouse_path, read_only=True).read(table)


def predictions(settings: PipelineSettings, table: Table) -> Source:
    """A warehouse table that is published under its own name: from the current publication, else (nothing published
    yet, or a snapshot from before the table was published) from the warehouse."""
    try:
        publication = read_publication(settings.serving_dir)
    except PublicationError:
        publication = None
    if publication is None or table.name not in publication.tables:
        return Source(warehouse_table(settings, table), f"warehouse {settings.warehouse_path}")
    return Source(
        publication.tables[table.name],
        f"published snapshot {publication.manifest.snapshot_id}",
        publication.tables.get(CALENDAR),
    )


def optional_table(settings: PipelineSettings, table: Table) -> pl.DataFrame | None:
    """A warehouse table, or None when it (or the warehouse) has not been materialized."""
    try:
        return warehouse_table(settings, table)
    except MissingTableError:
        return None


def champion_version(settings: PipelineSettings) -> str | None:
    # Imported here: MLflow takes seconds to import, and only the run summary asks the registry.
    from f1_pipeline.registry.tracking import registry_for

    champion = registry_for(settings).champion()
    return None if champion is None else str(champion.version)
