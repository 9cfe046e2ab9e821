"""A run of a job of the workspace's code location, executed in this process through Dagster's public `execute_job`.

`dagster job execute` records a run that the UI lists under Runs but not under its job: the job's page lists the
runs of its name that carry its repository's label (`<repository>@<location>`), a tag Dagster adds only to runs it
launches from a code location. The run made here carries that label and the location's tag, read from the same
`workspace.yaml` the webserver loads, so it shows under its job like a run launched from the UI. It is executed here
(rather than through the run queue, which needs the daemon); its events are read back from the instance while it
runs, so the command can print its progress.
"""

from __future__ import annotations

import _thread
import importlib
import os
import select
import signal
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import yaml

from f1_pipeline.cli.progress import stage_of
from f1_pipeline.run_liveness import HOST_TAG, this_host

QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
"""Run config keeping Dagster's console to warnings and errors: the command prints a line per stage instead, and
the whole event log stays in the UI."""

REPOSITORY = "__repository__"
"""The name Dagster gives the one repository a `Definitions` object makes: the first half of the label."""
REPOSITORY_LABEL_TAG = ".dagster/repository"
"""The tag the UI's job page filters runs by (with the job's name); its value is `<repository>@<location>`."""
CODE_LOCATION_TAG = "dagster/code_location"
"""The tag the Runs page filters runs by code location."""
PID_TAG = "f1/pid"
"""The process that executes the run: with the host tag and the start time, how this process finds its own run."""
POLL_SECONDS = 0.5


@dataclass(frozen=True)
class CodeLocation:
    """The one code location `workspace.yaml` declares: the module the webserver loads and the name it shows."""

    module_name: str
    name: str

    def tags(self) -> dict[str, str]:
        """The tags that list a run under its job and its code location in the UI."""
        return {REPOSITORY_LABEL_TAG: f"{REPOSITORY}@{self.name}", CODE_LOCATION_TAG: self.name}


def code_location(workspace: Path) -> CodeLocation:
    """The location `workspace` declares; it must be exactly one `python_module` entry, as the project's is."""
    if not workspace.is_file():
        raise FileNotFoundError(f"no workspace file at {workspace}")
    entries = (yaml.safe_load(workspace.read_text()) or {}).get("load_from") or []
    modules = [entry["python_module"] for entry in entries if "python_module" in entry]
    if len(entries) != 1 or len(modules) != 1:
        raise ValueError(f"{workspace} must declare exactly one code location, a python_module; found {entries}")
    (module,) = modules
    if isinstance(module, str):
        return CodeLocation(module, module)
    return CodeLocation(module["module_name"], module.get("location_name", module["module_name"]))


def location_job(module_name: str, job_name: str) -> dg.JobDefinition:
    """The job as the code location defines it: the module's `defs` (a `@dg.definitions` function). `execute`
    names this function, so that a step process of the multiprocess executor loads the job the same way."""
    definitions = importlib.import_module(module_name).defs()
    jobs = {job.name: job for job in definitions.resolve_all_job_defs() if not job.name.startswith("__")}
    if job_name not in jobs:
        raise ValueError(f"no job {job_name!r} in {module_name}; its jobs: {', '.join(sorted(jobs))}")
    return jobs[job_name]


def run_tags(location: CodeLocation, tags: Mapping[str, str]) -> dict[str, str]:
    """`tags`, the location's, and this process: the run is executed here, so the `dead_run_monitor` sensor may
    judge its process on any storage."""
    return {**tags, **location.tags(), HOST_TAG: this_host(), PID_TAG: str(os.getpid())}


def execute(
    instance: dg.DagsterInstance, location: CodeLocation, job_name: str, tags: Mapping[str, str], *, quiet: bool
) -> dg.JobExecutionResult:
    """Execute the run here to its end; its status and event log land in the instance as usual. Ctrl-C fails the
    run ("interrupted") at once: Dagster raises it in the step being executed."""
    job = dg.build_reconstructable_job(
        __name__,
        location_job.__name__,
        reconstructable_kwargs={"module_name": location.module_name, "job_name": job_name},
    )
    with dg.execute_job(job, instance, run_config=QUIET if quiet else {}, tags=dict(tags)) as result:
        return result


FAILURES = {dg.DagsterEventType.STEP_FAILURE, dg.DagsterEventType.RUN_FAILURE}
"""Events after which a Ctrl-C has been acted on (or the run is failing anyway): no need to send it again."""


@dataclass
class Followed:
    """What the reader thread has found: the run's id once the run is recorded."""

    run_id: str | None = None


