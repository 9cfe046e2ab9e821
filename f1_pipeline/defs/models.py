"""Models layer: Optuna tuning, the walk-forward backtest against the baselines, the MLflow candidate and the
promotion gate that moves the `champion` alias."""

import subprocess
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import optuna
import polars as pl
from matplotlib.figure import Figure
from sqlalchemy.engine import make_url

from f1_pipeline.defs.metadata import figure_markdown, markdown_preview, other_table_metadata, table_metadata
from f1_pipeline.defs.resources import MlflowResource, ModelingResource, WarehouseResource
from f1_pipeline.modeling import plots
from f1_pipeline.modeling.backtest import completed
from f1_pipeline.modeling.candidates import (
    FAMILIES,
    FAMILY_VALIDATION_CONTRACT,
    RECIPES_CONTRACT,
    Recipe,
    recipe_rows,
)
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import OUTCOME_METRIC_COLUMNS, calibration
from f1_pipeline.modeling.promotion import Evaluation, evaluation_of
from f1_pipeline.modeling.training import (
    BACKTEST_BY_SEASON_CONTRACT,
    BACKTEST_PREDICTIONS_CONTRACT,
    BACKTEST_SUMMARY_CONTRACT,
    CANDIDATE,
    TUNING_STUDIES_CONTRACT,
    Seasons,
    backtest,
    candidate_predictions,
    fit_final,
    summary,
    tune_recipes,
)
from f1_pipeline.registry import comparison, gate
from f1_pipeline.registry.decisions import PROMOTIONS_CONTRACT
from f1_pipeline.registry.scoring import outcomes_of_models, reliability_of
from f1_pipeline.registry.tracking import Candidate, describe
from f1_pipeline.settings import REPO_ROOT
from f1_pipeline.tables import (
    BACKTEST_BY_SEASON,
    BACKTEST_PREDICTIONS,
    BACKTEST_SUMMARY,
    CHAMPION_BACKTEST,
    FAMILY_VALIDATION,
    PROMOTIONS,
    RACE_FEATURES,
    RACE_RESULTS,
    RACES,
    RECIPES,
    TUNING_STUDIES,
    writers,
)
from f1_pipeline.warehouse import Warehouse

_MODELS: dict[str, Any] = {"group_name": "models"}
BASELINE_NAMES = sorted(comparison.BASELINE_NAMES)


@dg.asset(deps=writers(RACE_FEATURES), kinds={"optuna", "duckdb", "mlflow"}, **_MODELS)
def model_tuning(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, modeling: ModelingResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """Optuna studies per estimator and mode on the validation seasons, then the best model family per mode; the
    studies and their trials are logged to MLflow as a tuning run with nested runs."""
    store = warehouse.warehouse()
    frame = store.read(RACE_FEATURES)
    storage = modeling.storage_url()
    tuning = tune_recipes(
        frame, modeling.seasons(), trials=modeling.tuning_trials, storage=storage, progress=context.log.info
    )
    recipes = recipe_rows(tuning.recipes)
    with store.transaction() as writes:
        writes.replace_table(RECIPES, recipes)
        writes.replace_table(TUNING_STUDIES, tuning.studies)
        writes.replace_table(FAMILY_VALIDATION, tuning.families)
    tuning_run = mlflow.registry().log_tuning(
        comparison.tuning_name(datetime.now(UTC).date(), tuning.studies.height),
        comparison.tuning_key(tuning.studies),
        comparison.study_runs(tuning.studies, tuning.recipes, _finished_trials(tuning.studies, storage)),
    )
    window = modeling.seasons().window
    return dg.MaterializeResult(
        metadata=table_metadata(RECIPES, recipes, RECIPES_CONTRACT.descriptions)
        | other_table_metadata(TUNING_STUDIES, tuning.studies, TUNING_STUDIES_CONTRACT.descriptions)
        | other_table_metadata(FAMILY_VALIDATION, tuning.families, FAMILY_VALIDATION_CONTRACT.descriptions)
        | {
            **{f"family_{mode}": recipe.family for mode, recipe in tuning.recipes.items()},
            "mlflow_tuning_run": mlflow.run_link(tuning_run),
            "trials_per_study": modeling.tuning_trials,
            "optuna_storage": _redacted(modeling.optuna_storage),
            "training_seasons": f"{window.first_season}-{window.validation_first - 1}",
            "validation_seasons": f"{window.validation_first}-{window.validation_last}",
            "studies": dg.MetadataValue.md(markdown_preview(tuning.studies.drop("params"), rows=12)),
            "validation_by_family": dg.MetadataValue.md(markdown_preview(tuning.families, rows=20)),
        }
    )


def _finished_trials(studies: pl.DataFrame, storage: str | None) -> dict[str, list[optuna.trial.FrozenTrial]]:
    """Each study's finished trials, read back from the Optuna storage (none when studies live only in memory)."""
    if storage is None:
        return {}
    return {
        name: optuna.load_study(study_name=name, storage=storage).get_trials(
            deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)
        )
        for name in studies["study_name"]
    }


