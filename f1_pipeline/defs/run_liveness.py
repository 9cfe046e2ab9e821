"""A sensor that fails runs whose process has died, so the one-at-a-time run queue moves on within a minute.

The daemon's run monitoring only fails such a run after its maximum runtime (hours): it cannot see the process of a
run executed in a terminal. This sensor can, on the machine that evaluates it. It starts nothing and touches only
runs that are provably dead (see `f1_pipeline.run_liveness`), so it is on everywhere; the maximum runtime stays the
backstop for runs on other machines.
"""

from __future__ import annotations

import dagster as dg
from dagster._core.storage.dagster_run import RunRecord, RunsFilter
from dagster._core.storage.runs.sqlite import SqliteRunStorage

from f1_pipeline.run_liveness import HOST_TAG, RunProcess, local_process, this_host, why_dead


def run_process(instance: dg.DagsterInstance, record: RunRecord) -> RunProcess:
    """The run's process as its RUN_START event recorded it (the event carries the pid of the process emitting it)."""
    run = record.dagster_run
    starts = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    event = starts[0].event_log_entry.dagster_event if starts else None
    started_at = record.start_time if record.start_time is not None else record.create_timestamp.timestamp()
    return RunProcess(run.run_id, event.pid if event is not None else None, run.tags.get(HOST_TAG), started_at)


@dg.sensor(
    name="dead_run_monitor",
    description="Fails a STARTED run whose process on this machine is gone (killed, crashed), so queued runs start.",
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def dead_run_monitor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    instance = context.instance
    here = this_host()
    untagged_runs_are_local = isinstance(instance.run_storage, SqliteRunStorage)
    failed = []
    for record in instance.get_run_records(filters=RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        reason = why_dead(run_process(instance, record), here, untagged_runs_are_local, local_process)
        # Read again once the process is known gone: it may have finished the run after the listing, then exited.
        run = instance.get_run_by_id(record.dagster_run.run_id) if reason is not None else None
        if run is not None and run.status == dg.DagsterRunStatus.STARTED:
            instance.report_run_failed(run, message=f"Run failed: {reason}.")
            context.log.warning(f"run {run.run_id} marked failed: {reason}")
            failed.append(run.run_id)
    return dg.SkipReason(f"marked failed: {', '.join(failed)}" if failed else "no dead run")
