"""Raw layer: the API's rows per season, flattened but untouched, in `raw.<endpoint>` tables."""

import dagster as dg

from f1_pipeline.defs.metadata import markdown_preview, season_coverage, table_metadata
from f1_pipeline.defs.partitions import SINGLE_RUN, season_partitions
from f1_pipeline.defs.resources import ErgastResource, WarehouseResource
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, Endpoint
from f1_pipeline.ergast.ingest import RawBatch, load_seasons


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
        batch = load_seasons(ergast.client(), endpoint, seasons)
        warehouse.warehouse().replace_partitions(table, batch.frame, "season", seasons)
        for season, metadata in season_metadata(batch).items():
            context.add_asset_metadata(metadata, partition_key=season)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table, batch.frame),
                "source": ergast.data_source,
                "base_url": ergast.ergast_base_url,
                "fetched_at": dg.MetadataValue.timestamp(batch.fetched_at),
                "seasons_in_run": len(seasons),
                "pages_in_run": batch.pages,
                "rows_in_run": batch.frame.height,
            }
        )

    return _raw


def season_metadata(batch: RawBatch) -> dict[str, dict[str, object]]:
    """What each season partition shows in the UI: its own rows, pages, URL and preview."""
    metadata = {}
    for fetched in batch.fetched:
        rows = batch.season(fetched.season)
        metadata[fetched.season] = {
            "dagster/row_count": rows.height,
            "season_coverage": season_coverage([fetched.season]),
            "rows": rows.height,
            "pages": fetched.pages,
            "url": dg.MetadataValue.url(fetched.url),
            "preview": dg.MetadataValue.md(markdown_preview(rows)),
        }
    return metadata


RAW_ASSETS = [
    raw_asset("raw_races", SCHEDULE, "Season schedules (`/{season}/races.json`): every race, future ones included."),
    raw_asset("raw_results", RESULTS, "Race results (`/{season}/results.json`), one row per car and driver."),
    raw_asset("raw_qualifying", QUALIFYING, "Qualifying results (`/{season}/qualifying.json`), Q1/Q2/Q3 as given."),
    raw_asset("raw_sprint", SPRINT, "Sprint results (`/{season}/sprint.json`); empty before 2021."),
]
