"""The promotion gate and the recipes it rebuilds champions from."""

import json
import math

import pytest

from f1_pipeline.modeling.backtest import fingerprint, race_scores
from f1_pipeline.modeling.candidates import AVERAGES, KINDS, Recipe, recipes_from_json, recipes_to_json
from f1_pipeline.modeling.estimators import Average, ConditionalLogit, PlackettLuce, TreeEnsemble
from f1_pipeline.modeling.feature_matrix import MODES
from f1_pipeline.modeling.promotion import Evaluation, decide, evaluation_of
from f1_pipeline.modeling.training import Seasons, recipe_backtest
from f1_pipeline.modeling.tuning import REFERENCE_PARAMS
from tests.modeling_data import real_features

TUNED = {
    "random_forest": {**REFERENCE_PARAMS["random_forest"], "max_depth": 7, "max_features": 0.5},
    "xgboost": {**REFERENCE_PARAMS["xgboost"], "learning_rate": 0.05, "n_estimators": 125},
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


@pytest.mark.parametrize("kind", KINDS)
def test_recipes_survive_json_and_build_models_of_their_kind(kind):
    recipes = {"pre_qualifying": Recipe(kind, TUNED), "post_qualifying": Recipe("conditional_logit")}
    text = recipes_to_json(recipes)
    json.loads(text)  # plain JSON, as MLflow stores it
    restored = recipes_from_json(text)
    assert restored == recipes
    assert recipes_to_json(restored) == text

    for mode in MODES:
        model = restored[mode].build(mode)
        assert_kind(model, restored[mode].kind, mode, restored[mode].params)


def assert_kind(model, kind, mode, params):
    if kind in AVERAGES:
        assert isinstance(model, Average)
        assert len(model.members) == len(AVERAGES[kind])
        for member, member_kind in zip(model.members, AVERAGES[kind], strict=True):
            assert_kind(member, member_kind, mode, params)
    elif kind == "conditional_logit":
        assert isinstance(model, ConditionalLogit)
        assert model.mode == mode
        assert model.l2 == params["conditional_logit"]["l2"]
    elif kind == "plackett_luce":
        assert isinstance(model, PlackettLuce)
        assert model.mode == mode
        assert (model.l2, model.place_decay) == (params[kind]["l2"], params[kind]["place_decay"])
    else:
        assert isinstance(model, TreeEnsemble)
        assert model.mode == mode
        assert model.members == (kind,)
        assert dict(getattr(model, kind)) == dict(params[kind])


def test_a_default_recipe_uses_the_reference_parameters():
    recipe = Recipe("rf_xgb_average")
    model = recipe.build("post_qualifying")
    assert [member.members for member in model.members] == [("random_forest",), ("xgboost",)]
    assert dict(model.members[0].random_forest) == REFERENCE_PARAMS["random_forest"]
    assert recipes_from_json(recipes_to_json({"post_qualifying": recipe})) == {"post_qualifying": recipe}
