"""A pipeline run whose process was killed (SIGKILL of `dagster job execute`) does not hold the run queue: the
`dead_run_monitor` sensor marks it failed at its next evaluation (the daemon evaluates it every 30 seconds), and the
daemon's run monitoring, as `dagster_home/dagster.yaml` configures it, remains the backstop once a run is past its
maximum runtime; either way no run is left in progress to block the next queued one. A real process is killed; the
limit is shortened to seconds for the test, everything else is the repository's instance file."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import dagster as dg
import yaml

from f1_pipeline.defs.run_liveness import dead_run_monitor
from f1_pipeline.settings import REPO_ROOT

SLEEPY_JOB = """
import time

import dagster as dg


@dg.op
def wait_a_long_time() -> None:
    time.sleep(600)


@dg.job
def sleepy() -> None:
    wait_a_long_time()
"""


IN_PROGRESS = dg.RunsFilter(
    statuses=[
        dg.DagsterRunStatus.QUEUED,
        dg.DagsterRunStatus.NOT_STARTED,
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
)
"""Every status of a run the queue waits for."""


def _instance_home(tmp_path: Path, max_runtime_seconds: int, poll_interval_seconds: int | None = None) -> Path:
    config = yaml.safe_load((REPO_ROOT / "dagster_home" / "dagster.yaml").read_text())
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and monitoring["max_runtime_seconds"] > 0
    monitoring["max_runtime_seconds"] = max_runtime_seconds
    if poll_interval_seconds is not None:
        monitoring["poll_interval_seconds"] = poll_interval_seconds
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


@contextmanager
def _sleepy_run(tmp_path: Path, home: Path, monkeypatch) -> Iterator[tuple[subprocess.Popen, int]]:
    """A real `dagster job execute` on the instance in `home` and the pid of its step's subprocess, once the step
    runs; both are killed on the way out (a step subprocess outlives a killed `dagster job execute`).

    The instance's storage is created before the command starts: Dagster creates a SQLite run storage without a
    lock, and two processes creating it at once can make one fail with "table ... already exists" (1 in 20 tries
    here; a CI run once saw the command exit before its step started)."""
    (tmp_path / "sleepy.py").write_text(SLEEPY_JOB)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("F1_DAGSTER_POSTGRES_URL", raising=False)
    dagster = Path(sys.executable).parent / "dagster"
    step_pids: list[int] = []
    with dg.DagsterInstance.get() as instance, (tmp_path / "dagster.log").open("w") as log:
        assert not instance.get_runs()
        process = subprocess.Popen(
            [str(dagster), "job", "execute", "-f", str(tmp_path / "sleepy.py"), "-j", "sleepy"],
            cwd=tmp_path,
            env={**os.environ, "DAGSTER_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 180
            while not step_pids:
                started = process.poll() is None and time.monotonic() < deadline
                assert started, f"the step never started:\n{Path(log.name).read_text()[-3000:]}"
                time.sleep(0.5)
                for run in instance.get_runs():
                    records = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_START).records
                    step_pids = [record.event_log_entry.dagster_event.pid for record in records]
            yield process, step_pids[0]
        finally:
            _kill(process)
            for pid in step_pids:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def _kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_a_killed_cli_run_is_marked_failed_at_the_next_sensor_evaluation(tmp_path, monkeypatch):
    home = _instance_home(tmp_path, max_runtime_seconds=7200)
    with _sleepy_run(tmp_path, home, monkeypatch) as (process, step_pid), dg.DagsterInstance.get() as instance:
        assert step_pid != process.pid  # the multiprocess executor runs the step in a subprocess
        [run] = instance.get_runs()
        dead_run_monitor(dg.build_sensor_context(instance=instance))
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, "a live run is left alone"
        _kill(process)
        dead_run_monitor(dg.build_sensor_context(instance=instance))
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.STARTED, "its orphaned step runs on"
        os.kill(step_pid, signal.SIGKILL)
        time.sleep(0.5)  # the orphan's parent is now init, which collects it
        result = dead_run_monitor(dg.build_sensor_context(instance=instance))
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
        assert run.run_id in result.skip_message
        [failure] = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        message = failure.event_log_entry.dagster_event.message
        assert f"pid {process.pid}" in message and "killed or crashed" in message
        assert not instance.get_runs(filters=IN_PROGRESS), "nothing blocks the queue"


def test_a_killed_cli_run_past_its_maximum_runtime_is_marked_failed_by_run_monitoring(tmp_path, monkeypatch):
    """The real daemon, polling every second instead of every minute."""
    home = _instance_home(tmp_path, max_runtime_seconds=2, poll_interval_seconds=1)
    with _sleepy_run(tmp_path, home, monkeypatch) as (process, _), dg.DagsterInstance.get() as instance:
        _kill(process)
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.STARTED, "a killed process leaves its run STARTED"
        assert instance.run_monitoring_enabled
        with _daemon(tmp_path, home):
            deadline = time.monotonic() + 180
            while instance.get_runs(filters=IN_PROGRESS) and time.monotonic() < deadline:
                time.sleep(1)
        run = instance.get_run_by_id(record.dagster_run.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert not instance.get_runs(filters=IN_PROGRESS), "nothing blocks the queue"


@contextmanager
def _daemon(tmp_path: Path, home: Path) -> Iterator[None]:
    """`dagster-daemon run` on the instance in `home`, stopped on the way out."""
    daemon = Path(sys.executable).parent / "dagster-daemon"
    with (tmp_path / "daemon.log").open("w") as log:
        process = subprocess.Popen(
            [str(daemon), "run", "-f", str(tmp_path / "sleepy.py")],
            cwd=tmp_path,
            env={**os.environ, "DAGSTER_HOME": str(home)},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                _kill(process)
