"""The training procedure end to end, as plain functions the Dagster assets call one at a time.

Seasons are split three ways and never mixed: training seasons, validation seasons (Optuna and the choice of
model family look only at these), and the backtest seasons (the honest score, never used to choose anything).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from f1_pipeline.contracts import FINITE, PROBABILITY, REQUIRED, SHARE, Column, ColumnRule, Contract, SumRule
from f1_pipeline.modeling.backtest import (
    PREDICTION_KEY,
    ExplainedModel,
    RaceModel,
    completed,
    race_scores,
    walk_forward,
    with_averages,
)
from f1_pipeline.modeling.baselines import baselines_for, grid_podium_backtest
from f1_pipeline.modeling.candidates import AVERAGES, Recipe, base_lineup, choose_recipes
from f1_pipeline.modeling.estimators import ConditionalLogit
from f1_pipeline.modeling.feature_matrix import FEATURES_CONTRACT, MODE_COLUMN, MODES, Mode
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import (
    METRIC_COLUMNS,
    OUTCOME_METRIC_COLUMNS,
    PODIUM_BASELINE,
    PODIUM_METRIC_COLUMNS,
    RACES_COLUMN,
    outcome_summary,
    podium_scores,
    summarise,
)
from f1_pipeline.modeling.outcomes import podium_probabilities
from f1_pipeline.modeling.progress import Countdown, Report
from f1_pipeline.modeling.tuning import ESTIMATORS, Estimator, TuningWindow, tune
from f1_pipeline.modeling.weather_ablation import weather_ablation
from f1_pipeline.tables import BACKTEST_BY_SEASON, BACKTEST_PREDICTIONS, BACKTEST_SUMMARY, TUNING_STUDIES

CANDIDATE = "candidate"
"""The model name the chosen model family's backtest predictions carry once picked out of the comparison."""
CORE_FEATURES = "conditional_logit_core_features"
"""The conditional logit on the core features only: its gap to `conditional_logit` is what the added features
buy."""

TUNING_STUDIES_CONTRACT = Contract(
    TUNING_STUDIES.qualified,
    TUNING_STUDIES.row,
    (
        Column("estimator", pl.String, "the estimator tuned", ColumnRule(not_null=True, allowed=ESTIMATORS)),
        MODE_COLUMN,
        Column(
            "validation_log_loss",
            pl.Float64,
            "the best trial's mean -ln P(winner) over the validation races, fitted on the training seasons (lower is "
            "better)",
            FINITE,
        ),
        Column(
            "default_validation_log_loss",
            pl.Float64,
            "the same for the default hyper-parameters (always a trial, so never below `validation_log_loss`)",
            FINITE,
        ),
        Column(
            "trials",
            pl.Int64,
            "finished trials in the study, those of earlier runs on the same data included",
            REQUIRED,
        ),
        Column(
            "seconds", pl.Float64, "time this run spent on trials, in seconds (0 when the study had enough)", FINITE
        ),
        Column(
            "study_name",
            pl.String,
            "the Optuna study: estimator, mode, seasons, search space version and a fingerprint of the data",
            REQUIRED,
        ),
        Column("params", pl.String, "the best trial's hyper-parameters, as a Python dict", REQUIRED),
    ),
    key=("estimator", "mode"),
)
_MODEL = Column(
    "model",
    pl.String,
    "who predicted: a model family, candidate (the chosen family's predictions again), an ablation (candidate_without_"
    "weather, conditional_logit_core_features) or a baseline",
    REQUIRED,
)
BACKTEST_PREDICTIONS_CONTRACT = Contract(
    BACKTEST_PREDICTIONS.qualified,
    BACKTEST_PREDICTIONS.row,
    (
        _MODEL,
        MODE_COLUMN,
        *(FEATURES_CONTRACT.column(name) for name in ("season", "round", "driver_id")),
        Column("won", pl.Boolean, "the driver won the race", REQUIRED),
        Column(
            "probability",
            pl.Float64,
            "the model's P(win), from a fit on the seasons before the race's",
            PROBABILITY,
        ),
        Column(
            "podium_probability",
            pl.Float64,
            "the model's P(podium): its win distribution read as a Plackett-Luce finishing order",
            PROBABILITY,
        ),
        FEATURES_CONTRACT.column("finish_position"),
        Column(
            PODIUM_BASELINE,
            pl.Float64,
            "the grid podium baseline's P(podium): the podium rate of the driver's starting slot in the seasons "
            "before; null on pre-qualifying rows",
            SHARE,
        ),
    ),
    sums=(SumRule("probability", per=("model", "mode", *RACE_KEY)),),
    key=PREDICTION_KEY,
)
"""`backtest`'s walk-forward predictions with their podium columns (`with_podium`)."""
_SCORES = (RACES_COLUMN, *METRIC_COLUMNS, *PODIUM_METRIC_COLUMNS, *OUTCOME_METRIC_COLUMNS)
_SCORED = replace(
    _MODEL,
    description=f"the model scored, as in {BACKTEST_PREDICTIONS}; {PODIUM_BASELINE}: the grid podium baseline, scored "
    "on the podium alone (its other metrics null)",
)
BACKTEST_SUMMARY_CONTRACT = Contract(
    BACKTEST_SUMMARY.qualified, BACKTEST_SUMMARY.row, (MODE_COLUMN, _SCORED, *_SCORES), key=("mode", "model")
)
BACKTEST_BY_SEASON_CONTRACT = Contract(
    BACKTEST_BY_SEASON.qualified,
    BACKTEST_BY_SEASON.row,
    (MODE_COLUMN, _SCORED, FEATURES_CONTRACT.column("season"), *_SCORES),
    key=("mode", "model", "season"),
)
"""`summary`'s tables of the backtest, overall and by season, with every published outcome's metrics."""


