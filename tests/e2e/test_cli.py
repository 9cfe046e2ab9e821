"""`f1-predict`: progress lines, tables and summary as printed, and the commands on a small warehouse."""

import datetime as dt
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import psutil
import pytest
from typer.testing import CliRunner

from f1_pipeline.cli import servers, views
from f1_pipeline.cli.app import app
from f1_pipeline.cli.progress import RunProgress, stage_of
from f1_pipeline.modeling.progress import Countdown, duration
from f1_pipeline.settings import REPO_ROOT
from f1_pipeline.tables import CHAMPIONSHIP_ODDS, NEXT_RACE, RACE_PREDICTIONS
from f1_pipeline.warehouse import Warehouse
from f1_serving.freshness import freshness

runner = CliRunner()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_tuning_and_backtest_are_stages_of_their_own():
    assert stage_of("model_tuning", "models") == "tuning"
    assert stage_of("model_backtest", "models") == "backtest"
    assert stage_of("candidate_model", "models") == "models"
    assert stage_of("races", "clean") == "clean"


@pytest.mark.parametrize(("seconds", "text"), [(4.4, "4 s"), (65, "1 min 05 s"), (3725, "1 h 02 min")])
def test_durations_read_at_a_glance(seconds, text):
    assert duration(seconds) == text


def test_a_countdown_estimates_what_remains_at_the_pace_so_far():
    clock = Clock()
    countdown = Countdown(4, clock=clock)
    clock.now = 30
    assert countdown.tick() == "1/4, about 1 min 30 s left"
    clock.now = 40
    assert countdown.tick() == "2/4, about 40 s left"
    countdown.tick()
    assert countdown.tick() == "4/4"


def test_a_line_when_a_stage_starts_and_when_its_last_step_ends():
    clock = Clock()
    progress = RunProgress(
        {"raw_races": "raw", "raw_races_check": "raw", "model_tuning": "tuning", "races": "clean"}, clock=clock
    )
    assert progress.step_started("raw_races") == "[       0 s] 1/3 raw          started"
    clock.now = 5
    assert progress.step_ended("raw_races", succeeded=True) is None  # its check has not run yet
    assert progress.step_started("raw_races_check") is None
    clock.now = 7
    assert (
        progress.step_ended("raw_races_check", succeeded=True) == "[       7 s] 1/3 raw          done in 7 s (2 steps)"
    )
    assert progress.step_started("races") == "[       7 s] 2/3 clean        started"
    clock.now = 70
    assert progress.step_ended("races", succeeded=False) == "[1 min 10 s] 2/3 clean        FAILED at step races"
    assert progress.failed() == ["clean"]
    assert progress.unfinished() == ["tuning"]
    assert progress.step_started("not_a_step_of_this_job") is None


def test_race_and_seasons_are_parsed_or_refused_clearly():
    assert views.parse_race("next") is None
    assert views.parse_race("2025/12") == (2025, 12)
    with pytest.raises(ValueError, match="SEASON/ROUND"):
        views.parse_race("2025-12")
    assert views.parse_seasons("1950...2026") == (1950, 2026)
    assert views.parse_seasons("2012..2026") == (2012, 2026)
    assert views.parse_seasons("2026") == (2026, 2026)
    with pytest.raises(ValueError, match="after the last"):
        views.parse_seasons("2026...2012")
    with pytest.raises(ValueError, match=r"FIRST\.\.\.LAST"):
        views.parse_seasons("last")


def predictions(season=2026, round_=14, modes=("pre_qualifying", "post_qualifying"), finished=False):
    drivers = [("norris", "Lando Norris", "McLaren"), ("verstappen", "Max Verstappen", "Red Bull")]
    rows = []
    for mode in modes:
        chances = (0.61234, 0.38766) if mode == "pre_qualifying" else (0.3, 0.7)
        ranked = sorted(zip(drivers, chances, strict=True), key=lambda item: -item[1])
        for rank, ((driver_id, name, team), chance) in enumerate(ranked, start=1):
            row = {
                "season": season,
                "round": round_,
                "race_name": "Hungarian Grand Prix",
                "date": dt.date(2026, 7, 26),
                "mode": mode,
                "rank": rank,
                "driver_id": driver_id,
                "driver_name": name,
                "constructor_name": team,
                "probability": chance,
                "model_version": "3",
            }
            if finished:
                row |= {"finish_position": 1 if driver_id == "norris" else 2, "won": driver_id == "norris"}
            rows.append(row)
    return pl.DataFrame(rows, schema_overrides={"season": pl.Int32, "round": pl.Int32})


