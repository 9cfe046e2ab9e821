"""The schedule and the sensors, evaluated with Dagster's own tooling against a real instance that holds real
materializations: a race taken out of the data and put back, qualifying that appears, runs that fail."""

import gzip
import json
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import dagster as dg
import httpx
import polars as pl
import pytest

from f1_pipeline import alerts
from f1_pipeline.alerts import RunFailure, alert_payload, failure_text, send_alert
from f1_pipeline.definitions import build_definitions
from f1_pipeline.defs.raw import worth_retrying
from f1_pipeline.ergast.bundled import BUNDLED_ERGAST
from f1_pipeline.ergast.errors import (
    ErgastError,
    ErgastHTTPError,
    ErgastRateLimitedError,
    ErgastUnavailableError,
    MalformedPageError,
)
from f1_pipeline.ergast.source import DataSource
from f1_pipeline.publication import read_publication
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import ELO_HISTORY, NEXT_RACE
from tests.conftest import (
    QUICK_SEASONS,
    QUICK_TRAINING,
    edit_season_file,
    isolated_settings,
    run_job,
    warehouse_of,
)
from tests.fake_jolpica import FakeJolpica, free_port, serving
from tests.import_rules import imported_modules, is_forbidden
from tests.local_server import Answer

pytestmark = pytest.mark.long

RAW = ("raw_races", "raw_results", "raw_qualifying", "raw_sprint")
RETRAINING = "post_race_retraining"
QUALIFYING = "post_qualifying_predictions"
ALERT = "run_failure_alert"


# --- the data: the bundled data's 2026, whose last race with results is round 11 (Hungary) -------------------


