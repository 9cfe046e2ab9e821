"""MLflow tracking and registry: log a candidate, read and move the `champion` alias, load a version.

The tracking URI is always set explicitly (MLflow's own default is a file in whatever directory it runs from).
Every new candidate is registered; only the promotion gate, or a deliberate rollback, moves the alias.

A training is one parent run (the registered model, its recipes and evaluation as JSON artifacts, its figures)
with one nested run per model and mode (see `comparison`); a tuning is one parent run with a nested run per Optuna
study and one per trial. A version's tags stay short, so the registry's tag table stays readable: the evaluation's
fields and the recipes one hyper-parameter per tag, which is also what the promotion gate reads back (a version is
self-contained: no tracking server is needed to know how to rebuild it). Versions registered before this layout
hold the recipes as one JSON tag; they are still read.

Crash safety: a version is created with its tags in one registry transaction, as the last act of its run, so a version
either exists complete or not at all. A candidate is a deterministic function of its data and recipes, so re-
materializing a registered version's candidate (after a killed run, on unchanged data, or on data back to an earlier
state) reuses that version instead of registering a duplicate. A run a killed process left RUNNING is closed by the next
attempt on the same data: FINISHED when it registered its version, else KILLED. Runs are one at a time (the run queue),
so a RUNNING run on the same data is never another live attempt's.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any, Protocol, get_type_hints

import mlflow
import pandas as pd
import polars as pl
from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.entities import LoggedModelStatus, Metric, Param, Run, RunStatus
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.pyfunc import PyFuncModel

from f1_pipeline.database_urls import with_psycopg2_driver
from f1_pipeline.modeling.backtest import RaceModel
from f1_pipeline.modeling.candidates import Recipe, recipes_from_json, recipes_to_json
from f1_pipeline.modeling.feature_matrix import Mode, features_for
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.promotion import Evaluation
from f1_pipeline.registry.pyfunc import DEFAULT_MODE, RaceWinnerModel

CHAMPION = "champion"
INPUT_KEY = (*RACE_KEY, "driver_id", "constructor_id")
REQUIREMENTS = (
    "mlflow",
    "cloudpickle",
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scikit-learn",
    "scipy",
    "threadpoolctl",
    "xgboost-cpu",
)
"""Pinned into the logged model at the versions this process runs: what loading and predicting imports (cloudpickle
reads the pickled model; polars converts frames through pyarrow). Nothing of Dagster, DuckDB or the API: the model's
code (`MODEL_CODE`) imports none of them."""
PACKAGE = Path(__file__).resolve().parents[1]
MODEL_CODE = ("__init__.py", "modeling", "tables.py", "contracts.py", "registry/__init__.py", "registry/pyfunc.py")
"""The parts of the `f1_pipeline` package the logged model carries: the pyfunc class, the modelling code its
pickled estimators are instances of, and the two declaration modules the modelling code imports (the tables' names
and columns). With them and `REQUIREMENTS` a version loads and serves where this project is
not installed (`mlflow models serve`, a fresh virtualenv); where it is, the installed package is already imported and
is the one used. MLflow would also copy a uv.lock it finds in the working directory (the whole pipeline's, from
which `--env-manager uv` would rebuild that instead): it is pointed at the staged code, which has none."""
EXPERIMENT_KIND = ("mlflow.experimentKind", "custom_model_development")
"""MLflow's marker of a classic model-training experiment (not a GenAI one). MLflow 3.17's UI itself picks its view
from its GenAI / Model training switch (`?workflowType=machine_learning`), not from this tag: see docs/mlflow.md."""
RUNS_VIEW = "model-comparison"
"""The runs table's view kept in the experiment, opened by `?viewStateShareKey=model-comparison` (`runs_view_url`):
MLflow's default table shows no metric at all, this one the scores every training and nested run shares."""
RUNS_VIEW_COLUMNS = (
    "metrics.`evaluation_log_loss`",
    "metrics.`post_qualifying.log_loss`",
    "metrics.`pre_qualifying.log_loss`",
    "metrics.`log_loss`",
    "metrics.`brier`",
    "metrics.`top1`",
    "metrics.`top3`",
    "metrics.`podium_log_loss`",
    "metrics.`points_driver_log_loss`",
    "metrics.`points_ece`",
    "params.`mode`",
    "params.`races`",
    "attributes.`Models`",
)
RUNS_VIEW_TAG = f"mlflow.sharedViewState.{RUNS_VIEW}"
"""MLflow's UI reads a shared view's state from this experiment tag (JSON of its table state)."""
RUNS_VIEW_STATE = json.dumps(
    {"selectedColumns": list(RUNS_VIEW_COLUMNS), "orderByKey": "attributes.start_time", "orderByAsc": False}
)
DECISION_HEADING = "## The promotion gate's decision"
ROLE = "role"
"""Run tag: `training` and `tuning` for parent runs; `family`, `baseline`, `ablation`, `study`, `trial` nested."""
FINGERPRINT = "data_fingerprint"
TUNING_KEY = "tuning_key"
NOTE = "mlflow.note.content"
"""The tag MLflow's UI shows as a run's description (Markdown)."""
PARENT = "mlflow.parentRunId"
SEASON_PREFIX = "season_"
"""Per-season scores are metrics named by their season (`season_2025.log_loss`, ...), so that the runs table never
shows one season's figure under a name that reads as the whole backtest's (`log_loss` stays that)."""
RECIPE_PREFIX = "recipe"
RECIPE_DIGEST = f"{RECIPE_PREFIX}.digest"
"""Version tag: the SHA-256 of the run's `recipes.json`, which holds every hyper-parameter. The version's tags stay a
few (the evaluation, each mode's `recipe.<mode>.family`, this digest), and the digest both identifies a candidate's
recipes (version reuse) and proves that the artifact read back is the one registered."""
RECIPES_ARTIFACT = "recipes.json"
MODEL_DESCRIPTION = """Winner probabilities for every entrant of a Formula 1 race, from the race's feature rows.

Two modes, chosen with the `mode` inference param: `pre_qualifying` (before the grid is known) and `post_qualifying`
(the default). Each version is one training: its description says the data it was trained through and its
walk-forward backtest against the baselines; its tags hold the promotion evaluation and the recipe (model family and
hyper-parameters per mode). The `champion` alias is the version the promotion gate chose (or a rollback set): the
one the predictions and the API use."""


