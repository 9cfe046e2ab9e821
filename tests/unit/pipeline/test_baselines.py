"""Baselines: valid per-race distributions, and each learns the one thing it is about."""

import math

import numpy as np
import polars as pl
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from f1_pipeline.modeling.baselines import (
    BASELINES,
    ChampionshipLeader,
    EloGridLogistic,
    EloOnly,
    GridSlotRate,
    PoleSitter,
    baselines_for,
    race_log_likelihood,
)
from f1_pipeline.modeling.field import RACE_KEY

SCHEMA = {
    "season": pl.Int32,
    "round": pl.Int32,
    "driver_id": pl.Utf8,
    "won": pl.Boolean,
    "driver_elo": pl.Float64,
    "grid": pl.Int32,
    "championship_position": pl.Int32,
}


def synthetic(races: int = 300, drivers: int = 8, scale: float = 200.0, seed: int = 7) -> pl.DataFrame:
    """Races whose winner is drawn with p ∝ 10^(elo/scale); the grid roughly follows the rating, so pole wins most."""
    rng = np.random.default_rng(seed)
    rows = []
    for race in range(races):
        elo = rng.normal(1500, 150, drivers)
        p = 10 ** (elo / scale)
        winner = rng.choice(drivers, p=p / p.sum())
        grid = np.argsort(np.argsort(-(elo + rng.normal(0, 60, drivers)))) + 1
        standing = np.argsort(np.argsort(-(elo + rng.normal(0, 60, drivers)))) + 1
        for slot in range(drivers):
            rows.append(
                {
                    "season": 2000 + race // 20,
                    "round": race % 20 + 1,
                    "driver_id": f"d{slot}",
                    "won": slot == winner,
                    "driver_elo": float(elo[slot]),
                    "grid": int(grid[slot]),
                    "championship_position": None if race % 20 == 0 else int(standing[slot]),
                }
            )
    return pl.DataFrame(rows, schema=SCHEMA)


def race(rows: list[dict], season: int = 2030, round_: int = 1) -> pl.DataFrame:
    """One race from partial rows; unspecified columns are null."""
    full = [
        {**dict.fromkeys(SCHEMA), "season": season, "round": round_, "driver_id": f"d{i}", **row}
        for i, row in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=SCHEMA)


@pytest.fixture(scope="module")
def train() -> pl.DataFrame:
    return synthetic()


def per_race_sums(frame: pl.DataFrame, probability: np.ndarray) -> np.ndarray:
    return frame.with_columns(p=pl.Series(probability)).group_by(RACE_KEY).agg(pl.col("p").sum())["p"].to_numpy()


ALL = [PoleSitter, GridSlotRate, EloOnly, EloGridLogistic, ChampionshipLeader]


@pytest.mark.parametrize("baseline", ALL, ids=lambda cls: cls.__name__)
def test_every_baseline_predicts_a_distribution_per_race(baseline, train):
    # Shuffled rows and a race with a pit-lane start, a missing rating and no standings: still a distribution.
    test = pl.concat(
        [synthetic(races=40, seed=11), race([{"grid": None}, {"grid": 2, "driver_elo": 1600.0}, {"grid": 1}])]
    )
    test = test.sample(fraction=1.0, shuffle=True, seed=3)
    probability = baseline().fit(train).predict(test)
    assert probability.shape == (test.height,)
    assert np.all(probability >= 0)
    assert per_race_sums(test, probability) == pytest.approx(1.0)


@pytest.mark.parametrize("baseline", ALL, ids=lambda cls: cls.__name__)
def test_baselines_follow_the_estimator_conventions(baseline, train):
    model = baseline()
    with pytest.raises(NotFittedError):
        model.predict(train)
    assert model.fit(train) is model
    assert clone(model).get_params() == model.get_params()
    with pytest.raises(ValueError, match="finished races"):
        baseline().fit(train.with_columns(won=pl.when(pl.col("round") == 3).then(None).otherwise("won")))


def test_pole_sitter_gets_the_learned_pole_win_rate_and_the_rest_share_equally(train):
    model = PoleSitter().fit(train)
    poles = train.filter(pl.col("grid") == 1)
    assert model.win_rate_ == pytest.approx((poles["won"].sum() + 1) / (poles.height + 2))
    probability = model.predict(race([{"grid": 3}, {"grid": 1}, {"grid": 2}, {"grid": None}]))
    rest = (1 - model.win_rate_) / 3
    assert probability == pytest.approx([rest, model.win_rate_, rest, rest])
    assert np.argmax(probability) == 1


def test_pole_sitter_without_a_pole_is_uniform(train):
    probability = PoleSitter().fit(train).predict(race([{"grid": None}, {"grid": 2}, {"grid": None}, {"grid": 3}]))
    assert probability == pytest.approx(np.full(4, 0.25))


