"""Scoring a race with a loaded champion: the pipeline's next-race asset and the API (after a new champion) share it,
so both say the same thing for the same rows."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl
from mlflow.pyfunc import PyFuncModel

from f1_pipeline.modeling.feature_matrix import MODES, Mode
from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.outcomes import RACE_TROUBLE, finishing_outcomes
from f1_pipeline.modeling.reliability import ReliabilityInputs, not_classified_probabilities
from f1_pipeline.registry.tracking import model_input
from f1_pipeline.tables import RACE_RESULTS, RACES

if TYPE_CHECKING:  # the API scores with this module and never imports DuckDB
    from f1_pipeline.warehouse import Warehouse


def available_modes(rows: pl.DataFrame) -> list[Mode]:
    """Pre-qualifying always; post-qualifying only once the weekend's qualifying (the grid) is in the rows."""
    return [mode for mode in MODES if mode == "pre_qualifying" or rows["qualifying_position"].is_not_null().any()]


def score(model: PyFuncModel, rows: pl.DataFrame) -> pl.DataFrame:
    """season, round, driver_id, mode, probability for every available mode of the rows' races."""
    return pl.concat(
        pl.from_pandas(model.predict(model_input(rows), params={"mode": mode})) for mode in available_modes(rows)
    ).cast({"season": pl.Int32, "round": pl.Int32})


def with_outcomes(predictions: pl.DataFrame, rows: pl.DataFrame, not_classified: pl.DataFrame) -> pl.DataFrame:
    """The scored predictions with each driver's team (from the rows scored) and what the win distribution and the
    reliability model's `not_classified` (mode, season, round, driver_id, not_classified_probability) say of the
    whole finishing order, in the published race law of each mode (`RACE_TROUBLE`): podium, top 6, points, not
    classified, expected place, teammate, the team's win. Rows keep their order."""
    key = [*RACE_KEY, "driver_id"]
    teams = rows.select(*key, "constructor_id").unique(key)
    failing = not_classified.select("mode", *key, "not_classified_probability").unique(["mode", *key])
    joined = predictions.drop("not_classified_probability", strict=False).join(
        teams, on=key, how="left", maintain_order="left"
    )
    joined = joined.join(failing, on=["mode", *key], how="left", maintain_order="left")
    missing = joined.filter(pl.col("not_classified_probability").is_null())
    if not missing.is_empty():
        first = missing.row(0, named=True)
        raise ValueError(
            f"no reliability for {missing.height} prediction(s), e.g. {first['driver_id']} in "
            f"{first['season']}/{first['round']} ({first['mode']})"
        )
    return (
        pl.concat(
            finishing_outcomes(group, by=("mode",), trouble=RACE_TROUBLE[mode])
            for (mode,), group in joined.with_row_index("_row").group_by("mode", maintain_order=True)
        )
        .sort("_row")
        .drop("_row")
    )


def reliability_of(store: Warehouse, rows: pl.DataFrame) -> pl.DataFrame:
    """Each row's walk-forward P(not classified), both modes (`modeling/reliability.py`), from the warehouse's
    results and calendar; `rows` are feature rows (season, round, driver_id, constructor_id, grid)."""
    inputs = ReliabilityInputs(results=store.read(RACE_RESULTS), races=store.read(RACES))
    return not_classified_probabilities(inputs, rows.select(*RACE_KEY, "driver_id", "constructor_id", "grid"))


def outcomes_of_models(predictions: pl.DataFrame, rows: pl.DataFrame, not_classified: pl.DataFrame) -> pl.DataFrame:
    """`with_outcomes` of each `model`'s walk-forward predictions (a backtest of several models)."""
    return pl.concat(
        with_outcomes(group, rows, not_classified) for _, group in predictions.group_by("model", maintain_order=True)
    )


def with_rank(predictions: pl.DataFrame) -> pl.DataFrame:
    """1 = the most likely winner, within each race and mode."""
    return predictions.with_columns(rank=pl.col("probability").rank("ordinal", descending=True).over(*RACE_KEY, "mode"))
