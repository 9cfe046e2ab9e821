"""Time an incremental update: one race's results arrive, and only what depends on them is re-materialized.

Set-up (not timed): a copy of the bundled data without the current season's last completed race (its results,
qualifying and sprint rows; the schedule kept, so the race looks not yet run), and the whole graph materialized once
on every season into a temporary warehouse, MLflow store, serving folder and persistent Dagster instance, with a
small training setup so that a champion exists. Timed: the race restored, one in-process run of the current
season's partition of the raw assets and of every asset downstream that needs no retraining (clean tables, ratings,
features, the champion's next-race predictions, the serving data), checks included; then the same selection again
through the `dagster asset materialize` CLI, start-up included; then the `train` job, for context. Prints a table;
with --write, also replaces the block in BENCHMARKS.md.

    python -m bench.incremental [--write] [--no-train] [--quiet-wait 300]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from bench.report import machine, write_block
from f1_pipeline.definitions import build_definitions
from f1_pipeline.defs.partitions import season_partitions
from f1_pipeline.ergast.bundled import BUNDLED_ERGAST
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SPRINT, Endpoint
from f1_pipeline.publication import current_snapshot
from f1_pipeline.settings import REPO_ROOT, PipelineSettings
from f1_pipeline.tables import RACE_RESULTS, RACES
from f1_pipeline.warehouse import Warehouse

TARGET_SECONDS = 30.0
SEASONS = season_partitions.get_partition_keys()
SEASON = SEASONS[-1]
"""The season under way: the one a new race's results belong to."""
RACE_ENDPOINTS = (RESULTS, QUALIFYING, SPRINT)
"""What a race weekend adds to a season; the schedule (`races`) is known in advance and stays."""
RETRAINING = dg.AssetSelection.groups("models") | dg.AssetSelection.assets("race_predictions", "prediction_accuracy")
"""What a new race changes only through retraining: tuning, backtest, candidate and champion, and the published
walk-forward predictions and their accuracy, which are the champion's backtest."""
INCREMENTAL = dg.AssetSelection.all() - RETRAINING
SMALL_TRAINING: dict[str, Any] = {
    "train_first_season": 2012,
    "validation_first_season": 2020,
    "backtest_first_season": 2025,
    "tuning_trials": 1,
}
"""Enough training for a champion to exist (the timed run trains nothing; ELO tunes K on 2012-2019)."""
BUSY_LOAD = 0.5
"""A one-minute load average above this before a run means other work shared the cores with it."""


@dataclass(frozen=True)
class Calendar:
    """What the warehouse says about the season: what the update must change."""

    completed: int
    next_race: str
    winner: str | None


@dataclass(frozen=True)
class TimedRun:
    seconds: float
    cpu_seconds: float
    load_before: float
    steps: dict[str, float]
    layers: dict[str, str]
    """Each materialized asset's group."""
    partitions: dict[str, set[str]]
    """The season partitions each partitioned asset materialized."""
    checks: int

    @property
    def check_seconds(self) -> float:
        return sum(seconds for step, seconds in self.steps.items() if step not in self.layers)

    @property
    def overhead(self) -> float:
        """Wall time outside every step: Dagster's run set-up and event writes to the instance."""
        return self.seconds - sum(self.steps.values())


def without_round(body: dict[str, Any], endpoint: Endpoint, round_: str) -> dict[str, Any]:
    """A season file as the API served it before `round_` was run: its rows gone, `total` and `limit` recounted
    (the bundled files are unpaged, so `limit` equals `total`)."""
    mr_data = body["MRData"]
    table = mr_data[endpoint.table]
    races = [race for race in table[endpoint.lists] if race["round"] != round_]
    total = str(sum(len(race[endpoint.rows]) for race in races))
    return {"MRData": {**mr_data, "limit": total, "total": total, endpoint.table: {**table, endpoint.lists: races}}}


def season_file(bundled_dir: Path, endpoint: Endpoint) -> Path:
    return bundled_dir / SEASON / f"{endpoint.name}.json.gz"


def read_season(path: Path) -> dict[str, Any]:
    return json.loads(gzip.decompress(path.read_bytes()))


def truncated_copy(root: Path) -> tuple[Path, str]:
    """A copy of the bundled data without the season's last completed race; that race's round."""
    bundled_dir = root / "bundled"
    shutil.copytree(BUNDLED_ERGAST, bundled_dir)
    results = read_season(season_file(bundled_dir, RESULTS))
    round_ = max((race["round"] for race in results["MRData"][RESULTS.table][RESULTS.lists]), key=int)
    for endpoint in RACE_ENDPOINTS:
        path = season_file(bundled_dir, endpoint)
        path.write_bytes(gzip.compress(json.dumps(without_round(read_season(path), endpoint, round_)).encode()))
    return bundled_dir, round_


