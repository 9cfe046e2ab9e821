"""Race-winner models on made-up fields: each race gets a distribution, whatever the row order or missing values;
the conditional logit learns what drives winning."""

import math

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.estimators import (
    GRID_FEATURES,
    RELATIVE_FEATURES,
    Average,
    ConditionalLogit,
    PlackettLuce,
    TreeEnsemble,
    model_columns,
    model_matrix,
)
from f1_pipeline.modeling.feature_matrix import MODES, WEATHER_COLUMNS
from f1_pipeline.modeling.field import softmax
from tests.modeling_data import synthetic_frame

SMALL_FOREST = {"n_estimators": 30, "max_depth": 6, "min_samples_split": 5, "min_samples_leaf": 1}
SMALL_BOOST = {"n_estimators": 30, "max_depth": 3, "learning_rate": 0.2}


def random_forest(mode):
    return TreeEnsemble(mode, members=("random_forest",), random_forest=SMALL_FOREST, n_jobs=1)


def xgboost(mode):
    return TreeEnsemble(mode, members=("xgboost",), xgboost=SMALL_BOOST, n_jobs=1)


def rf_and_xgb(mode):
    return TreeEnsemble(mode, random_forest=SMALL_FOREST, xgboost=SMALL_BOOST, n_jobs=1)


def default_ensemble(mode):
    return TreeEnsemble(mode, n_jobs=1)


def conditional_logit(mode):
    return ConditionalLogit(mode)


def plackett_luce(mode):
    return PlackettLuce(mode)


def logit_tree_blend(mode):
    return Average((ConditionalLogit(mode), rf_and_xgb(mode)))


MODELS = [random_forest, xgboost, rf_and_xgb, default_ensemble, conditional_logit, plackett_luce, logit_tree_blend]


@pytest.fixture(scope="module")
def train() -> pl.DataFrame:
    return synthetic_frame(seed=1, races=30)


@pytest.fixture(scope="module")
def test() -> pl.DataFrame:
    return synthetic_frame(seed=2, races=12, first_season=2010)


def race_sums(frame: pl.DataFrame, probability: np.ndarray) -> np.ndarray:
    scored = frame.select("season", "round").with_columns(p=pl.Series(probability))
    return scored.group_by("season", "round").agg(pl.col("p").sum())["p"].to_numpy()


def assert_distribution(frame: pl.DataFrame, probability: np.ndarray) -> None:
    assert probability.shape == (frame.height,)
    assert np.isfinite(probability).all()
    assert ((probability >= 0) & (probability <= 1)).all()
    np.testing.assert_allclose(race_sums(frame, probability), 1.0, atol=1e-9)


def centred_on_race(frame: pl.DataFrame, scores: np.ndarray) -> np.ndarray:
    scored = frame.with_columns(score=pl.Series(scores))
    return scored.select(pl.col("score") - pl.col("score").mean().over("season", "round")).to_series().to_numpy()


def winner_log_loss(frame: pl.DataFrame, probability: np.ndarray) -> float:
    won = frame["won"].to_numpy()
    return float(-np.log(probability[won]).sum() / won.sum())


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build", MODELS, ids=lambda build: build.__name__)
def test_every_model_gives_each_race_a_distribution_whatever_the_row_order(build, mode, train, test):
    model = build(mode).fit(train.sample(fraction=1.0, shuffle=True, seed=3))
    shuffled = test.with_row_index("row").sample(fraction=1.0, shuffle=True, seed=4)
    probability = model.predict(shuffled.drop("row"))
    assert_distribution(shuffled, probability)
    in_order = model.predict(test)
    np.testing.assert_allclose(probability, in_order[shuffled["row"].to_numpy()], atol=1e-12)
    assert len(set(in_order.round(9))) > 1  # not a uniform field: the model uses the features


