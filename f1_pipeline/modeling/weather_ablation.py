"""The candidate's model family without weather, beside the same model family with it, on the same races: what
weather buys."""

from __future__ import annotations

from typing import Self

import numpy as np
import polars as pl

from f1_pipeline.modeling.backtest import RaceModel
from f1_pipeline.modeling.candidates import Recipe
from f1_pipeline.modeling.feature_matrix import WEATHER_COLUMNS, Mode

WITHOUT_WEATHER = "candidate_without_weather"
"""The backtest's name for the candidate's model family fitted and scored with its weather columns blanked."""


class WithoutWeather:
    """A model that sees the weather columns null, as it would without a weather source."""

    def __init__(self, model: RaceModel) -> None:
        self.model = model

    def fit(self, train: pl.DataFrame) -> Self:
        self.model.fit(blank_weather(train))
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return self.model.predict(blank_weather(frame))


def blank_weather(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.lit(None, pl.Float64).alias(column) for column in WEATHER_COLUMNS)


def weather_ablation(frame: pl.DataFrame, recipe: Recipe, mode: Mode) -> dict[str, RaceModel]:
    """The candidate's model family without weather, where the features have weather; nothing otherwise (the same model
    twice would only double the backtest's time)."""
    if frame.select(pl.any_horizontal(pl.col(WEATHER_COLUMNS).is_not_null()).any()).item():
        return {WITHOUT_WEATHER: WithoutWeather(recipe.build(mode))}
    return {}