@dataclass(frozen=True)
class ChildRun:
    """A nested run: a model in one mode, an Optuna study or a trial. Its own children nest below it."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    children: Sequence[ChildRun] = ()


@dataclass(frozen=True)
class Candidate:
    """Everything one training run logs."""

    models: Mapping[Mode, RaceModel]
    recipes: Mapping[Mode, Recipe]
    evaluation: Evaluation
    input_example: pl.DataFrame
    name: str | None = None
    """The parent run's name (MLflow makes one up when None)."""
    description: str = ""
    """Markdown for the parent run and the registered version."""
    params: Mapping[str, Any] = field(default_factory=dict)
    metrics: Mapping[str, float] = field(default_factory=dict)
    tables: Mapping[str, pl.DataFrame] = field(default_factory=dict)
    figures: Mapping[str, Figure] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)
    version_tags: Mapping[str, str] = field(default_factory=dict)
    """Short tags for the version beyond the evaluation and recipes (e.g. the data it was trained through)."""
    runs: Sequence[ChildRun] = ()
    """Nested runs: one per model and mode of the backtest."""


def model_input(frame: pl.DataFrame) -> pd.DataFrame:
    """Feature rows as the registered model takes them: keys, then every feature as a float (NaN when missing)."""
    features = features_for("post_qualifying")
    return frame.select(*INPUT_KEY, *(pl.col(name).cast(pl.Float64) for name in features)).to_pandas()


