"""End to end on seasons 2012-2026: the predictions carry consistent finishing-order outcomes and contributions, the
current season's title odds are a distribution per championship, and the title backtest scores every round from 3
to the second-to-last of 2017-2025."""

import json

import polars as pl
import pytest

from f1_pipeline.modeling.outcomes import outcome_problems
from f1_pipeline.tables import (
    BACKTEST_SUMMARY,
    CHAMPIONSHIP_BACKTEST,
    CHAMPIONSHIP_ODDS,
    NEXT_RACE,
    PREDICTION_ACCURACY,
    PROMOTIONS,
    RACE_PREDICTIONS,
)
from tests.conftest import warehouse_of


def test_predictions_carry_outcomes_and_contributions(trained):
    settings, result = trained
    store = warehouse_of(settings)
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["check_next_race_outcomes_consistent"]
    assert checks["check_race_predictions_outcomes_consistent"]
    nxt = store.read(NEXT_RACE)
    assert outcome_problems(nxt, by=("mode",)).is_empty()
    assert nxt["podium_probability"].sum() == pytest.approx(3.0)
    assert all(len(json.loads(text)) == 3 for text in nxt["top_contributions"])
    history = store.read(RACE_PREDICTIONS)
    assert outcome_problems(history, by=("mode",)).is_empty()
    assert history["finish_position"].is_not_null().any()
    accuracy = store.read(PREDICTION_ACCURACY)
    assert accuracy["podium_log_loss"].null_count() == 0


def test_current_title_odds_and_their_backtest(trained):
    settings, _ = trained
    store = warehouse_of(settings)
    odds = store.read(CHAMPIONSHIP_ODDS)
    assert odds.select("season", "after_round").unique().rows() == [(2026, 11)]
    totals = odds.group_by("entity").agg(pl.col("title_probability").sum()).sort("entity")
    assert totals["title_probability"].to_list() == pytest.approx([1.0, 1.0])
    assert odds["name"].null_count() == 0
    drivers = odds.filter(entity="driver")
    assert (drivers["expected_points"] >= drivers["points_now"]).all()
    backtest = store.read(CHAMPIONSHIP_BACKTEST)
    # from train_first_season + 5 (2017): the first seasons train the strengths, the drift and the baseline
    assert backtest["season"].unique().sort().to_list() == list(range(2017, 2026))
    rounds_2025 = backtest.filter(season=2025, entity="driver")["after_round"].sort().to_list()
    assert rounds_2025 == list(range(3, 24))
    for method in ("model", "fixed", "baseline"):
        assert backtest[f"{method}_probability"].is_between(0, 1).all()
    summary = store.read(BACKTEST_SUMMARY)
    assert summary.filter(model="grid_podium_rate")["podium_log_loss"].null_count() == 0
    promotions = store.read(PROMOTIONS)
    assert {"candidate_podium_log_loss", "champion_podium_log_loss"} <= set(promotions.columns)