def restore(bundled_dir: Path) -> None:
    """The race's results arrive: the season's files as bundled."""
    for endpoint in RACE_ENDPOINTS:
        shutil.copyfile(season_file(BUNDLED_ERGAST, endpoint), season_file(bundled_dir, endpoint))


def isolated_settings(root: Path, bundled_dir: Path) -> PipelineSettings:
    return PipelineSettings(
        data_source="bundled",
        bundled_dir=bundled_dir,
        warehouse_path=root / "warehouse.duckdb",
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_location=(root / "mlartifacts").as_uri(),
        optuna_storage=f"sqlite:///{root / 'optuna.db'}",
        serving_dir=root / "serving",
        **SMALL_TRAINING,
    )


def incremental_job(settings: PipelineSettings) -> dg.JobDefinition:
    """The real code location with one more job: the incremental selection, resolved against its assets."""
    job = dg.define_asset_job("incremental", selection=INCREMENTAL)
    return dg.Definitions.merge(build_definitions(settings), dg.Definitions(jobs=[job])).resolve_job_def(job.name)


def timed(instance: dg.DagsterInstance, job: dg.JobDefinition, **run: Any) -> TimedRun:
    """One in-process run: wall and CPU time, each step's time from the instance, and what it materialized."""
    load = os.getloadavg()[0]
    cpu, started = time.process_time(), time.perf_counter()
    result = job.execute_in_process(instance=instance, **run)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    if not result.success:
        raise SystemExit(f"the {job.name} run failed")
    graph = job.asset_layer.asset_graph
    layers: dict[str, str] = {}
    partitions: dict[str, set[str]] = {}
    for event in result.get_asset_materialization_events():
        key = event.asset_key
        if key is None:
            continue
        name = key.to_user_string()
        layers[name] = graph.get(key).group_name
        if event.partition:
            partitions.setdefault(name, set()).add(event.partition)
    stats = instance.get_run_step_stats(result.run_id)
    steps = {stat.step_key: (stat.end_time or 0) - (stat.start_time or 0) for stat in stats}
    return TimedRun(seconds, cpu_seconds, load, steps, layers, partitions, len(result.get_asset_check_evaluations()))


def cli_seconds(settings: PipelineSettings, home: Path, assets: list[str]) -> float:
    """The same selection as a user runs it: `dagster asset materialize`, process start-up and code loading
    included, against the same instance and files (F1_* variables of the shell are replaced, not inherited)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("F1_")}
    env |= {f"F1_{name.upper()}": str(value) for name, value in settings.model_dump().items() if value is not None}
    command = [str(Path(sys.executable).parent / "dagster"), "asset", "materialize", "-m", "f1_pipeline.definitions"]
    started = time.perf_counter()
    subprocess.run(
        [*command, "--select", ",".join(assets), "--partition", SEASON],
        check=True,
        env=env | {"DAGSTER_HOME": str(home)},
        cwd=REPO_ROOT,
        capture_output=True,
    )
    return time.perf_counter() - started


def calendar(settings: PipelineSettings, round_: str) -> Calendar:
    store = Warehouse(settings.warehouse_path, read_only=True)
    season = int(SEASON)
    completed = store.query(f"select count(*) from {RACES} where season = ? and status = 'completed'", [season]).item()
    upcoming = store.query(f"select round, race_name from {RACES} where is_next").rows()
    winners = store.query(
        f"select driver_id from {RACE_RESULTS} where season = ? and round = ? and finish_position = 1",
        [season, int(round_)],
    ).rows()
    return Calendar(
        completed=completed,
        next_race=f"round {upcoming[0][0]} ({upcoming[0][1]})" if upcoming else "none",
        winner=winners[0][0] if winners else None,
    )


def step_rows(run: TimedRun) -> list[str]:
    """Each asset's step, slowest first, with its layer; then the checks and what lies outside the steps."""
    rows = [
        f"| `{name}` | {layer(run, name)} | {run.steps[name]:.1f} s |"
        for name in sorted(run.layers, key=lambda name: -run.steps[name])
    ]
    return [
        *rows,
        f"| {len(run.steps) - len(run.layers)} asset checks, one step each | checks | {run.check_seconds:.1f} s |",
        f"| outside the steps (run set-up, event log) | Dagster | {run.overhead:.1f} s |",
    ]


def layer(run: TimedRun, name: str) -> str:
    """The asset's group, and the season partitions it read when it is partitioned."""
    if name not in run.partitions:
        return run.layers[name]
    return f"{run.layers[name]} (partition {', '.join(sorted(run.partitions[name]))})"


def load_text(run: TimedRun) -> str:
    """Whether other work shared the cores: the load before the run, and the CPU the run got over its wall time."""
    state = "quiet" if run.load_before <= BUSY_LOAD else "BUSY: other processes shared the cores"
    return (
        f"One-minute load before the timed run: {run.load_before:.1f} ({state}); the run used "
        f"{run.cpu_seconds:.1f} CPU seconds in {run.seconds:.1f} s."
    )