@dataclass(frozen=True)
class Seasons:
    train_first: int
    validation_first: int
    backtest_first: int

    @property
    def window(self) -> TuningWindow:
        return TuningWindow(self.train_first, self.validation_first, self.backtest_first - 1)

    def backtest(self, frame: pl.DataFrame) -> list[int]:
        """From the first backtest season to the latest with a completed race (the current season to date)."""
        seasons = completed(frame)["season"].unique().sort()
        return [season for season in seasons.to_list() if season >= self.backtest_first]


@dataclass(frozen=True)
class Tuning:
    recipes: dict[Mode, Recipe]
    studies: pl.DataFrame
    """One row per (estimator, mode): best validation log loss, the default parameters' log loss, trials, study name,
    parameters."""
    families: pl.DataFrame
    """Validation scores of every model family per mode; the best became the recipe."""


def tune_recipes(
    frame: pl.DataFrame,
    seasons: Seasons,
    *,
    trials: int,
    storage: str | None,
    modes: Sequence[Mode] = MODES,
    progress: Report | None = None,
) -> Tuning:
    """Optuna per estimator and mode, then per mode the model family that does best on the validation seasons.
    `progress` hears of each trial and each study done, with an estimate of the time the other studies will take."""
    recipes: dict[Mode, Recipe] = {}
    studies: list[dict[str, Any]] = []
    families: list[pl.DataFrame] = []
    countdown = Countdown(len(modes) * len(ESTIMATORS))
    for mode in modes:
        results = []
        for estimator in ESTIMATORS:
            result = tune(
                frame, estimator, mode, window=seasons.window, trials=trials, storage=storage, progress=progress
            )
            results.append(result)
            if progress is not None:
                progress(f"study {estimator} {mode} done with {result.trials} trials; studies {countdown.tick()}")
        params: dict[Estimator, Mapping[str, Any]] = {result.estimator: result.params for result in results}
        chosen, scores = choose_recipes(frame, seasons.window, params, [mode])
        recipes |= chosen
        families.append(scores)
        studies.extend(
            {
                "estimator": result.estimator,
                "mode": result.mode,
                "validation_log_loss": result.validation_log_loss,
                "default_validation_log_loss": result.default_log_loss,
                "trials": result.trials,
                "seconds": round(result.seconds, 1),
                "study_name": result.study_name,
                "params": str(result.params),
            }
            for result in results
        )
    return Tuning(
        recipes=recipes,
        studies=pl.DataFrame(studies, schema=TUNING_STUDIES_CONTRACT.schema),
        families=pl.concat(families),
    )


