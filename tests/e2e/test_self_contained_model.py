"""The registered champion is a self-contained MLflow model: in a fresh virtualenv holding only the model's own pinned
requirements (no f1-predict, no Dagster, no DuckDB) it loads from the registry with its own code and predicts what
the pipeline predicted, and `mlflow models serve` answers its input example."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import mlflow
import pandas as pd
import polars as pl
import pytest

from f1_pipeline.modeling.feature_matrix import MODES
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.registry.tracking import CHAMPION, registry_for
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import NEXT_RACE
from tests.conftest import warehouse_of
from tests.local_server import free_port

PREDICT = """
import sys

import mlflow
import pandas as pd

uri, output, *modes = sys.argv[1:]
model = mlflow.pyfunc.load_model(uri)
pd.concat([model.predict(model.input_example, params={"mode": mode}) for mode in modes]).to_parquet(output)
"""
"""Run by the fresh virtualenv's Python: the champion's input example in every mode, to Parquet, which keeps every
digit (pandas' JSON keeps ten)."""

IMPORTABLE = "import importlib.util, sys; print(*(name for name in sys.argv[1:] if importlib.util.find_spec(name)))"


def champion_uri(settings: PipelineSettings) -> str:
    return f"models:/{settings.registered_model_name}@{CHAMPION}"


@pytest.fixture(scope="module")
def model_dir(pipeline: PipelineSettings, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The champion's model artifacts, downloaded."""
    registry = registry_for(pipeline)
    champion = registry.champion()
    assert champion is not None
    source = registry.client().get_model_version_download_uri(registry.model_name, str(champion.version))
    target = tmp_path_factory.mktemp("champion")
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=source, dst_path=str(target)))


@pytest.fixture(scope="module")
def model_env(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a fresh virtualenv holding the champion's requirements.txt and nothing else (not this
    project; its processes run outside the repository, whose root would otherwise be on their `sys.path`).

    uv installs from its cache alone when the cache holds every pinned release (as it does after `make setup`): a
    second, against the package index, otherwise. Bytecode is written, so MLflow's modules are compiled once, by the
    first process, not by each."""
    venv = tmp_path_factory.mktemp("model_venv") / "venv"
    uv = shutil.which("uv")
    assert uv, "uv is not on PATH (the make targets put the one `make setup` installs, .uv/bin/uv, there)"
    subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    install = [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python")]
    requirements = ["-r", str(model_dir / "requirements.txt")]
    if subprocess.run([*install, "--offline", *requirements], capture_output=True).returncode != 0:
        subprocess.run([*install, *requirements], check=True)
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    return {
        **environment,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": "",
    }


@pytest.fixture(scope="module")
def in_process(pipeline: PipelineSettings) -> pd.DataFrame:
    """The champion loaded where the project is installed, on its input example in every mode."""
    registry = registry_for(pipeline)
    model = registry.load(str(registry.champion().version))
    return pd.concat([model.predict(model.input_example, params={"mode": mode}) for mode in MODES])


def test_the_champion_carries_its_code_and_pins_its_requirements(model_dir: Path) -> None:
    code = model_dir / "code" / "f1_pipeline"
    assert (code / "registry" / "pyfunc.py").is_file()
    assert (code / "modeling" / "estimators.py").is_file()
    assert not (code / "defs").exists()
    assert not (model_dir / "uv.lock").exists()  # the pipeline's lock, from which `--env-manager uv` would build
    requirements = (model_dir / "requirements.txt").read_text().split()
    assert all("==" in line for line in requirements)
    names = {line.split("==")[0] for line in requirements}
    assert {"mlflow", "cloudpickle", "polars", "scikit-learn", "xgboost-cpu"} <= names
    assert not names & {"dagster", "duckdb", "f1-predict", "fastapi"}


def test_a_fresh_virtualenv_loads_the_champion_and_predicts_as_the_pipeline(
    pipeline: PipelineSettings, model_env: dict[str, str], in_process: pd.DataFrame, tmp_path: Path
) -> None:
    python = Path(model_env["VIRTUAL_ENV"]) / "bin" / "python"
    importable = subprocess.run(
        [python, "-c", IMPORTABLE, "f1_pipeline", "dagster", "duckdb", "optuna", "mlflow"],
        env=model_env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert importable.stdout.split() == ["mlflow"]
    output = tmp_path / "predictions.parquet"
    subprocess.run(
        [python, "-c", PREDICT, champion_uri(pipeline), str(output), *MODES],
        env={**model_env, "MLFLOW_TRACKING_URI": pipeline.mlflow_tracking_uri},
        cwd=tmp_path,
        check=True,
    )
    predicted = pd.read_parquet(output)
    pd.testing.assert_frame_equal(predicted.reset_index(drop=True), in_process.reset_index(drop=True), rtol=1e-12)
    stored = warehouse_of(pipeline).read(NEXT_RACE).select(*RACE_KEY, "driver_id", "mode", "probability")
    fresh = pl.from_pandas(predicted).cast({"season": pl.Int32, "round": pl.Int32})
    joined = stored.join(fresh, on=[*RACE_KEY, "driver_id", "mode"], how="left", suffix="_fresh")
    assert joined.height == stored.height > 0
    assert joined["probability_fresh"].to_list() == pytest.approx(joined["probability"].to_list(), rel=1e-12)


@pytest.fixture
def served(pipeline: PipelineSettings, model_env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """`mlflow models serve` of the champion by the fresh virtualenv's MLflow, in its own environment; its URL."""
    port = free_port()
    mlflow_cli = Path(model_env["VIRTUAL_ENV"]) / "bin" / "mlflow"
    server = subprocess.Popen(
        [
            mlflow_cli,
            "models",
            "serve",
            "-m",
            champion_uri(pipeline),
            "--env-manager",
            "local",
            "-h",
            "127.0.0.1",
            "-p",
            f"{port}",
        ],
        env={**model_env, "MLFLOW_TRACKING_URI": pipeline.mlflow_tracking_uri},
        cwd=tmp_path,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # minutes on a loaded machine: MLflow imports twice (CLI, uvicorn)
        while not _answers(f"{url}/ping"):
            assert server.poll() is None, "mlflow models serve exited"
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping"
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_mlflow_serves_the_champion_on_its_input_example(
    served: str, model_dir: Path, in_process: pd.DataFrame
) -> None:
    body = (model_dir / "serving_input_example.json").read_bytes()  # MLflow's JSON: a missing feature is NaN
    response = httpx.post(
        f"{served}/invocations", content=body, headers={"Content-Type": "application/json"}, timeout=60
    )
    assert response.status_code == 200, response.text
    predictions = pl.DataFrame(response.json()["predictions"])
    mode = json.loads(body)["params"]["mode"]
    assert predictions["mode"].unique().to_list() == [mode]
    sums = predictions.group_by(RACE_KEY).agg(pl.col("probability").sum())
    assert sums["probability"].to_list() == pytest.approx([1.0] * sums.height)
    expected = in_process[in_process["mode"] == mode]
    assert predictions["driver_id"].to_list() == expected["driver_id"].to_list()
    assert predictions["probability"].to_list() == pytest.approx(expected["probability"].to_list(), rel=1e-9)
