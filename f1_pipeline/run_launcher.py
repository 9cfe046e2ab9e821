"""The run launcher of the compose deployment: Dagster's default one, plus the worker health check it lacks.

The default launcher asks the code server to start each run as its subprocess. When the code server's container
dies (killed, out of memory, host restart), the run dies with it and nobody records that: the run stays STARTED and
holds the one-at-a-time queue until the daemon's run monitoring fails it after the maximum runtime (hours). With a
health check, the run monitoring asks at every poll whether the run's worker is still there and fails the run at
once when it is not (deploy/dagster.yaml).

The worker is asked about where the launcher left it: the run's code server, whose address the default launcher
records in the run's tags. A code server that answers without the run in its current executions has lost it: a
server started anew knows nothing of its predecessor's runs, and a live server itself fails a run whose process
died under it. A server that does not answer is not judged (a restart under way, a network blip): the maximum
runtime stays the backstop. This needs a plain gRPC server (`dagster api grpc`): `dagster code-server start` is a
proxy that has no answer for current runs.
"""

from __future__ import annotations

import json
from collections.abc import Collection

from dagster import DagsterRun, DefaultRunLauncher
from dagster._core.errors import DagsterUserCodeUnreachableError
from dagster._core.launcher.base import CheckRunHealthResult, WorkerStatus
from dagster._core.storage.tags import GRPC_INFO_TAG
from dagster._grpc.client import DagsterGrpcClient
from dagster._grpc.types import GetCurrentRunsResult
from dagster._serdes import deserialize_value


def worker_health(run_id: str, current_runs: Collection[str] | None) -> CheckRunHealthResult:
    """The run's worker status from what its code server says it executes (None: the server did not answer)."""
    if current_runs is None:
        return CheckRunHealthResult(WorkerStatus.RUNNING, "code server unreachable: not judged", transient=True)
    if run_id in current_runs:
        return CheckRunHealthResult(WorkerStatus.RUNNING)
    return CheckRunHealthResult(
        WorkerStatus.NOT_FOUND, "its code server is not executing it (the server restarted, or the run's process died)"
    )


def code_server_of(run: DagsterRun) -> DagsterGrpcClient | None:
    """A client of the code server the run was launched on (from the tag the default launcher writes at launch)."""
    info = run.tags.get(GRPC_INFO_TAG)
    if info is None:
        return None
    address = json.loads(info)
    return DagsterGrpcClient(
        port=address.get("port"),
        socket=address.get("socket"),
        host=address.get("host", "localhost"),
        use_ssl=bool(address.get("use_ssl", False)),
    )


class HealthCheckedRunLauncher(DefaultRunLauncher):
    """DefaultRunLauncher whose runs the daemon's run monitoring can judge (see the module's docstring)."""

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        client = code_server_of(run)
        if client is None:  # not launched by a launcher (a run executed in a terminal): the maximum runtime judges it
            return CheckRunHealthResult(WorkerStatus.RUNNING, "no code server recorded: not judged")
        try:
            reply = deserialize_value(client.get_current_runs(), GetCurrentRunsResult)
        except DagsterUserCodeUnreachableError:
            return worker_health(run.run_id, None)
        return worker_health(run.run_id, None if reply.serializable_error_info else reply.current_runs)