@contextmanager
def following(
    instance: dg.DagsterInstance,
    job_name: str,
    tags: Mapping[str, str],
    on_run: Callable[[str], None],
    on_event: Callable[[dg.DagsterEvent], None],
) -> Iterator[Followed]:
    """While the block executes a run of `job_name` with `tags` (`run_tags`), call `on_run` with its id once it is
    recorded and `on_event` with each of its events, in order, from a thread reading the instance's event log; on
    leaving, the events not read yet are. Call it from the main thread, which must execute the run.

    Ctrl-C stops the run. Dagster raises an interrupt only inside a step; elsewhere it notes it, and a note can be
    lost (a nested section clears it, or the handler fires inside a garbage-collection callback, which swallows
    what it raises). So every Ctrl-C is also seen here, through the signal wake-up file descriptor that no handler
    can bypass, and sent again to the main thread every poll until a step or the run is seen failed: the next step
    Dagster starts, or the one running, then fails as "interrupted". Outside Dagster's sections an interrupt only
    counts as seen. One sent just before the failure is seen can reach Dagster's teardown, which then raises
    `dg.DagsterExecutionInterruptedError` out of `execute` after recording the run failed."""
    stop, interrupted, failed = threading.Event(), threading.Event(), threading.Event()
    followed = Followed()
    started = datetime.now(UTC) - timedelta(seconds=1)  # the run is created after this; a second for clock steps
    wakeups, wakeup_writer = socket.socketpair()
    for end in (wakeups, wakeup_writer):
        end.setblocking(False)
    previous_wakeup = signal.set_wakeup_fd(wakeup_writer.fileno(), warn_on_full_buffer=False)
    previous_handler = signal.signal(signal.SIGINT, _seen)

    def run_id() -> str | None:
        runs = dg.RunsFilter(job_name=job_name, tags=dict(tags), created_after=started)
        records = instance.get_run_records(filters=runs, limit=1)
        return records[0].dagster_run.run_id if records else None

    def seen(event: dg.DagsterEvent) -> None:
        if event.event_type in FAILURES:
            failed.set()
        on_event(event)

    def follow() -> None:
        cursor = None
        while True:
            stopping = stop.is_set()  # read before the last poll, so that no event written before it is missed
            if followed.run_id is None and (found := run_id()) is not None:
                followed.run_id = found
                on_run(found)
            if followed.run_id is not None:
                cursor = _deliver(instance, followed.run_id, cursor, seen)
            if stopping:
                return
            if _interrupt_arrived(wakeups, POLL_SECONDS):
                interrupted.set()
            if interrupted.is_set() and not failed.is_set() and not stop.is_set():
                _thread.interrupt_main(signal.SIGINT)

    reader = threading.Thread(target=follow, name="run-events", daemon=True)
    reader.start()
    try:
        yield followed
    finally:
        stop.set()
        reader.join()
        signal.signal(signal.SIGINT, previous_handler)
        signal.set_wakeup_fd(previous_wakeup)
        wakeups.close()
        wakeup_writer.close()


def _seen(_signum: int, _frame: object) -> None:
    """SIGINT outside Dagster's own handlers: the wake-up descriptor has recorded it, nothing else to do."""


def _interrupt_arrived(wakeups: socket.socket, timeout: float) -> bool:
    """Whether a SIGINT was written to the wake-up descriptor within `timeout` seconds (other signals are skipped)."""
    readable, _, _ = select.select([wakeups], [], [], timeout)
    if not readable:
        return False
    try:
        return signal.SIGINT in wakeups.recv(512)
    except BlockingIOError:
        return False


def _deliver(
    instance: dg.DagsterInstance, run_id: str, cursor: str | None, on_event: Callable[[dg.DagsterEvent], None]
) -> str:
    """Every event of the run after `cursor`; the cursor after the last."""
    while True:
        page = instance.get_records_for_run(run_id, cursor=cursor)
        for record in page.records:
            event = record.event_log_entry.dagster_event
            if event is not None:
                on_event(event)
        cursor = page.cursor
        if not page.has_more:
            return cursor


def step_stages(job: dg.JobDefinition) -> dict[str, str]:
    """Each step (an asset, or an asset check) and the stage it belongs to: its asset's group, see `stage_of`."""
    graph = job.asset_layer.asset_graph
    stages: dict[str, str] = {}
    for assets in graph.assets_defs:
        if not assets.is_executable:
            continue  # an upstream asset outside the job's selection: no step of this run
        keys = list(assets.keys) or [check.asset_key for check in assets.check_keys]
        if keys:
            owner = keys[0]
            stages[assets.node_def.name] = stage_of(owner.path[-1], graph.get(owner).group_name)
    return stages