def runs_view_url(ui_url: str, experiment_id: str) -> str:
    """The experiment's runs table in MLflow's model-training view, with the metric columns of `RUNS_VIEW`."""
    return (
        f"{ui_url.rstrip('/')}/#/experiments/{experiment_id}/runs"
        f"?workflowType=machine_learning&viewStateShareKey={RUNS_VIEW}"
    )


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
        """The experiment, created (or, when an older version of this code created it, tagged) as a classic
        model-training experiment."""
        client = self.client()
        key, value = EXPERIMENT_KIND
        existing = client.get_experiment_by_name(self.experiment)
        if existing is None:
            return client.create_experiment(
                self.experiment, self.artifact_location, tags={key: value, RUNS_VIEW_TAG: RUNS_VIEW_STATE}
            )
        if existing.tags.get(key) != value:
            client.set_experiment_tag(existing.experiment_id, key, value)
        if existing.tags.get(RUNS_VIEW_TAG) != RUNS_VIEW_STATE:
            client.set_experiment_tag(existing.experiment_id, RUNS_VIEW_TAG, RUNS_VIEW_STATE)
        return existing.experiment_id

    def log_candidate(self, candidate: Candidate) -> ModelVersion:
        """One parent run (params, metrics, recipes and evaluation, tables, figures, the pyfunc model) with its nested
        comparison runs, registered as a new version with its description, tags and model in one transaction."""
        self._point_mlflow_here()
        example = model_input(candidate.input_example)
        model = RaceWinnerModel(candidate.models)
        params = {"mode": DEFAULT_MODE}
        signature = infer_signature(example, model.predict(None, example, params), params=params)
        fingerprint = candidate.evaluation.fingerprint
        self._close_interrupted_runs(fingerprint, completed_run_id=None)
        client, experiment_id = self.client(), self.experiment_id()
        run_tags = {**candidate.tags, FINGERPRINT: fingerprint, ROLE: "training", NOTE: candidate.description}
        with mlflow.start_run(experiment_id=experiment_id, run_name=candidate.name, tags=run_tags) as run:
            mlflow.log_params(dict(candidate.params))
            mlflow.log_metrics({**candidate.metrics, "evaluation_log_loss": candidate.evaluation.log_loss})
            mlflow.log_text(recipes_to_json(candidate.recipes), RECIPES_ARTIFACT)
            mlflow.log_dict(asdict(candidate.evaluation), "evaluation.json")
            for name, table in candidate.tables.items():
                mlflow.log_table(table.to_pandas(), artifact_file=f"tables/{name}.json")
            for name, figure in candidate.figures.items():
                mlflow.log_figure(figure, f"figures/{name}.png")
            for child in candidate.runs:
                _log_child(client, experiment_id, run.info.run_id, child, {FINGERPRINT: fingerprint})
            with tempfile.TemporaryDirectory() as staging:
                info = mlflow.pyfunc.log_model(
                    name="model",
                    python_model=model,
                    signature=signature,
                    input_example=(example, params),
                    pip_requirements=[f"{package}=={package_version(package)}" for package in REQUIREMENTS],
                    code_paths=[_model_code(Path(staging))],
                    uv_project_path=staging,
                )
            self._ensure_registered_model()
            version_tags = {
                **candidate.version_tags,
                **_candidate_tags(candidate.evaluation, candidate.recipes),
                "run_id": run.info.run_id,
            }
            registered = client.create_model_version(
                self.model_name,
                info.model_uri,
                run_id=run.info.run_id,
                tags=version_tags,
                description=candidate.description or None,
                model_id=info.model_id,
            )
        return self.version(str(registered.version))

    def _ensure_registered_model(self) -> None:
        """The registered model exists and says what it is (also when an older version of this code created it)."""
        client = self.client()
        try:
            client.create_registered_model(self.model_name, description=MODEL_DESCRIPTION)
        except MlflowException as error:
            if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
            if client.get_registered_model(self.model_name).description != MODEL_DESCRIPTION:
                client.update_registered_model(self.model_name, description=MODEL_DESCRIPTION)

    def log_tuning(self, name: str, key: str, studies: Sequence[ChildRun]) -> str:
        """One tuning parent run holding a nested run per study, each holding its trials; returns its run id.

        A finished tuning run with the same key (same studies, same trial counts) already says all this one would,
        so it is returned instead; tuning runs a killed process left RUNNING are closed as KILLED."""
        client, experiment_id = self.client(), self.experiment_id()
        logged = client.search_runs([experiment_id], f"tags.{TUNING_KEY} = '{key}'")
        for run in logged:
            if run.info.status == RunStatus.to_string(RunStatus.RUNNING):
                client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.KILLED))
        finished = [
            run
            for run in logged
            if run.data.tags.get(ROLE) == "tuning" and run.info.status == RunStatus.to_string(RunStatus.FINISHED)
        ]
        if finished:
            return finished[0].info.run_id
        tags = {TUNING_KEY: key}
        parent = client.create_run(experiment_id, tags={**tags, ROLE: "tuning"}, run_name=name)
        for study in studies:
            _log_child(client, experiment_id, parent.info.run_id, study, tags)
        client.set_terminated(parent.info.run_id)
        return parent.info.run_id

    def registered_candidate(self, evaluation: Evaluation, recipes: Mapping[Mode, Recipe]) -> ModelVersion | None:
        """The newest version registered from this evaluation and these recipes, else None.

        Any version, not only the newest: data that went back to an earlier state (a failed or corrected run in
        between) names the version already made from it, which is reused rather than registered again as a
        duplicate. The gate then judges that version (`evaluated_on`), not merely the newest."""
        found = newest_matching(self._versions(), _candidate_tags(evaluation, recipes))
        if found is None:
            return None
        self._close_interrupted_runs(evaluation.fingerprint, completed_run_id=found.run_id)
        return self.version(str(found.version))

    def evaluated_on(self, fingerprint: str) -> ModelVersion | None:
        """The newest version evaluated on the features with this fingerprint: the candidate the gate judges."""
        found = newest_matching(self._versions(), {"evaluation_fingerprint": fingerprint})
        return None if found is None else self.version(str(found.version))

    def _versions(self) -> list[ModelVersion]:
        return list(self.client().search_model_versions(f"name = '{self.model_name}'"))

    def _close_interrupted_runs(self, fingerprint: str, completed_run_id: str | None) -> None:
        """Runs on this data still RUNNING belong to attempts that were killed: the one that registered its version
        (its last act, after its nested runs) completed, the others did not, and their pending logged models never
        will."""
        client = self.client()
        experiment_id = self.experiment_id()
        interrupted = client.search_runs(
            [experiment_id], f"tags.{FINGERPRINT} = '{fingerprint}' and attributes.status = 'RUNNING'"
        )
        for run in interrupted:
            run_id = run.info.run_id
            if completed_run_id is not None and completed_run_id in (run_id, run.data.tags.get(PARENT)):
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

    def log_to_champion_run(self, metrics: Mapping[str, float]) -> str | None:
        """Metrics measured after training (e.g. the title backtest, computed from the champion's predictions) logged
        on the run that produced the champion, so they sit beside its other metrics; the run id, or None when no
        version is the champion yet."""
        champion = self.champion()
        if champion is None or champion.run_id is None:
            return None
        stamp = int(time.time() * 1000)
        self.client().log_batch(
            champion.run_id, metrics=[Metric(name, float(value), stamp, 0) for name, value in sorted(metrics.items())]
        )
        return champion.run_id

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

    def recipes(self, version: ModelVersion) -> dict[Mode, Recipe]:
        """How to rebuild each mode's model of a version: its run's `recipes.json`, checked against the version's
        `RECIPE_DIGEST` (a version registered by hand, or by another tool, has neither)."""
        digest = version.tags.get(RECIPE_DIGEST)
        if digest is None or version.run_id is None:
            raise MissingRecipeError(f"version {version.version} has no recipe tags")
        self._point_mlflow_here()
        try:
            text = mlflow.artifacts.load_text(f"runs:/{version.run_id}/{RECIPES_ARTIFACT}")
        except MlflowException as error:
            raise MissingRecipeError(f"version {version.version} has no {RECIPES_ARTIFACT}: {error}") from error
        if _digest(text) != digest:
            raise MissingRecipeError(
                f"version {version.version}'s {RECIPES_ARTIFACT} is not the one it was registered with"
            )
        return recipes_from_json(text)

    def set_champion(self, version: str) -> None:
        self.client().set_registered_model_alias(self.model_name, CHAMPION, version)

    def note_decision(self, version: str, decision: str) -> None:
        """The gate's latest word on `version` as the last section of its description, so the registry says why a
        version is (or is not) the champion without a look at the warehouse; a later decision replaces it."""
        client = self.client()
        description = client.get_model_version(self.model_name, version).description or ""
        kept = description.split(DECISION_HEADING)[0].rstrip()
        client.update_model_version(self.model_name, version, f"{kept}\n\n{DECISION_HEADING}\n{decision}".lstrip())

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


