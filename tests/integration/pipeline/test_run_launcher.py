"""The compose deployment's instance (deploy/dagster.yaml) with its health-checked run launcher: a run launched on a
real `dagster api grpc` server, as the deployment's code-location container runs it, is judged alive while its server
executes it; once the server's process tree is killed (the container killed) and a new server answers on the same
address, one iteration of the daemon's run monitoring marks the run failed. While no server answers, nothing is
judged. PostgreSQL-backed, as in the deployment."""

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.launcher.base import WorkerStatus
from dagster._core.test_utils import create_run_for_test
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import GrpcServerTarget
from dagster._daemon.monitoring.run_monitoring import monitor_started_run
from dagster._grpc.client import DagsterGrpcClient

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_pipeline.run_launcher import HealthCheckedRunLauncher, worker_health
from f1_pipeline.settings import REPO_ROOT
from tests.integration.pipeline.test_run_monitoring import SLEEPY_JOB
from tests.local_server import free_port


@contextmanager
def _code_server(folder: Path, port: int) -> Iterator[subprocess.Popen]:
    """`dagster api grpc` serving the sleepy job, in its own process group (killed whole on the way out, as a
    container's processes die together)."""
    command = ["api", "grpc", "-h", "127.0.0.1", "-p", str(port), "-f", str(folder / "sleepy.py")]
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster"), *command],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        client = DagsterGrpcClient(port=port, host="127.0.0.1")
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "the code server did not come up"
            try:
                client.ping("up")
                break
            except DagsterUserCodeUnreachableError:
                time.sleep(0.5)
        yield process
    finally:
        _kill_tree(process)


def _kill_tree(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)


def test_worker_health_judges_only_what_the_code_server_said() -> None:
    assert worker_health("a", {"a", "b"}).status == WorkerStatus.RUNNING
    assert worker_health("a", {"b"}).status == WorkerStatus.NOT_FOUND
    assert worker_health("a", set()).status == WorkerStatus.NOT_FOUND
    unreachable = worker_health("a", None)
    assert unreachable.status == WorkerStatus.RUNNING and unreachable.transient


def test_a_run_whose_code_server_died_is_failed_by_run_monitoring(tmp_path, monkeypatch, postgres_database):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "deploy" / "dagster.yaml").read_text())
    (tmp_path / "sleepy.py").write_text(SLEEPY_JOB + "\n\ndefs = dg.Definitions(jobs=[sleepy])\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("F1_DAGSTER_POSTGRES_URL", with_psycopg2_driver(postgres_database))  # as compose sets it
    port = free_port()
    logger = logging.getLogger("run_monitoring")
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_launcher, HealthCheckedRunLauncher)
        assert instance.run_monitoring_enabled and instance.run_monitoring_max_resume_run_attempts == 0
        target = GrpcServerTarget(host="127.0.0.1", port=port, socket=None, location_name="sleepy")
        with _code_server(tmp_path, port) as server, WorkspaceProcessContext(instance, target) as workspace:
            request = workspace.create_request_context()
            job = request.get_code_location("sleepy").get_repository("__repository__").get_full_job("sleepy")
            run = create_run_for_test(
                instance,
                job_name="sleepy",
                remote_job_origin=job.get_remote_origin(),
                job_code_origin=job.get_python_origin(),
            )
            instance.launch_run(run.run_id, request)
            deadline = time.monotonic() + 120
            while instance.get_run_by_id(run.run_id).status != dg.DagsterRunStatus.STARTED:
                assert time.monotonic() < deadline, f"the run did not start: {instance.get_run_by_id(run.run_id)}"
                time.sleep(0.5)

            def monitor() -> dg.DagsterRunStatus:
                [record] = instance.get_run_records(dg.RunsFilter(run_ids=[run.run_id]))
                monitor_started_run(instance, request, record, logger)  # one iteration of the daemon's monitoring
                return instance.get_run_by_id(run.run_id).status

            started = instance.get_run_by_id(run.run_id)
            assert instance.run_launcher.check_run_worker_health(started).status == WorkerStatus.RUNNING
            assert monitor() == dg.DagsterRunStatus.STARTED, "a live run is left alone"

            _kill_tree(server)  # the container killed: the server, the run and its step die together
            assert instance.run_launcher.check_run_worker_health(started).status == WorkerStatus.RUNNING
            assert monitor() == dg.DagsterRunStatus.STARTED, "not judged while no server answers"

            with _code_server(tmp_path, port):  # the container started again: a new server on the same address
                assert instance.run_launcher.check_run_worker_health(started).status == WorkerStatus.NOT_FOUND
                assert monitor() == dg.DagsterRunStatus.FAILURE
        [failure] = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        assert "not executing it" in failure.event_log_entry.dagster_event.message
