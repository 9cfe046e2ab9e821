"""Raw layer: the API's rows per season, flattened but untouched, in `raw.<endpoint>` tables."""

import warnings

import dagster as dg

from f1_pipeline.defs.metadata import markdown_preview, season_coverage, table_metadata
from f1_pipeline.defs.partitions import SINGLE_RUN, season_partitions
from f1_pipeline.defs.resources import ErgastResource, WarehouseResource
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, Endpoint
from f1_pipeline.ergast.errors import ErgastError, ErgastHTTPError, ErgastRateLimitedError
from f1_pipeline.ergast.ingest import RawBatch, load_seasons
from f1_pipeline.ergast.source import DataSource

STEP_RETRIES = 3
STEP_RETRY_DELAY = 30
"""In units of the client's `retry_backoff_seconds`: 30 s before the first step retry by default."""


def ingestion_retry_policy(retry_backoff_seconds: float) -> dg.RetryPolicy:
    """Whole-step retries on top of the client's page retries, for outages that outlast those: about 30, 90 and
    210 backoff units later (30 s, 90 s, 210 s by default), jittered so that parallel steps do not retry in step.
    Scaled by the client's backoff so that one setting sets how patient ingestion is with the source."""
    return dg.RetryPolicy(
        max_retries=STEP_RETRIES,
        delay=STEP_RETRY_DELAY * retry_backoff_seconds,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def worth_retrying(error: ErgastError, data_source: DataSource) -> bool:
    """Whether the source may answer differently in a few minutes: a live API after an outage, a 5xx, a timeout or
    a proxy's error page may; snapshot files, a refused request (4xx) or a server asking to wait longer than the
    policy (its hourly budget is spent) will not, so retrying them would only delay the failure and its alert."""
    if data_source == "snapshot" or isinstance(error, ErgastRateLimitedError):
        return False
    if isinstance(error, ErgastHTTPError):
        return error.status_code in (408, 429) or error.status_code >= 500
    return True


def raw_asset(name: str, endpoint: Endpoint, description: str, retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    table = f"raw.{name.removeprefix('raw_')}"

    @dg.asset(
        name=name,
        group_name="raw",
        description=description,
        partitions_def=season_partitions,
        backfill_policy=SINGLE_RUN,
        kinds={"duckdb", "polars"},
        metadata={"warehouse_table": table},
        retry_policy=retry_policy,
    )
    def _raw(
        context: dg.AssetExecutionContext, ergast: ErgastResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        seasons = context.partition_keys
        try:
            batch = load_seasons(ergast.client(), endpoint, seasons)
        except ErgastError as error:
            if not worth_retrying(error, ergast.data_source):
                raise dg.Failure(str(error), allow_retries=False) from error
            raise
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


RAW_TABLES = (
    ("raw_races", SCHEDULE, "Season schedules (`/{season}/races.json`): every race, future ones included."),
    ("raw_results", RESULTS, "Race results (`/{season}/results.json`), one row per car and driver."),
    ("raw_qualifying", QUALIFYING, "Qualifying results (`/{season}/qualifying.json`), Q1/Q2/Q3 as given."),
    ("raw_sprint", SPRINT, "Sprint results (`/{season}/sprint.json`); empty before 2021."),
)


def raw_assets(retry_backoff_seconds: float) -> list[dg.AssetsDefinition]:
    """Built from settings, because the step retries' delay follows the client's backoff."""
    policy = ingestion_retry_policy(retry_backoff_seconds)
    with warnings.catch_warnings():
        # Built at load time, where `partitions`' module-level filter may no longer apply (pytest resets filters).
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
        return [raw_asset(name, endpoint, description, policy) for name, endpoint, description in RAW_TABLES]