def races_in(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["MRData"]["RaceTable"]["Races"]


def remove_last_race(bundled_dir: Path) -> None:
    """2026 as it stood before the Hungarian Grand Prix had results (its qualifying was already in)."""

    def pop(body: dict[str, Any]) -> None:
        assert races_in(body).pop()["round"] == "11"

    edit_season_file(bundled_dir, "2026", "results", pop)


def restore(bundled_dir: Path, endpoint: str) -> None:
    shutil.copy(BUNDLED_ERGAST / "2026" / f"{endpoint}.json.gz", bundled_dir / "2026" / f"{endpoint}.json.gz")


def add_next_race_qualifying(bundled_dir: Path) -> None:
    """Qualifying for the Dutch Grand Prix (round 12, the next race), with the Hungarian grid's drivers."""
    path = bundled_dir / "2026" / "races.json.gz"
    scheduled = next(race for race in races_in(json.loads(gzip.decompress(path.read_bytes()))) if race["round"] == "12")
    fields = ("season", "round", "url", "raceName", "Circuit", "date", "time")

    def append(body: dict[str, Any]) -> None:
        previous = races_in(body)[-1]
        races_in(body).append(
            {**{key: scheduled[key] for key in fields}, "QualifyingResults": previous["QualifyingResults"]}
        )

    edit_season_file(bundled_dir, "2026", "qualifying", append)


def ingest_2026(settings: PipelineSettings, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return run_job(settings, "2026", "2026", instance=instance)


# --- Dagster's tooling ------------------------------------------------------------------------------------------


@dataclass
class Ticks:
    """One sensor evaluated as the daemon does: each tick starts from the cursor the one before left."""

    definitions: dg.Definitions
    instance: dg.DagsterInstance
    name: str
    cursor: str | None = None

    def __call__(self):
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor, definitions=self.definitions)
        tick = self.definitions.resolve_sensor_def(self.name).evaluate_tick(context)
        self.cursor = tick.cursor if tick.cursor is not None else self.cursor
        return tick


def run_keys(tick) -> list[str | None]:
    return [request.run_key for request in tick.run_requests]


def launch(
    definitions: dg.Definitions, instance: dg.DagsterInstance, sensor: str, request: dg.RunRequest
) -> dg.ExecuteInProcessResult:
    """The run the daemon would launch for a sensor's request, executed here."""
    job = definitions.resolve_job_def(definitions.resolve_sensor_def(sensor).job_name)
    return job.execute_in_process(
        instance=instance,
        run_config=request.run_config,
        tags=request.tags,
        partition_key=request.partition_key,
        raise_on_error=False,
    )


def scheduled_requests(definitions: dg.Definitions, at: datetime) -> list[dg.RunRequest]:
    context = dg.build_schedule_context(
        scheduled_execution_time=at, resources=definitions.resources, repository_def=definitions.get_repository_def()
    )
    return definitions.resolve_schedule_def("daily_ingestion").evaluate_tick(context).run_requests or []


def events_of(result: dg.ExecuteInProcessResult, event_type: str) -> list[dg.DagsterEvent]:
    return [event for event in result.all_events if event.event_type_value == event_type]


# --- the code location ------------------------------------------------------------------------------------------


def test_the_code_location_holds_the_schedule_and_sensors(tmp_path: Path) -> None:
    definitions = build_definitions(isolated_settings(tmp_path))
    dg.Definitions.validate_loadable(definitions)
    assert [schedule.name for schedule in definitions.schedules] == ["daily_ingestion"]
    targets = {name: definitions.resolve_sensor_def(name).job_name for name in (RETRAINING, QUALIFYING)}
    assert targets == {RETRAINING: "train", QUALIFYING: "post_qualifying"}
    assert {sensor.name for sensor in definitions.sensors} == {RETRAINING, QUALIFYING, ALERT, "dead_run_monitor"}
    selected = definitions.resolve_job_def("post_qualifying").asset_layer.selected_asset_keys
    assert {key.to_user_string() for key in selected} == {
        "raw_weather",
        "weather",
        "race_features",
        "next_race_predictions",
        "serving_data",
    }


def test_automation_is_off_on_a_laptop_and_on_where_the_deployment_says_so(tmp_path: Path) -> None:
    laptop = build_definitions(isolated_settings(tmp_path))
    production = build_definitions(isolated_settings(tmp_path, automation_default_status="running"))
    for definitions, status in ((laptop, "STOPPED"), (production, "RUNNING")):
        assert definitions.resolve_schedule_def("daily_ingestion").default_status.value == status
        for name in (RETRAINING, QUALIFYING):
            assert definitions.resolve_sensor_def(name).default_status.value == status
        assert definitions.resolve_sensor_def(ALERT).default_status == dg.DefaultSensorStatus.RUNNING


# --- the schedule -----------------------------------------------------------------------------------------------


def test_daily_ingestion_asks_for_the_current_season_from_the_live_api_at_two_utc(tmp_path: Path) -> None:
    definitions = build_definitions(isolated_settings(tmp_path))
    schedule = definitions.resolve_schedule_def("daily_ingestion")
    assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (
        "0 2 * * *",
        "UTC",
        "ingest_and_clean",
    )

    [request] = scheduled_requests(definitions, datetime(2026, 7, 27, 2, tzinfo=UTC))

    assert request.partition_key == "2026"
    assert request.tags["dagster/schedule_name"] == "daily_ingestion"
    resolved = dg.validate_run_config(definitions.resolve_job_def("ingest_and_clean"), request.run_config)
    ergast = resolved["resources"]["ergast"]["config"]
    assert ergast["data_source"] == "live"
    assert ergast["ergast_base_url"] == "https://api.jolpi.ca/ergast/f1"  # the rest is the deployment's


def test_the_scheduled_run_reads_the_live_api_where_the_bundled_data_is_the_default(tmp_path: Path) -> None:
    app = FakeJolpica(page_cap=100)
    with serving(app) as base_url:
        definitions = build_definitions(isolated_settings(tmp_path, ergast_base_url=base_url))
        [request] = scheduled_requests(definitions, datetime(2026, 7, 27, 2, tzinfo=UTC))
        result = definitions.resolve_job_def("ingest_and_clean").execute_in_process(
            run_config=request.run_config, partition_key=request.partition_key, raise_on_error=False
        )

    assert result.success
    [raw_results] = result.asset_materializations_for_node("raw_results")
    assert (raw_results.partition, raw_results.metadata["source"].value) == ("2026", "live")
    assert app.requests and all("/2026/" in path for path, _ in app.requests)


# --- retries ----------------------------------------------------------------------------------------------------


def test_the_daily_run_and_the_post_qualifying_run_refresh_the_weather(tmp_path: Path) -> None:
    definitions = build_definitions(isolated_settings(tmp_path))
    for job in ("ingest_and_clean", "post_qualifying"):
        keys = definitions.resolve_job_def(job).asset_layer.executable_asset_keys
        assert {dg.AssetKey("raw_weather"), dg.AssetKey("weather")} <= keys, job


def test_ingestion_steps_carry_the_retry_policy(tmp_path: Path) -> None:
    definitions = build_definitions(isolated_settings(tmp_path))
    for name in (*RAW, "raw_weather"):
        policy = definitions.resolve_assets_def(name).op.retry_policy
        assert policy == dg.RetryPolicy(
            max_retries=3, delay=30.0, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
        )
    assert definitions.resolve_assets_def("race_results").op.retry_policy is None


URL = "https://api.jolpi.ca/ergast/f1/2026/results.json"


@pytest.mark.parametrize(
    ("error", "source", "retried"),
    [
        (ErgastUnavailableError(URL, "ConnectError after 5 attempt(s)"), "live", True),
        (ErgastHTTPError(URL, 503, 5), "live", True),
        (ErgastHTTPError(URL, 429, 5), "live", True),
        (MalformedPageError(URL, "page is not JSON"), "live", True),
        (ErgastHTTPError(URL, 404, 1), "live", False),
        (ErgastRateLimitedError(URL, 429, 3600), "live", False),
        (MalformedPageError(URL, "page is not JSON"), "bundled", False),
        (ErgastHTTPError(URL, 404, 1), "bundled", False),
    ],
)
def test_only_a_source_that_may_recover_is_retried(error: ErgastError, source: DataSource, retried: bool) -> None:
    assert worth_retrying(error, source) is retried


class DownFor(FakeJolpica):
    """The API is down (503) for its first `failures` requests, then answers."""

    def __init__(self, failures: int) -> None:
        super().__init__(page_cap=100)
        self.failures = failures

    def _scripted(self, number: int) -> Answer | None:
        if number <= self.failures:
            return 503, [], b"Service Unavailable"
        return super()._scripted(number)


def test_a_step_that_fails_on_a_live_outage_is_retried_until_the_api_answers(tmp_path: Path) -> None:
    app = DownFor(failures=2)
    with serving(app) as base_url:
        # One attempt per page and no backoff: the client gives up at once, so only the step retries remain.
        settings = isolated_settings(
            tmp_path, data_source="live", ergast_base_url=base_url, request_attempts=1, retry_backoff_seconds=0
        )
        result = run_job(settings, "2026", "2026", job="ingest_and_clean")

    assert result.success
    assert len(events_of(result, "STEP_UP_FOR_RETRY")) == 2
    assert [status for _, status in app.requests[:2]] == [503, 503]


def test_a_broken_bundled_file_fails_at_once_without_retries(tmp_path: Path, bundled_copy: Path) -> None:
    (bundled_copy / "2026" / "results.json.gz").write_bytes(b"<html>502 Bad Gateway</html>")
    result = run_job(isolated_settings(tmp_path, bundled_dir=bundled_copy), "2026", "2026", job="ingest_and_clean")

    assert not result.success
    assert events_of(result, "STEP_UP_FOR_RETRY") == []
    [failure] = events_of(result, "STEP_FAILURE")
    assert failure.step_key == "raw_results"
    assert "MalformedPageError" in str(failure.step_failure_data.error)


# --- the race sensors -------------------------------------------------------------------------------------------


def test_the_race_sensors_follow_a_race_weekend(tmp_path: Path, bundled_copy: Path) -> None:
    remove_last_race(bundled_copy)
    settings = isolated_settings(tmp_path, bundled_dir=bundled_copy)
    definitions = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    retraining, qualifying = Ticks(definitions, instance, RETRAINING), Ticks(definitions, instance, QUALIFYING)
    assert retraining().skip_message == "race_results has not been materialized yet"

    # First evaluation: where the data stands, no run for history.
    assert ingest_2026(settings, instance).success
    assert (run_keys(retraining()), retraining.cursor) == ([], "2026-10")
    assert (run_keys(qualifying()), qualifying.cursor) == ([], "2026-11")  # Hungary had qualified already

    # The Hungarian results arrive in a run that fails (the sprint page is broken): nothing retrains on it.
    restore(bundled_copy, "results")
    (bundled_copy / "2026" / "sprint.json.gz").write_bytes(b"<html>502 Bad Gateway</html>")
    failed = ingest_2026(settings, instance)
    assert not failed.success and failed.asset_materializations_for_node("race_results")
    waiting = retraining()
    assert waiting.run_requests == [] and "is FAILURE: waiting for a run that succeeds" in (waiting.skip_message or "")
    assert retraining.cursor == "2026-10"

    # The same results from a run that succeeds: one retraining, named after the race; then nothing more.
    restore(bundled_copy, "sprint")
    assert ingest_2026(settings, instance).success
    tick = retraining()
    assert run_keys(tick) == ["2026-11"]
    assert tick.run_requests[0].tags["f1/race"] == "2026-11"
    assert run_keys(retraining()) == []
    assert run_keys(qualifying()) == []  # the next race (the Netherlands) has no qualifying yet

    # Dutch qualifying appears: one post-qualifying run for it, and no retraining (the same last race, loaded again).
    add_next_race_qualifying(bundled_copy)
    assert ingest_2026(settings, instance).success
    assert run_keys(qualifying()) == ["2026-12"]
    assert run_keys(qualifying()) == []
    assert run_keys(retraining()) == []


def report(instance: dg.DagsterInstance, asset: str, **metadata: int) -> None:
    instance.report_runless_asset_event(dg.AssetMaterialization(asset, metadata=metadata))


def test_a_race_a_later_run_already_published_starts_nothing(tmp_path: Path) -> None:
    definitions = build_definitions(isolated_settings(tmp_path))
    instance = dg.DagsterInstance.ephemeral()
    retraining = Ticks(definitions, instance, RETRAINING)
    report(instance, "race_results", last_race_season=2026, last_race_round=10)
    retraining()

    report(instance, "race_results", last_race_season=2026, last_race_round=11)
    report(instance, "serving_data")  # e.g. a full `main` run loaded the race and retrained in one go
    tick = retraining()

    assert tick.run_requests == []
    assert tick.skip_message == "2026-11: a later run already published serving data"
    assert retraining.cursor == "2026-11"


def test_the_sensors_runs_retrain_on_the_new_race_and_predict_from_the_grid(tmp_path: Path, bundled_copy: Path) -> None:
    remove_last_race(bundled_copy)
    settings = isolated_settings(tmp_path, bundled_dir=bundled_copy, **QUICK_TRAINING)
    definitions = build_definitions(settings)
    instance = dg.DagsterInstance.ephemeral()
    retraining, qualifying = Ticks(definitions, instance, RETRAINING), Ticks(definitions, instance, QUALIFYING)
    assert run_job(settings, *QUICK_SEASONS, instance=instance).success
    assert run_keys(retraining()) == run_keys(qualifying()) == []

    restore(bundled_copy, "results")
    assert ingest_2026(settings, instance).success
    [request] = retraining().run_requests
    assert launch(definitions, instance, RETRAINING, request).success
    next_race = warehouse_of(settings).read(NEXT_RACE)
    assert next_race.select("season", "round", "mode").unique().rows() == [(2026, 12, "pre_qualifying")]
    history = warehouse_of(settings).read(ELO_HISTORY)
    assert history.filter((pl.col("season") == 2026) & (pl.col("round") == 11)).height > 0
    assert run_keys(retraining()) == []

    add_next_race_qualifying(bundled_copy)
    assert ingest_2026(settings, instance).success
    [request] = qualifying().run_requests
    assert request.partition_key == "2026"  # the next race's season: its weather forecast is refreshed
    assert launch(definitions, instance, QUALIFYING, request).success
    published = read_publication(settings.serving_dir).tables["next_race"]
    assert set(published.select("season", "round", "mode").unique().rows()) == {
        (2026, 12, "pre_qualifying"),
        (2026, 12, "post_qualifying"),
    }


# --- the run-failure alert --------------------------------------------------------------------------------------


@dg.op
def explode() -> None:
    raise ValueError("the warehouse is on fire")


@dg.op
def carry_on() -> None:
    """Succeeds, so that only the failed step is named."""


@dg.job
def doomed() -> None:
    explode()
    carry_on()


@pytest.fixture
def failed_run() -> tuple[dg.DagsterInstance, dg.ExecuteInProcessResult]:
    instance = dg.DagsterInstance.ephemeral()
    return instance, doomed.execute_in_process(instance=instance, raise_on_error=False)


@contextmanager
def webhook(status: int = 200) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A receiver on 127.0.0.1 that records each JSON body POSTed to it and answers `status`."""
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(status)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Silent: the test reads what was received."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/f1", received
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def nothing_listening() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook URL on a free port of 127.0.0.1: the receiver is down."""
    yield f"http://127.0.0.1:{free_port()}/hooks/f1", []


def alert(settings: PipelineSettings, instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult) -> None:
    """What the daemon does for a failed run: evaluate the run-failure sensor on its failure event."""
    context = dg.build_run_status_sensor_context(
        sensor_name=ALERT,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        dagster_event=result.get_run_failure_event(),
    ).for_run_failure()
    build_definitions(settings).resolve_sensor_def(ALERT)(context)


def sensor_log(capsys: pytest.CaptureFixture[str]) -> str:
    """What the sensor logged: Dagster's log manager writes to stderr ("... - dagster - ERROR - ..."), not `logging`."""
    return capsys.readouterr().err


def test_a_failed_run_is_logged_and_posted_to_the_webhook(
    tmp_path: Path,
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult],
    capsys: pytest.CaptureFixture[str],
) -> None:
    instance, result = failed_run
    run_id = result.run_id
    with webhook() as (url, received):
        alert(
            isolated_settings(tmp_path, alert_webhook_url=url, dagster_webserver_url="http://dagster.test:3000/"),
            instance,
            result,
        )

    text = (
        f"Dagster run {run_id} of job doomed failed; failed steps: explode.\n"
        f"Run: http://dagster.test:3000/runs/{run_id}\n"
        "Error: explode: ValueError: the warehouse is on fire"
    )
    assert received == [
        {
            "text": text,
            "job_name": "doomed",
            "run_id": run_id,
            "failed_steps": ["explode"],
            "error": "explode: ValueError: the warehouse is on fire",
            "run_url": f"http://dagster.test:3000/runs/{run_id}",
        }
    ]
    log = sensor_log(capsys)
    assert f"dagster - ERROR - {text}" in log
    assert f"dagster - INFO - alert for run {run_id} delivered to the webhook" in log


