"""Walk-forward evaluation by season: train on the seasons before S, predict every race of S.

A random split would let a model learn a season from its own later races; by season, every prediction is one the
model could have made at the time (its features are point in time, its training data strictly earlier).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Protocol, Self

import numpy as np
import polars as pl

from f1_pipeline.modeling.features import Mode
from f1_pipeline.modeling.field import RACE_KEY


class RaceModel(Protocol):
    def fit(self, train: pl.DataFrame) -> Self: ...

    def predict(self, frame: pl.DataFrame) -> np.ndarray: ...


ModelFactory = Callable[[Mode], RaceModel]


def completed(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows of races with exactly one winner: what a model can learn from and be scored on.

    Shared drives of the 1950s could give a race two winners; such races are left out.
    """
    return frame.filter(pl.col("won").is_not_null()).filter(pl.col("won").sum().over(RACE_KEY) == 1)


def training_rows(frame: pl.DataFrame, first_season: int, before_season: int) -> pl.DataFrame:
    return completed(frame).filter(pl.col("season").is_between(first_season, before_season - 1))


def walk_forward(
    frame: pl.DataFrame,
    models: Mapping[str, ModelFactory],
    modes: Iterable[Mode],
    seasons: Iterable[int],
    train_first_season: int,
) -> pl.DataFrame:
    """One row per (model, mode, race, driver) with the probability each model gave before the race."""
    scored = completed(frame)
    parts = []
    for season in seasons:
        test = scored.filter(season=season)
        if test.is_empty():
            continue
        train = training_rows(frame, train_first_season, season)
        for mode in modes:
            for name, factory in models.items():
                probability = factory(mode).fit(train).predict(test)
                parts.append(
                    test.select(*RACE_KEY, "driver_id", "won").with_columns(
                        model=pl.lit(name), mode=pl.lit(mode), probability=pl.Series(probability)
                    )
                )
    return pl.concat(parts).select("model", "mode", *RACE_KEY, "driver_id", "won", "probability")
