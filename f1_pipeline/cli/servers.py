"""The command lines of the servers `f1-predict` starts, each run by this environment's Python (`python -m ...`)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

APP_FACTORY = "f1_serving.main:create_app"
MLFLOW_UI_ENVIRONMENT = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
"""MLflow 3's server otherwise starts a job runner with about ten worker processes (about 2 GB) for its GenAI
features, which the pipeline's experiment never uses."""


def api(host: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """uvicorn on the API's app factory; `extra` are uvicorn's own options (workers, log level, ...).

    --no-proxy-headers: uvicorn would otherwise believe X-Forwarded-For from any local process; the API reads it
    itself, only from the proxies F1_TRUSTED_PROXIES names."""
    return [
        sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY, "--host", host, "--port", str(port),
        "--no-proxy-headers", *extra,
    ]  # fmt: skip


def dagster(workspace: Path, host: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    """`dagster dev`: the webserver and the daemon (schedules, sensors, the run queue) on the workspace."""
    return [sys.executable, "-m", "dagster", "dev", "-w", str(workspace), "-h", host, "-p", str(port), *extra]


def mlflow(tracking_uri: str, host: str, port: int) -> list[str]:
    """The MLflow UI over the tracking store (and registry) the pipeline writes, in one worker process: a UI for
    one person (MLflow's default of four workers quadruples the start-up time and the memory)."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking_uri,
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        "1",
    ]
