"""How a training reads in MLflow: readable names, one nested run per model and mode, descriptions, Optuna studies.

MLflow's compare view lines runs up by metric *name*. So every model of the backtest (each model family, the ablation
and each baseline) gets one nested run per mode carrying the same names (`log_loss`, `brier`, `top1`, `top3`, and
whatever other score the backtest summary has), with `mode` as a param: filtering on `params.mode` and selecting runs
then compares like with like. A run per (model, mode) rather than per model because the hyper-parameters are tuned per
mode: one run is one fitted configuration, its params are exactly that configuration's.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date
from typing import cast

import optuna
import polars as pl

from f1_pipeline.modeling.backtest import completed
from f1_pipeline.modeling.baselines import BASELINES
from f1_pipeline.modeling.candidates import AVERAGES, Recipe
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.metrics import METRICS, PODIUM_BASELINE
from f1_pipeline.modeling.promotion import Evaluation
from f1_pipeline.modeling.training import CANDIDATE, CORE_FEATURES
from f1_pipeline.modeling.tuning import Estimator
from f1_pipeline.registry.tracking import ROLE, SEASON_PREFIX, ChildRun

SUMMARY_KEYS = ("mode", "model", "season", "races")
"""Columns of a backtest summary that are not scores (the race count is a param of a run, not a metric)."""
BASELINE_NAMES = frozenset(name for lineup in BASELINES.values() for name in lineup)


def data_through(frame: pl.DataFrame, races: pl.DataFrame) -> str:
    """The last completed race the features hold, e.g. `2026 R11 Hungarian Grand Prix`."""
    season, rnd = completed(frame).select("season", "round").sort("season", "round").row(-1)
    name = races.filter(season=season, round=rnd)["race_name"]
    return f"{season} R{rnd}" + (f" {name.item()}" if name.len() == 1 else "")


def training_name(day: date, through: str) -> str:
    return f"{day.isoformat()} · data through {through}"


def tuning_name(day: date, studies: int) -> str:
    return f"{day.isoformat()} · tuning, {studies} Optuna studies"


def metric_columns(summary: pl.DataFrame) -> list[str]:
    """Every numeric column of a backtest summary that is not a key: new scores appear without code changes."""
    return [name for name, dtype in summary.schema.items() if name not in SUMMARY_KEYS and dtype.is_numeric()]


def role_of(model: str) -> str:
    if model in BASELINE_NAMES or model == PODIUM_BASELINE:
        return "baseline"
    return "ablation" if model == CORE_FEATURES else "family"


def estimators_of(model: str, params: Mapping[Estimator, Mapping[str, object]]) -> tuple[Estimator, ...]:
    """The tuned estimators whose hyper-parameters a backtest model was built with (none for a baseline)."""
    if model in AVERAGES:
        return tuple(estimator for member in AVERAGES[model] for estimator in estimators_of(member, params))
    if model == CORE_FEATURES:
        return ("conditional_logit",)
    return (cast(Estimator, model),) if model in params else ()


def comparison_runs(overall: pl.DataFrame, by_season: pl.DataFrame, recipes: Mapping[Mode, Recipe]) -> list[ChildRun]:
    """One nested run per (model, mode) of the backtest; the model family each mode's candidate is carries
    `candidate=yes`.

    The `candidate` rows are left out: they are the chosen model family's rows under another name, already a run."""
    metrics = metric_columns(overall)
    season_metrics = [name for name in metric_columns(by_season) if name in METRICS]  # a few columns per season
    runs = []
    for row in overall.filter(pl.col("model") != CANDIDATE).sort("mode", "model").iter_rows(named=True):
        mode, model = row["mode"], row["model"]
        tuned = recipes[mode].params if mode in recipes else {}
        seasons = by_season.filter(mode=mode, model=model)
        runs.append(
            ChildRun(
                name=f"{model} · {mode}",
                params={
                    "model": model,
                    "mode": mode,
                    "role": role_of(model),
                    "races": row["races"],
                    **{
                        f"{estimator}.{name}": value
                        for estimator in estimators_of(model, tuned)
                        for name, value in tuned[estimator].items()
                    },
                },
                metrics={
                    **{name: float(row[name]) for name in metrics if row[name] is not None},
                    **{
                        f"{SEASON_PREFIX}{season}.{name}": float(value)
                        for name in season_metrics
                        for season, value in seasons.select("season", name).iter_rows()
                        if value is not None
                    },
                },
                tags={
                    "mode": mode,
                    ROLE: role_of(model),
                    "candidate": "yes" if mode in recipes and recipes[mode].family == model else "no",
                },
            )
        )
    return runs