def test_the_latest_mode_is_shown_unless_one_is_asked_for():
    assert views.choose_mode(predictions(), None) == "post_qualifying"
    assert views.choose_mode(predictions(modes=("pre_qualifying",)), None) == "pre_qualifying"
    with pytest.raises(LookupError, match="no post_qualifying predictions for this race"):
        views.choose_mode(predictions(modes=("pre_qualifying",)), "post_qualifying")


def test_a_race_outside_the_predictions_names_what_they_cover():
    with pytest.raises(
        LookupError,
        match="no predictions for 2026 round 15: the walk-forward predictions cover 2026 round 14 to 2026 round 14, "
        "the last race with results; for the next race use --race next",
    ):
        views.one_race(predictions(), (2026, 15))
    with pytest.raises(LookupError, match="cover 2026 round 14 to 2026 round 14; earlier races train the first models"):
        views.one_race(predictions(), (1990, 3))


def rendered(renderable, width=120):
    from rich.console import Console

    console = Console(width=width, record=True)
    console.print(renderable)
    return console.export_text()


def test_predictions_table_in_percent_with_the_outcome_once_run():
    text = rendered(views.predictions_table(predictions(finished=True), "pre_qualifying"))
    assert "Hungarian Grand Prix 2026, round 14 (2026-07-26): before qualifying" in text
    assert "Finished" in text
    lines = [line for line in text.splitlines() if "Norris" in line or "Verstappen" in line]
    assert "Lando Norris" in lines[0] and "61.2%" in lines[0] and lines[0].rstrip(" │").endswith("1")
    assert "Max Verstappen" in lines[1] and "38.8%" in lines[1]
    assert "champion model version 3" in text


def test_predictions_table_shows_podium_points_and_not_classified_beside_win():
    frame = predictions().with_columns(
        podium_probability=pl.lit(0.9999999982), points_probability=pl.lit(0.5), not_classified_probability=pl.lit(0.1)
    )
    text = rendered(views.predictions_table(frame, "pre_qualifying"))
    header = next(line for line in text.splitlines() if "Driver" in line)
    assert re.search(r"Win .*Podium .*Points .*Not classified", header)
    norris = next(line for line in text.splitlines() if "Norris" in line)
    assert ">99.9%" in norris and "100.0%" not in norris and "50.0%" in norris and "10.0%" in norris


def test_a_stale_calendar_prints_a_warning_naming_a_race_already_run():
    calendar = pl.DataFrame(
        {
            "season": [2026] * 3,
            "round": [13, 14, 15],
            "race_name": ["Dutch Grand Prix", "Hungarian Grand Prix", "Italian Grand Prix"],
            "date": [dt.date(2026, 7, 19), dt.date(2026, 7, 26), dt.date(2026, 9, 6)],
            "status": ["completed", "scheduled", "scheduled"],
        }
    )
    stale = freshness(calendar, dt.date(2026, 8, 1))
    warning = views.freshness_warning(stale, (2026, 14))
    assert warning is not None
    assert warning.startswith("warning: this race has been run but its results are not in the data")
    assert "after the Dutch Grand Prix, 19 July 2026" in warning
    assert views.freshness_warning(freshness(calendar, dt.date(2026, 7, 20)), (2026, 14)) is None


def test_any_table_shows_probabilities_as_percent_and_decimals_to_three_places():
    frame = pl.DataFrame(
        {"driver_name": ["Lando Norris"], "title_probability": [0.51234], "expected_points": [401.23456]}
    )
    text = rendered(views.frame_table(frame, "Championship odds"))
    assert "51.2%" in text and "401.235" in text