def _model_code(staging: Path) -> str:
    """`MODEL_CODE` copied into `staging` as the package it is part of: `code_paths` copies a directory under its own
    name into the model's `code/`, which loading puts on `sys.path`, so the pickles' `f1_pipeline....` module paths
    resolve in the copy."""
    package = staging / PACKAGE.name
    for part in MODEL_CODE:
        source, target = PACKAGE / part, package / part
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return str(package)


def _log_child(
    client: MlflowClient, experiment_id: str, parent_id: str, child: ChildRun, inherited: Mapping[str, str]
) -> None:
    """A finished nested run in three writes (create, one batch, terminate): a tuning has hundreds of them."""
    run = client.create_run(experiment_id, tags={**inherited, **child.tags, PARENT: parent_id}, run_name=child.name)
    run_id = run.info.run_id
    at = run.info.start_time
    client.log_batch(
        run_id,
        metrics=[Metric(name, value, at, 0) for name, value in child.metrics.items()],
        params=[Param(name, str(value)) for name, value in child.params.items()],
    )
    for grandchild in child.children:
        _log_child(client, experiment_id, run_id, grandchild, inherited)
    client.set_terminated(run_id)


def comparison_metrics(client: MlflowClient, run: Run) -> dict[str, float]:
    """A training run's nested comparison runs as `<mode>.<model>.<metric>` (their per-season scores left out): every
    model family and baseline beside the champion, for whoever reads one run (the API's model card) rather than the
    UI."""
    nested = client.search_runs(
        [run.info.experiment_id], filter_string=f"tags.`{PARENT}` = '{run.info.run_id}'", max_results=1000
    )
    return {
        f"{child.data.params['mode']}.{child.data.params['model']}.{metric}": value
        for child in nested
        if {"mode", "model"} <= child.data.params.keys()
        for metric, value in child.data.metrics.items()
        if not metric.startswith(SEASON_PREFIX)
    }


