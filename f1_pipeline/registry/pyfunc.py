"""The registered model: both modes' fitted models and their feature pipeline behind MLflow's pyfunc interface.

Input is rows of the `race_features` table (any races, any order); output is one probability per row, summing to
1 within each race, for the mode given as the `mode` parameter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow.pyfunc
import pandas as pd
import polars as pl

from f1_pipeline.modeling.backtest import RaceModel
from f1_pipeline.modeling.features import MODES, Mode
from f1_pipeline.modeling.field import RACE_KEY

DEFAULT_MODE: Mode = "post_qualifying"
OUTPUT_COLUMNS = (*RACE_KEY, "driver_id", "mode", "probability")


class RaceWinnerModel(mlflow.pyfunc.PythonModel):
    """Predicts with the model of the requested mode; refuses an unknown mode or missing feature columns."""

    def __init__(self, models: Mapping[Mode, RaceModel]) -> None:
        self.models = dict(models)

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        mode = (params or {}).get("mode", DEFAULT_MODE)
        if mode not in self.models:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        frame = pl.from_pandas(model_input)
        probability = self.models[mode].predict(frame)
        return (
            frame.select(*RACE_KEY, "driver_id")
            .with_columns(mode=pl.lit(mode), probability=pl.Series(probability))
            .to_pandas()
        )
