"""Optuna tuning of each estimator on seasons before the backtest, so the backtest stays an honest test.

A study lives in the storage a URL names (SQLite by default, PostgreSQL in production), keyed by estimator, mode and a
fingerprint of the data: a rerun on the same data resumes it, and every process pointed at the same storage adds
trials to the same study. The default parameters (`DEFAULT_PARAMS`, what an untuned recipe uses) are always the first
trial, so tuning cannot end worse than them on the validation seasons.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import optuna
import polars as pl

from f1_pipeline.modeling.backtest import (
    ExplainedModel,
    RaceModel,
    completed,
    fingerprint,
    predict_seasons,
    race_scores,
)
from f1_pipeline.modeling.estimators import (
    DEFAULT_RANDOM_FOREST,
    DEFAULT_XGBOOST,
    ConditionalLogit,
    PlackettLuce,
    TreeEnsemble,
)
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.progress import Report, duration

Estimator = Literal["random_forest", "xgboost", "conditional_logit", "plackett_luce"]
ESTIMATORS: tuple[Estimator, ...] = ("random_forest", "xgboost", "conditional_logit", "plackett_luce")
SEARCH_SPACE_VERSION = "2"
"""Part of the study name: change it with a search space, so old trials are not mixed with new ones."""


def random_forest_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "n_estimators": trial.suggest_int("n_estimators", 50, 250, step=50),
        "max_depth": trial.suggest_int("max_depth", 3, 12),
        "min_samples_split": trial.suggest_int("min_samples_split", 2, 60, log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, 60, log=True),
        "max_features": trial.suggest_categorical("max_features", ["sqrt", "log2", 0.5]),
    }


def xgboost_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "n_estimators": trial.suggest_int("n_estimators", 50, 300, step=25),
        "max_depth": trial.suggest_int("max_depth", 2, 8),
        "min_child_weight": trial.suggest_float("min_child_weight", 1.0, 100.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 0.1, 100.0, log=True),
    }


def conditional_logit_space(trial: optuna.Trial) -> dict[str, Any]:
    return {"l2": trial.suggest_float("l2", 1e-3, 100.0, log=True)}


def plackett_luce_space(trial: optuna.Trial) -> dict[str, Any]:
    return {
        "l2": trial.suggest_float("l2", 1e-3, 100.0, log=True),
        "place_decay": trial.suggest_float("place_decay", 0.2, 1.0),
    }


SPACES: dict[Estimator, Callable[[optuna.Trial], dict[str, Any]]] = {
    "random_forest": random_forest_space,
    "xgboost": xgboost_space,
    "conditional_logit": conditional_logit_space,
    "plackett_luce": plackett_luce_space,
}
DEFAULT_PARAMS: dict[Estimator, dict[str, Any]] = {
    "random_forest": DEFAULT_RANDOM_FOREST,
    "xgboost": DEFAULT_XGBOOST,
    "conditional_logit": {"l2": 1.0},
    "plackett_luce": {"l2": 1.0, "place_decay": 0.5},
}


def build_model(estimator: Estimator, mode: Mode, params: Mapping[str, Any], *, n_jobs: int = 2) -> ExplainedModel:
    """A model of one estimator with these hyper-parameters (a tree estimator alone, not yet averaged)."""
    if estimator == "conditional_logit":
        return ConditionalLogit(mode, **params)
    if estimator == "plackett_luce":
        return PlackettLuce(mode, **params)
    tree_params: dict[str, Any] = {estimator: dict(params)}
    return TreeEnsemble(mode, members=(estimator,), n_jobs=n_jobs, **tree_params)


@dataclass(frozen=True)
class TuningWindow:
    """Train on [first_season, validation_first) and score the seasons up to validation_last."""

    first_season: int
    validation_first: int
    validation_last: int

    @property
    def seasons(self) -> range:
        return range(self.validation_first, self.validation_last + 1)


@dataclass(frozen=True)
class TuningResult:
    estimator: Estimator
    mode: Mode
    study_name: str
    params: dict[str, Any]
    validation_log_loss: float
    default_log_loss: float
    trials: int
    seconds: float
    """Time this call spent on trials (0 when the study already had enough)."""


def validation_log_loss(model: RaceModel, mode: Mode, frame: pl.DataFrame, window: TuningWindow) -> float:
    """Mean over the validation races of -ln p(winner), the model fitted once on the seasons before them."""
    predictions = predict_seasons(frame, lambda _: {"model": model}, [mode], window.first_season, window.seasons)
    return cast(float, race_scores(predictions)["log_loss"].mean())


def data_fingerprint(frame: pl.DataFrame, window: TuningWindow) -> str:
    """Identifies the rows a study learns from, so a study is resumed only on the same data."""
    return fingerprint(
        completed(frame).filter(pl.col("season").is_between(window.first_season, window.validation_last))
    )


COMPLETE, WAITING = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.WAITING


def _default_trial(
    study: optuna.Study, defaults: Mapping[str, Any], states: tuple[optuna.trial.TrialState, ...]
) -> optuna.trial.FrozenTrial | None:
    return next((trial for trial in study.get_trials(deepcopy=False, states=states) if trial.params == defaults), None)


def tune(
    frame: pl.DataFrame,
    estimator: Estimator,
    mode: Mode,
    *,
    window: TuningWindow,
    trials: int,
    storage: str | None,
    random_state: int = 42,
    progress: Report | None = None,
) -> TuningResult:
    """Run trials until the study holds `trials` finished ones (at least 1: the default parameters'); return the
    best found. `progress` hears of each finished trial."""
    if trials < 1:
        raise ValueError("tuning needs at least one trial, the default parameters")
    seasons = f"{window.first_season}-{window.validation_first}-{window.validation_last}"
    study_name = f"{estimator}-{mode}-{seasons}-v{SEARCH_SPACE_VERSION}-{data_fingerprint(frame, window)}"
    optuna.logging.set_verbosity(logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="minimize",
        sampler=optuna.samplers.TPESampler(seed=random_state),
        load_if_exists=True,
    )
    defaults = DEFAULT_PARAMS[estimator]
    if _default_trial(study, defaults, (COMPLETE, WAITING)) is None:
        study.enqueue_trial(defaults)  # also when a killed run left the default trial RUNNING for ever

    def objective(trial: optuna.Trial) -> float:
        return validation_log_loss(build_model(estimator, mode, SPACES[estimator](trial)), mode, frame, window)

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if progress is not None and trial.state == COMPLETE:
            took = duration(trial.duration.total_seconds()) if trial.duration else "?"
            progress(
                f"{estimator} {mode}: trial {trial.number + 1} of {trials} in {took}, validation log loss "
                f"{trial.value:.4f} (best {study.best_value:.4f})"
            )

    started = time.perf_counter()
    finished = study.get_trials(deepcopy=False, states=(COMPLETE,))
    if len(finished) < trials:
        study.optimize(objective, n_trials=trials - len(finished), callbacks=[report])
    while (default_trial := _default_trial(study, defaults, (COMPLETE,))) is None:
        study.optimize(objective, n_trials=1, callbacks=[report])  # the waiting default trial runs first
    finished = study.get_trials(deepcopy=False, states=(COMPLETE,))
    return TuningResult(
        estimator=estimator,
        mode=mode,
        study_name=study_name,
        params=dict(study.best_params),
        validation_log_loss=float(study.best_value),
        default_log_loss=cast(float, default_trial.value),  # a finished trial's
        trials=len(finished),
        seconds=time.perf_counter() - started,
    )