@dg.asset(
    deps=[*writers(RECIPES), *writers(RACE_RESULTS), *writers(RACES)],
    kinds={"scikitlearn", "xgboost", "duckdb"},
    **_MODELS,
)
def model_backtest(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, modeling: ModelingResource
) -> dg.MaterializeResult:
    """Walk-forward by season (train on the seasons before S, predict every race of S) for every model family, the
    chosen candidate and the baselines, both modes, on the same races."""
    store = warehouse.warehouse()
    frame = store.read(RACE_FEATURES)
    predictions = backtest(frame, gate.tuned_recipes(store), modeling.seasons(), progress=context.log.info)
    outcomes = outcomes_of_models(
        predictions,
        frame,
        reliability_of(store, completed(frame).join(predictions.select(*RACE_KEY).unique(), on=RACE_KEY, how="semi")),
    )
    overall = summary(predictions, outcomes=outcomes)
    by_season = summary(predictions, by_season=True, outcomes=outcomes)
    with store.transaction() as writes:
        writes.replace_table(BACKTEST_PREDICTIONS, predictions)
        writes.replace_table(BACKTEST_SUMMARY, overall)
        writes.replace_table(BACKTEST_BY_SEASON, by_season)
    figures = backtest_figures(predictions, by_season)
    seasons = by_season["season"]
    return dg.MaterializeResult(
        metadata=table_metadata(BACKTEST_PREDICTIONS, predictions, BACKTEST_PREDICTIONS_CONTRACT.descriptions)
        | other_table_metadata(BACKTEST_SUMMARY, overall, BACKTEST_SUMMARY_CONTRACT.descriptions)
        | other_table_metadata(BACKTEST_BY_SEASON, by_season, BACKTEST_BY_SEASON_CONTRACT.descriptions)
        | {
            "seasons": f"{seasons.min()!s}-{seasons.max()!s}",
            "races": predictions.filter(model=CANDIDATE).select("season", "round").n_unique(),
            "summary": dg.MetadataValue.md(markdown_preview(overall, rows=overall.height)),
            "candidate_by_season": dg.MetadataValue.md(
                markdown_preview(by_season.filter(model=CANDIDATE), rows=by_season.height)
            ),
            **{name: dg.MetadataValue.md(figure_markdown(figure, name)) for name, figure in figures.items()},
        }
    )


def backtest_figures(predictions: pl.DataFrame, by_season: pl.DataFrame) -> dict[str, Figure]:
    """Calibration of the candidate and the strongest baselines; top-1 by season."""
    shown = [CANDIDATE, "elo_grid_logistic", "elo_only"]
    curves = {
        (model, mode): calibration(group, group["probability"].to_numpy())
        for (model, mode), group in predictions.filter(pl.col("model").is_in(shown)).group_by("model", "mode")
    }
    return {
        "calibration": plots.calibration_figure(dict(sorted(curves.items()))),
        "top1_by_season": plots.accuracy_by_season_figure(by_season.filter(pl.col("model").is_in(shown)), "top1"),
    }


class CandidateConfig(dg.Config):
    """Offer a model family other than the one validation chose (e.g. to compare, or to test the promotion gate)."""

    family: str | None = None