def test_the_summary_says_what_was_produced_and_where_to_look():
    summary = views.RunSummary(
        run_id="abc",
        job="main",
        succeeded=True,
        seconds=372,
        seasons=(1950, 2026),
        failed_stages=[],
        unfinished_stages=[],
        races=1149,
        champion_version="3",
        next_race=views.next_race_of(predictions()),
    )
    links = views.Links(dagster="http://127.0.0.1:3000", mlflow="http://127.0.0.1:5000", api="http://127.0.0.1:8000")
    text = rendered(views.summary_view(summary, links))
    assert "main abc succeeded in 6 min 12 s" in text
    assert "1950-2026" in text and "1,149" in text
    assert "Hungarian Grand Prix 2026 (round 14, 2026-07-26), after qualifying (grid known)" in text
    favourite = next(line for line in text.splitlines() if "favourite 1" in line)
    assert "Max Verstappen (Red Bull) 70.0%" in favourite
    assert "http://127.0.0.1:3000/runs/abc" in text and "http://127.0.0.1:5000" in text
    assert "http://127.0.0.1:8000/api/v1/docs" in text


def test_servers_run_with_this_python_and_pass_options_through(tmp_path):
    assert servers.api("0.0.0.0", 8080, ["--workers", "2"]) == [
        sys.executable, "-m", "uvicorn", "--factory", "f1_serving.main:create_app", "--host", "0.0.0.0", "--port",
        "8080", "--no-proxy-headers", "--workers", "2",
    ]  # fmt: skip
    assert servers.dagster(tmp_path / "workspace.yaml", "127.0.0.1", 3000)[2:5] == ["dagster", "dev", "-w"]
    assert servers.mlflow("sqlite:///m.db", "127.0.0.1", 5000)[2:6] == [
        "mlflow",
        "ui",
        "--backend-store-uri",
        "sqlite:///m.db",
    ]


