"""Crash safety: a run killed with SIGKILL and run again ends where an uninterrupted run ends.

The end-to-end test runs the `main` job through the CLI, as `make run` does, kills its process group at points
inside the model layer, reruns it, and compares the warehouse, the registry, the Optuna studies and the published
serving data with a reference run that was never interrupted. The smaller tests kill a process inside a DuckDB
transaction and inside a publication, the two places where a half-done write could otherwise survive.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import optuna
import polars as pl
import pytest
from mlflow import MlflowClient
from polars.testing import assert_frame_equal

from f1_pipeline import publication
from f1_pipeline.modeling.estimators import TreeEnsemble
from f1_pipeline.publication import MANIFEST, SNAPSHOTS, current_snapshot, publish, read_publication
from f1_pipeline.settings import REPO_ROOT, PipelineSettings
from f1_pipeline.tables import NEXT_RACE, PROMOTIONS, RECIPES, TUNING_STUDIES
from f1_pipeline.warehouse import Warehouse
from tests.conftest import QUICK_SEASONS, QUICK_TRAINING, isolated_settings
from tests.modeling_data import synthetic_frame
from tests.publication_support import MODEL, tables

pytestmark = pytest.mark.long

RANGE_TAGS = {
    "dagster/asset_partition_range_start": QUICK_SEASONS[0],
    "dagster/asset_partition_range_end": QUICK_SEASONS[1],
}
COMMAND = [
    str(Path(sys.executable).with_name("dagster")),
    *("job", "execute", "-m", "f1_pipeline.definitions", "-j", "main", "--tags", json.dumps(RANGE_TAGS)),
]
"""The Makefile's `run` target over `QUICK_SEASONS`."""
FILE_SETTINGS = ("warehouse_path", "mlflow_tracking_uri", "mlflow_artifact_location", "optuna_storage", "serving_dir")
RUN_TIMEOUT = 20 * 60
"""Seconds one CLI run may take: far more than it needs on 2 idle cores, for when other test runs share them."""

VOLATILE_COLUMNS = {
    PROMOTIONS.qualified: ("decided_at", "decided_by"),  # when, and in which Dagster run, the gate decided
    TUNING_STUDIES.qualified: ("seconds",),  # time spent on trials: 0 when a rerun resumes a finished study
    NEXT_RACE.qualified: ("predicted_at",),  # when the champion scored the next race
}
"""Warehouse columns that differ between any two runs, killed or not: wall-clock times and run ids. Every other
column of every table must be equal."""


