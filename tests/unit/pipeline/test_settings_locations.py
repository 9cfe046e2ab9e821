"""Where the settings come from: a `.env` file in the working directory under the environment, and default
locations under the working directory rather than the installed package."""

import re
from pathlib import Path

import pytest

import f1_pipeline
from f1_pipeline.settings import ENV_FILE_VARIABLE, REPO_ROOT, PipelineSettings
from f1_serving.settings import ApiSettings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project directory as the working directory, with the settings' usual `.env` lookup (conftest turns it off)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_FILE_VARIABLE, raising=False)
    return tmp_path


def test_env_file_in_the_working_directory_sets_values_the_environment_overrides(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / ".env").write_text(
        "# a project's settings\nF1_TUNING_TRIALS=7\nF1_DATA_SOURCE=live\nF1_RATE_LIMIT_PER_MINUTE=42\n"
        "POSTGRES_PASSWORD=not-a-setting\n"
    )
    assert PipelineSettings().tuning_trials == 7
    assert PipelineSettings().data_source == "live"
    assert ApiSettings().rate_limit_per_minute == 42

    monkeypatch.setenv("F1_TUNING_TRIALS", "3")
    monkeypatch.setenv("F1_RATE_LIMIT_PER_MINUTE", "50")
    assert PipelineSettings().tuning_trials == 3
    assert PipelineSettings().data_source == "live"
    assert ApiSettings().rate_limit_per_minute == 50


def test_env_file_variable_names_another_file_or_none(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / ".env").write_text("F1_TUNING_TRIALS=7\n")
    (project / "staging.env").write_text("F1_TUNING_TRIALS=11\n")
    monkeypatch.setenv(ENV_FILE_VARIABLE, str(project / "staging.env"))
    assert PipelineSettings().tuning_trials == 11
    monkeypatch.setenv(ENV_FILE_VARIABLE, "")
    assert PipelineSettings().tuning_trials == PipelineSettings.model_fields["tuning_trials"].default


def test_invalid_value_in_env_file_is_refused(project: Path) -> None:
    (project / ".env").write_text("F1_TUNING_TRIALS=0\n")
    with pytest.raises(ValueError, match="tuning_trials"):
        PipelineSettings()


def test_written_files_default_under_the_working_directory(project: Path) -> None:
    pipeline, api = PipelineSettings(), ApiSettings()
    assert pipeline.warehouse_path == project / "warehouse" / "f1.duckdb"
    assert pipeline.serving_dir == api.serving_dir == project / "warehouse" / "serving"
    assert pipeline.mlflow_tracking_uri == f"sqlite:///{project / 'mlruns' / 'mlflow.db'}"
    assert pipeline.mlflow_artifact_location == (project / "mlruns" / "artifacts").as_uri()
    assert pipeline.optuna_storage == f"sqlite:///{project / 'warehouse' / 'optuna.db'}"
    assert api.users_database_url == f"sqlite:///{project / 'warehouse' / 'users.db'}"
    assert not any(REPO_ROOT in path.parents for path in (pipeline.warehouse_path, pipeline.serving_dir))


def test_bundled_data_is_read_from_the_package_wherever_it_runs(project: Path) -> None:
    settings = PipelineSettings()
    assert settings.bundled_dir == Path(f1_pipeline.__file__).parent / "data" / "ergast"
    assert any(settings.bundled_dir.rglob("*.json.gz"))
    assert settings.practice_bundled_path.is_file()


def test_env_example_lists_every_setting() -> None:
    listed = re.findall(r"^# (F1_[A-Z0-9_]+)=", (REPO_ROOT / ".env.example").read_text(), re.MULTILINE)
    fields = {f"F1_{name.upper()}" for model in (PipelineSettings, ApiSettings) for name in model.model_fields}
    assert sorted(listed) == sorted(fields)


@pytest.mark.parametrize(
    ("old", "new"), [("F1_SNAPSHOT_DIR", "F1_BUNDLED_DIR"), ("F1_PRACTICE_SNAPSHOT_PATH", "F1_PRACTICE_BUNDLED_PATH")]
)
def test_a_variable_an_earlier_release_read_stops_the_settings_with_its_new_name(
    project: Path, monkeypatch: pytest.MonkeyPatch, old: str, new: str
) -> None:
    monkeypatch.setenv(old, str(project))
    with pytest.raises(ValueError, match=f"{old} is no longer read: set {new} instead"):
        PipelineSettings()
    with pytest.raises(ValueError, match=old):
        ApiSettings()


def test_a_removed_variable_in_the_env_file_stops_the_settings_too(project: Path) -> None:
    (project / ".env").write_text(f"F1_SNAPSHOT_DIR={project}\n")
    with pytest.raises(ValueError, match="F1_SNAPSHOT_DIR is no longer read: set F1_BUNDLED_DIR instead"):
        PipelineSettings()