@pytest.mark.parametrize(
    ("receiver", "problem"),
    [
        (nothing_listening, "could not be reached: ConnectError"),
        (lambda: webhook(status=500), "answered HTTP 500"),
    ],
)
def test_a_webhook_that_is_down_or_failing_is_logged_and_never_raises(
    tmp_path: Path,
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult],
    capsys: pytest.CaptureFixture[str],
    receiver: Callable[[], Any],
    problem: str,
) -> None:
    instance, result = failed_run
    with receiver() as (url, _):
        alert(isolated_settings(tmp_path, alert_webhook_url=url), instance, result)

    log = sensor_log(capsys)
    assert f"dagster - ERROR - Dagster run {result.run_id} of job doomed failed" in log
    assert f"dagster - WARNING - alert for run {result.run_id} not delivered: the webhook {problem}" in log
    assert "/hooks/f1" not in log.split(" - dagster - WARNING - ", 1)[1]  # webhook URLs are secrets


def test_without_a_webhook_the_alert_is_only_logged(
    tmp_path: Path,
    failed_run: tuple[dg.DagsterInstance, dg.ExecuteInProcessResult],
    capsys: pytest.CaptureFixture[str],
) -> None:
    instance, result = failed_run
    alert(isolated_settings(tmp_path), instance, result)
    log = sensor_log(capsys)
    assert "dagster - ERROR - Dagster run" in log and "failed steps: explode." in log
    assert "webhook" not in log


