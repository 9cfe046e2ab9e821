"""Schedules and sensors: daily ingestion, retraining after each race, predicting again after qualifying, and an alert
when a run fails.

The race sensors watch the clean tables' materializations, not the API: a race "gains results" when the cleaned
and checked `race_results` says so, whichever run loaded it (the schedule, a backfill, a run started by hand).
Each keeps the last race it acted on as its cursor and names the race in its run key, so a race starts one run.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple, Protocol, cast

import dagster as dg

from f1_pipeline.alerts import RunFailure, alert_payload, failure_text, send_alert
from f1_pipeline.defs.jobs import ingest_and_clean_job, post_qualifying_job, train_job
from f1_pipeline.defs.resources import ErgastResource
from f1_pipeline.settings import PipelineSettings

Metadata = Mapping[str, dg.MetadataValue]
SERVING_DATA = dg.AssetKey("serving_data")
RACE_TAG = "f1/race"
NO_RACE = "none"


class RaceId(NamedTuple):
    """A race by season and round, as the sensors compare and record it (cursor, run key, tag)."""

    season: int
    round: int

    @property
    def key(self) -> str:
        """Cursor, run key and tag: readable in the UI, and one race is one key."""
        return f"{self.season}-{self.round:02d}"

    @classmethod
    def parse(cls, key: str) -> "RaceId":
        season, round_ = key.split("-")
        return cls(int(season), int(round_))


def race_in(metadata: Metadata, prefix: str) -> RaceId | None:
    """The race a clean asset recorded under `prefix` (see `clean.race_metadata`), if any."""
    season, round_ = metadata.get(f"{prefix}_season"), metadata.get(f"{prefix}_round")
    if season is None or round_ is None:
        return None
    return RaceId(cast(int, season.value), cast(int, round_.value))  # written by `clean.race_metadata` as ints


def last_race_with_results(metadata: Metadata) -> RaceId | None:
    return race_in(metadata, "last_race")


def next_race_with_qualifying(metadata: Metadata) -> RaceId | None:
    rows = metadata.get("next_race_qualifying_rows")
    return race_in(metadata, "next_race") if rows is not None and rows.value else None


@dataclass(frozen=True)
class Watch:
    """Which clean asset a sensor reads, how it finds the race of interest there, and what to call that race."""

    asset: dg.AssetKey
    race_of: Callable[[Metadata], RaceId | None]
    what: str
    by_season: bool = False
    """The job holds a season-partitioned asset (the weather forecast), so its run is the race's season partition."""


RESULTS_WATCH = Watch(dg.AssetKey("race_results"), last_race_with_results, "last race with results")
QUALIFYING_WATCH = Watch(
    dg.AssetKey("qualifying_results"), next_race_with_qualifying, "next race with qualifying", by_season=True
)


def react_to_new_race(context: dg.SensorEvaluationContext, watch: Watch) -> dg.SensorResult:
    """One run per race that appears after the cursor.

    Only materializations of runs that succeeded count, so data that failed a blocking check never retrains; the
    first evaluation records where the data stands without starting runs, so turning a sensor on does not replay
    history; and a change some run already took to the serving data (a full `main` run) needs no second run.
    """
    record = latest_materialization(context.instance, watch.asset)
    if record is None:
        return dg.SensorResult(skip_reason=f"{watch.asset.to_user_string()} has not been materialized yet")
    entry = record.event_log_entry
    run = context.instance.get_run_by_id(entry.run_id)
    if run is not None and run.status != dg.DagsterRunStatus.SUCCESS:
        return dg.SensorResult(
            skip_reason=f"run {run.run_id} materialized {watch.asset.to_user_string()} and is {run.status.value}: "
            "waiting for a run that succeeds"
        )
    materialization = entry.asset_materialization
    race = watch.race_of(materialization.metadata if materialization else {})
    if context.cursor is None:
        return dg.SensorResult(
            skip_reason=f"first evaluation: {watch.what} is {_key(race)}; later races start runs",
            cursor=_key(race),
        )
    seen = None if context.cursor == NO_RACE else RaceId.parse(context.cursor)
    if race is None or (seen is not None and race <= seen):
        return dg.SensorResult(skip_reason=f"{watch.what} is {_key(race)}; nothing after {_key(seen)}")
    if published_since(context.instance, record.storage_id):
        return dg.SensorResult(skip_reason=f"{race.key}: a later run already published serving data", cursor=race.key)
    partition = str(race.season) if watch.by_season else None
    request = dg.RunRequest(run_key=race.key, tags={RACE_TAG: race.key}, partition_key=partition)
    return dg.SensorResult(run_requests=[request], cursor=race.key)


def latest_materialization(instance: dg.DagsterInstance, asset: dg.AssetKey) -> dg.EventLogRecord | None:
    records = instance.fetch_materializations(asset, limit=1).records
    return records[0] if records else None


