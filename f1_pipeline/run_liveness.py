"""Whether a run Dagster still calls STARTED has lost the process that executes it.

A run executed in a terminal (`f1-predict run`, `dagster job execute`) has no worker the daemon can ask about: when
its process is killed it stays STARTED, and the one-at-a-time run queue waits behind it. The process that started
the run records its pid on the run's RUN_START event; if that pid is gone from this machine's process table, or now
belongs to a program started after the run began (the pid was reused), nothing will ever finish the run; once the
step processes it started (their pids are on their first events) are gone too, nothing holds its resources
either. Only runs known to have run on this machine are judged: a pid means nothing on another host.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass

import psutil

HOST_TAG = "f1/host"
"""Run tag naming the machine whose process executes the run (set by `f1-predict run`)."""

CLOCK_SLACK_SECONDS = 2.0
"""A process start time is derived from the boot time and clock ticks; a live run's own process can appear to start
a little after its event was written. A reused pid belongs to a process started well after the event."""


@dataclass(frozen=True)
class RecordedProcess:
    """A process the run's event log names: the pid on an event, and when that event was written (epoch seconds)."""

    pid: int
    recorded_at: float


@dataclass(frozen=True)
class RunProcesses:
    """What the instance knows about a STARTED run's processes."""

    run_id: str
    orchestrator: RecordedProcess | None
    """From the run's RUN_START event: the process that executes the run and alone can finish it."""
    steps: tuple[RecordedProcess, ...]
    """From its step events: a step run in a subprocess (multiprocess executor) survives a killed orchestrator."""
    host: str | None
    """From the `f1/host` tag; None when the run was made without it (plain `dagster job execute`)."""


@dataclass(frozen=True)
class Process:
    """A process in the table: its start time, None when the system does not let us read it."""

    started_at: float | None


ProcessTable = Callable[[int], Process | None]
"""The process with a pid on this machine, or None when there is none (a zombie counts as none)."""


def is_alive(recorded: RecordedProcess, processes: ProcessTable) -> bool:
    """The pid still names the process the event log recorded, not a newer program that reused it."""
    process = processes(recorded.pid)
    if process is None:
        return False
    return process.started_at is None or process.started_at <= recorded.recorded_at + CLOCK_SLACK_SECONDS


def why_dead(run: RunProcesses, this_host: str, untagged_runs_are_local: bool, processes: ProcessTable) -> str | None:
    """Why the run can never finish, or None when it may still be running or cannot be judged here.

    The run is dead once its orchestrator is gone and none of its step processes is left running (an orphaned step
    would still hold the warehouse). `untagged_runs_are_local` says a run without a host tag ran on this machine:
    true for an instance whose storage is a local SQLite file, false for a shared database that runs on other
    machines write to."""
    if run.orchestrator is None:
        return None  # not started far enough to know its process: the run monitoring's timeouts cover it
    host = run.host if run.host is not None else (this_host if untagged_runs_are_local else None)
    if host != this_host:
        return None
    if is_alive(run.orchestrator, processes) or any(is_alive(step, processes) for step in run.steps):
        return None
    return (
        f"its process (pid {run.orchestrator.pid} on {host}) is gone: it was killed or crashed before finishing the run"
    )


def local_process(pid: int) -> Process | None:
    """This machine's process table, through psutil (Linux, macOS, Windows)."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None  # exited, only waiting for its parent to collect its status
        return Process(process.create_time())
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:
        return Process(None)  # someone else's process: alive, start time unknown


def this_host() -> str:
    return socket.gethostname()
