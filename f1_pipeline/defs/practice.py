"""Practice: `raw.practice` per season from the practice source, and the typed `clean.practice_results`."""

import dagster as dg

from f1_pipeline.defs.checks import suite_check
from f1_pipeline.defs.clean import publish
from f1_pipeline.defs.metadata import table_metadata
from f1_pipeline.defs.partitions import SINGLE_RUN
from f1_pipeline.defs.raw import (
    ingestion_retry_policy,
    partition_metadata,
    raw_layer_asset,
    replace_history,
    retried_only_if_recoverable,
)
from f1_pipeline.defs.resources import PracticeResource, WarehouseResource
from f1_pipeline.history_guard import PRACTICE_SHAPE
from f1_pipeline.practice import cleaning
from f1_pipeline.practice.bundled import BundledFileError
from f1_pipeline.practice.raw import RAW_PRACTICE_CONTRACT, PracticeBatch
from f1_pipeline.practice.suites import PRACTICE_SUITES
from f1_pipeline.tables import PRACTICE_RESULTS, RACES, RAW_PRACTICE, writers


def raw_practice_asset(retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @raw_layer_asset(
        RAW_PRACTICE,
        retry_policy,
        description=(
            "Free-practice and sprint-qualifying results (F1DB), one row per driver and session: each driver's best "
            "lap, position and laps as published, ids mapped to Ergast's. Seasons before 1988 have none."
        ),
    )
    def _raw(
        context: dg.AssetExecutionContext, practice: PracticeResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        seasons = context.partition_keys
        try:
            with retried_only_if_recoverable(practice.practice_source):
                batch = practice.load(seasons)
        except BundledFileError as error:
            raise dg.Failure(str(error), allow_retries=False) from error
        replace_history(context, warehouse, RAW_PRACTICE, batch.frame, seasons, PRACTICE_SHAPE)
        for season, metadata in season_metadata(batch).items():
            context.add_asset_metadata(metadata, partition_key=season)
        return dg.MaterializeResult(
            metadata={
                **table_metadata(RAW_PRACTICE, batch.frame, RAW_PRACTICE_CONTRACT.descriptions),
                "source": practice.describe(),
                "fetched_at": dg.MetadataValue.timestamp(batch.fetched_at),
                "seasons_in_run": len(seasons),
                "requests_in_run": batch.requests,
                "rows_in_run": batch.frame.height,
            }
        )

    return _raw


def season_metadata(batch: PracticeBatch) -> dict[str, dict[str, object]]:
    """What each season partition shows in the UI: its rows, sessions, where they came from and a preview."""
    metadata = {}
    for fetched in batch.fetched:
        rows = batch.season(fetched.season)
        sessions = rows.select("round", "session").unique().height
        metadata[fetched.season] = partition_metadata(
            fetched.season, rows, fetched.url, sessions=sessions, requests=fetched.requests
        )
    return metadata


@dg.asset(deps=writers(RAW_PRACTICE, RACES), group_name="clean", kinds={"duckdb", "polars"}, backfill_policy=SINGLE_RUN)
def practice_results(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Each driver's best lap, position and laps in every practice and sprint-qualifying session, typed; rows that
    break a rule (unreadable values, a weekend not on the calendar, a driver twice in a session) are quarantined."""
    store = warehouse.warehouse()
    table, quarantined = cleaning.practice_results(store.read(RAW_PRACTICE), store.read(RACES))
    extra = {
        "weekends": table.select("season", "round").unique().height,
        "sessions": table.select(*cleaning.SESSION_KEY).unique().height,
    }
    return publish(store, PRACTICE_RESULTS, table, quarantined, cleaning.PRACTICE_CONTRACT.descriptions, extra)


def practice_assets(retry_backoff_seconds: float) -> list[dg.AssetsDefinition]:
    """Built from settings, like the other raw assets: the step retries' delay follows the client's backoff."""
    return [raw_practice_asset(ingestion_retry_policy(retry_backoff_seconds)), practice_results]


PRACTICE_CHECKS = [suite_check(suite) for suite in PRACTICE_SUITES]