@pytest.mark.parametrize("build", MODELS, ids=lambda build: build.__name__)
def test_models_cope_with_no_weather_and_a_missing_grid(build, train, test):
    assert train.select(WEATHER_COLUMNS).null_count().row(0) == (train.height,) * 3
    pit_lane = pl.col("driver_id").is_in(["d03", "d11"])
    train_gaps = train.with_columns(grid=pl.when(pit_lane).then(None).otherwise("grid"), pit_lane_start=pit_lane)
    model = build("post_qualifying").fit(train_gaps)
    # The race to come before qualifying: no grid, no qualifying for anyone; another race with a pit-lane start.
    unknown = (pl.col("season") == 2010) & (pl.col("round") == 1)
    frame = test.with_columns(
        grid=pl.when(unknown | pit_lane).then(None).otherwise("grid"),
        qualifying_position=pl.when(unknown).then(None).otherwise("qualifying_position"),
        qualifying_gap_pct=pl.when(unknown).then(None).otherwise("qualifying_gap_pct"),
        pit_lane_start=pl.when(unknown).then(None).otherwise(pit_lane),
    )
    assert_distribution(frame, model.predict(frame))


def test_a_single_car_field_is_certain_and_a_race_is_independent_of_the_others(train, test):
    model = ConditionalLogit("pre_qualifying").fit(train)
    alone = test.head(1)
    assert model.predict(alone) == pytest.approx([1.0])
    one_race = test.filter(season=2010, round=2)
    together = test.with_columns(p=pl.Series(model.predict(test))).filter(season=2010, round=2)
    np.testing.assert_allclose(model.predict(one_race), together["p"].to_numpy(), atol=1e-12)


@pytest.mark.parametrize("linear", [ConditionalLogit, PlackettLuce], ids=lambda estimator: estimator.__name__)
def test_linear_estimators_learn_the_feature_that_drives_winning(linear):
    big_train = synthetic_frame(seed=5, races=120, strength=2.5)
    held_out = synthetic_frame(seed=6, races=60, strength=2.5, first_season=2030)
    model = linear("pre_qualifying").fit(big_train)
    columns = model.columns
    weights = dict(zip(columns, model.coef_[: len(columns)], strict=True))
    assert weights["season_points"] > 0
    assert max(weights, key=lambda name: abs(weights[name])) == "season_points"
    importances = model.feature_importances()
    assert max(importances, key=importances.get) == "season_points"
    uniform = math.log(20)
    loss = winner_log_loss(held_out, model.predict(held_out))
    assert loss < uniform - 0.3
    flipped = held_out.with_columns(season_points=-pl.col("season_points"))
    assert winner_log_loss(held_out, model.predict(flipped)) > uniform


def test_tree_ensembles_also_beat_a_uniform_field_when_a_feature_drives_winning():
    big_train = synthetic_frame(seed=7, races=120, strength=3.0)
    held_out = synthetic_frame(seed=8, races=60, strength=3.0, first_season=2030)
    model = rf_and_xgb("pre_qualifying").fit(big_train)
    assert winner_log_loss(held_out, model.predict(held_out)) < math.log(20)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("build", MODELS, ids=lambda build: build.__name__)
def test_feature_importances_name_every_model_column(build, mode, train):
    importances = build(mode).fit(train).feature_importances()
    assert list(importances) == list(model_columns(mode))
    assert all(share >= 0 for share in importances.values())
    assert sum(importances.values()) == pytest.approx(1.0)


def test_model_columns_add_relative_and_grid_shape_features():
    assert model_columns("pre_qualifying")[-len(RELATIVE_FEATURES) :] == RELATIVE_FEATURES
    assert model_columns("post_qualifying")[-len(GRID_FEATURES) :] == GRID_FEATURES
    assert not set(GRID_FEATURES) & set(model_columns("pre_qualifying"))
    assert "grid" not in model_columns("pre_qualifying")
    assert len(model_columns("pre_qualifying", extended=False)) < len(model_columns("pre_qualifying"))


