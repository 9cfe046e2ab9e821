"""The registered model's output: win probabilities with each driver's strongest feature contributions, and the
finishing-order outcomes scored rows gain."""

import json

import polars as pl
import pytest

from f1_pipeline.modeling.backtest import completed
from f1_pipeline.modeling.baselines import EloOnly
from f1_pipeline.modeling.estimators import ConditionalLogit
from f1_pipeline.modeling.outcomes import outcome_problems
from f1_pipeline.registry.pyfunc import CONTRIBUTIONS_SHOWN, OUTPUT_COLUMNS, RaceWinnerModel
from f1_pipeline.registry.scoring import with_outcomes
from f1_pipeline.registry.tracking import model_input
from tests.modeling_data import real_features


@pytest.fixture(scope="module")
def scored():
    frame = real_features()
    train = completed(frame).filter(pl.col("season") < 2021)
    race = frame.filter(season=2021, round=5)
    model = RaceWinnerModel({"pre_qualifying": ConditionalLogit("pre_qualifying").fit(train)})
    output = pl.from_pandas(model.predict(None, model_input(race), {"mode": "pre_qualifying"}))
    return race, model, output


def test_each_driver_gets_his_largest_contributions_in_order(scored):
    race, model, output = scored
    assert tuple(output.columns) == OUTPUT_COLUMNS
    explained = model.models["pre_qualifying"].contributions(race)
    for row in output.iter_rows(named=True):
        listed = json.loads(row["top_contributions"])
        assert len(listed) == CONTRIBUTIONS_SHOWN
        sizes = [abs(item["contribution"]) for item in listed]
        assert sizes == sorted(sizes, reverse=True)
        own = explained.filter(driver_id=row["driver_id"]).drop("season", "round", "driver_id").row(0, named=True)
        assert max(abs(value) for value in own.values()) == pytest.approx(sizes[0], abs=1e-4)
        assert own[listed[0]["feature"]] == pytest.approx(listed[0]["contribution"], abs=1e-4)


def test_a_model_without_contributions_still_predicts():
    frame = real_features()
    train = completed(frame).filter(pl.col("season") < 2021)
    race = frame.filter(season=2021, round=5)
    model = RaceWinnerModel({"pre_qualifying": EloOnly().fit(train)})
    output = pl.from_pandas(model.predict(None, model_input(race), {"mode": "pre_qualifying"}))
    assert output["top_contributions"].null_count() == output.height
    assert output["probability"].sum() == pytest.approx(1.0)


def test_scored_rows_gain_consistent_finishing_order_outcomes(scored):
    race, _, output = scored
    predictions = output.cast({"season": pl.Int32, "round": pl.Int32})
    failing = predictions.select("mode", "season", "round", "driver_id", not_classified_probability=pl.lit(0.1))
    outcomes = with_outcomes(predictions, race, failing)
    assert outcomes.height == race.height
    assert outcome_problems(outcomes, by=("mode",)).is_empty()
    assert outcomes["constructor_id"].null_count() == 0
    assert 2.9 < outcomes["podium_probability"].sum() < 3
    assert outcomes["points_probability"].max() <= 0.9 + 1e-9
    with pytest.raises(ValueError, match="no reliability"):
        with_outcomes(predictions, race, failing.head(1))
