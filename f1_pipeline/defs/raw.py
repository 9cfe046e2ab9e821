"""Raw layer: the API's rows per season, flattened but untouched, in `raw.<endpoint>` tables."""

import asyncio

import dagster as dg

from f1_pipeline.defs.metadata import table_metadata
from f1_pipeline.defs.partitions import SINGLE_RUN, season_partitions
from f1_pipeline.defs.resources import ErgastResource, WarehouseResource
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, Endpoint
from f1_pipeline.ergast.ingest import fetch_seasons

PREVIEW_URLS = 5


def raw_asset(name: str, endpoint: Endpoint, description: str) -> dg.AssetsDefinition:
    table = f"raw.{name.removeprefix('raw_')}"

    @dg.asset(
        name=name,
        group_name="raw",
        description=description,
        partitions_def=season_partitions,
        backfill_policy=SINGLE_RUN,
        kinds={"duckdb", "polars"},
        metadata={"warehouse_table": table},
    )
    def _raw(
        context: dg.AssetExecutionContext, ergast: ErgastResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        seasons = context.partition_keys
        batch = asyncio.run(fetch_seasons(ergast.client(), endpoint, seasons))
        warehouse.warehouse().replace_partitions(table, batch.frame, "season", seasons)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table, batch.frame),
                "source": ergast.source,
                "base_url": ergast.base_url,
                "urls": dg.MetadataValue.json(
                    batch.urls[:PREVIEW_URLS] + (["..."] if len(batch.urls) > PREVIEW_URLS else [])
                ),
                "pages": batch.pages,
                "rows": batch.frame.height,
                "seasons_in_run": len(seasons),
                "fetched_at": dg.MetadataValue.timestamp(batch.fetched_at),
            }
        )

    return _raw


RAW_ASSETS = [
    raw_asset("raw_races", SCHEDULE, "Season schedules (`/{season}/races.json`): every race, future ones included."),
    raw_asset("raw_results", RESULTS, "Race results (`/{season}/results.json`), one row per car and driver."),
    raw_asset("raw_qualifying", QUALIFYING, "Qualifying results (`/{season}/qualifying.json`), Q1/Q2/Q3 as given."),
    raw_asset("raw_sprint", SPRINT, "Sprint results (`/{season}/sprint.json`); empty before 2021."),
]
