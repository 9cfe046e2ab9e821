"""The prediction tables' declarations: the accuracy table's per-outcome columns follow the scored outcomes, it is
written in its declared order, and the published tables of predictions word their columns as the warehouse's."""

from dataclasses import replace
from datetime import date

import numpy as np
import polars as pl
import pytest

from f1_pipeline.contracts import Contract, schema_problems, value_problems
from f1_pipeline.modeling.champion_predictions import (
    NEXT_RACE_CONTRACT,
    OUTCOME_LOSS_COLUMNS,
    PREDICTION_ACCURACY_CONTRACT,
    RACE_PREDICTIONS_CONTRACT,
    accuracy_by_race,
)
from f1_pipeline.modeling.metrics import OUTCOMES
from f1_pipeline.modeling.title_odds import CHAMPIONSHIP_ODDS_CONTRACT, TITLE_ODDS_BY_ROUND_CONTRACT
from f1_pipeline.serving_tables import BY_NAME
from tests.modeling_data import two_scored_races


def test_one_loss_column_per_scored_outcome_last_in_the_accuracy_table():
    names = [column.name for column in OUTCOME_LOSS_COLUMNS]
    assert names == [f"{outcome}_driver_log_loss" for outcome in OUTCOMES]
    assert list(PREDICTION_ACCURACY_CONTRACT.schema)[-len(names) :] == names
    for column, forecast in zip(OUTCOME_LOSS_COLUMNS, OUTCOMES.values(), strict=True):
        assert f"`{forecast}`" in column.description


def _race_predictions() -> pl.DataFrame:
    """Two four-car races of 2024 in both modes, every published chance beside P(win): one retirement in each."""
    race = two_scored_races().with_columns(
        top6_probability=pl.Series([0.99, 0.98, 0.97, 0.96] * 2),
        points_probability=pl.Series([0.95, 0.9, 0.85, 0.8] * 2),
        model_version=pl.lit("7"),
    )
    return pl.concat(race.with_columns(mode=pl.lit(mode)) for mode in ("post_qualifying", "pre_qualifying"))


_RACES = pl.DataFrame(
    {
        "season": [2024, 2024],
        "round": [1, 2],
        "race_name": ["Bahrain Grand Prix", "Saudi Arabian Grand Prix"],
        "date": [date(2024, 3, 2), date(2024, 3, 9)],
        "circuit_id": ["bahrain", "jeddah"],
    },
    schema_overrides={"season": pl.Int32, "round": pl.Int32},
)


def test_the_accuracy_table_is_written_in_its_declared_columns_and_order():
    table = accuracy_by_race(_race_predictions(), _RACES)
    assert table.columns == list(PREDICTION_ACCURACY_CONTRACT.schema)
    assert schema_problems(table, PREDICTION_ACCURACY_CONTRACT.schema) == []
    assert value_problems(table, PREDICTION_ACCURACY_CONTRACT.rules) == []
    assert table.select(PREDICTION_ACCURACY_CONTRACT.key).is_unique().all()
    assert table["race_name"].to_list() == ["Bahrain Grand Prix", "Saudi Arabian Grand Prix"] * 2


def test_a_races_outcome_loss_is_the_mean_over_its_drivers():
    first = accuracy_by_race(_race_predictions(), _RACES).row(0, named=True)
    forecasts = np.array([0.9, 0.8, 0.6, 0.7])
    happened = np.array([1, 1, 0, 1])
    expected = -np.mean(happened * np.log(forecasts) + (1 - happened) * np.log(1 - forecasts))
    assert first["podium_driver_log_loss"] == pytest.approx(expected)
    assert first["win_driver_log_loss"] == pytest.approx(-np.mean(np.log([0.5, 0.7, 0.9, 0.9])))


@pytest.mark.parametrize(
    ("published", "warehouse"),
    [
        ("next_race", NEXT_RACE_CONTRACT),
        ("race_predictions", RACE_PREDICTIONS_CONTRACT),
        ("prediction_accuracy", PREDICTION_ACCURACY_CONTRACT),
        ("championship_odds", CHAMPIONSHIP_ODDS_CONTRACT),
        ("title_odds_by_round", TITLE_ODDS_BY_ROUND_CONTRACT),
    ],
)
def test_a_published_table_of_predictions_words_its_columns_as_the_warehouse_table(published: str, warehouse: Contract):
    """Each column in the warehouse's type, words and example; a published table checks its own rules."""
    for column in BY_NAME[published].columns:
        assert replace(column, rule=None) == replace(warehouse.column(column.name), rule=None)
