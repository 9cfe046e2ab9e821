"""The MLflow UI as `f1-predict mlflow` starts it, in a real browser (headless Chromium from Debian's `chromium`,
driven by Playwright), over the tracking store of the session's trained graph: the champion's training run and its
nested comparison runs open side by side in MLflow's own compare view, with the numbers the tracking store holds.

Screenshots go to a temporary directory, or to the directory named by `MLFLOW_SCREENSHOTS` (the documentation's
images are made with `MLFLOW_SCREENSHOTS=docs/images`)."""

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import psutil
import pytest
from mlflow import MlflowClient

from f1_pipeline.cli import servers
from f1_pipeline.registry.tracking import registry_for, runs_view_url
from tests.chromium import chromium
from tests.local_server import free_port

SCREENSHOTS = os.environ.get("MLFLOW_SCREENSHOTS")
MODE = "post_qualifying"


@pytest.fixture(scope="module")
def mlflow_ui(trained) -> Iterator[tuple[str, subprocess.Popen]]:
    """`f1-predict mlflow`'s command line and environment, on a free loopback port, until the module ends."""
    pipeline, result = trained
    assert result.success
    port = free_port()
    argv = servers.mlflow(pipeline.mlflow_tracking_uri, "127.0.0.1", port)
    process = subprocess.Popen(argv, env={**os.environ, **servers.MLFLOW_UI_ENVIRONMENT}, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert process.poll() is None, "the MLflow UI exited"
            try:
                if httpx.get(url + "/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the MLflow UI did not start"
            time.sleep(0.5)
        yield url, process
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # the UI's uvicorn worker too, not only `mlflow ui`
        process.wait(timeout=60)


def test_the_ui_starts_without_the_genai_job_runner(mlflow_ui):
    """`f1-predict mlflow` leaves MLflow's job runner (about ten worker processes) off."""
    _, process = mlflow_ui
    children = [" ".join(child.cmdline()) for child in psutil.Process(process.pid).children(recursive=True)]
    assert children, "the UI's server processes"
    assert not [command for command in children if "huey" in command or "jobs" in command]


def test_the_champion_and_its_comparison_runs_compare_side_by_side(mlflow_ui, trained):
    url, _ = mlflow_ui
    pipeline, _ = trained
    registry = registry_for(pipeline)
    client: MlflowClient = registry.client()
    champion = registry.champion()
    assert champion is not None
    parent = client.get_run(champion.run_id)
    comparison = [
        run
        for run in client.search_runs(
            [parent.info.experiment_id], filter_string=f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'"
        )
        if run.data.params.get("mode") == MODE and "log_loss" in run.data.metrics
    ]
    candidate = [run for run in comparison if run.data.tags.get("candidate") == "yes"]
    baselines = [run for run in comparison if run.data.tags.get("role") == "baseline"]
    baselines.sort(key=lambda run: run.data.metrics["log_loss"])
    assert len(candidate) == 1 and len(baselines) >= 3, "the candidate beside the baselines"
    nested = candidate + baselines[:3]  # as many runs as the compare view shows without scrolling sideways
    runs = quote(json.dumps([run.info.run_id for run in nested]))
    experiments = quote(json.dumps([parent.info.experiment_id]))
    shots = Path(SCREENSHOTS) if SCREENSHOTS else None
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{url}/#/compare-runs?runs={runs}&experiments={experiments}", wait_until="load")
        page.get_by_text("log_loss", exact=True).first.wait_for(timeout=60_000)
        text = page.locator("body").inner_text()
        for run in nested:
            assert run.info.run_name in text, f"{run.info.run_name} is not in the compare view"
            log_loss = run.data.metrics["log_loss"]
            shown = str(round(log_loss, 3))  # as the UI prints it: three decimals, no trailing zero
            assert shown in text, f"{run.info.run_name}'s log loss {log_loss} is not shown as {shown}"
        if shots:
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=shots / "mlflow-compare.png", full_page=False)
        assert errors == []


def test_the_runs_table_opens_with_the_scores_as_columns(mlflow_ui, trained):
    """The address the docs give (the experiment's shared view) opens the runs table with the gate's figure and the
    candidate's log losses in columns, the values the tracking store holds."""
    url, _ = mlflow_ui
    pipeline, _ = trained
    registry = registry_for(pipeline)
    champion = registry.champion()
    assert champion is not None
    parent = registry.client().get_run(champion.run_id)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1600, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(runs_view_url(url, parent.info.experiment_id), wait_until="load")
        page.get_by_text(parent.info.run_name, exact=True).first.wait_for(timeout=60_000)
        headers = page.locator("[role=columnheader]").all_inner_texts()
        text = page.locator("body").inner_text()
        assert {"evaluation_log_loss", "log_loss", "brier"} <= {header.strip() for header in headers}
        assert str(round(parent.data.metrics["evaluation_log_loss"], 3))[:5] in text
        if SCREENSHOTS:
            page.screenshot(path=Path(SCREENSHOTS) / "mlflow-runs.png", full_page=False)
        assert errors == []
