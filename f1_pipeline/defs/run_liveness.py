"""A sensor that fails runs whose process has died, so the one-at-a-time run queue moves on within a minute.

The daemon's run monitoring only fails such a run after its maximum runtime (hours): it cannot see the process of a
run executed in a terminal. This sensor can, on the machine that evaluates it. It starts nothing and touches only
runs that are provably dead (see `f1_pipeline.run_liveness`), so it is on everywhere; the maximum runtime stays the
backstop for runs on other machines.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import dagster as dg

from f1_pipeline.database_urls import DAGSTER_POSTGRES_URL_ENV
from f1_pipeline.run_liveness import HOST_TAG, RecordedProcess, RunProcesses, local_process, this_host, why_dead


def recorded(records: Sequence[dg.EventLogRecord]) -> tuple[RecordedProcess, ...]:
    """Each event's pid (every event carries the pid of the process that wrote it) and when it was written."""
    events = [(record.event_log_entry.dagster_event, record.event_log_entry.timestamp) for record in records]
    return tuple(RecordedProcess(event.pid, at) for event, at in events if event is not None and event.pid is not None)


def run_processes(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunProcesses:
    """The run's orchestrator (from its RUN_START event) and step processes (from the events a step subprocess
    writes first: STEP_WORKER_STARTED before its resources are built, STEP_START)."""
    starts = recorded(instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records)
    step_events = {dg.DagsterEventType.STEP_WORKER_STARTED, dg.DagsterEventType.STEP_START}
    steps = recorded(instance.get_records_for_run(run.run_id, of_type=step_events).records)
    return RunProcesses(run.run_id, starts[0] if starts else None, steps, run.tags.get(HOST_TAG))


@dg.sensor(
    name="dead_run_monitor",
    description=(
        "Fails a STARTED run whose process on this machine is gone (killed, crashed) and left no step running, so "
        "queued runs start."
    ),
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def dead_run_monitor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    instance = context.instance
    here = this_host()
    # Without the variable no PostgreSQL instance file loads: the storage is SQLite, which only this machine's
    # processes write. With it the storage may be shared, and untagged runs are left to the run monitoring.
    untagged_runs_are_local = not os.environ.get(DAGSTER_POSTGRES_URL_ENV, "").strip()
    failed = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        reason = why_dead(run_processes(instance, record.dagster_run), here, untagged_runs_are_local, local_process)
        # Read again once the process is known gone: it may have finished the run after the listing, then exited.
        run = instance.get_run_by_id(record.dagster_run.run_id) if reason is not None else None
        if run is not None and run.status == dg.DagsterRunStatus.STARTED:
            instance.report_run_failed(run, message=f"Run failed: {reason}.")
            context.log.warning(f"run {run.run_id} marked failed: {reason}")
            failed.append(run.run_id)
    return dg.SkipReason(f"marked failed: {', '.join(failed)}" if failed else "no dead run")