@pytest.fixture
def warehouse_env(tmp_path, monkeypatch):
    """A warehouse holding the prediction tables only, and no publication: the command falls back to it."""
    monkeypatch.setenv("F1_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("F1_SERVING_DIR", str(tmp_path / "serving"))
    monkeypatch.setenv("F1_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    store = Warehouse(tmp_path / "warehouse.duckdb")
    store.replace_table(NEXT_RACE, predictions())
    store.replace_table(RACE_PREDICTIONS, predictions(season=2025, round_=24, finished=True))
    return store


def test_predict_prints_the_next_race(warehouse_env):
    result = runner.invoke(app, ["predict"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "after qualifying (grid known)" in result.output
    assert result.output.index("Max Verstappen") < result.output.index("Lando Norris")
    assert "70.0%" in result.output and "from the warehouse" in result.output


def test_predict_a_past_race_and_mode(warehouse_env):
    result = runner.invoke(app, ["predict", "--race", "2025/24", "--mode", "pre_qualifying"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "round 24" in result.output and "61.2%" in result.output and "Finished" in result.output


def test_predict_refuses_bad_input_clearly(warehouse_env):
    bad_race = runner.invoke(app, ["predict", "--race", "soon"])
    assert bad_race.exit_code == 2 and "SEASON/ROUND" in bad_race.output
    bad_mode = runner.invoke(app, ["predict", "--mode", "during_the_race"])
    assert bad_mode.exit_code == 2
    unknown = runner.invoke(app, ["predict", "--race", "1990/1"])
    assert unknown.exit_code == 1 and "no predictions for 1990 round 1" in unknown.output


def test_predict_without_a_warehouse_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("F1_WAREHOUSE_PATH", str(tmp_path / "none.duckdb"))
    monkeypatch.setenv("F1_SERVING_DIR", str(tmp_path / "serving"))
    result = runner.invoke(app, ["predict"])
    assert result.exit_code == 1 and "run `f1-predict run` first" in result.output
    assert not (tmp_path / "none.duckdb").exists()


def test_championship_says_when_it_has_not_been_materialized(warehouse_env):
    result = runner.invoke(app, ["championship"])
    assert result.exit_code == 1
    assert "championship odds have not been materialized" in result.output


def test_championship_prints_one_table_per_title_likeliest_first(warehouse_env):
    odds = pl.DataFrame(
        {
            "season": [2026] * 4,
            "after_round": [11] * 4,
            "entity": ["driver", "driver", "constructor", "constructor"],
            "id": ["piastri", "norris", "mclaren", "mercedes"],
            "name": ["Oscar Piastri", "Lando Norris", "McLaren", "Mercedes"],
            "points_now": [200.0, 210.5, 410.5, 300.0],
            "title_probability": [0.4, 0.6, 0.9, 0.1],
            "expected_points": [380.04, 395.96, 776.0, 500.0],
        }
    )
    warehouse_env.replace_table(CHAMPIONSHIP_ODDS, odds)
    result = runner.invoke(app, ["championship"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Drivers' championship 2026, after round 11" in result.output
    assert "Constructors' championship 2026, after round 11" in result.output
    norris = next(line for line in result.output.splitlines() if "Lando Norris" in line)
    assert "210.5" in norris and "60.0%" in norris and "396.0" in norris
    assert result.output.index("Lando Norris") < result.output.index("Oscar Piastri")


def test_championship_odds_of_another_shape_are_shown_as_they_are(warehouse_env):
    warehouse_env.replace_table(
        CHAMPIONSHIP_ODDS, pl.DataFrame({"driver_name": ["Lando Norris"], "title_probability": [0.6]})
    )
    result = runner.invoke(app, ["championship"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert "Lando Norris" in result.output and "60.0%" in result.output


def test_registry_show_delegates_to_the_registry_commands(warehouse_env):
    result = runner.invoke(app, ["registry", "show"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []  # MLflow logs on stderr


def test_registry_rollback_of_an_unknown_version_fails_and_moves_nothing(warehouse_env):
    result = runner.invoke(app, ["registry", "rollback", "99"])
    assert result.exit_code != 0


def test_run_refuses_seasons_outside_the_partitions():
    result = runner.invoke(app, ["run", "--seasons", "1940...1950"])
    assert result.exit_code == 2 and "seasons run from 1950 to" in result.output


def test_run_is_a_run_of_the_workspace_job_with_a_line_per_stage(tmp_path, monkeypatch):
    """The run carries the code location's label and tag, which is what lists it under its job in the Dagster UI."""
    import dagster as dg

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", tmp_path / "dagster_home")  # the project's instance
    monkeypatch.setenv("F1_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("F1_SERVING_DIR", str(tmp_path / "serving"))
    monkeypatch.setenv("F1_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    result = runner.invoke(app, ["run", "--job", "ingest_and_clean", "--seasons", "2025...2026"])
    assert result.exit_code == 0, result.output
    assert re.search(r"\] 1/\d raw +done in ", result.output) and re.search(r"\] 2/\d clean +done in ", result.output)
    assert "succeeded" in result.output and "races with results" in result.output
    with dg.DagsterInstance.from_config(str(tmp_path / "dagster_home")) as instance:
        (run,) = instance.get_runs()
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "ingest_and_clean"
    assert run.tags["dagster/code_location"] == "f1_predict" and run.tags["f1/host"]
    assert run.tags["dagster/asset_partition_range_start"] == "2025"
    assert _runs_the_ui_lists_under("ingest_and_clean") == [run.run_id]


def test_ctrl_c_fails_the_run_and_the_command_exits_with_1_after_its_summary(tmp_path, monkeypatch):
    """A real `f1-predict run` sent SIGINT once its first stage has started: Dagster records the run failed
    ("interrupted"), nothing runs on to the end, and the command ends with its summary."""
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))  # the instance file names it; read here too at the end
    environment = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "F1_WAREHOUSE_PATH": str(tmp_path / "warehouse.duckdb"),
        "F1_SERVING_DIR": str(tmp_path / "serving"),
        "F1_MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
    }
    command = [str(Path(sys.executable).parent / "f1-predict"), "run", "--job", "ingest_and_clean"]
    cli = subprocess.Popen(
        [*command, "--seasons", "2024...2026"],
        cwd=REPO_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output = []
    try:
        for line in cli.stdout or ():
            output.append(line)
            if re.search(r"\] 1/\d raw +started", line):
                cli.send_signal(signal.SIGINT)
                break
        output.append(cli.communicate(timeout=600)[0])
    finally:
        if cli.poll() is None:
            cli.kill()
    printed = "".join(output)
    assert cli.returncode == 1, printed
    assert re.search(r"run +ingest_and_clean \S+ FAILED in ", printed), printed  # the summary, not a crash
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs()
        failure = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
    assert run.status == dg.DagsterRunStatus.FAILURE and failure
    assert not re.search(r"\] \d/\d weather +started", printed), "the run went on after Ctrl-C"


def _runs_the_ui_lists_under(job: str) -> list[str]:
    """What the Dagster UI's page of the job lists, asked of a real webserver on the repository's workspace and the
    instance of DAGSTER_HOME."""
    import httpx

    port = _free_port()
    webserver = Path(sys.executable).parent / "dagster-webserver"
    command = [str(webserver), "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    query = (
        "query JobRuns($job: String!) { pipelineOrError(params: {pipelineName: $job, repositoryName: "
        '"__repository__", repositoryLocationName: "f1_predict"}) { ... on Pipeline { runs { runId } } } }'
    )
    try:
        deadline = time.monotonic() + 600  # it listens once it has loaded the code location: minutes on a busy machine
        while not _listening(port):
            assert server.poll() is None and time.monotonic() < deadline, "the webserver did not start"
            time.sleep(0.5)
        request = {"query": query, "variables": {"job": job}}
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json=request, timeout=120).json()
        return [listed["runId"] for listed in answer["data"]["pipelineOrError"]["runs"]]
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.mark.parametrize(
    ("job", "stages"),
    [
        ("main", {"raw", "clean", "ratings", "features", "tuning", "backtest", "models", "predictions", "serving"}),
        ("train", {"ratings", "features", "tuning", "backtest", "models", "predictions", "serving"}),
    ],
)
def test_every_step_of_a_job_belongs_to_a_stage_and_upstream_assets_are_not_steps(job, stages, settings_for):
    from f1_pipeline.cli.workspace_run import step_stages
    from f1_pipeline.definitions import build_definitions

    found = step_stages(build_definitions(settings_for()).resolve_job_def(job))
    assert stages <= set(found.values())
    assert found["model_tuning"] == "tuning" and found["model_backtest"] == "backtest"
    assert ("races" in found) == (job == "main")  # the train job reads the clean tables, it does not build them


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.mark.parametrize(
    ("sent", "code"),
    [(signal.SIGTERM, 128 + signal.SIGTERM), (signal.SIGINT, 0)],
    ids=["SIGTERM", "SIGINT"],
)
def test_serve_passes_a_signal_to_uvicorn_which_shuts_down_and_frees_the_port(tmp_path, sent, code):
    """A real `f1-predict serve`: the signal sent to it (by a service manager, `kill`, Ctrl-C) stops uvicorn through
    its own shutdown, the port is free afterwards and no server process is left. uvicorn re-raises SIGTERM after its
    shutdown (the shell's 143) and ends a SIGINT as a normal exit (0); the command exits with the same code."""
    port = _free_port()
    command = [str(Path(sys.executable).parent / "f1-predict"), "serve", "--port", str(port)]
    environment = {**os.environ, "F1_SERVING_DIR": str(tmp_path / "serving"), "DAGSTER_HOME": str(tmp_path)}
    cli = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert cli.poll() is None and time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        server = psutil.Process(cli.pid).children()
        assert len(server) == 1 and "uvicorn" in " ".join(server[0].cmdline())
        cli.send_signal(sent)
        assert cli.wait(timeout=30) == code
        output = cli.stdout.read() if cli.stdout else ""
        assert "Application shutdown complete" in output
        assert not server[0].is_running() and not _listening(port)
    finally:
        if cli.poll() is None:
            cli.kill()


HEAVY = ("mlflow", "sklearn", "xgboost", "dagster", "optuna")


def test_predict_reads_its_table_without_loading_the_training_libraries(warehouse_env):
    """What keeps `f1-predict predict` under a second: it reads a table, so MLflow, scikit-learn, XGBoost, Optuna
    and Dagster (seconds to import) are never loaded."""
    script = (
        "import json, sys\n"
        "from f1_pipeline.cli.app import app\n"
        "try:\n"
        "    app(['predict'])\n"
        "except SystemExit as exit:\n"
        "    assert not exit.code, exit.code\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stderr
    loaded = json.loads(completed.stdout.splitlines()[-1])
    assert "Max Verstappen" in completed.stdout
    assert not [module for module in loaded if module.split(".")[0] in HEAVY]
