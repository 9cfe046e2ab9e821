"""Every pipeline setting, read from `F1_*` environment variables (or a `.env` file), with the embedded default.

One place reads the environment so that the README's table, the Dagster resources and the tests
agree on names and defaults. Nothing here opens a file or a connection.

The files the pipeline writes (warehouse, MLflow and Optuna stores, serving data) default to paths under the working
directory, fixed when the settings are built, not under the installed package: an installed package is read-only and
shared, a project directory is the user's. Only the bundled data the package ships is read from the package.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Self

from dotenv import dotenv_values
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from f1_pipeline.ergast.bundled import BUNDLED_ERGAST
from f1_pipeline.ergast.client import JOLPICA_BASE_URL, MAX_PAGE_SIZE
from f1_pipeline.ergast.source import DataSource
from f1_pipeline.practice.bundled import BUNDLED_PRACTICE
from f1_pipeline.practice.f1db import F1DB_FILES_URL, F1DB_LISTING_URL
from f1_pipeline.weather.client import ARCHIVE_URL, FORECAST_URL, MAX_LOCATIONS
from f1_pipeline.weather.source import WeatherSource

REPO_ROOT = Path(__file__).resolve().parent.parent
"""The source checkout (for the repository's own files: tests, benchmarks, the git commit a model records); never a
default for data, which would land in site-packages once the package is installed."""

ENV_FILE_VARIABLE = "F1_ENV_FILE"
"""Names the dotenv file read instead of `.env` in the working directory; set but empty, no file is read (the
tests do so, so that a developer's `.env` cannot reach them)."""


REMOVED_VARIABLES = {
    "F1_SNAPSHOT_DIR": "F1_BUNDLED_DIR",
    "F1_PRACTICE_SNAPSHOT_PATH": "F1_PRACTICE_BUNDLED_PATH",
}
"""Variables release 0.1.0 read, each with the one that replaced it. Set, they stop the settings instead of being
ignored like any unknown variable: ignored, the data a user pointed at would be replaced by the bundled copy without a
word."""


def _refuse_removed_variables(env_file: str | None) -> None:
    named = set(os.environ)
    if env_file and Path(env_file).is_file():
        named |= set(dotenv_values(env_file))
    removed = sorted(named & REMOVED_VARIABLES.keys())
    if removed:
        raise ValueError(
            "; ".join(f"{name} is no longer read: set {REMOVED_VARIABLES[name]} instead" for name in removed)
        )


def working_directory_path(*parts: str) -> Path:
    """A default location under the current working directory, absolute so that a process started elsewhere (a
    server, a Dagster step) gets the same file."""
    return Path.cwd().joinpath(*parts)


def working_directory_sqlite_url(*parts: str) -> str:
    return f"sqlite:///{working_directory_path(*parts)}"


class SharedSettings(BaseSettings):
    """Where the pipeline publishes and the API reads: the registry and the serving data. The pipeline's and the
    API's settings both extend this, so one variable points both at the same place."""

    model_config = SettingsConfigDict(env_prefix="F1_", frozen=True, extra="ignore")

    def __init__(self, **values: Any) -> None:
        """Also read `.env` in the working directory (or the file F1_ENV_FILE names, none when it is empty): a
        project's settings in one place without exporting them. Variables of the environment win over the file."""
        values.setdefault("_env_file", os.environ.get(ENV_FILE_VARIABLE, ".env") or None)
        _refuse_removed_variables(values["_env_file"])
        super().__init__(**values)

    mlflow_tracking_uri: str = Field(default_factory=lambda: working_directory_sqlite_url("mlruns", "mlflow.db"))
    mlflow_artifact_location: str = Field(
        default_factory=lambda: working_directory_path("mlruns", "artifacts").as_uri()
    )
    mlflow_experiment: str = "f1-race-winner"
    registered_model_name: str = "f1-race-winner"
    serving_dir: Path = Field(default_factory=lambda: working_directory_path("warehouse", "serving"))


class PipelineSettings(SharedSettings):
    mlflow_ui_url: str = Field(default="http://127.0.0.1:5000", pattern=r"^https?://[^\s/]+")
    """Where people open the MLflow UI: the Dagster UI's metadata links runs and versions there."""
    data_source: DataSource = "bundled"
    ergast_base_url: str = Field(default=JOLPICA_BASE_URL, pattern=r"^https?://[^\s/]+")
    bundled_dir: Path = BUNDLED_ERGAST
    page_size: int = Field(default=MAX_PAGE_SIZE, ge=1, le=1000)
    request_attempts: int = Field(default=5, ge=1)
    retry_backoff_seconds: float = Field(default=1.0, ge=0)
    requests_per_second: int = Field(default=4, ge=1)
    requests_per_hour: int = Field(default=500, ge=1)
    practice_source: DataSource = "bundled"
    """Practice results: `bundled` (the bundled F1DB copy) or `live` (F1DB's repository, for new weekends)."""
    practice_bundled_path: Path = BUNDLED_PRACTICE
    """The practice CSV read when `F1_PRACTICE_SOURCE` is `bundled` (the bundled F1DB copy by default)."""
    practice_listing_url: str = Field(default=F1DB_LISTING_URL, pattern=r"^https?://[^\s/]+")
    """Live mode: where F1DB's season folders are listed (GitHub's contents API), `{url}/{season}/races`."""
    practice_files_url: str = Field(default=F1DB_FILES_URL, pattern=r"^https?://[^\s/]+")
    """Live mode: where F1DB's session files are read, `{url}/{season}/races/{NN-name}/free-practice-1-results.yml`."""
    warehouse_path: Path = Field(default_factory=lambda: working_directory_path("warehouse", "f1.duckdb"))
    accept_history_loss: bool = False
    """Let a raw partition that loses races, results or rows replace the stored one (a real correction by the
    source). Meant for one run (`F1_ACCEPT_HISTORY_LOSS=true f1-predict run ...`); the run tag
    `f1/accept_history_loss=true` does the same for a run launched from the Dagster UI."""
    dagster_executor: Literal["in_process", "multiprocess"] = "in_process"
    optuna_storage: str | None = Field(default_factory=lambda: working_directory_sqlite_url("warehouse", "optuna.db"))
    tuning_trials: int = Field(default=20, ge=1)
    train_first_season: int = Field(default=1980, ge=1950)
    validation_first_season: int = 2010
    backtest_first_season: int = 2014
    weather_source: WeatherSource = "none"
    """Weather for the features: none (offline: null columns), open-meteo (its archive and forecast), or csv (the
    file F1_WEATHER_PATH names)."""
    weather_path: Path | None = None
    open_meteo_archive_url: str = Field(default=ARCHIVE_URL, pattern=r"^https?://[^\s/]+")
    open_meteo_forecast_url: str = Field(default=FORECAST_URL, pattern=r"^https?://[^\s/]+")
    weather_batch_size: int = Field(default=MAX_LOCATIONS, ge=1, le=1000)
    """Races per Open-Meteo request (the API takes up to 1,000 locations)."""
    automation_default_status: Literal["stopped", "running"] = "stopped"
    """The daily ingestion schedule and the post-race and post-qualifying sensors until toggled in the UI: stopped
    on a laptop, so that `dagster dev` neither calls the live API nor retrains on its own."""
    alert_webhook_url: SecretStr | None = None
    """Where the run-failure sensor POSTs its alert (Slack-compatible `{"text": ...}`); a secret, as such URLs are."""
    dagster_webserver_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    """The Dagster UI's address, so that an alert links to the failed run."""

    @model_validator(mode="after")
    def _seasons_in_order(self) -> Self:
        """Training, then validation (tuning), then the backtest: each window strictly after the one before."""
        if not self.train_first_season < self.validation_first_season < self.backtest_first_season:
            raise ValueError(
                "need F1_TRAIN_FIRST_SEASON < F1_VALIDATION_FIRST_SEASON < F1_BACKTEST_FIRST_SEASON, got "
                f"{self.train_first_season}, {self.validation_first_season}, {self.backtest_first_season}"
            )
        return self

    @model_validator(mode="after")
    def _weather_file_with_its_source(self) -> Self:
        """A weather file is read only as the csv source, and the csv source needs one: either alone is a mistake."""
        if (self.weather_source == "csv") != (self.weather_path is not None):
            raise ValueError(
                "F1_WEATHER_SOURCE=csv and F1_WEATHER_PATH go together, got "
                f"F1_WEATHER_SOURCE={self.weather_source} and F1_WEATHER_PATH={self.weather_path}"
            )
        return self
