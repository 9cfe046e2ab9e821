"""The registered model: both modes' fitted models and their feature pipeline behind MLflow's pyfunc interface.

Input is rows of the `race_features` table (any races, any order); output is one probability per row, summing to
1 within each race, for the mode given as the `mode` parameter, and the features that moved each driver most
(`top_contributions`), so whoever loads the model (the pipeline, the API after a new champion) explains alike.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
from mlflow.pyfunc.model import PythonModel

from f1_pipeline.modeling.backtest import RaceModel
from f1_pipeline.modeling.feature_matrix import MODES, Mode
from f1_pipeline.modeling.field import RACE_KEY

DEFAULT_MODE: Mode = "post_qualifying"
OUTPUT_COLUMNS = (*RACE_KEY, "driver_id", "mode", "probability", "top_contributions")
CONTRIBUTIONS_SHOWN = 3
"""How many features `top_contributions` lists per driver: the largest by absolute contribution."""


class RaceWinnerModel(PythonModel):
    """Predicts with the model of the requested mode; refuses an unknown mode or missing feature columns."""

    def __init__(self, models: Mapping[Mode, RaceModel]) -> None:
        self.models = dict(models)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        mode = (params or {}).get("mode", DEFAULT_MODE)
        if mode not in self.models:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        frame = pl.from_pandas(model_input)
        model = self.models[mode]
        probability = model.predict(frame)
        return (
            frame.select(*RACE_KEY, "driver_id")
            .with_columns(
                mode=pl.lit(mode),
                probability=pl.Series(probability),
                top_contributions=pl.Series(top_contributions(model, frame), dtype=pl.String),
            )
            .to_pandas()
        )


def top_contributions(model: RaceModel, frame: pl.DataFrame) -> list[str | None]:
    """Per row, JSON `[{"feature": ..., "contribution": ...}, ...]`: the `CONTRIBUTIONS_SHOWN` features whose part in
    the driver's score against the race's mean driver is largest in size (positive: raised his chance). In the
    model's own score units (log-odds for the linear estimators and XGBoost, win-share points for the forest); null
    for a model that cannot say (one registered before models could)."""
    explain = getattr(model, "contributions", None)
    if explain is None:
        return [None] * frame.height
    parts = explain(frame)
    features = [column for column in parts.columns if column not in (*RACE_KEY, "driver_id")]
    values = parts.select(features).to_numpy()
    order = np.argsort(-np.abs(values), axis=1)[:, :CONTRIBUTIONS_SHOWN]
    return [
        json.dumps([{"feature": features[k], "contribution": round(float(row[k]), 4)} for k in ranked])
        for row, ranked in zip(values, order, strict=True)
    ]