@dg.asset(deps=writers(BACKTEST_PREDICTIONS), kinds={"mlflow"}, **_MODELS)
def candidate_model(
    context: dg.AssetExecutionContext,
    config: CandidateConfig,
    warehouse: WarehouseResource,
    modeling: ModelingResource,
    mlflow: MlflowResource,
) -> dg.MaterializeResult:
    """Each mode's model refitted on every completed race, logged to MLflow with its backtest, and registered; the
    version that holds this very candidate (same evaluation and recipes), the newest or an older one, is reused, so a
    run killed after registering and run again, or a rerun on data seen before, adds no duplicate version."""
    store = warehouse.warehouse()
    frame = store.read(RACE_FEATURES)
    seasons = modeling.seasons()
    recipes = _offered_recipes(store, config)
    families = gate.families_backtest(store)
    chosen = candidate_predictions(families, recipes)
    evaluation = evaluation_of(chosen, gate.evaluation_fingerprint(frame, seasons))
    registry = mlflow.registry()
    version = registry.registered_candidate(evaluation, recipes)
    if version is not None:
        registration = f"reused version {version.version} (same evaluation and recipes)"
    else:
        through = comparison.data_through(frame, store.read(RACES))
        predictions = pl.concat([chosen, families])
        stored = (store.read(BACKTEST_SUMMARY), store.read(BACKTEST_BY_SEASON))
        version = registry.log_candidate(
            _candidate(context, frame, recipes, seasons, evaluation, predictions, through, stored)
        )
        registration = f"registered version {version.version}"
    context.log.info(registration)
    return dg.MaterializeResult(
        metadata={
            "model_version": version.version,
            "registration": registration,
            "model_name": mlflow.registered_model_name,
            "mlflow_run": mlflow.run_link(version.run_id),
            "evaluation_log_loss": evaluation.log_loss,
            "evaluation_races": evaluation.races,
            "evaluation_fingerprint": evaluation.fingerprint,
            **{f"family_{mode}": recipe.family for mode, recipe in recipes.items()},
            "tracking_uri": _redacted(mlflow.mlflow_tracking_uri),
        }
    )


def _with_stored_outcomes(table: pl.DataFrame, stored: pl.DataFrame, recipes: dict[Mode, Recipe]) -> pl.DataFrame:
    """The backtest table with every published outcome's metrics as `model_backtest` stored them (scoring them is
    the costly part); the candidate's rows take its model family's (they are its predictions)."""
    names = {column.name for column in OUTCOME_METRIC_COLUMNS}
    columns = [name for name in stored.columns if name in names]
    key = [name for name in ("mode", "model", "season") if name in table.columns]
    source = pl.col("model")
    for mode, recipe in recipes.items():
        source = (
            pl.when((pl.col("model") == CANDIDATE) & (pl.col("mode") == mode))
            .then(pl.lit(recipe.family))
            .otherwise(source)
        )
    return (
        table.with_columns(_source=source)
        .join(
            stored.select(*key, *columns).rename({"model": "_source"}),
            on=[*(k if k != "model" else "_source" for k in key)],
            how="left",
        )
        .drop("_source")
    )


def _offered_recipes(store: Warehouse, config: CandidateConfig) -> dict[Mode, Recipe]:
    """The tuned recipes, with the model family the config forces, if any."""
    recipes = gate.tuned_recipes(store)
    if config.family is None:
        return recipes
    if config.family not in FAMILIES:
        raise dg.Failure(f"family must be one of {', '.join(FAMILIES)}, got {config.family!r}")
    return {mode: Recipe(family=config.family, params=recipe.params) for mode, recipe in recipes.items()}


def _candidate(
    context: dg.AssetExecutionContext,
    frame: pl.DataFrame,
    recipes: dict[Mode, Recipe],
    seasons: Seasons,
    evaluation: Evaluation,
    predictions: pl.DataFrame,
    through: str,
    stored: tuple[pl.DataFrame, pl.DataFrame],
) -> Candidate:
    """The final fit and everything its runs log: only built when no registered version holds it already."""
    overall, by_season = (
        _with_stored_outcomes(summary(predictions), stored[0], recipes),
        _with_stored_outcomes(summary(predictions, by_season=True), stored[1], recipes),
    )
    models = fit_final(frame, recipes, seasons)
    importances = {
        f"feature_importance_{mode}": plots.feature_importance_figure(
            model.feature_importances(), f"Feature importance ({mode})"
        )
        for mode, model in models.items()
    }
    return Candidate(
        models=models,
        recipes=recipes,
        evaluation=evaluation,
        input_example=frame.filter(pl.col("is_next")) if frame["is_next"].any() else frame.tail(20),
        name=comparison.training_name(datetime.now(UTC).date(), through),
        description=comparison.training_description(through, evaluation, overall, recipes),
        params=_params(recipes, seasons),
        metrics=comparison.candidate_metrics(overall),
        tables={"backtest_summary": overall, "backtest_by_season": by_season},
        figures={**backtest_figures(predictions, by_season), **importances},
        tags={"dagster_run_id": context.run.run_id, "git_sha": _git_sha(), "data_through": through},
        version_tags={"data_through": through},
        runs=comparison.comparison_runs(overall, by_season, recipes),
    )


