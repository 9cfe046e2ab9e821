"""Race-level scores of winner distributions, checked against numbers worked out by hand."""

import math

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.metrics import (
    calibration,
    expected_calibration_error,
    forecast_calibration,
    forecast_scores,
    outcome_calibration,
    outcome_labels,
    outcome_race_scores,
    outcome_scores,
    outcome_summary,
    race_metrics,
    summarise,
)
from f1_pipeline.modeling.title_forecasts import title_forecast_rows
from tests.modeling_data import two_scored_races


def races(*fields: tuple[int, list[bool]]) -> pl.DataFrame:
    """Rows for races given as (round, won flags), in season 2024, drivers named d0, d1, ..."""
    rows = [
        {"season": 2024, "round": round_, "driver_id": f"d{slot}", "won": won}
        for round_, flags in fields
        for slot, won in enumerate(flags)
    ]
    return pl.DataFrame(rows, schema={"season": pl.Int32, "round": pl.Int32, "driver_id": pl.Utf8, "won": pl.Boolean})


def test_a_three_driver_race_scored_by_hand():
    frame = races((1, [False, True, False]))
    row = race_metrics(frame, np.array([0.5, 0.3, 0.2])).row(0, named=True)
    assert row["log_loss"] == pytest.approx(-math.log(0.3))
    assert row["brier"] == pytest.approx(0.25 + 0.49 + 0.04)
    assert row["top1"] is False
    assert row["top3"] is True
    assert row["winner_probability"] == pytest.approx(0.3)
    assert row["field_size"] == 3
    assert (row["season"], row["round"]) == (2024, 1)


def test_one_row_per_race_in_race_order_whatever_the_row_order():
    frame = races((2, [True, False]), (1, [False, True, False, False]))
    probability = np.array([0.9, 0.1, 0.1, 0.4, 0.3, 0.2])
    metrics = race_metrics(frame, probability)
    assert metrics["round"].to_list() == [1, 2]
    assert metrics["top1"].to_list() == [True, True]
    assert metrics["log_loss"].to_list() == pytest.approx([-math.log(0.4), -math.log(0.9)])


def test_a_certain_wrong_prediction_has_a_finite_clipped_log_loss():
    metrics = race_metrics(races((1, [False, True])), np.array([1.0, 0.0]))
    assert metrics["log_loss"].item() == pytest.approx(-math.log(1e-15))
    assert metrics["brier"].item() == pytest.approx(2.0)


def test_ties_count_against_the_winner():
    uniform = race_metrics(races((1, [True, False, False, False])), np.full(4, 0.25)).row(0, named=True)
    assert (uniform["top1"], uniform["top3"]) == (False, False)
    shared_lead = race_metrics(races((1, [False, True, False])), np.array([0.4, 0.4, 0.2])).row(0, named=True)
    assert (shared_lead["top1"], shared_lead["top3"]) == (False, True)
    outright = race_metrics(races((1, [True, False, False])), np.array([0.5, 0.25, 0.25])).row(0, named=True)
    assert (outright["top1"], outright["top3"]) == (True, True)


def test_top3_is_the_three_most_likely():
    frame = races((1, [False, False, False, True, False]))
    assert not race_metrics(frame, np.array([0.3, 0.25, 0.2, 0.15, 0.1]))["top3"].item()
    assert race_metrics(frame, np.array([0.3, 0.25, 0.1, 0.2, 0.15]))["top3"].item()


@pytest.mark.parametrize(
    ("flags", "probability", "message"),
    [
        ([False, False, False], [0.5, 0.3, 0.2], "exactly one winner"),
        ([True, True, False], [0.5, 0.3, 0.2], "exactly one winner"),
        ([True, False, False], [0.5, 0.3, 0.3], "sum to 1"),
        ([True, False, False], [0.5, 0.5], "one probability per row"),
        ([True, False, False], [1.2, -0.1, -0.1], "within"),
        ([True, False, False], [np.nan, 0.5, 0.5], "finite"),
    ],
)
def test_malformed_inputs_are_refused(flags, probability, message):
    with pytest.raises(ValueError, match=message):
        race_metrics(races((1, flags)), np.array(probability))


def test_the_error_names_the_offending_race():
    frame = races((1, [True, False]), (7, [False, False]))
    with pytest.raises(ValueError, match=r"2024/7 \(winners=0\)"):
        race_metrics(frame, np.array([0.5, 0.5, 0.5, 0.5]))