def candidate_metrics(overall: pl.DataFrame) -> dict[str, float]:
    """The candidate's backtest per mode on the training's parent run, as `<mode>.<metric>`."""
    rows = overall.filter(model=CANDIDATE).iter_rows(named=True)
    return {
        f"{row['mode']}.{name}": float(row[name])
        for row in rows
        for name in metric_columns(overall)
        if row[name] is not None
    }


def training_description(
    through: str, evaluation: Evaluation, overall: pl.DataFrame, recipes: Mapping[Mode, Recipe]
) -> str:
    """Markdown for the parent run and the registered version: the data, the gate's figure and, per mode, the chosen
    model family against the best baseline on the same walk-forward races."""
    lines = [
        f"Trained on data through **{through}**. Promotion figure: winner log loss "
        f"**{evaluation.log_loss:.4f}** over {evaluation.races} walk-forward races, both modes "
        f"(evaluation `{evaluation.fingerprint}`).",
        "",
        "| mode | model family | log loss | top-1 | best baseline | its log loss |",
        "|---|---|---|---|---|---|",
    ]
    for mode, recipe in sorted(recipes.items()):
        rows = overall.filter(mode=mode)
        chosen = rows.filter(model=CANDIDATE)
        baseline = rows.filter(pl.col("model").is_in(BASELINE_NAMES), pl.col("log_loss").is_not_null())
        baseline = baseline.sort("log_loss").head(1)
        if chosen.is_empty() or baseline.is_empty():
            continue
        lines.append(
            f"| {mode} | {recipe.family} | {chosen['log_loss'].item():.4f} | {chosen['top1'].item():.1%} "
            f"| {baseline['model'].item()} | {baseline['log_loss'].item():.4f} |"
        )
    return "\n".join(lines)


def tuning_key(studies: pl.DataFrame) -> str:
    """Identifies what a tuning run reports: each study (its name holds its data's fingerprint) and its trial count.
    A rerun on unchanged data and finished studies reports the same, so it reuses the run instead of repeating it."""
    text = ";".join(f"{name}:{trials}" for name, trials in sorted(studies.select("study_name", "trials").iter_rows()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def study_runs(
    studies: pl.DataFrame,
    recipes: Mapping[Mode, Recipe],
    trials: Mapping[str, Sequence[optuna.trial.FrozenTrial]],
) -> list[ChildRun]:
    """One nested run per Optuna study (estimator and mode; params: the best trial's) holding one nested run per
    finished trial. `trials` is empty for studies kept only in memory (no Optuna storage): their summary is all that
    is left of them."""
    runs = []
    for study in studies.sort("mode", "estimator").iter_rows(named=True):
        estimator, mode = study["estimator"], study["mode"]
        best = recipes[mode].params[estimator]
        runs.append(
            ChildRun(
                name=f"tuning {estimator} · {mode}",
                params={"estimator": estimator, "mode": mode, "study_name": study["study_name"], **best},
                metrics={
                    "validation_log_loss": study["validation_log_loss"],
                    "default_validation_log_loss": study["default_validation_log_loss"],
                    "trials": float(study["trials"]),
                },
                tags={"mode": mode, ROLE: "study"},
                children=[_trial_run(estimator, mode, trial) for trial in trials.get(study["study_name"], ())],
            )
        )
    return runs


def _trial_run(estimator: str, mode: str, trial: optuna.trial.FrozenTrial) -> ChildRun:
    return ChildRun(
        name=f"tuning trial {trial.number} · {estimator} · {mode}",
        params={"estimator": estimator, "mode": mode, "trial": trial.number, **trial.params},
        metrics={} if trial.value is None else {"validation_log_loss": float(trial.value)},
        tags={"mode": mode, ROLE: "trial"},
    )
