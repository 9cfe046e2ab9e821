"""Podium (top-3 membership) metrics, the grid podium baseline, the backtest summary's podium columns and the gate's
podium guard."""

import math

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.backtest import fingerprint
from f1_pipeline.modeling.baselines import GridPodiumRate, capped_scale, grid_podium_backtest
from f1_pipeline.modeling.candidates import Recipe
from f1_pipeline.modeling.feature_matrix import MODES
from f1_pipeline.modeling.metrics import PODIUM_BASELINE, podium_calibration, podium_race_metrics
from f1_pipeline.modeling.promotion import PODIUM_MARGIN, Evaluation, decide, evaluation_of
from f1_pipeline.modeling.training import Seasons, recipe_backtest, summary
from tests.modeling_data import real_features


def _race(podium: list[float], finish: list[int | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {"season": 2020, "round": 1, "driver_id": [f"d{i}" for i in range(len(podium))], "finish_position": finish},
        schema_overrides={"season": pl.Int32, "round": pl.Int32, "finish_position": pl.Int32},
    )


def test_podium_metrics_of_one_race_by_hand():
    probability = np.array([0.9, 0.8, 0.7, 0.4, 0.2])
    frame = _race(list(probability), [1, 4, 2, None, 3])
    row = podium_race_metrics(frame, probability).row(0, named=True)
    on_podium = np.array([1, 0, 1, 0, 1])
    expected = -np.sum(on_podium * np.log(probability) + (1 - on_podium) * np.log(1 - probability))
    assert row["podium_log_loss"] == pytest.approx(expected)
    assert row["podium_brier"] == pytest.approx(np.sum((probability - on_podium) ** 2))


def test_podium_metrics_refuse_a_field_that_does_not_sum_to_three():
    with pytest.raises(ValueError, match="min\\(3, field\\)"):
        podium_race_metrics(_race([0.5, 0.5, 0.5, 0.5], [1, 2, 3, 4]), np.full(4, 0.5))


def test_podium_calibration_counts_drivers_per_bin():
    probability = np.array([0.95, 0.85, 0.75, 0.3, 0.15])
    curve = podium_calibration(_race(list(probability), [1, 2, 5, 3, 4]), probability, bins=10)
    assert curve["count"].sum() == 5
    assert curve.filter(bin=9)["observed_rate"][0] == 1.0
    assert curve.filter(bin=7)["observed_rate"][0] == 0.0


def test_capped_scale_sums_to_the_total_without_exceeding_one():
    scaled = capped_scale(np.array([0.9, 0.8, 0.3, 0.1, 0.0]), 3)
    assert scaled.sum() == pytest.approx(3)
    assert scaled.max() <= 1
    assert scaled[0] == scaled[1] == 1.0
    assert scaled[2] / scaled[3] == pytest.approx(3)


def test_the_grid_podium_baseline_learns_slot_rates_on_real_races():
    frame = real_features()
    train, test = frame.filter(season=2019), frame.filter(season=2020)
    model = GridPodiumRate().fit(train)
    assert model.slot_podium_rate_["1"] > model.slot_podium_rate_["10"]
    rates = model.predict_podium(test)
    totals = test.with_columns(rate=pl.Series(rates)).group_by("round").agg(pl.col("rate").sum(), pl.len())
    assert np.allclose(totals["rate"], np.minimum(3, totals["len"]))
    walk = grid_podium_backtest(frame, [2020, 2021], 2019)
    assert walk.select("season", "round").n_unique() == frame.filter(pl.col("season") >= 2020).select(
        "season", "round"
    ).n_unique() - int(frame["is_next"].any())


@pytest.fixture(scope="module")
def walk_forward():
    frame = real_features()
    seasons = Seasons(train_first=2019, validation_first=2020, backtest_first=2021)
    recipes = dict.fromkeys(MODES, Recipe("conditional_logit"))
    return frame, recipe_backtest(frame, recipes, seasons)


def test_the_backtest_summary_carries_podium_metrics_for_every_model_and_the_grid_baseline(walk_forward):
    _, predictions = walk_forward
    assert {"podium_probability", "finish_position", PODIUM_BASELINE} <= set(predictions.columns)
    table = summary(predictions)
    assert table.filter(pl.col("model") != PODIUM_BASELINE)["podium_log_loss"].null_count() == 0
    baseline = table.filter(model=PODIUM_BASELINE).row(0, named=True)
    assert baseline["mode"] == "post_qualifying" and baseline["log_loss"] is None
    assert baseline["races"] == 22
    post = table.filter(model="candidate", mode="post_qualifying").row(0, named=True)
    assert 0 < post["podium_brier"] < baseline["podium_brier"] * 1.5
    assert summary(predictions, by_season=True)["podium_log_loss"].null_count() == 0


def test_the_evaluation_measures_the_podium_of_its_walk_forward(walk_forward):
    frame, predictions = walk_forward
    evaluation = evaluation_of(predictions, fingerprint(frame))
    table = summary(predictions).filter(model="candidate")
    assert evaluation.podium_log_loss == pytest.approx(table["podium_log_loss"].mean())


def _evaluation(log_loss: float, podium: float | None) -> Evaluation:
    return Evaluation(log_loss=log_loss, races=40, fingerprint="abc", podium_log_loss=podium)


@pytest.mark.parametrize(
    ("candidate_podium", "promote"),
    [
        (4.0, True),
        (4.0 * (1 + PODIUM_MARGIN), True),
        (math.nextafter(4.0 * (1 + PODIUM_MARGIN), 9), False),
        (4.5, False),
        (None, True),
    ],
)
def test_a_better_winner_model_is_refused_when_its_podium_is_clearly_worse(candidate_podium, promote):
    decision = decide(_evaluation(1.20, candidate_podium), _evaluation(1.25, 4.0))
    assert decision.promote is promote
    if not promote:
        assert "podium" in decision.reason and "kept the champion" in decision.reason


def test_a_worse_winner_model_is_never_promoted_for_its_podium():
    assert not decide(_evaluation(1.30, 3.0), _evaluation(1.25, 4.0)).promote
