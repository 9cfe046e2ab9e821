"""Raw layer: the API's rows per season, flattened but untouched, in `raw.<endpoint>` tables."""

import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import polars as pl

from f1_pipeline.defs.metadata import markdown_preview, season_coverage, table_metadata
from f1_pipeline.defs.partitions import SINGLE_RUN, season_partitions
from f1_pipeline.defs.resources import ErgastResource, WarehouseResource
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, Endpoint
from f1_pipeline.ergast.flatten import RAW_CONTRACTS
from f1_pipeline.ergast.ingest import RawBatch, load_seasons
from f1_pipeline.ergast.source import DataSource
from f1_pipeline.history_guard import RESULTS_SHAPE, SCHEDULE_SHAPE, HistoryShape, refusal, season_losses
from f1_pipeline.http_source.errors import SourceError, SourceHTTPError, SourceRateLimitedError
from f1_pipeline.tables import RAW_QUALIFYING, RAW_RACES, RAW_RESULTS, RAW_SPRINT, Table
from f1_pipeline.warehouse import MissingTableError

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


def worth_retrying(error: SourceError, data_source: DataSource = "live") -> bool:
    """Whether the source may answer differently in a few minutes: a live API after an outage, a 5xx, a timeout or
    a proxy's error page may; bundled files, a refused request (4xx) or a server asking to wait longer than the
    policy (its hourly budget is spent) will not, so retrying them would only delay the failure and its alert."""
    if data_source == "bundled" or isinstance(error, SourceRateLimitedError):
        return False
    if isinstance(error, SourceHTTPError):
        return error.status_code in (408, 429) or error.status_code >= 500
    return True


@contextmanager
def retried_only_if_recoverable(data_source: DataSource = "live") -> Iterator[None]:
    """A source's failure fails the step for good unless a step retry may see another answer."""
    try:
        yield
    except SourceError as error:
        if not worth_retrying(error, data_source):
            raise dg.Failure(str(error), allow_retries=False) from error
        raise


ACCEPT_HISTORY_LOSS_TAG = "f1/accept_history_loss"
"""A run tag (value `true`) that lets this run's raw partitions lose stored history, like F1_ACCEPT_HISTORY_LOSS."""


def replace_history(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    table: Table,
    frame: pl.DataFrame,
    seasons: Sequence[str],
    shape: HistoryShape,
) -> None:
    """Replace the stored season partitions with `frame`, unless that loses history (races or sessions that had
    rows, entries or rows beyond `history_guard.ROW_TOLERANCE`): then the step fails without retries and writes
    nothing, the run fails, and the run-failure sensor alerts with the reason. A person's override accepts it."""
    store = warehouse.warehouse()
    try:
        stored = store.read(table)
    except MissingTableError:
        stored = frame.clear()
    losses = season_losses(stored, frame, seasons, shape)
    if losses:
        accepted = warehouse.accept_history_loss or context.run.tags.get(ACCEPT_HISTORY_LOSS_TAG) == "true"
        override = f"F1_ACCEPT_HISTORY_LOSS=true or the run tag {ACCEPT_HISTORY_LOSS_TAG}=true"
        message = refusal(table.qualified, losses, override)
        if not accepted:
            raise dg.Failure(
                description=message,
                metadata={"seasons_refused": [loss.season for loss in losses]},
                allow_retries=False,
            )
        context.log.warning(f"accepted by the override: {message}")
    store.replace_partitions(table, frame, "season", seasons)


def raw_layer_asset(
    table: Table, retry_policy: dg.RetryPolicy, group_name: str = "raw", **options: Any
) -> Callable[[Callable[..., Any]], dg.AssetsDefinition]:
    """A raw asset: one warehouse table written per season partition, a backfill in one run, step retries."""
    with warnings.catch_warnings():
        # Built at load time, where `partitions`' module-level filter may no longer apply (pytest resets filters).
        warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
        return dg.asset(
            name=table.asset,
            group_name=group_name,
            partitions_def=season_partitions,
            backfill_policy=SINGLE_RUN,
            kinds={"duckdb", "polars"},
            metadata={"warehouse_table": table.qualified},
            retry_policy=retry_policy,
            **options,
        )


def partition_metadata(season: str, rows: pl.DataFrame, url: str, **counts: int) -> dict[str, object]:
    """What a season partition shows in the UI: its own rows, what fetching them took, where from, a preview."""
    return {
        "dagster/row_count": rows.height,
        "season_coverage": season_coverage([season]),
        "rows": rows.height,
        **counts,
        "url": dg.MetadataValue.url(url),
        "preview": dg.MetadataValue.md(markdown_preview(rows)),
    }


def raw_asset(
    table: Table, endpoint: Endpoint, description: str, shape: HistoryShape, retry_policy: dg.RetryPolicy
) -> dg.AssetsDefinition:
    @raw_layer_asset(table, retry_policy, description=description)
    def _raw(
        context: dg.AssetExecutionContext, ergast: ErgastResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        seasons = context.partition_keys
        with retried_only_if_recoverable(ergast.data_source):
            batch = load_seasons(ergast.client(), endpoint, seasons)
        replace_history(context, warehouse, table, batch.frame, seasons, shape)
        for season, metadata in season_metadata(batch).items():
            context.add_asset_metadata(metadata, partition_key=season)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(table, batch.frame, RAW_CONTRACTS[table.qualified].descriptions),
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
        metadata[fetched.season] = partition_metadata(fetched.season, rows, fetched.url, pages=fetched.pages)
    return metadata


RAW_TABLES = (
    (
        RAW_RACES,
        SCHEDULE,
        "Season schedules (`/{season}/races.json`): every race, future ones included.",
        SCHEDULE_SHAPE,
    ),
    (RAW_RESULTS, RESULTS, "Race results (`/{season}/results.json`), one row per car and driver.", RESULTS_SHAPE),
    (RAW_QUALIFYING, QUALIFYING, "Qualifying results (`/{season}/qualifying.json`), Q1/Q2/Q3 as given.", RESULTS_SHAPE),
    (RAW_SPRINT, SPRINT, "Sprint results (`/{season}/sprint.json`); empty before 2021.", RESULTS_SHAPE),
)


def raw_assets(retry_backoff_seconds: float) -> list[dg.AssetsDefinition]:
    """Built from settings, because the step retries' delay follows the client's backoff."""
    policy = ingestion_retry_policy(retry_backoff_seconds)
    return [raw_asset(*table, retry_policy=policy) for table in RAW_TABLES]
