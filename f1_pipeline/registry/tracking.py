"""MLflow tracking and registry: log a candidate, read and move the `champion` alias, load a version.

The tracking URI is always set explicitly (MLflow's own default is a file in whatever directory it runs from).
Every new candidate is registered; only the promotion gate, or a deliberate rollback, moves the alias.

Crash safety: a version is created with its tags in one registry transaction, as the last act of its run, so a
version either exists complete or not at all. A candidate is a deterministic function of its data and recipes, so
re-materializing the newest version's candidate (after a killed run, or on unchanged data) reuses that version
instead of registering a duplicate. A run a killed process left RUNNING is closed by the next attempt on the same
data: FINISHED when it registered its version, else KILLED. Runs are one at a time (the run queue), so a RUNNING run
on the same data is never another live attempt's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as package_version
from typing import Any, Protocol

import mlflow
import pandas as pd
import polars as pl
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, RunStatus
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.pyfunc import PyFuncModel

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_pipeline.modeling.backtest import RaceModel
from f1_pipeline.modeling.candidates import Recipe, recipes_from_json, recipes_to_json
from f1_pipeline.modeling.features import Mode, features_for
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.promotion import Evaluation
from f1_pipeline.registry.pyfunc import DEFAULT_MODE, RaceWinnerModel

CHAMPION = "champion"
INPUT_KEY = (*RACE_KEY, "driver_id", "constructor_id")
REQUIREMENTS = ("numpy", "pandas", "polars", "pyarrow", "scikit-learn", "scipy", "xgboost-cpu", "mlflow")
"""Pinned into the logged model; the model's code is this project's `f1_pipeline` package, installed beside it."""


@dataclass(frozen=True)
class Candidate:
    """Everything one training run logs."""

    models: Mapping[Mode, RaceModel]
    recipes: Mapping[Mode, Recipe]
    evaluation: Evaluation
    input_example: pl.DataFrame
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


def model_input(frame: pl.DataFrame) -> pd.DataFrame:
    """Feature rows as the registered model takes them: keys, then every feature as a float (NaN when missing)."""
    features = features_for("post_qualifying")
    return frame.select(*INPUT_KEY, *(pl.col(name).cast(pl.Float64) for name in features)).to_pandas()


@dataclass(frozen=True)
class ModelRegistry:
    tracking_uri: str
    artifact_location: str
    experiment: str
    model_name: str

    def _point_mlflow_here(self) -> None:
        """`mlflow.start_run`, `log_model` and `load_model` read MLflow's process-wide URIs, not a client's."""
        mlflow.set_tracking_uri(self.tracking_uri)
        mlflow.set_registry_uri(self.tracking_uri)

    def client(self) -> MlflowClient:
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def experiment_id(self) -> str:
        client = self.client()
        existing = client.get_experiment_by_name(self.experiment)
        if existing is not None:
            return existing.experiment_id
        return client.create_experiment(self.experiment, artifact_location=self.artifact_location)

    def log_candidate(self, candidate: Candidate) -> ModelVersion:
        """One MLflow run: params, metrics, tables, figures and the pyfunc model, registered as a new version."""
        self._point_mlflow_here()
        example = model_input(candidate.input_example)
        model = RaceWinnerModel(candidate.models)
        params = {"mode": DEFAULT_MODE}
        signature = infer_signature(example, model.predict(None, example, params), params=params)
        fingerprint = candidate.evaluation.fingerprint
        self._close_interrupted_runs(fingerprint, completed_run_id=None)
        run_tags = {**candidate.tags, "data_fingerprint": fingerprint}
        with mlflow.start_run(experiment_id=self.experiment_id(), tags=run_tags) as run:
            mlflow.log_params({**candidate.params, "recipes": recipes_to_json(candidate.recipes)})
            mlflow.log_metrics({**candidate.metrics, "evaluation_log_loss": candidate.evaluation.log_loss})
            for name, table in candidate.tables.items():
                mlflow.log_table(table.to_pandas(), artifact_file=f"tables/{name}.json")
            for name, figure in candidate.figures.items():
                mlflow.log_figure(figure, f"figures/{name}.png")
            info = mlflow.pyfunc.log_model(
                name="model",
                python_model=model,
                signature=signature,
                input_example=(example, params),
                pip_requirements=[f"{package}=={package_version(package)}" for package in REQUIREMENTS],
            )
            version_tags = {**_candidate_tags(candidate.evaluation, candidate.recipes), "run_id": run.info.run_id}
            registered = mlflow.register_model(info.model_uri, self.model_name, tags=version_tags)
        return self.version(str(registered.version))

    def registered_candidate(self, evaluation: Evaluation, recipes: Mapping[Mode, Recipe]) -> ModelVersion | None:
        """The newest version when it was registered from this evaluation and these recipes, else None.

        Only the newest qualifies: the gate judges the newest version, so reusing an older one would offer it a
        different candidate than the one just materialized."""
        newest = self._newest()
        wanted = _candidate_tags(evaluation, recipes)
        if newest is None or any(newest.tags.get(key) != value for key, value in wanted.items()):
            return None
        self._close_interrupted_runs(evaluation.fingerprint, completed_run_id=newest.run_id)
        return newest

    def _close_interrupted_runs(self, fingerprint: str, completed_run_id: str | None) -> None:
        """Runs on this data still RUNNING belong to attempts that were killed: the one that registered its version
        (its last act) completed, the others did not, and their pending logged models never will."""
        client = self.client()
        experiment_id = self.experiment_id()
        interrupted = client.search_runs(
            [experiment_id], f"tags.data_fingerprint = '{fingerprint}' and attributes.status = 'RUNNING'"
        )
        for run in interrupted:
            run_id = run.info.run_id
            if run_id == completed_run_id:
                client.set_terminated(run_id, RunStatus.to_string(RunStatus.FINISHED))
                continue
            client.set_terminated(run_id, RunStatus.to_string(RunStatus.KILLED))
            for logged in client.search_logged_models([experiment_id], f"source_run_id = '{run_id}'"):
                if logged.status == LoggedModelStatus.PENDING:
                    client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)

    def champion(self) -> ModelVersion | None:
        try:
            return self.client().get_model_version_by_alias(self.model_name, CHAMPION)
        except MlflowException as error:
            if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
                return None
            raise

    def latest(self) -> ModelVersion:
        """The newest registered version: the candidate the promotion gate considers."""
        newest = self._newest()
        if newest is None:
            raise LookupError(f"no version of {self.model_name!r} is registered yet: materialize candidate_model")
        return newest

    def _newest(self) -> ModelVersion | None:
        versions = self.client().search_model_versions(f"name = '{self.model_name}'")
        return self.version(str(max(int(version.version) for version in versions))) if versions else None

    def version(self, version: str) -> ModelVersion:
        return self.client().get_model_version(self.model_name, version)

    def set_champion(self, version: str) -> None:
        self.client().set_registered_model_alias(self.model_name, CHAMPION, version)

    def load(self, version: str) -> PyFuncModel:
        self._point_mlflow_here()
        return mlflow.pyfunc.load_model(f"models:/{self.model_name}/{version}")


class RegistrySettings(Protocol):
    """What locates the registry: `PipelineSettings` and the Dagster `MlflowResource` both have it."""

    mlflow_tracking_uri: str
    mlflow_artifact_location: str
    mlflow_experiment: str
    registered_model_name: str


def registry_for(settings: RegistrySettings) -> ModelRegistry:
    return ModelRegistry(
        tracking_uri=with_psycopg2_driver(settings.mlflow_tracking_uri),
        artifact_location=settings.mlflow_artifact_location,
        experiment=settings.mlflow_experiment,
        model_name=settings.registered_model_name,
    )


def _candidate_tags(evaluation: Evaluation, recipes: Mapping[Mode, Recipe]) -> dict[str, str]:
    """The version tags the gate reads back (`evaluation_from`, `recipes_of`) and that identify a candidate."""
    return {
        "evaluation_log_loss": repr(evaluation.log_loss),
        "evaluation_races": str(evaluation.races),
        "evaluation_fingerprint": evaluation.fingerprint,
        "recipes": recipes_to_json(recipes),
    }


def evaluation_from(version: ModelVersion) -> Evaluation:
    """The evaluation a version was registered with (its tags)."""
    return Evaluation(
        log_loss=float(version.tags["evaluation_log_loss"]),
        races=int(version.tags["evaluation_races"]),
        fingerprint=version.tags["evaluation_fingerprint"],
    )


def recipes_of(version: ModelVersion) -> dict[Mode, Recipe]:
    return recipes_from_json(version.tags["recipes"])


def describe(version: ModelVersion) -> dict[str, Any]:
    """What the UI and the CLI show of a version."""
    return {
        "version": str(version.version),
        "aliases": list(version.aliases),
        "run_id": version.run_id,
        "evaluation_log_loss": float(version.tags.get("evaluation_log_loss", "nan")),
        "kinds": {mode: recipe.kind for mode, recipe in recipes_of(version).items()}
        if "recipes" in version.tags
        else {},
        "created": pd.Timestamp(version.creation_timestamp, unit="ms", tz="UTC").isoformat(),
    }
