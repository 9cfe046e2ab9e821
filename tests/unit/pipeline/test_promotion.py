"""The promotion gate and the recipes it rebuilds champions from."""

import json
import math

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.backtest import fingerprint, race_scores
from f1_pipeline.modeling.candidates import AVERAGES, FAMILIES, Recipe, recipes_from_json, recipes_to_json
from f1_pipeline.modeling.estimators import Average, ConditionalLogit, PlackettLuce, TreeEnsemble
from f1_pipeline.modeling.feature_matrix import MODES
from f1_pipeline.modeling.promotion import Evaluation, decide, evaluation_of, outcome_comparison
from f1_pipeline.modeling.training import Seasons, recipe_backtest
from f1_pipeline.modeling.tuning import DEFAULT_PARAMS
from tests.modeling_data import real_features

TUNED = {
    "random_forest": {**DEFAULT_PARAMS["random_forest"], "max_depth": 7, "max_features": 0.5},
    "xgboost": {**DEFAULT_PARAMS["xgboost"], "learning_rate": 0.05, "n_estimators": 125},
    "conditional_logit": {"l2": 3.25},
    "plackett_luce": {"l2": 0.5, "place_decay": 0.4},
}


def evaluation(log_loss: float, fingerprint: str = "abc") -> Evaluation:
    return Evaluation(log_loss=log_loss, races=40, fingerprint=fingerprint)


def test_the_first_candidate_is_promoted_when_there_is_no_champion():
    decision = decide(evaluation(2.5), None)
    assert decision.promote
    assert "no champion" in decision.reason


@pytest.mark.parametrize(
    ("candidate", "champion", "promote"),
    [(1.20, 1.30, True), (1.30, 1.30, False), (1.31, 1.30, False), (math.nextafter(1.3, 0), 1.30, True)],
)
def test_only_a_strictly_lower_log_loss_is_promoted(candidate, champion, promote):
    decision = decide(evaluation(candidate), evaluation(champion))
    assert decision.promote is promote
    assert ("promoted" in decision.reason) is promote
    assert ("kept the champion" in decision.reason) is not promote


@pytest.mark.parametrize("candidate", [0.5, 5.0])
def test_evaluations_of_different_data_are_never_compared(candidate):
    with pytest.raises(ValueError, match="different data"):
        decide(evaluation(candidate, "abc"), evaluation(1.0, "abd"))


def test_a_champion_rebuilt_from_its_recipe_scores_the_same_on_the_same_data():
    frame = real_features()
    seasons = Seasons(train_first=2019, validation_first=2020, backtest_first=2021)
    recipes = dict.fromkeys(MODES, Recipe("conditional_logit", TUNED))
    candidate = evaluation_of(recipe_backtest(frame, recipes, seasons), fingerprint(frame))
    rebuilt = recipes_from_json(recipes_to_json(recipes))
    champion = evaluation_of(recipe_backtest(frame, rebuilt, seasons), fingerprint(frame))

    assert champion == candidate
    assert candidate.races == 22  # the 22 races of 2021, scored in both modes
    assert not decide(candidate, champion).promote

    predictions = recipe_backtest(frame, recipes, seasons)
    assert candidate.log_loss == pytest.approx(race_scores(predictions)["log_loss"].mean())
    other_data = fingerprint(frame.filter(season=2021))
    with pytest.raises(ValueError):
        decide(evaluation_of(predictions, other_data), champion)


@pytest.mark.parametrize("family", FAMILIES)
def test_recipes_survive_json_and_build_models_of_their_family(family):
    recipes = {"pre_qualifying": Recipe(family, TUNED), "post_qualifying": Recipe("conditional_logit")}
    text = recipes_to_json(recipes)
    json.loads(text)  # plain JSON, as MLflow stores it
    restored = recipes_from_json(text)
    assert restored == recipes
    assert recipes_to_json(restored) == text

    for mode in MODES:
        model = restored[mode].build(mode)
        assert_family(model, restored[mode].family, mode, restored[mode].params)


def assert_family(model, family, mode, params):
    if family in AVERAGES:
        assert isinstance(model, Average)
        assert len(model.members) == len(AVERAGES[family])
        for member, member_family in zip(model.members, AVERAGES[family], strict=True):
            assert_family(member, member_family, mode, params)
    elif family == "conditional_logit":
        assert isinstance(model, ConditionalLogit)
        assert model.mode == mode
        assert model.l2 == params["conditional_logit"]["l2"]
    elif family == "plackett_luce":
        assert isinstance(model, PlackettLuce)
        assert model.mode == mode
        assert (model.l2, model.place_decay) == (params[family]["l2"], params[family]["place_decay"])
    else:
        assert isinstance(model, TreeEnsemble)
        assert model.mode == mode
        assert model.members == (family,)
        assert dict(getattr(model, family)) == dict(params[family])


def test_a_default_recipe_uses_the_default_parameters():
    recipe = Recipe("rf_xgb_average")
    model = recipe.build("post_qualifying")
    assert [member.members for member in model.members] == [("random_forest",), ("xgboost",)]
    assert dict(model.members[0].random_forest) == DEFAULT_PARAMS["random_forest"]
    assert recipes_from_json(recipes_to_json({"post_qualifying": recipe})) == {"post_qualifying": recipe}


def _outcome_races(points_shift: float, noise: float, seed: int = 0) -> pl.DataFrame:
    """Per-race binary log losses of 200 races for win and points: a shared race difficulty plus the model's own
    per-race noise, points shifted by `points_shift`."""
    rng = np.random.default_rng(seed)
    difficulty = np.random.default_rng(99).normal(0.5, 0.1, 200)
    return pl.concat(
        pl.DataFrame(
            {
                "mode": "post_qualifying",
                "season": 2020 + np.arange(200) // 20,
                "round": 1 + np.arange(200) % 20,
                "outcome": outcome,
                "driver_log_loss": difficulty + shift + rng.normal(0, noise, 200),
            }
        )
        for outcome, shift in (("win", 0.0), ("points", points_shift))
    )


def test_a_candidate_better_on_the_winner_but_worse_on_points_beyond_noise_is_refused():
    champion = Evaluation(1.30, 200, "abc", outcome_races=_outcome_races(0.0, 0.01, seed=1))
    worse = Evaluation(1.20, 200, "abc", outcome_races=_outcome_races(0.02, 0.01, seed=2))
    decision = decide(worse, champion)
    assert not decision.promote
    assert decision.deciding_outcomes == ("points",)
    assert "points" in decision.reason and "noise" in decision.reason
    comparison = outcome_comparison(worse, champion).filter(outcome="points").row(0, named=True)
    assert comparison["races"] == 200 and comparison["difference"] == pytest.approx(0.02, abs=0.005)


def test_a_difference_within_paired_noise_does_not_block_a_better_winner_model():
    champion = Evaluation(1.30, 200, "abc", outcome_races=_outcome_races(0.0, 0.05, seed=1))
    within = Evaluation(1.20, 200, "abc", outcome_races=_outcome_races(0.002, 0.05, seed=2))
    decision = decide(within, champion)
    assert decision.promote and decision.deciding_outcomes == ("win",)
    assert "no published outcome worse beyond paired noise" in decision.reason