def published_since(instance: dg.DagsterInstance, storage_id: int) -> bool:
    """Runs are queued one at a time (DuckDB has one writer), so serving data materialized after the change was
    built from it."""
    published = latest_materialization(instance, SERVING_DATA)
    return published is not None and published.storage_id > storage_id


def _key(race: RaceId | None) -> str:
    return NO_RACE if race is None else race.key


def race_sensor(
    name: str, watch: Watch, job_name: str, description: str, status: dg.DefaultSensorStatus
) -> dg.SensorDefinition:
    """A sensor starting `job_name` (a job of the same Definitions) once per race that `watch` sees."""

    @dg.sensor(name=name, job_name=job_name, description=description, default_status=status)
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        return react_to_new_race(context, watch)

    return _sensor


def live_ingestion_config(ergast: ErgastResource) -> dict[str, object]:
    """Run config sending one run to the live API whatever the deployment's default source. Run config replaces a
    resource's whole config, so every field is carried over from the deployment's resource."""
    return {"resources": {"ergast": {"config": {**ergast.model_dump(), "data_source": "live"}}}}


def daily_ingestion(status: dg.DefaultScheduleStatus) -> dg.ScheduleDefinition:
    @dg.schedule(
        name="daily_ingestion",
        cron_schedule="0 2 * * *",
        execution_timezone="UTC",
        job=ingest_and_clean_job,
        default_status=status,
        description=(
            "Every day at 02:00 UTC, the current season from the live API, then every clean table and the weather "
            "(the next race's forecast refreshed). New results and qualifying then wake the race sensors."
        ),
    )
    def _schedule(context: dg.ScheduleEvaluationContext, ergast: ErgastResource) -> dg.RunRequest:
        season = str(context.scheduled_execution_time.year)
        return dg.RunRequest(partition_key=season, run_config=live_ingestion_config(ergast))

    return _schedule


def failure_of(context: dg.RunFailureSensorContext) -> RunFailure:
    """The failed steps and their errors; the run's own message when no step failed (e.g. a run worker lost)."""
    steps = context.get_step_failure_events()
    errors = [
        f"{event.step_key}: {root_cause(event.step_failure_data.error)}"
        for event in steps
        if event.step_failure_data.error is not None
    ]
    return RunFailure(
        job_name=context.dagster_run.job_name,
        run_id=context.dagster_run.run_id,
        failed_steps=tuple(event.step_key or "" for event in steps),
        error="\n".join(errors) or context.failure_event.message or "no error message",
    )


class ErrorChain(Protocol):
    """What a step failure's error carries (Dagster's serializable error info), as far as the alert reads it."""

    @property
    def message(self) -> str: ...

    @property
    def cause(self) -> "ErrorChain | None": ...


def root_cause(error: ErrorChain) -> str:
    """The innermost error: Dagster wraps what the asset raised ("Error occurred while executing op ...")."""
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


def run_failure_alert(settings: PipelineSettings) -> dg.SensorDefinition:
    webhook = settings.alert_webhook_url
    webserver_url = settings.dagster_webserver_url

    @dg.run_failure_sensor(
        name="run_failure_alert",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Logs every failed run of this code location, and POSTs it to F1_ALERT_WEBHOOK_URL when set.",
    )
    def _alert(context: dg.RunFailureSensorContext) -> None:
        failure = failure_of(context)
        context.log.error(failure_text(failure, webserver_url))
        if webhook is None:
            return
        problem = send_alert(webhook.get_secret_value(), alert_payload(failure, webserver_url))
        if problem is None:
            context.log.info(f"alert for run {failure.run_id} delivered to the webhook")
        else:
            context.log.warning(f"alert for run {failure.run_id} not delivered: {problem}")

    return _alert


def schedules(settings: PipelineSettings) -> list[dg.ScheduleDefinition]:
    return [daily_ingestion(dg.DefaultScheduleStatus(settings.automation_default_status.upper()))]


def sensors(settings: PipelineSettings) -> list[dg.SensorDefinition]:
    """The race sensors follow `automation_default_status`; the alert runs everywhere, as it starts nothing and
    sends nothing without a webhook."""
    status = dg.DefaultSensorStatus(settings.automation_default_status.upper())
    return [
        race_sensor(
            "post_race_retraining",
            RESULTS_WATCH,
            train_job.name,
            "When a race gains results: ratings, features, retraining, promotion, predictions and serving data.",
            status,
        ),
        race_sensor(
            "post_qualifying_predictions",
            QUALIFYING_WATCH,
            post_qualifying_job.name,
            "When the next race's qualifying appears: its post-qualifying predictions and the serving data.",
            status,
        ),
        run_failure_alert(settings),
    ]
