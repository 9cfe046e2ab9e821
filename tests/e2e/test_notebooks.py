"""The notebooks under notebooks/ run top to bottom against a materialized pipeline, read their settings from the
`F1_*` environment variables like the pipeline does, and are committed without outputs."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from mlflow import MlflowClient
from nbclient import NotebookClient

from f1_pipeline.tables import CHAMPIONSHIP_BACKTEST, QUARANTINE
from tests.conftest import warehouse_of

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXPECTED = (
    "01_data.ipynb",
    "02_elo_history.ipynb",
    "03_model_comparison.ipynb",
    "04_championship_and_podium.ipynb",
)


@pytest.fixture(scope="module")
def kernels(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A `python3` kernelspec that starts this interpreter (the venv's), whatever kernels the user has installed."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "Python 3", "language": "python"}))
    return root


@pytest.fixture
def pipeline_env(trained, kernels, monkeypatch, tmp_path):
    """The `trained` fixture's files, handed to the notebooks the way a user would: `F1_*` environment variables.

    Set after conftest's autouse fixture has cleared every `F1_*` variable of the shell; the kernel inherits them."""
    settings, result = trained
    assert result.success
    monkeypatch.setenv("F1_WAREHOUSE_PATH", str(settings.warehouse_path))
    monkeypatch.setenv("F1_MLFLOW_TRACKING_URI", settings.mlflow_tracking_uri)
    monkeypatch.setenv("F1_MLFLOW_ARTIFACT_LOCATION", settings.mlflow_artifact_location)
    monkeypatch.setenv("F1_OPTUNA_STORAGE", settings.optuna_storage)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PATH", str(kernels))
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    assert KernelSpecManager().get_kernel_spec("python3").argv[0] == sys.executable
    return settings


def execute(name: str) -> nbformat.NotebookNode:
    """Run every cell in order, the kernel started in notebooks/ as JupyterLab starts it (`jupyter lab notebooks/`,
    the README's command); the first cell that raises fails the test with its source and traceback."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}}
    ).execute()
    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.output_type == "error"]
    assert errors == []
    assert f"working from {NOTEBOOKS.parent}" in text_of(notebook), "the defaults resolve against the project"
    return notebook


def text_of(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                parts.append(output.text)
            elif "text/plain" in output.get("data", {}):
                parts.append(output.data["text/plain"])
    return "\n".join(parts)


def images_in(notebook: nbformat.NotebookNode) -> int:
    return sum("image/png" in out.get("data", {}) for cell in notebook.cells for out in cell.get("outputs", []))


def test_every_notebook_is_committed_without_outputs():
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    assert set(EXPECTED) <= {path.name for path in paths}
    for path in paths:
        notebook = nbformat.read(path, as_version=4)
        nbformat.validate(notebook)
        assert notebook.metadata.kernelspec.name == "python3", path.name
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                assert cell.outputs == [], f"{path.name} cell {index} has outputs: strip them"
                assert cell.execution_count is None, f"{path.name} cell {index} has an execution count"


def test_data_notebook_runs(pipeline_env):
    notebook = execute("01_data.ipynb")
    text = text_of(notebook)
    assert f"warehouse: {pipeline_env.warehouse_path}" in text
    assert "seasons 2012-2026" in text
    assert "Dutch Grand Prix" in text  # the next race
    assert f"{QUARANTINE} is empty" in text
    assert images_in(notebook) >= 4


def test_elo_notebook_plots_the_rivalries_it_has_and_names_the_others(pipeline_env):
    notebook = execute("02_elo_history.ipynb")
    text = text_of(notebook)
    assert "plotted: Vettel vs Alonso, Hamilton vs Rosberg, Hamilton vs Verstappen" in text
    assert "Senna vs Prost (1984-1993): no ratings for Ayrton Senna and Alain Prost" in text
    assert "Schumacher vs Häkkinen" in text.split("absent from this warehouse:")[1]
    assert images_in(notebook) >= 3


def test_model_comparison_notebook_reads_the_champion_from_mlflow(pipeline_env):
    settings = pipeline_env
    client = MlflowClient(tracking_uri=settings.mlflow_tracking_uri, registry_uri=settings.mlflow_tracking_uri)
    champion = client.get_model_version_by_alias(settings.registered_model_name, "champion")
    notebook = execute("03_model_comparison.ipynb")
    text = text_of(notebook)
    assert f"champion: {settings.registered_model_name} version {champion.version}" in text
    assert f"trained by run {champion.run_id}" in text
    assert "elo_grid_logistic" in text and "championship_leader" in text  # the models x modes table
    assert f"predicted by {settings.registered_model_name} version {champion.version}" in text  # the next race
    assert images_in(notebook) >= 6


def test_championship_notebook_shows_this_seasons_odds_and_podium_calibration(pipeline_env):
    notebook = execute("04_championship_and_podium.ipynb")
    text = text_of(notebook)
    assert "title odds for 2026 after round 11" in text
    assert "drivers' favourite:" in text and "constructors' favourite:" in text
    evaluated = sorted(warehouse_of(pipeline_env).read(CHAMPIONSHIP_BACKTEST)["season"].unique().to_list())
    assert 2025 in evaluated and f"seasons evaluated: {evaluated}" in text  # every finished season it scored
    assert "pre_qualifying: largest gap between predicted and observed podium rate" in text
    assert "Dutch Grand Prix (2026 round 12)" in text
    assert images_in(notebook) >= 3


def test_a_kernel_started_in_notebooks_reads_the_projects_default_paths(monkeypatch):
    """Without any `F1_*` variable, as after `make quickstart`: the notebooks' first cell moves the kernel from
    notebooks/ to the project root, where the pipeline's default warehouse and MLflow store are."""
    script = (
        "from project_root import work_from_project_root\n"
        "work_from_project_root()\n"
        "from f1_pipeline.settings import PipelineSettings\n"
        "settings = PipelineSettings()\n"
        "print(settings.warehouse_path)\n"
        "print(settings.mlflow_tracking_uri)\n"
    )
    monkeypatch.setenv("F1_ENV_FILE", "")
    completed = subprocess.run(
        [sys.executable, "-c", script], cwd=NOTEBOOKS, capture_output=True, text=True, check=True, timeout=60
    )
    warehouse, tracking = completed.stdout.splitlines()
    assert Path(warehouse) == NOTEBOOKS.parent / "warehouse" / "f1.duckdb"
    assert tracking == f"sqlite:///{NOTEBOOKS.parent / 'mlruns' / 'mlflow.db'}"