def test_a_race_not_yet_run_cannot_be_scored():
    frame = races((1, [True, False])).with_columns(won=pl.lit(None, pl.Boolean))
    with pytest.raises(ValueError, match="null"):
        race_metrics(frame, np.array([0.5, 0.5]))


def test_tolerance_on_the_sum():
    frame = races((1, [True, False]))
    race_metrics(frame, np.array([0.5, 0.5 + 5e-7]))
    with pytest.raises(ValueError, match="sum to 1"):
        race_metrics(frame, np.array([0.5, 0.5 + 5e-6]))


def test_summarise_means_per_group_and_overall():
    metrics = pl.DataFrame(
        {
            "model": ["a", "a", "b"],
            "season": [2023, 2024, 2024],
            "log_loss": [1.0, 2.0, 4.0],
            "brier": [0.2, 0.4, 0.9],
            "top1": [True, False, False],
            "top3": [True, True, False],
        }
    )
    by_model = summarise(metrics, by=["model"])
    assert by_model.columns == ["model", "races", "log_loss", "brier", "top1", "top3"]
    assert by_model.row(0) == ("a", 2, pytest.approx(1.5), pytest.approx(0.3), 0.5, 1.0)
    assert by_model.row(1) == ("b", 1, 4.0, 0.9, 0.0, 0.0)
    overall = summarise(metrics)
    assert overall.row(0) == (3, pytest.approx(7 / 3), pytest.approx(0.5), pytest.approx(1 / 3), pytest.approx(2 / 3))
    assert summarise(metrics, by=["model", "season"])["races"].to_list() == [1, 1, 1]


def test_calibration_bins_by_equal_width():
    # Four races of two drivers: the favourites (0.9, 0.7) and outsiders (0.1, 0.3).
    frame = races((1, [True, False]), (2, [True, False]), (3, [False, True]), (4, [True, False]))
    probability = np.array([0.9, 0.1, 0.9, 0.1, 0.7, 0.3, 0.7, 0.3])
    curve = calibration(frame, probability, bins=2)
    assert curve.columns == ["bin", "mean_probability", "observed_rate", "count"]
    assert curve["bin"].to_list() == [0, 1]
    assert curve["mean_probability"].to_list() == pytest.approx([0.2, 0.8])
    assert curve["observed_rate"].to_list() == pytest.approx([0.25, 0.75])
    assert curve["count"].to_list() == [4, 4]
    assert expected_calibration_error(frame, probability, bins=2) == pytest.approx(0.05)


def test_calibration_leaves_out_empty_bins_and_puts_certainty_in_the_last():
    frame = races((1, [True, False]), (2, [False, True]))
    curve = calibration(frame, np.array([1.0, 0.0, 0.0, 1.0]), bins=10)
    assert curve["bin"].to_list() == [0, 9]
    assert expected_calibration_error(frame, np.array([1.0, 0.0, 0.0, 1.0])) == pytest.approx(0.0)


def test_calibration_needs_a_bin():
    with pytest.raises(ValueError, match="bins"):
        calibration(races((1, [True])), np.array([1.0]), bins=0)


def test_every_published_outcome_is_scored_with_the_same_metric_names():
    scores = outcome_scores(two_scored_races())
    assert set(scores["outcome"]) == {"win", "podium", "not_classified", "teammate"}
    podium = scores.filter(outcome="podium").row(0, named=True)
    forecasts = np.array([0.9, 0.8, 0.6, 0.7] * 2)
    happened = np.array([1, 1, 0, 1, 1, 1, 1, 0])
    expected = -np.mean(happened * np.log(forecasts) + (1 - happened) * np.log(1 - forecasts))
    assert podium["driver_log_loss"] == pytest.approx(expected)
    assert podium["driver_brier"] == pytest.approx(np.mean((forecasts - happened) ** 2))
    # bins 6, 7, 8, 9 hold (0.6: 1 of 2), (0.7: 1 of 2), (0.8: 2 of 2), (0.9: 2 of 2)
    assert podium["ece"] == pytest.approx((0.1 * 2 + 0.2 * 2 + 0.2 * 2 + 0.1 * 2) / 8)
    teammate = outcome_labels(two_scored_races())["teammate_happened"].to_list()
    assert teammate == [True, False, False, True, False, True, True, False]


