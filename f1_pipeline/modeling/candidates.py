"""The model families a candidate can be, and the recipe that rebuilds one: model family plus tuned
hyper-parameters.

A recipe is plain data (it goes to MLflow as JSON), so the promotion gate can rebuild the champion's recipe and score
it on exactly the candidate's evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, cast

import polars as pl

from f1_pipeline.contracts import REQUIRED, Column, ColumnRule, Contract
from f1_pipeline.modeling.backtest import ExplainedModel, Lineup, predict_seasons, race_scores, with_averages
from f1_pipeline.modeling.estimators import Average
from f1_pipeline.modeling.feature_matrix import MODE_COLUMN, Mode
from f1_pipeline.modeling.metrics import METRIC_COLUMNS, RACES_COLUMN, summarise
from f1_pipeline.modeling.tuning import DEFAULT_PARAMS, Estimator, TuningWindow, build_model
from f1_pipeline.tables import FAMILY_VALIDATION, RECIPES

Family = Literal["random_forest", "xgboost", "rf_xgb_average", "conditional_logit", "plackett_luce", "logit_tree_blend"]
AVERAGES: dict[Family, tuple[Family, ...]] = {
    "rf_xgb_average": ("random_forest", "xgboost"),
    "logit_tree_blend": ("conditional_logit", "rf_xgb_average"),
}
"""Model families that average others; the backtest derives them from their members' predictions instead of
refitting."""
FAMILIES: tuple[Family, ...] = ("random_forest", "xgboost", "conditional_logit", "plackett_luce", *AVERAGES)
_FAMILY = ColumnRule(not_null=True, allowed=FAMILIES)
RECIPES_CONTRACT = Contract(
    RECIPES.qualified,
    RECIPES.row,
    (
        MODE_COLUMN,
        Column("family", pl.String, "the model family with the lowest validation log loss in the mode", _FAMILY),
        Column(
            "recipe",
            pl.String,
            "the mode's recipe as JSON ({mode: {family, params}}): the model family and every estimator's tuned "
            "hyper-parameters, what the backtest and the promotion gate rebuild the model from",
            REQUIRED,
        ),
    ),
    key=("mode",),
)
FAMILY_VALIDATION_CONTRACT = Contract(
    FAMILY_VALIDATION.qualified,
    FAMILY_VALIDATION.row,
    (
        MODE_COLUMN,
        Column("model", pl.String, "the model family, with its tuned hyper-parameters", _FAMILY),
        RACES_COLUMN,
        *METRIC_COLUMNS,
    ),
    key=("mode", "model"),
)
"""`choose_recipes`' scores: each model family fitted on the training seasons and scored on the validation seasons,
best first within a mode."""


@dataclass(frozen=True)
class Recipe:
    """How to build the model of one mode: its model family and every estimator's hyper-parameters."""

    family: Family
    params: Mapping[Estimator, Mapping[str, Any]] = field(default_factory=lambda: dict(DEFAULT_PARAMS))

    def build(self, mode: Mode) -> ExplainedModel:
        return build_family(self.family, mode, self.params)


def build_family(family: Family, mode: Mode, params: Mapping[Estimator, Mapping[str, Any]]) -> ExplainedModel:
    if family in AVERAGES:
        return Average(tuple(build_family(member, mode, params) for member in AVERAGES[family]))
    estimator = cast(Estimator, family)  # a family that averages none is one estimator
    return build_model(estimator, mode, params[estimator])


def recipes_to_json(recipes: Mapping[Mode, Recipe]) -> str:
    return json.dumps({mode: asdict(recipe) for mode, recipe in recipes.items()}, sort_keys=True)


def recipe_rows(recipes: Mapping[Mode, Recipe]) -> pl.DataFrame:
    """The recipes as `models.recipes` holds them: a row per mode, its model family in plain sight beside the JSON
    the backtest and the gate rebuild it from (`recipes_from_json`)."""
    return pl.DataFrame(
        [
            {"mode": mode, "family": recipe.family, "recipe": recipes_to_json({mode: recipe})}
            for mode, recipe in recipes.items()
        ],
        schema=RECIPES_CONTRACT.schema,
    )


def recipes_from_json(text: str) -> dict[Mode, Recipe]:
    return {mode: Recipe(family=value["family"], params=value["params"]) for mode, value in json.loads(text).items()}


def base_lineup(params: Mapping[Estimator, Mapping[str, Any]]) -> Lineup:
    """The model families that are fitted (averages are derived from their predictions)."""
    return lambda mode: {family: build_family(family, mode, params) for family in FAMILIES if family not in AVERAGES}


def choose_recipes(
    frame: pl.DataFrame, window: TuningWindow, params: Mapping[Estimator, Mapping[str, Any]], modes: Sequence[Mode]
) -> tuple[dict[Mode, Recipe], pl.DataFrame]:
    """Per mode, the model family with the lowest validation log loss (on the tuning seasons, never the backtest's)."""
    predictions = predict_seasons(frame, base_lineup(params), modes, window.first_season, window.seasons)
    scores = summarise(race_scores(with_averages(predictions, AVERAGES)), by=["mode", "model"]).sort("mode", "log_loss")
    best = scores.group_by("mode", maintain_order=True).first()
    recipes = {row["mode"]: Recipe(family=row["model"], params=params) for row in best.iter_rows(named=True)}
    return recipes, scores