def wait_until_quiet(limit: float) -> None:
    """Give other work on the machine (and the set-up's own load) up to `limit` seconds to settle before timing."""
    deadline = time.monotonic() + limit
    while os.getloadavg()[0] > BUSY_LOAD and time.monotonic() < deadline:
        time.sleep(5)


def verdict(seconds: float) -> str:
    return "met" if seconds < TARGET_SECONDS else "NOT met"


def block(run: TimedRun, cli: float, train: TimedRun | None, setup: TimedRun, round_: str, change: str) -> str:
    seasons = sorted({season for keys in run.partitions.values() for season in keys})
    lines = [
        f"Round {round_} of {SEASON} added to bundled data that ended before it. Set-up, not timed: the whole graph on "
        f"seasons {SEASONS[0]}-{SEASON} ({setup.seconds:.0f} s, small training). Timed: one in-process run of "
        f"partition {SEASON}: {len(run.layers)} assets materialized, the {len(run.partitions)} partitioned ones on "
        f"season {', '.join(seasons)} only; {run.checks} checks.",
        "",
        "| step | layer | wall time |",
        "|---|---|---|",
        f"| **whole run, in-process, before retraining** | | **{run.seconds:.1f} s** |",
        *step_rows(run),
        f"| same selection, `dagster asset materialize --partition {SEASON}` CLI, start-up included (re-run) "
        f"| | {cli:.1f} s |",
    ]
    if train is not None:
        lines.append(
            f"| after the target: retraining, `train` job (small training, {SMALL_TRAINING['tuning_trials']} trial) "
            f"| | {train.seconds:.1f} s |"
        )
    lines += [
        "",
        f"Target, under {TARGET_SECONDS:.0f} s before retraining: in-process **{verdict(run.seconds)}** "
        f"({run.seconds:.1f} s); CLI {verdict(cli)} ({cli:.1f} s).",
        load_text(run),
        change,
        "",
        f"Machine: {machine()}. Measured {time.strftime('%Y-%m-%d', time.gmtime())}.",
    ]
    return "\n".join(lines)


def change_text(before: Calendar, after: Calendar, round_: str, published: bool) -> str:
    return (
        f"Warehouse before → after: {before.completed} → {after.completed} completed races in {SEASON}; next race "
        f"{before.next_race} → {after.next_race}; winner of round {round_}: {before.winner or 'none'} → "
        f"{after.winner or 'none'}; new serving snapshot published: {'yes' if published else 'no'}."
    )


@dataclass(frozen=True)
class Pipeline:
    """An isolated pipeline whose whole graph is materialized on bundled data that lacks one race."""

    settings: PipelineSettings
    instance: dg.DagsterInstance
    home: Path
    bundled_dir: Path
    round_: str


def set_up(root: Path) -> tuple[Pipeline, TimedRun]:
    bundled_dir, round_ = truncated_copy(root)
    settings = isolated_settings(root, bundled_dir)
    home = root / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    everything = {"dagster/asset_partition_range_start": SEASONS[0], "dagster/asset_partition_range_end": SEASON}
    setup = timed(instance, build_definitions(settings).resolve_job_def("main"), tags=everything)
    return Pipeline(settings, instance, home, bundled_dir, round_), setup


def measure(pipeline: Pipeline, quiet_wait: float, train: bool) -> tuple[TimedRun, float, TimedRun | None, str]:
    """The race arrives; the incremental run, the CLI re-run and the retraining are timed in that order."""
    settings, round_ = pipeline.settings, pipeline.round_
    before = calendar(settings, round_)
    serving_before = current_snapshot(settings.serving_dir)
    restore(pipeline.bundled_dir)
    wait_until_quiet(quiet_wait)
    run = timed(pipeline.instance, incremental_job(settings), partition_key=SEASON)
    published = current_snapshot(settings.serving_dir) != serving_before
    change = change_text(before, calendar(settings, round_), round_, published)
    wait_until_quiet(quiet_wait)
    cli = cli_seconds(settings, pipeline.home, sorted(run.layers))
    retraining = timed(pipeline.instance, build_definitions(settings).resolve_job_def("train")) if train else None
    return run, cli, retraining, change


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", action="store_true", help="replace the block in BENCHMARKS.md")
    parser.add_argument("--no-train", action="store_true", help="skip timing the retraining after the target")
    parser.add_argument(
        "--quiet-wait", type=float, default=300, help="seconds to wait at most for the load to settle before timing"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pipeline, setup = set_up(Path(tmp))
        run, cli, train, change = measure(pipeline, args.quiet_wait, not args.no_train)
    text = block(run, cli, train, setup, pipeline.round_, change)
    print(text)
    if args.write:
        write_block("incremental", text)


if __name__ == "__main__":
    main()
