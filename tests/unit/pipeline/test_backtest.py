"""Walk-forward backtest on real seasons: a model never learns from the season it predicts or a later one, only
finished races are predicted and scored, averages stay distributions, fingerprints identify the rows."""

from dataclasses import dataclass, field

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from f1_pipeline.modeling.backtest import (
    completed,
    fingerprint,
    predict_seasons,
    race_scores,
    training_rows,
    walk_forward,
    with_averages,
)
from f1_pipeline.modeling.estimators import ConditionalLogit
from f1_pipeline.modeling.feature_matrix import MODES, race_features
from f1_pipeline.modeling.field import normalise
from f1_pipeline.modeling.metrics import race_metrics
from tests.modeling_data import as_next_race, real_features, real_inputs

NEXT_RACE = (2021, 12)
TWO_WINNERS = (2020, 4)


@dataclass
class Spy:
    """Favours the driver with the best ELO a little; records what it was trained on and asked about."""

    name: str
    log: list[dict] = field(default_factory=list)

    def fit(self, train: pl.DataFrame) -> "Spy":
        self.log.append(
            {
                "model": self.name,
                "train_seasons": set(train["season"].to_list()),
                "train_won_null": train["won"].null_count(),
                "train_races": set(train.select("season", "round").unique().rows()),
            }
        )
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        self.log[-1]["predicted_seasons"] = set(frame["season"].to_list())
        self.log[-1]["predicted_races"] = set(frame.select("season", "round").unique().rows())
        self.log[-1]["predicted_next"] = frame["is_next"].sum()
        return normalise(frame, frame["driver_elo"].to_numpy() - 1000.0)


@pytest.fixture(scope="module")
def frame() -> pl.DataFrame:
    """2019-2021 round 11 run, round 12 the race to come; one 2020 race made to have two winners."""
    features = race_features(as_next_race(real_inputs(), *NEXT_RACE, keep_qualifying=True))
    shared = (pl.col("season") == TWO_WINNERS[0]) & (pl.col("round") == TWO_WINNERS[1]) & (pl.col("grid") <= 2)
    return features.with_columns(won=pl.when(shared).then(True).otherwise("won"))


def spy_lineup(log: list[dict]):
    def lineup(mode):
        return {"spy": Spy("spy", log), "other": Spy("other", log)}

    return lineup


def test_walk_forward_never_trains_on_the_season_it_predicts_or_later(frame):
    log: list[dict] = []
    predictions = walk_forward(frame, spy_lineup(log), MODES, [2020, 2021], train_first_season=2019)

    assert len(log) == 2 * 2 * 2  # a fresh fit per season, mode and model
    for call in log:
        (season,) = call["predicted_seasons"]
        assert max(call["train_seasons"]) < season
        assert min(call["train_seasons"]) >= 2019
        assert call["train_won_null"] == 0
        assert TWO_WINNERS not in call["train_races"] | call["predicted_races"]
        assert call["predicted_next"] == 0
    assert {min(call["predicted_seasons"]) for call in log} == {2020, 2021}
    assert {frozenset(call["train_seasons"]) for call in log} == {frozenset({2019}), frozenset({2019, 2020})}

    expected = completed(frame).filter(pl.col("season") >= 2020)
    assert predictions.height == expected.height * 2 * 2
    assert predictions["won"].null_count() == 0
    raced = set(predictions.select("season", "round").unique().rows())
    assert raced == set(expected.select("season", "round").unique().rows())
    assert NEXT_RACE not in raced and TWO_WINNERS not in raced
    assert max(raced) == (2021, 11)
    sums = predictions.group_by("model", "mode", "season", "round").agg(pl.col("probability").sum())
    np.testing.assert_allclose(sums["probability"].to_numpy(), 1.0)