def test_pole_sitter_rate_is_smoothed_away_from_certainty():
    always = race([{"grid": 1, "won": True}, {"grid": 2, "won": False}])
    assert PoleSitter().fit(always).win_rate_ == pytest.approx(2 / 3)


def test_championship_leader_is_the_favourite_except_at_a_seasons_first_race(train):
    model = ChampionshipLeader().fit(train)
    leaders = train.filter(pl.col("championship_position") == 1)
    assert model.win_rate_ == pytest.approx((leaders["won"].sum() + 1) / (leaders.height + 2))
    led = model.predict(
        race([{"championship_position": 2}, {"championship_position": 1}, {"championship_position": 3}])
    )
    assert led == pytest.approx([(1 - model.win_rate_) / 2, model.win_rate_, (1 - model.win_rate_) / 2])
    opener = model.predict(race([{"grid": 1}, {"grid": 2}, {"grid": 3}]))
    assert opener == pytest.approx(np.full(3, 1 / 3))


def test_grid_slot_rate_learns_smoothed_slot_rates():
    # Slot 1 won 3 of 4 starts, slot 2 once, the pit lane never; the overall rate is 4 of 12 starts.
    rows = []
    for round_, winner in enumerate([1, 1, 1, 2], start=1):
        starts = [{"grid": 1, "won": winner == 1}, {"grid": 2, "won": winner == 2}, {"grid": None, "won": False}]
        rows.append(race(starts, round_=round_))
    model = GridSlotRate(smoothing=1.0).fit(pl.concat(rows))
    base = 4 / 12
    assert model.base_rate_ == pytest.approx(base)
    assert model.slot_win_rate_ == pytest.approx({"1": (3 + base) / 5, "2": (1 + base) / 5, "back": base / 5})
    probability = model.predict(race([{"grid": 2}, {"grid": 1}, {"grid": None}, {"grid": 9}]))
    scores = np.array([(1 + base) / 5, (3 + base) / 5, base / 5, base])  # slot 9 was never seen: the overall rate
    assert probability == pytest.approx(scores / scores.sum())


def test_elo_only_fits_a_scale_that_beats_a_bad_one(train):
    model = EloOnly().fit(train)
    elo = train["driver_elo"].to_numpy()
    fitted = race_log_likelihood(train, elo * math.log(10) / model.scale_)
    assert model.log_likelihood_ == pytest.approx(fitted)
    for bad_scale in (20.0, 2000.0):
        assert fitted > race_log_likelihood(train, elo * math.log(10) / bad_scale)
    assert 100 < model.scale_ < 400  # the data were drawn with a scale of 200


def test_elo_only_is_10_to_the_elo_over_scale(train):
    model = EloOnly().fit(train)
    probability = model.predict(race([{"driver_elo": 1500.0}, {"driver_elo": 1500.0 + model.scale_}]))
    assert probability == pytest.approx([1 / 11, 10 / 11])


def test_elo_grid_logistic_favours_the_higher_rating_and_the_front(train):
    model = EloGridLogistic().fit(train)
    by_rating = model.predict(race([{"driver_elo": 1400.0, "grid": 2}, {"driver_elo": 1700.0, "grid": 2}]))
    assert by_rating[1] > by_rating[0]
    by_grid = model.predict(race([{"driver_elo": 1600.0, "grid": 5}, {"driver_elo": 1600.0, "grid": 1}]))
    assert by_grid[1] > by_grid[0]
    pit_lane = model.predict(race([{"driver_elo": 1600.0, "grid": None}, {"driver_elo": 1600.0, "grid": 2}]))
    assert pit_lane[1] > pit_lane[0]
    importances = model.feature_importances()
    assert set(importances) == {"elo_gap", "grid"}
    assert sum(importances.values()) == pytest.approx(1.0)


def test_baselines_per_mode_use_only_what_is_known_then():
    assert set(baselines_for("post_qualifying")) == {"pole_sitter", "grid_slot_rate", "elo_only", "elo_grid_logistic"}
    assert set(baselines_for("pre_qualifying")) == {"championship_leader", "elo_only"}
    first, second = baselines_for("pre_qualifying"), baselines_for("pre_qualifying")
    assert first["elo_only"] is not second["elo_only"]
    assert BASELINES["pre_qualifying"]["elo_only"] is EloOnly


def test_pre_qualifying_baselines_never_read_the_grid(train):
    unknown_grid = train.with_columns(grid=pl.lit(None, pl.Int32))
    for name, model in baselines_for("pre_qualifying").items():
        assert model.fit(train).predict(unknown_grid) == pytest.approx(model.predict(train)), name