@dg.asset(deps=["candidate_model"], kinds={"mlflow"}, **_MODELS)
def champion_model(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, modeling: ModelingResource, mlflow: MlflowResource
) -> dg.MaterializeResult:
    """The promotion gate (`registry.gate`, the one the registry CLI applies too) on the newest version evaluated on the
    current features (the one `candidate_model` registered or reused). The decision is recorded in `models.promotions`
    before the alias moves; a rerun that repeats the last recorded decision (after a kill, or on unchanged data) adds no
    row."""
    store = warehouse.warehouse()
    registry = mlflow.registry()
    walk_forward = gate.WalkForward.from_warehouse(store, modeling.seasons())
    candidate = registry.evaluated_on(walk_forward.fingerprint())
    if candidate is None:
        raise dg.Failure("no version was evaluated on the current features; materialize candidate_model first")
    outcome = gate.promote(registry, store, walk_forward, str(candidate.version), decided_by=context.run.run_id)
    record = outcome.record
    context.log.info(record.reason)
    moved = registry.version(record.resulting_champion_version)
    return dg.MaterializeResult(
        metadata=table_metadata(
            CHAMPION_BACKTEST, store.read(CHAMPION_BACKTEST), gate.CHAMPION_BACKTEST_CONTRACT.descriptions
        )
        | other_table_metadata(PROMOTIONS, store.read(PROMOTIONS), PROMOTIONS_CONTRACT.descriptions)
        | {
            "champion_version": moved.version,
            "alias": "champion",
            "action": record.action,
            "decision": record.reason,
            "recorded": "yes" if outcome.recorded else f"no: it repeats the last decision in {PROMOTIONS}",
            "candidate_version": record.candidate_version,
            "champion": dg.MetadataValue.json(describe(moved)),
            "rollback": f"f1-predict registry rollback <version>  (now {moved.version})",
        }
    )


def _params(recipes: dict[Mode, Recipe], seasons: Seasons) -> dict[str, object]:
    """The parent run's params: the season split and each mode's model family (its hyper-parameters are on the
    model family's nested run and in `recipes.json`)."""
    return {
        "train_first_season": seasons.train_first,
        "validation_first_season": seasons.validation_first,
        "backtest_first_season": seasons.backtest_first,
        **{f"{mode}.family": recipe.family for mode, recipe in recipes.items()},
    }


def _git_sha() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _redacted(url: str | None) -> str:
    if url is None:
        return "in memory"
    if "://" not in url or url.startswith("file:"):
        return url
    return make_url(url).render_as_string(hide_password=True)


MODELS_ASSETS = [model_tuning, model_backtest, candidate_model, champion_model]


@dg.asset_check(asset=model_backtest)
def check_model_backtest_candidate_beats_baselines(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """A model that loses to a baseline on the same races is not worth serving: warn, with every number."""
    overall = warehouse.warehouse().read(BACKTEST_SUMMARY)
    candidate = overall.filter(model=CANDIDATE).select("mode", candidate="log_loss")
    baselines = (
        overall.filter(pl.col("model").is_in(BASELINE_NAMES))
        .group_by("mode")
        .agg(pl.col("log_loss").min().alias("best_baseline"), pl.col("model").sort_by("log_loss").first())
    )
    compared = candidate.join(baselines, on="mode")
    return dg.AssetCheckResult(
        passed=bool((compared["candidate"] < compared["best_baseline"]).all()),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "actual": dg.MetadataValue.md(markdown_preview(compared)),
            "threshold": "candidate log loss below the best baseline's, in each mode",
        },
    )


@dg.asset_check(asset=champion_model, blocking=True)
def check_champion_model_alias_resolves(mlflow: MlflowResource) -> dg.AssetCheckResult:
    """Serving loads `models:/<name>@champion`; predictions must not run if it would fail."""
    champion = mlflow.registry().champion()
    return dg.AssetCheckResult(
        passed=champion is not None,
        metadata={"actual": "none" if champion is None else champion.version, "threshold": "a version"},
    )


MODELS_CHECKS = [check_model_backtest_candidate_beats_baselines, check_champion_model_alias_resolves]
