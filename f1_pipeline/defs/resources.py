"""Resources: the Ergast and weather sources, the DuckDB warehouse, modelling windows, MLflow and the serving
directory, from `PipelineSettings`."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_pipeline.ergast.client import ErgastClient
from f1_pipeline.ergast.source import DataSource, build_client
from f1_pipeline.http_source.client import RetryPolicy
from f1_pipeline.http_source.throttle import RateLimit, Throttle
from f1_pipeline.modeling.training import Seasons
from f1_pipeline.practice.f1db import F1dbClient
from f1_pipeline.practice.raw import PracticeBatch
from f1_pipeline.practice.source import load_practice
from f1_pipeline.registry.tracking import ModelRegistry, registry_for
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.warehouse import Warehouse
from f1_pipeline.weather.client import FREE_API_LIMITS, OpenMeteoClient
from f1_pipeline.weather.source import WeatherSource
from f1_pipeline.weather.source import build_client as build_weather_client


class ErgastResource(dg.ConfigurableResource):
    """Where raw data comes from: `bundled` (the files the package ships) or `live` (the Jolpica API).

    One throttle serves every asset of a run, so the API's hourly budget holds across them; in separate
    processes (the multiprocess executor) each step paces itself and the server's `Retry-After` rules.
    """

    data_source: DataSource = "bundled"
    ergast_base_url: str
    bundled_dir: str
    page_size: int = 100
    request_attempts: int = 5
    retry_backoff_seconds: float = 1.0
    requests_per_second: int = 4
    requests_per_hour: int = 500
    _throttle: Throttle | None = PrivateAttr(default=None)

    def client(self) -> ErgastClient:
        if self._throttle is None:
            self._throttle = Throttle(
                (RateLimit(self.requests_per_second, 1.0), RateLimit(self.requests_per_hour, 3600.0))
            )
        return build_client(
            self.data_source,
            base_url=self.ergast_base_url,
            bundled_dir=Path(self.bundled_dir),
            page_size=self.page_size,
            attempts=self.request_attempts,
            backoff_seconds=self.retry_backoff_seconds,
            throttle=self._throttle,
        )


class PracticeResource(dg.ConfigurableResource):
    """Where practice results come from: `bundled` (the bundled F1DB copy) or `live` (F1DB's repository). A
    setting of its own, as weather has: the Ergast source going live does not send practice to the network. One
    throttle paces every request of a run."""

    practice_source: DataSource = "bundled"
    practice_bundled_path: str
    practice_listing_url: str
    practice_files_url: str
    request_attempts: int = 5
    retry_backoff_seconds: float = 1.0
    requests_per_second: int = 4
    _throttle: Throttle | None = PrivateAttr(default=None)

    def load(self, seasons: Sequence[str]) -> PracticeBatch:
        bundled = Path(self.practice_bundled_path)
        return load_practice(self.practice_source, seasons, bundled_path=bundled, client=self.client)

    def client(self) -> F1dbClient:
        if self._throttle is None:
            self._throttle = Throttle((RateLimit(self.requests_per_second, 1.0),))
        return F1dbClient(
            self.practice_listing_url,
            self.practice_files_url,
            throttle=self._throttle,
            retry=RetryPolicy(attempts=self.request_attempts, backoff_seconds=self.retry_backoff_seconds),
        )

    def describe(self) -> str:
        if self.practice_source == "live":
            return f"F1DB {self.practice_files_url}"
        return f"bundled {self.practice_bundled_path}"


class WeatherResource(dg.ConfigurableResource):
    """Where race weather comes from: none (offline), Open-Meteo, or a CSV file.

    One throttle, at Open-Meteo's free-API limits, serves every request of a run."""

    weather_source: WeatherSource = "none"
    weather_path: str | None = None
    open_meteo_archive_url: str
    open_meteo_forecast_url: str
    weather_batch_size: int = 100
    request_attempts: int = 5
    retry_backoff_seconds: float = 1.0
    _throttle: Throttle | None = PrivateAttr(default=None)

    def client(self) -> OpenMeteoClient:
        if self._throttle is None:
            self._throttle = Throttle(FREE_API_LIMITS)
        return build_weather_client(
            archive_url=self.open_meteo_archive_url,
            forecast_url=self.open_meteo_forecast_url,
            batch_size=self.weather_batch_size,
            attempts=self.request_attempts,
            backoff_seconds=self.retry_backoff_seconds,
            throttle=self._throttle,
        )


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file that holds the raw, clean and quality schemas."""

    path: str
    accept_history_loss: bool = False
    """Whether a raw partition may lose stored history in this run (see `history_guard`)."""

    def warehouse(self) -> Warehouse:
        return Warehouse(self.path)


class ServingResource(dg.ConfigurableResource):
    """Where the pipeline publishes the serving data the API reads (Parquet snapshots; see `publication`)."""

    serving_dir: str

    def directory(self) -> Path:
        return Path(self.serving_dir)


class ModelingResource(dg.ConfigurableResource):
    """How models are tuned and evaluated: the season windows, Optuna's trials and its storage URL."""

    train_first_season: int
    validation_first_season: int
    backtest_first_season: int
    tuning_trials: int
    optuna_storage: str | None = None

    def seasons(self) -> Seasons:
        return Seasons(self.train_first_season, self.validation_first_season, self.backtest_first_season)

    def storage_url(self) -> str | None:
        """Optuna's storage; None keeps studies in memory (no resuming, no sharing between workers)."""
        return None if self.optuna_storage is None else with_psycopg2_driver(self.optuna_storage)


class MlflowResource(dg.ConfigurableResource):
    """The MLflow tracking server (or SQLite file) and the registered model's name."""

    mlflow_tracking_uri: str
    mlflow_artifact_location: str
    mlflow_experiment: str
    registered_model_name: str
    mlflow_ui_url: str

    def registry(self) -> ModelRegistry:
        return registry_for(self)

    def run_link(self, run_id: str | None) -> dg.MetadataValue:
        """The run in the MLflow UI, as a link the Dagster UI opens (a version registered without a run has none)."""
        if run_id is None:
            return dg.MetadataValue.text("no MLflow run")
        experiment = self.registry().client().get_run(run_id).info.experiment_id
        return dg.MetadataValue.url(f"{self.mlflow_ui_url.rstrip('/')}/#/experiments/{experiment}/runs/{run_id}")


def resources_from(settings: PipelineSettings) -> dict[str, dg.ConfigurableResource]:
    def fields_of(resource: type[dg.ConfigurableResource]) -> dict[str, Any]:
        return settings.model_dump(mode="json", include=set(resource.model_fields))

    return {
        "ergast": ErgastResource(**fields_of(ErgastResource)),
        "practice": PracticeResource(**fields_of(PracticeResource)),
        "weather": WeatherResource(**fields_of(WeatherResource)),
        "warehouse": WarehouseResource(
            path=str(settings.warehouse_path), accept_history_loss=settings.accept_history_loss
        ),
        "modeling": ModelingResource(**fields_of(ModelingResource)),
        "mlflow": MlflowResource(**fields_of(MlflowResource)),
        "serving": ServingResource(**fields_of(ServingResource)),
    }