def test_model_matrix_measures_drivers_against_their_own_field():
    frame = pl.DataFrame(
        {
            "season": [2020] * 3 + [2021] * 2,
            "round": [1] * 5,
            "driver_id": ["a", "b", "c", "a", "b"],
            "constructor_id": ["x", "x", "y", "x", "y"],
            "driver_elo": [1600.0, 1500.0, 1400.0, 1550.0, 1450.0],
            "team_elo": [1500.0, 1500.0, 1450.0, 1500.0, 1490.0],
            "grid": [1, None, 2, 3, 1],
        },
        schema_overrides={"grid": pl.Int32},
    )
    columns = ("driver_elo_gap", "driver_elo_rank", "team_elo_rank", "teammate_elo_gap", "field_size", "pole")
    matrix = model_matrix(frame, columns)
    np.testing.assert_array_equal(matrix[:, 0], [0.0, -100.0, -200.0, 0.0, -100.0])
    np.testing.assert_array_equal(matrix[:, 1], [1, 2, 3, 1, 2])
    np.testing.assert_array_equal(matrix[:, 2], [1, 1, 2, 1, 2])
    np.testing.assert_array_equal(matrix[:, 3], [50.0, -50.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(matrix[:, 4], [3, 3, 3, 2, 2])
    assert matrix[0, 5] == 1.0 and np.isnan(matrix[1, 5])


def test_an_unknown_ensemble_member_is_refused(train):
    with pytest.raises(ValueError, match="unknown ensemble member"):
        TreeEnsemble("pre_qualifying", members=("lightgbm",)).fit(train)


def test_plackett_luce_learns_from_the_whole_order_and_recalibrates_on_the_winners():
    """With few races the winners alone say little; the classified order behind them says more."""
    few = synthetic_frame(seed=9, races=15, strength=1.5)
    held_out = synthetic_frame(seed=10, races=200, strength=1.5, first_season=2030)
    order = PlackettLuce("pre_qualifying", place_decay=1.0).fit(few)
    winners_only = ConditionalLogit("pre_qualifying").fit(few)
    assert winner_log_loss(held_out, order.predict(held_out)) < winner_log_loss(
        held_out, winners_only.predict(held_out)
    )
    assert 0.05 < order.temperature_ < 20.0


def test_plackett_luce_ignores_where_non_classified_cars_fell(train):
    """Only the classified order is fitted: moving a retired car's features changes the fit only through the
    winner temperature, and dropping every retired row from the orders is what `finish_position` null means."""
    model = PlackettLuce("pre_qualifying").fit(train)
    retired = train.filter(pl.col("finish_position").is_null())
    assert retired.height > 0
    everyone_classified = train.with_columns(finish_position=pl.col("finish_position").fill_null(99))
    other = PlackettLuce("pre_qualifying").fit(everyone_classified)
    assert not np.allclose(model.coef_, other.coef_)


@pytest.mark.parametrize("linear", [ConditionalLogit, PlackettLuce], ids=lambda estimator: estimator.__name__)
def test_linear_contributions_add_up_to_the_score_against_the_race_mean(linear, train, test):
    model = linear("post_qualifying").fit(train)
    contributions = model.contributions(test)
    assert contributions.columns == ["season", "round", "driver_id", *model.columns]
    assert contributions.select("season", "round", "driver_id").equals(test.select("season", "round", "driver_id"))
    total = contributions.select(pl.sum_horizontal(model.columns)).to_series().to_numpy()
    np.testing.assert_allclose(total, centred_on_race(test, model.scores(test)), atol=1e-9)
    # the softmax of those contributions is the prediction
    assert_distribution(test, model.predict(test))
    np.testing.assert_allclose(model.predict(test), softmax(test, total), atol=1e-12)


@pytest.mark.parametrize("build", [random_forest, xgboost, rf_and_xgb], ids=lambda build: build.__name__)
def test_tree_contributions_explain_the_members_scores(build, train, test):
    model = build("post_qualifying").fit(train)
    contributions = model.contributions(test)
    total = contributions.select(pl.sum_horizontal(model.columns)).to_series().to_numpy()
    x = model_matrix(test, model.columns)
    member_scores = [
        estimator.predict(x, output_margin=True) if name == "xgboost" else estimator.predict_proba(x)[:, 1]
        for name, estimator in zip(model.members, model.estimators_, strict=True)
    ]
    np.testing.assert_allclose(total, centred_on_race(test, np.mean(member_scores, axis=0)), atol=1e-5)
    top = contributions.filter(season=2010, round=1).select(model.columns).to_numpy()
    assert np.abs(top).sum() > 0


def test_an_average_explains_itself_by_its_members_mean(train, test):
    blend = logit_tree_blend("post_qualifying").fit(train)
    mean = np.mean(
        [member.contributions(test).select(blend.members[0].columns).to_numpy() for member in blend.members], axis=0
    )
    explained = blend.contributions(test)
    assert explained.columns == ["season", "round", "driver_id", *blend.members[0].columns]
    np.testing.assert_allclose(explained.select(blend.members[0].columns).to_numpy(), mean, atol=1e-12)