@dataclass(frozen=True)
class CliPipeline:
    """One pipeline whose every file lives under `root`, run as a subprocess in its own process group."""

    root: Path

    @classmethod
    def create(cls, root: Path) -> "CliPipeline":
        home = root / "dagster_home"
        home.mkdir(parents=True)
        shutil.copy(REPO_ROOT / "dagster_home" / "dagster.yaml", home)
        return cls(root)

    @property
    def settings(self) -> PipelineSettings:
        return isolated_settings(self.root, **QUICK_TRAINING)

    @property
    def log(self) -> Path:
        return self.root / "runs.log"

    def environment(self) -> dict[str, str]:
        """This shell's environment without its `F1_*` settings, plus the isolated files and QUICK_TRAINING; the
        code is this checkout's, also when the virtualenv's editable install points at another one."""
        chosen = self.settings.model_dump(mode="json", include={*FILE_SETTINGS, *QUICK_TRAINING})
        inherited = {name: value for name, value in os.environ.items() if not name.startswith("F1_")}
        return {
            **inherited,
            **{f"F1_{name.upper()}": str(value) for name, value in chosen.items()},
            "DAGSTER_HOME": str(self.root / "dagster_home"),
            "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), *filter(None, [inherited.get("PYTHONPATH")])]),
        }

    def start(self) -> subprocess.Popen[bytes]:
        with self.log.open("ab") as log:
            log.write(f"\n=== {' '.join(COMMAND)}\n".encode())
            log.flush()
            return subprocess.Popen(
                COMMAND,
                cwd=REPO_ROOT,
                env=self.environment(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL to the run's whole process group (its pid is the group id: `start_new_session`)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def wait_for_success(pipeline: CliPipeline, process: subprocess.Popen[bytes]) -> None:
    try:
        code = process.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_group(process)
        pytest.fail(f"the run in {pipeline.root} took over {RUN_TIMEOUT} s:\n{pipeline.log_tail()}")
    assert code == 0, f"the run in {pipeline.root} failed ({code}):\n{pipeline.log_tail()}"


@dataclass(frozen=True)
class KillPoint:
    """A moment inside a run, seen from outside as a count in one of its SQLite stores going up."""

    name: str
    database: str
    count: str

    def probe(self, root: Path) -> int:
        """The count now; 0 while the database or its tables do not exist yet. Read-only and brief, so the run's
        own writes only wait on it for milliseconds (SQLite's busy timeout covers that)."""
        path = root / self.database
        if not path.exists():
            return 0
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as connection:
                return int(connection.execute(self.count).fetchone()[0])
        except sqlite3.OperationalError:
            return 0


OPTUNA_TRIAL_RUNNING = KillPoint(
    "an Optuna trial started (model_tuning)", "optuna.db", "select count(*) from trials where state = 'RUNNING'"
)
MLFLOW_RUN_STARTED = KillPoint(
    "candidate_model's MLflow run started, nothing registered yet",
    "mlflow.db",
    "select count(*) from tags where key = 'role' and value = 'training'",
)
CHAMPION_ALIAS_SET = KillPoint(
    "champion_model moved the champion alias", "mlflow.db", "select count(*) from registered_model_aliases"
)


def run_until_killed(pipeline: CliPipeline, point: KillPoint) -> None:
    """Start a run and SIGKILL it as soon as `point` is reached; fail if the run ends first."""
    before = point.probe(pipeline.root)
    process = pipeline.start()
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        while point.probe(pipeline.root) <= before:
            if process.poll() is not None:
                pytest.fail(f"the run ended ({process.returncode}) before {point.name}:\n{pipeline.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {point.name} within {RUN_TIMEOUT} s:\n{pipeline.log_tail()}")
            time.sleep(0.05)
    finally:
        kill_group(process)
    assert process.returncode == -signal.SIGKILL


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], CliPipeline]]:
    """An uninterrupted CLI run, started at once so that it runs while the killed runs do; call to wait for it."""
    pipeline = CliPipeline.create(tmp_path_factory.mktemp("reference"))
    process = pipeline.start()

    def finished() -> CliPipeline:
        wait_for_success(pipeline, process)
        return pipeline

    yield finished
    kill_group(process)


def test_runs_killed_in_the_model_layer_then_rerun_end_as_an_uninterrupted_run(reference, tmp_path):
    """Three kills in a row, each on what the one before left behind, then a run to success:
    - during an Optuna trial: the trial stays RUNNING in the study storage; the rerun enqueues it again;
    - during candidate_model's MLflow run: the run stays RUNNING; the rerun marks it KILLED and registers anew;
    - right after champion_model moved the alias: the version, the alias and the gate's row exist; the rerun reuses
      the version (no duplicate), finds the decision recorded (no second row) and leaves the alias where it is."""
    pipeline = CliPipeline.create(tmp_path / "killed")
    run_until_killed(pipeline, OPTUNA_TRIAL_RUNNING)

    run_until_killed(pipeline, MLFLOW_RUN_STARTED)
    client = mlflow_client(pipeline.settings)
    assert [run.info.status for run in all_runs(client)] == ["RUNNING"]
    assert registered_versions(client, pipeline.settings) == []

    run_until_killed(pipeline, CHAMPION_ALIAS_SET)
    assert sorted(run.info.status for run in all_runs(client)) == ["FINISHED", "KILLED"]
    assert [str(version.version) for version in registered_versions(client, pipeline.settings)] == ["1"]

    process = pipeline.start()
    wait_for_success(pipeline, process)
    assert "reused version 1 (same evaluation and recipes)" in pipeline.log.read_text()
    assert sorted(run.info.status for run in all_runs(client)) == ["FINISHED", "KILLED"]

    expected = reference()
    assert_same_warehouse(pipeline.settings, expected.settings)
    assert registry_state(pipeline.settings) == registry_state(expected.settings)
    assert study_trials(pipeline.settings) == study_trials(expected.settings)
    assert_same_publication(pipeline.settings, expected.settings)