# --- the alert itself (no Dagster) ------------------------------------------------------------------------------


def test_the_alert_module_is_plain_python() -> None:
    assert not [module for module in imported_modules(Path(alerts.__file__)) if is_forbidden(module)]


FAILURE = RunFailure(job_name="train", run_id="r-1", failed_steps=("a", "b"), error="x" * 5000)


def test_the_alert_text_without_a_ui_address_and_with_a_long_error() -> None:
    text = failure_text(FAILURE)
    assert text.startswith("Dagster run r-1 of job train failed; failed steps: a, b.\nError: xxx")
    assert "Run:" not in text
    assert len(alert_payload(FAILURE)["error"]) == 1000


def test_send_alert_posts_json_and_reports_without_raising() -> None:
    seen: list[httpx.Request] = []

    def answer(status: int) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(status)

        return httpx.MockTransport(handler)

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    payload = alert_payload(FAILURE)
    assert send_alert("https://hooks.test/secret", payload, transport=answer(200)) is None
    assert json.loads(seen[0].content) == payload
    assert send_alert("https://hooks.test/secret", payload, transport=answer(404)) == "the webhook answered HTTP 404"
    reason = send_alert("https://hooks.test/secret", payload, transport=httpx.MockTransport(refuse))
    assert reason == "the webhook could not be reached: ConnectTimeout"