def backtest(
    frame: pl.DataFrame, recipes: Mapping[Mode, Recipe], seasons: Seasons, progress: Report | None = None
) -> pl.DataFrame:
    """Walk-forward predictions of every model family (tuned), the candidate's and the baselines', on the same races;
    with weather in the features, also the candidate's model family without it."""

    def lineup(mode: Mode) -> dict[str, RaceModel]:
        ablation = ConditionalLogit(mode, extended=False, **recipes[mode].params["conditional_logit"])
        return {
            **base_lineup(recipes[mode].params)(mode),
            CORE_FEATURES: ablation,
            **weather_ablation(frame, recipes[mode], mode),
            **baselines_for(mode),
        }

    predictions = with_averages(
        walk_forward(frame, lineup, list(recipes), seasons.backtest(frame), seasons.train_first, progress), AVERAGES
    )
    return with_podium(pl.concat([predictions, candidate_predictions(predictions, recipes)]), frame, seasons)


def candidate_predictions(predictions: pl.DataFrame, recipes: Mapping[Mode, Recipe]) -> pl.DataFrame:
    """The chosen model family's rows of each mode, renamed `candidate`."""
    chosen = pl.concat(predictions.filter(model=recipe.family, mode=mode) for mode, recipe in recipes.items())
    return chosen.with_columns(model=pl.lit(CANDIDATE))


def recipe_backtest(frame: pl.DataFrame, recipes: Mapping[Mode, Recipe], seasons: Seasons) -> pl.DataFrame:
    """Walk-forward predictions of one set of recipes alone (to score a champion on a candidate's evaluation)."""

    def lineup(mode: Mode) -> dict[str, RaceModel]:
        return {CANDIDATE: recipes[mode].build(mode)}

    return with_podium(
        walk_forward(frame, lineup, list(recipes), seasons.backtest(frame), seasons.train_first), frame, seasons
    )


def with_podium(predictions: pl.DataFrame, frame: pl.DataFrame, seasons: Seasons) -> pl.DataFrame:
    """Each row's finishing place, its model's P(podium) (the win distribution read as a Plackett-Luce finishing
    order) and, on post-qualifying rows, the grid podium baseline's: what the podium metrics score."""
    key = [*RACE_KEY, "driver_id"]
    baseline = grid_podium_backtest(frame, seasons.backtest(frame), seasons.train_first)
    return (
        predictions.with_columns(podium_probability=pl.Series(podium_probabilities(predictions, by=("model", "mode"))))
        .join(frame.select(*key, "finish_position"), on=key, how="left", maintain_order="left")
        .join(baseline, on=key, how="left", maintain_order="left")
        .with_columns(pl.when(pl.col("mode") == "post_qualifying").then(PODIUM_BASELINE).alias(PODIUM_BASELINE))
    )


def summary(predictions: pl.DataFrame, by_season: bool = False, outcomes: pl.DataFrame | None = None) -> pl.DataFrame:
    """Mean metrics per model and mode (and season): the backtest table. Podium metrics are there when the predictions
    carry them (`with_podium`), the grid podium baseline as one more post-qualifying row with podium metrics only.
    With `outcomes` (the predictions with every published outcome column, `registry.scoring.with_outcomes`), every
    outcome's `{outcome}_{metric}` (`metrics.OUTCOME_METRICS`) too."""
    by = ["mode", "model", "season"] if by_season else ["mode", "model"]
    scores = race_scores(predictions)
    if "podium_probability" in predictions.columns:
        podium = podium_scores(predictions)
        scores = scores.join(podium, on=["model", "mode", *RACE_KEY], how="full", coalesce=True)
    table = summarise(scores, by=by)
    if outcomes is not None:
        table = table.join(outcome_summary(outcomes, by), on=by, how="left")
    return table.sort(by if by_season else ["mode", "log_loss"], nulls_last=True)


def fit_final(frame: pl.DataFrame, recipes: Mapping[Mode, Recipe], seasons: Seasons) -> dict[Mode, ExplainedModel]:
    """Each mode's model fitted on every completed race from the first training season: the one to register."""
    train = completed(frame).filter(pl.col("season") >= seasons.train_first)
    return {mode: recipe.build(mode).fit(train) for mode, recipe in recipes.items()}