def test_a_later_first_training_season_is_respected_and_an_unraced_season_predicts_nothing(frame):
    log: list[dict] = []
    predictions = walk_forward(frame, spy_lineup(log), ["pre_qualifying"], [2021, 2022], train_first_season=2020)
    assert {frozenset(call["train_seasons"]) for call in log} == {frozenset({2020})}
    assert predictions["season"].unique().to_list() == [2021]
    nothing = predict_seasons(frame, spy_lineup(log), MODES, 2019, [2022])
    assert nothing.is_empty()
    assert nothing.columns == predictions.columns
    assert nothing.schema == predictions.schema


def test_completed_keeps_races_with_exactly_one_winner(frame):
    kept = completed(frame)
    assert kept["won"].null_count() == 0
    assert kept.group_by("season", "round").agg(pl.col("won").sum())["won"].unique().to_list() == [1]
    dropped = frame.join(kept, on=["season", "round", "driver_id"], how="anti")
    assert set(dropped.select("season", "round").unique().rows()) == {TWO_WINNERS, NEXT_RACE}
    train = training_rows(frame, 2019, 2021)
    assert set(train["season"].unique()) == {2019, 2020}


def test_averages_are_means_of_their_members_and_still_distributions(frame):
    predictions = walk_forward(
        frame, lambda mode: {"elo": Spy("elo", []), "logit": ConditionalLogit(mode)}, MODES, [2021], 2019
    )
    averaged = with_averages(predictions, {"mean": ("elo", "logit"), "nested": ("mean", "elo")})

    key = ["mode", "season", "round", "driver_id"]
    wide = averaged.pivot("model", index=key, values="probability")
    np.testing.assert_allclose(wide["mean"].to_numpy(), (wide["elo"] + wide["logit"]).to_numpy() / 2)
    np.testing.assert_allclose(wide["nested"].to_numpy(), (wide["mean"] + wide["elo"]).to_numpy() / 2)
    sums = averaged.group_by("model", "mode", "season", "round").agg(pl.col("probability").sum())
    np.testing.assert_allclose(sums["probability"].to_numpy(), 1.0)
    assert set(averaged["model"]) == {"elo", "logit", "mean", "nested"}
    assert averaged.filter(model="mean")["won"].to_list() == averaged.filter(model="elo")["won"].to_list()

    # A race one member did not predict gets no average rather than half of one.
    partial = predictions.filter(~((pl.col("model") == "logit") & (pl.col("round") == 3)))
    mean = with_averages(partial, {"mean": ("elo", "logit")}).filter(model="mean")
    assert 3 not in mean["round"].to_list()
    assert mean.height == predictions.filter(model="elo", season=2021).height - frame.filter(
        season=2021, round=3
    ).height * len(MODES)


def test_race_scores_are_the_metrics_of_each_model_and_mode(frame):
    predictions = walk_forward(
        frame, lambda mode: {"elo": Spy("elo", []), "logit": ConditionalLogit(mode)}, MODES, [2021], 2019
    )
    scores = race_scores(predictions)
    assert scores.height == 2 * 2 * 11
    for (model, mode), group in predictions.group_by("model", "mode"):
        own = scores.filter(model=model, mode=mode).drop("model", "mode")
        assert_frame_equal(own, race_metrics(group, group["probability"].to_numpy()))
        winners = group.filter("won").sort("season", "round")
        np.testing.assert_allclose(own.sort("season", "round")["log_loss"], -np.log(winners["probability"]))


def test_fingerprint_ignores_row_order_and_sees_any_change():
    features = real_features()
    print_ = fingerprint(features)
    assert fingerprint(features.sample(fraction=1.0, shuffle=True, seed=1)) == print_
    assert fingerprint(features.reverse()) == print_
    one_value = pl.int_range(pl.len()) == 500
    nudged = features.with_columns(
        driver_elo=pl.when(one_value).then(pl.col("driver_elo") + 1e-9).otherwise("driver_elo")
    )
    assert nudged.schema == features.schema
    assert fingerprint(nudged) != print_
    assert fingerprint(features.with_columns(won=pl.when(one_value).then(True).otherwise("won"))) != print_
    assert fingerprint(features.slice(1)) != print_
    assert len(print_) == 16
