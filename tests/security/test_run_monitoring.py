"""A pipeline run whose process was killed (SIGKILL of `dagster job execute`) does not hold the run queue: the
daemon's run monitoring, as `dagster_home/dagster.yaml` configures it, marks it failed once it is past its maximum
runtime, and no run is left in progress to block the next queued one. A real process is killed; the limit is
shortened to seconds for the test, everything else is the repository's instance file."""

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


def test_a_killed_cli_run_is_marked_failed_and_frees_the_queue(tmp_path, monkeypatch):
    home = _instance_home(tmp_path, max_runtime_seconds=2)
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
        try:
            deadline = time.monotonic() + 180
            while not instance.get_runs(filters=RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                assert process.poll() is None and time.monotonic() < deadline, "the run never started"
                time.sleep(0.5)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        [record] = instance.get_run_records()
        assert record.dagster_run.status == dg.DagsterRunStatus.STARTED, "a killed process leaves its run STARTED"
        assert instance.run_monitoring_enabled
        time.sleep(2.5)  # past the (shortened) maximum runtime
        monitor_started_run(instance, None, record, logging.getLogger("run_monitoring"))  # one daemon iteration
        run = instance.get_run_by_id(record.dagster_run.run_id)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert not instance.get_runs(filters=RunsFilter(statuses=IN_PROGRESS_RUN_STATUSES)), "nothing blocks the queue"
