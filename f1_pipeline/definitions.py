"""The code location: assembles what `f1_pipeline.defs` defines. Importing this module builds nothing."""

from __future__ import annotations

import dagster as dg

from f1_pipeline.defs.automation import schedules, sensors
from f1_pipeline.defs.championship import CHAMPIONSHIP_ASSETS, CHAMPIONSHIP_CHECKS
from f1_pipeline.defs.checks import ASSET_CHECKS
from f1_pipeline.defs.clean import CLEAN_ASSETS
from f1_pipeline.defs.features import FEATURES_ASSETS, FEATURES_CHECKS
from f1_pipeline.defs.jobs import ingest_and_clean_job, main_job, post_qualifying_job, train_job
from f1_pipeline.defs.models import MODELS_ASSETS, MODELS_CHECKS
from f1_pipeline.defs.practice import PRACTICE_CHECKS, practice_assets
from f1_pipeline.defs.predictions import PREDICTIONS_ASSETS, PREDICTIONS_CHECKS
from f1_pipeline.defs.ratings import RATINGS_ASSETS, RATINGS_CHECKS
from f1_pipeline.defs.raw import raw_assets
from f1_pipeline.defs.resources import resources_from
from f1_pipeline.defs.run_liveness import dead_run_monitor
from f1_pipeline.defs.serving import SERVING_ASSETS, SERVING_CHECKS
from f1_pipeline.defs.weather import WEATHER_CHECKS, weather_assets
from f1_pipeline.settings import PipelineSettings

FORKSERVER_PRELOAD = ("f1_pipeline.definitions", "great_expectations.expectations", "dagster_postgres")
"""What the forkserver imports once, before forking a process per step: the code location, and what the checks and
the PostgreSQL storage import when first used. Without it each of the ~57 steps imported them itself: about 5 CPU-s
per step, nine tenths of a production run's CPU on a small graph."""
MULTIPROCESS = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": list(FORKSERVER_PRELOAD)}}}
)
"""Each step still in its own process (a crash or a leak stays in its step), forked from that server."""


def build_definitions(settings: PipelineSettings) -> dg.Definitions:
    executor = dg.in_process_executor if settings.dagster_executor == "in_process" else MULTIPROCESS
    return dg.Definitions(
        assets=[
            *raw_assets(settings.retry_backoff_seconds),
            *CLEAN_ASSETS,
            *weather_assets(settings.retry_backoff_seconds),
            *practice_assets(settings.retry_backoff_seconds),
            *RATINGS_ASSETS,
            *FEATURES_ASSETS,
            *MODELS_ASSETS,
            *PREDICTIONS_ASSETS,
            *CHAMPIONSHIP_ASSETS,
            *SERVING_ASSETS,
        ],
        asset_checks=[
            *ASSET_CHECKS,
            *PRACTICE_CHECKS,
            *WEATHER_CHECKS,
            *RATINGS_CHECKS,
            *FEATURES_CHECKS,
            *MODELS_CHECKS,
            *PREDICTIONS_CHECKS,
            *CHAMPIONSHIP_CHECKS,
            *SERVING_CHECKS,
        ],
        jobs=[main_job, ingest_and_clean_job, train_job, post_qualifying_job],
        schedules=schedules(settings),
        sensors=[*sensors(settings), dead_run_monitor],
        resources=resources_from(settings),
        executor=executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions(PipelineSettings())
