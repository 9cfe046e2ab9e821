"""A pipeline run whose process was killed (SIGKILL of `dagster job execute`) does not hold the run queue: the
`dead_run_monitor` sensor marks it failed at its next evaluation (the daemon evaluates it every 30 seconds), and the
daemon's run monitoring, as `dagster_home/dagster.yaml` configures it, remains the backstop once a run is past its
maximum runtime; either way no run is left in progress to block the next queued one. A real process is killed; the
limit is shortened to seconds for the test, everything else is the repository's instance file."""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import yaml
from dagster._core.storage.dagster_run import IN_PROGRESS_RUN_STATUSES, RunsFilter
from dagster._daemon.monitoring.run_monitoring import monitor_started_run

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


def _instance_home(tmp_path: Path, max_runtime_seconds: int) -> Path:
    config = yaml.safe_load((REPO_ROOT / "dagster_home" / "dagster.yaml").read_text())
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and monitoring["max_runtime_seconds"] > 0
    monitoring["max_runtime_seconds"] = max_runtime_seconds
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def _start_sleepy_run(tmp_path: Path, home: Path, monkeypatch) -> subprocess.Popen:
    """A real `dagster job execute` on the instance in `home`, once its run is STARTED."""
    (tmp_path / "sleepy.py").write_text(SLEEPY_JOB)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.delenv("F1_DAGSTER_POSTGRES_URL", raising=False)
    dagster = Path(sys.executable).parent / "dagster"
    process = subprocess.Popen(
        [str(dagster), "job", "execute", "-f", str(tmp_path / "sleepy.py"), "-j", "sleepy"],
        cwd=tmp_path,
        env={**os.environ, "DAGSTER_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    with dg.DagsterInstance.get() as instance:
        deadline = time.monotonic() + 180
        while not instance.get_runs(filters=RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError("the run never started")
            time.sleep(0.5)
    return process


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_a_killed_cli_run_is_marked_failed_at_the_next_sensor_evaluation(tmp_path, monkeypatch):
    home = _instance_home(tmp_path, max_runtime_seconds=7200)
    process = _start_sleepy_run(tmp_path, home, monkeypatch)
    with dg.DagsterInstance.get() as instance:
        try:
            dead_run_monitor(dg.build_sensor_context(instance=instance))
            [run] = instance.get_runs()
            assert run.status == dg.DagsterRunStatus.STARTED, "a live run is left alone"
        finally:
            _kill(process)
        started = time.monotonic()
        result = dead_run_monitor(dg.build_sensor_context(instance=instance))
        run = instance.get_run_by_id(run.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert time.monotonic() - started < 10
        assert run.run_id in result.skip_message
        [failure] = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        message = failure.event_log_entry.dagster_event.message
        assert f"pid {process.pid}" in message and "killed or crashed" in message
        assert not instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)), "nothing blocks the queue"


def test_a_killed_cli_run_past_its_maximum_runtime_is_marked_failed_by_run_monitoring(tmp_path, monkeypatch):
    home = _instance_home(tmp_path, max_runtime_seconds=2)
    process = _start_sleepy_run(tmp_path, home, monkeypatch)
    _kill(process)
    with dg.DagsterInstance.get() as instance:
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.STARTED, "a killed process leaves its run STARTED"
        assert instance.run_monitoring_enabled
        time.sleep(2.5)  # past the (shortened) maximum runtime
        monitor_started_run(instance, None, record, logging.getLogger("run_monitoring"))  # one daemon iteration
        run = instance.get_run_by_id(record.dagster_run.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert not instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)), "nothing blocks the queue"