def warehouse_tables(settings: PipelineSettings) -> dict[str, pl.DataFrame]:
    """Every table of every schema, without its volatile columns, rows sorted."""
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        names = [
            f"{schema}.{table}"
            for schema, table in connection.execute(
                "select table_schema, table_name from information_schema.tables order by all"
            ).fetchall()
        ]
        frames = {name: connection.sql(f"select * from {name}").pl() for name in names}
    stable = {name: frame.drop(VOLATILE_COLUMNS.get(name, ())) for name, frame in frames.items()}
    return {name: frame.sort(frame.columns, nulls_last=True) for name, frame in stable.items()}


def assert_same_warehouse(actual: PipelineSettings, expected: PipelineSettings) -> None:
    tables, reference_tables = warehouse_tables(actual), warehouse_tables(expected)
    assert list(tables) == list(reference_tables)
    differences = []
    for name, frame in tables.items():
        try:
            assert_frame_equal(frame, reference_tables[name], check_exact=True)
        except AssertionError as error:
            differences.append(f"{name}: {error}")
    assert not differences, "\n".join(differences)


def mlflow_client(settings: PipelineSettings) -> MlflowClient:
    return MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)


def all_runs(client: MlflowClient) -> list[Any]:
    """Every training's parent run (the tuning runs and the nested runs are not what a kill is about)."""
    experiments = [experiment.experiment_id for experiment in client.search_experiments()]
    return client.search_runs(experiments, "tags.role = 'training'")


def registered_versions(client: MlflowClient, settings: PipelineSettings) -> list[Any]:
    versions = client.search_model_versions(f"name = '{settings.registered_model_name}'")
    return sorted(versions, key=lambda version: int(version.version))


def registry_state(settings: PipelineSettings) -> list[dict[str, object]]:
    """Per registered version: its aliases, its tags (the evaluation and the recipes) and its run's status,
    parameters and metrics. Run ids and paths are left out: they name this run's files."""
    client = mlflow_client(settings)
    state = []
    for version in registered_versions(client, settings):
        run = client.get_run(version.run_id)
        state.append(
            {
                "version": version.version,
                "aliases": sorted(version.aliases),
                "tags": {key: value for key, value in version.tags.items() if key != "run_id"},
                "run_status": run.info.status,
                "params": run.data.params,
                "metrics": run.data.metrics,
            }
        )
    return state


def study_trials(settings: PipelineSettings) -> dict[str, list[tuple[dict[str, Any], float | None]]]:
    """Each study's finished trials (parameters and value): what the chosen recipes were drawn from. A trial a kill
    left RUNNING is not among them."""
    storage = settings.optuna_storage
    assert storage is not None
    return {
        name: [
            (trial.params, trial.value)
            for trial in optuna.load_study(study_name=name, storage=storage).get_trials(
                deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
            )
        ]
        for name in sorted(optuna.get_all_study_names(storage))
    }


def content_hash(directory: Path) -> str:
    snapshot = current_snapshot(directory)
    assert snapshot is not None, f"nothing is published in {directory}"
    return json.loads((directory / SNAPSHOTS / snapshot / MANIFEST).read_text())["content_hash"]


def assert_same_publication(actual: PipelineSettings, expected: PipelineSettings) -> None:
    """The same content behind CURRENT: the manifest's hash and every table read back as the API reads it."""
    assert content_hash(actual.serving_dir) == content_hash(expected.serving_dir)
    published, reference_publication = read_publication(actual.serving_dir), read_publication(expected.serving_dir)
    assert published.manifest.model_version == reference_publication.manifest.model_version
    for name, frame in published.tables.items():
        volatile = publication.VOLATILE_COLUMNS
        assert_frame_equal(
            frame.drop(volatile, strict=False), reference_publication.tables[name].drop(volatile, strict=False)
        )


def test_a_parallel_forest_predicts_the_same_numbers_every_time():
    """A rerun must reproduce the killed run's numbers bit for bit (the registry reuses a version by its evaluation,
    the publication by its content hash): a forest fitted on two threads still predicts in one order."""
    frame = synthetic_frame(seed=3, races=60)
    forest = TreeEnsemble("post_qualifying", members=("random_forest",), n_jobs=2).fit(frame)
    first = forest.predict(frame)
    assert all((forest.predict(frame) == first).all() for _ in range(10))