def test_the_reliability_table_counts_every_forecast_once_per_outcome():
    curve = outcome_calibration(two_scored_races())
    assert curve.group_by("outcome").agg(pl.col("count").sum()).sort("outcome")["count"].to_list() == [8, 8, 8, 8]
    not_classified = curve.filter(outcome="not_classified").sort("bin")
    assert not_classified["observed_rate"].to_list() == [0.0, 0.0, 0.5, 0.5]
    assert outcome_race_scores(two_scored_races()).height == 8


def test_outcome_scores_by_season_name_the_season_once():
    by_season = outcome_summary(two_scored_races().with_columns(mode=pl.lit("pre_qualifying")), ["mode", "season"])
    assert by_season.height == 1 and by_season["season"].to_list() == [2024]
    assert {"podium_driver_log_loss", "not_classified_ece", "teammate_driver_brier"} <= set(by_season.columns)
    assert outcome_race_scores(two_scored_races(), by=["season"]).height == 8


def _one_outcome(forecast: np.ndarray, happened: np.ndarray) -> pl.DataFrame:
    """Races of one driver each (so every P(win) sums to 1), scored on the podium: the forecasts as P(podium)."""
    races = len(forecast)
    return pl.DataFrame(
        {
            "season": [2024] * races,
            "round": list(range(1, races + 1)),
            "driver_id": ["a"] * races,
            "constructor_id": ["x"] * races,
            "won": [True] * races,
            "finish_position": [1 if came_true else 4 for came_true in happened],
            "podium_probability": forecast,
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32, "finish_position": pl.Int32},
    )


def test_calibrated_forecasts_pass_the_consistency_test_and_overconfident_ones_fail_it():
    rng = np.random.default_rng(7)
    forecast = rng.uniform(0.05, 0.95, 4000)
    calibrated = _one_outcome(forecast, rng.random(4000) < forecast)
    overconfident = _one_outcome(forecast, rng.random(4000) < 0.5 + 0.8 * (forecast - 0.5))
    p_value = {
        name: outcome_scores(frame).filter(outcome="podium")["calibration_p_value"].item()
        for name, frame in (("calibrated", calibrated), ("overconfident", overconfident))
    }
    assert p_value["calibrated"] > 0.01
    assert p_value["overconfident"] < 1e-6


def test_a_bins_band_holds_what_calibrated_forecasts_would_observe():
    rng = np.random.default_rng(11)
    forecast = np.full(400, 0.5)
    bins = outcome_calibration(_one_outcome(forecast, rng.random(400) < 0.5)).filter(outcome="podium")
    row = bins.row(0, named=True)
    # 400 forecasts at 50%: the binomial's central 95% of the observed rate is 45.0%-55.0% (sd 2.5 points)
    assert row["band_low"] == pytest.approx(0.45, abs=0.0026)
    assert row["band_high"] == pytest.approx(0.55, abs=0.0026)
    assert row["calibrated_spread"] == pytest.approx(0.025)
    inside = [
        bool(
            outcome_calibration(_one_outcome(forecast, rng.random(400) < 0.5))
            .filter(outcome="podium")
            .select(pl.col("observed_rate").is_between(pl.col("band_low"), pl.col("band_high")))
            .item()
        )
        for _ in range(200)
    ]
    assert 0.9 <= np.mean(inside) <= 0.99


def test_title_odds_are_scored_like_race_chances_one_forecast_per_contender_and_checkpoint():
    published = pl.DataFrame(
        {
            "season": [2020] * 4,
            "after_round": [3, 3, 4, 4],
            "entity": ["driver"] * 4,
            "id": ["a", "b", "a", "b"],
            "title_probability": [0.8, 0.2, 0.9, 0.1],
            "won_title": [True, False, True, False],
        }
    )
    scores = forecast_scores(title_forecast_rows(published)).row(0, named=True)
    assert scores["outcome"] == "title_driver" and scores["forecasts"] == 4
    assert scores["driver_log_loss"] == pytest.approx(-np.mean(np.log([0.8, 0.8, 0.9, 0.9])))
    bins = forecast_calibration(title_forecast_rows(published))
    assert bins["count"].to_list() == [1, 1, 1, 1] and bins["observed_rate"].to_list() == [0.0, 0.0, 1.0, 1.0]
