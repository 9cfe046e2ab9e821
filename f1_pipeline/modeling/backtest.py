"""Walk-forward evaluation by season: train on the seasons before S, predict every race of S.

A random split would let a model learn a season from its own later races; by season, every prediction is one the
model could have made at the time (its features are point in time, its training data strictly earlier).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, Self, TypeVar

import numpy as np
import polars as pl

from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.metrics import race_metrics
from f1_pipeline.modeling.progress import Countdown, Report


class RaceModel(Protocol):
    def fit(self, train: pl.DataFrame) -> Self: ...

    def predict(self, frame: pl.DataFrame) -> np.ndarray: ...


class ExplainedModel(RaceModel, Protocol):
    """A model family's model, which can say how much each feature weighs (a baseline cannot)."""

    def feature_importances(self) -> dict[str, float]: ...


Name = TypeVar("Name", bound=str)
"""A model's name: any string, or one of a Literal's."""

Lineup = Callable[[Mode], Mapping[str, RaceModel]]
"""Fresh, unfitted models by name for one mode (a mode has its own baselines)."""


def completed(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of races with exactly one winner: what a model can learn from and be scored on.

    Shared drives of the 1950s could give a race two winners; such races are left out.
    """
    return frame.filter(pl.col("won").is_not_null()).filter(pl.col("won").sum().over(RACE_KEY) == 1)


def fingerprint(frame: pl.DataFrame) -> str:
    """Identifies feature rows (what a model learns from and is scored on), whatever their order."""
    rows = frame.sort(*RACE_KEY, "driver_id").hash_rows(seed=0).to_numpy().tobytes()
    return hashlib.sha256(rows).hexdigest()[:16]


def training_rows(frame: pl.DataFrame, first_season: int, before_season: int) -> pl.DataFrame:
    return completed(frame).filter(pl.col("season").is_between(first_season, before_season - 1))


def walk_forward(
    frame: pl.DataFrame,
    lineup: Lineup,
    modes: Iterable[Mode],
    seasons: Iterable[int],
    train_first_season: int,
    progress: Report | None = None,
) -> pl.DataFrame:
    """One row per (model, mode, race, driver) with the probability each model gave before the race; `progress`
    hears of each season done, with an estimate of the time the rest will take."""
    seasons = list(seasons)
    countdown = Countdown(len(seasons))
    folds = []
    for season in seasons:
        folds.append(predict_seasons(frame, lineup, modes, train_first_season, [season]))
        if progress is not None:
            progress(f"walk-forward season {season} done; seasons {countdown.tick()}")
    return pl.concat(folds)


def predict_seasons(
    frame: pl.DataFrame, lineup: Lineup, modes: Iterable[Mode], train_first_season: int, seasons: Sequence[int]
) -> pl.DataFrame:
    """Fit on the seasons from `train_first_season` up to the first of `seasons`; predict all of `seasons`."""
    test = completed(frame).filter(pl.col("season").is_in(list(seasons)))
    train = training_rows(frame, train_first_season, min(seasons))
    parts = [
        test.select(*RACE_KEY, "driver_id", "won").with_columns(
            model=pl.lit(name), mode=pl.lit(mode), probability=pl.Series(model.fit(train).predict(test))
        )
        for mode in modes
        for name, model in (lineup(mode).items() if test.height else ())
    ]
    return pl.concat(parts).select(*PREDICTION_KEY, "won", "probability") if parts else _EMPTY


PREDICTION_KEY = ("model", "mode", *RACE_KEY, "driver_id")
_EMPTY = pl.DataFrame(
    schema={
        "model": pl.String,
        "mode": pl.String,
        "season": pl.Int32,
        "round": pl.Int32,
        "driver_id": pl.String,
        "won": pl.Boolean,
        "probability": pl.Float64,
    }
)


def with_averages(predictions: pl.DataFrame, averages: Mapping[Name, Sequence[str]]) -> pl.DataFrame:
    """Add models whose distribution is the mean of others' (a mean of distributions is one), without refitting.

    Averages are added in order, so one may average an earlier one.
    """
    for name, members in averages.items():
        derived = (
            predictions.filter(pl.col("model").is_in(list(members)))
            .group_by(PREDICTION_KEY[1:])
            .agg(pl.col("won").first(), pl.col("probability").mean(), members=pl.len())
            .filter(pl.col("members") == len(members))
            .select(pl.lit(name).alias("model"), *PREDICTION_KEY[1:], "won", "probability")
        )
        predictions = pl.concat([predictions, derived])
    return predictions.sort(PREDICTION_KEY)


def race_scores(predictions: pl.DataFrame) -> pl.DataFrame:
    """Per-race metrics (log loss, Brier, top-1, top-3) of every model and mode in a predictions frame."""
    return pl.concat(
        race_metrics(group, group["probability"].to_numpy()).with_columns(model=pl.lit(model), mode=pl.lit(mode))
        for (model, mode), group in predictions.group_by("model", "mode", maintain_order=True)
    ).select("model", "mode", pl.exclude("model", "mode"))