# Kills inside one write: a subprocess that SIGKILLs itself at a chosen point, then a look at what survived.

WAREHOUSE_WRITE = """
import os, signal, sys
import polars as pl
from f1_pipeline.warehouse import Warehouse

store, when, table = Warehouse(sys.argv[1]), sys.argv[2], sys.argv[3]
with store.transaction() as writes:
    writes.replace_table(table, pl.DataFrame({"kind": ["new"] * 1_000_000, "n": range(1_000_000)}))
    writes.replace_table("models.extra", pl.DataFrame({"kind": ["new"]}))
    if when == "before_commit":
        os.kill(os.getpid(), signal.SIGKILL)
os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before the connection closes and checkpoints
"""


def killed_python(script: str, *args: str) -> None:
    """Run `script` in a fresh interpreter (from the repository, so `tests` imports) and expect it to kill itself."""
    result = subprocess.run([sys.executable, "-c", script, *args], cwd=REPO_ROOT, capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr


@pytest.mark.parametrize(
    ("when", "kind", "extra_tables"), [("before_commit", "old", set()), ("after_commit", "new", {"models.extra"})]
)
def test_a_warehouse_transaction_killed_lands_whole_or_not_at_all(tmp_path, when, kind, extra_tables):
    path = tmp_path / "warehouse.duckdb"
    Warehouse(path).replace_table(RECIPES, pl.DataFrame({"kind": ["old"]}))
    killed_python(WAREHOUSE_WRITE, str(path), when, RECIPES.qualified)
    store = Warehouse(path)
    assert store.read(RECIPES)["kind"].unique().to_list() == [kind]
    assert store.tables() == {RECIPES.qualified, *extra_tables}


PUBLICATION_KILLED = """
import os, signal, sys
from pathlib import Path
from f1_pipeline import publication
from f1_pipeline.modeling.estimators import TreeEnsemble
from tests.publication_support import MODEL, tables

directory, where = Path(sys.argv[1]), sys.argv[2]
writes = 0
fsync = publication._fsync


def kill_during_the_snapshot(path):
    global writes
    writes += 1
    if writes == 3:  # three tables of the staging directory written, two synced
        os.kill(os.getpid(), signal.SIGKILL)
    fsync(path)


def kill(*args):
    os.kill(os.getpid(), signal.SIGKILL)


if where == "staging":
    publication._fsync = kill_during_the_snapshot
elif where == "switch":
    publication._switch_current = kill  # the snapshot is complete, CURRENT not yet written
else:
    publication.os.replace = kill  # CURRENT.tmp written, not yet renamed onto CURRENT
publication.publish(directory, tables(winner_probability=0.9), **MODEL)
"""


@pytest.mark.parametrize("where", ["staging", "switch", "replace"])
def test_a_publication_killed_mid_way_then_rerun_ends_as_an_uninterrupted_one(tmp_path, where):
    """Whatever a kill leaves (a `.tmp-*` staging directory, a complete snapshot nothing points at, a `CURRENT.tmp`)
    is invisible to readers, and the rerun publishes the same content as a publication never interrupted."""
    directory, uninterrupted = tmp_path / "serving", tmp_path / "uninterrupted"
    before = publish(directory, tables(), **MODEL)
    killed_python(PUBLICATION_KILLED, str(directory), where)
    assert current_snapshot(directory) == before.snapshot_id
    assert read_publication(directory).manifest == before

    rerun = publish(directory, tables(winner_probability=0.9), **MODEL)
    publish(uninterrupted, tables(winner_probability=0.9), **MODEL)
    assert current_snapshot(directory) == rerun.snapshot_id
    assert content_hash(directory) == content_hash(uninterrupted)
    for name, frame in read_publication(directory).tables.items():
        assert_frame_equal(frame, read_publication(uninterrupted).tables[name])
    assert publication._snapshot_ids(directory)[-1] == rerun.snapshot_id, "leftovers never sort after the rerun"
    assert publish(directory, tables(winner_probability=0.9), **MODEL) == rerun, "and nothing is republished"