def newest_matching(versions: Sequence[ModelVersion], wanted: Mapping[str, str]) -> ModelVersion | None:
    """The highest-numbered version whose tags hold every `wanted` tag."""
    matching = [version for version in versions if all(version.tags.get(k) == v for k, v in wanted.items())]
    return max(matching, key=lambda version: int(version.version), default=None)


def _candidate_tags(evaluation: Evaluation, recipes: Mapping[Mode, Recipe]) -> dict[str, str]:
    """The version tags the gate reads back (`evaluation_from`, `families_of`, `ModelRegistry.recipes`) and that
    identify a candidate: every field of the evaluation as `evaluation_<field>` (none for a field without a value),
    each mode's `recipe.<mode>.family`, and `RECIPE_DIGEST` of the recipes' JSON."""
    values = {item.name: getattr(evaluation, item.name) for item in fields(Evaluation)}
    tags = {f"evaluation_{name}": _tag_value(value) for name, value in values.items() if value is not None}
    tags |= {f"{RECIPE_PREFIX}.{mode}.family": recipe.family for mode, recipe in recipes.items()}
    return tags | {RECIPE_DIGEST: _digest(recipes_to_json(recipes))}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _tag_value(value: object) -> str:
    """`repr` keeps every digit of a float; strings and integers as they are."""
    return repr(value) if isinstance(value, float) else str(value)


def evaluation_from(version: ModelVersion) -> Evaluation:
    """The evaluation a version was registered with (its `evaluation_<field>` tags; a field a version predates
    takes its default)."""
    types = get_type_hints(Evaluation)
    values: dict[str, Any] = {}
    for item in fields(Evaluation):
        text = version.tags.get(f"evaluation_{item.name}")
        if text is not None:
            values[item.name] = _parsed(text, types[item.name])
    try:
        return Evaluation(**values)
    except TypeError as error:
        raise LookupError(f"version {version.version} has no complete evaluation in its tags: {error}") from error


def _parsed(text: str, annotation: Any) -> Any:
    """A tag's text as the evaluation field's type (`float`, `int`, `str`, or one of them or None)."""
    types = [option for option in getattr(annotation, "__args__", (annotation,)) if option is not type(None)]
    return types[0](text)


class MissingRecipeError(LookupError):
    """A version registered without the tags its models are rebuilt from (by hand, or by another tool)."""


def families_of(version: ModelVersion) -> dict[str, str]:
    """Each mode's model family, from the version's `recipe.<mode>.family` tags."""
    return {
        key.split(".")[1]: value
        for key, value in version.tags.items()
        if key.startswith(f"{RECIPE_PREFIX}.") and key.endswith(".family") and key.count(".") == 2
    }


def describe(version: ModelVersion) -> dict[str, Any]:
    """What the UI and the CLI show of a version."""
    return {
        "version": str(version.version),
        "aliases": list(version.aliases),
        "run_id": version.run_id,
        "data_through": version.tags.get("data_through"),
        "evaluation_log_loss": float(version.tags.get("evaluation_log_loss", "nan")),
        "families": families_of(version),
        "created": pd.Timestamp(version.creation_timestamp, unit="ms", tz="UTC").isoformat(),
    }
