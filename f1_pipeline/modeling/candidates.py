"""The model kinds a candidate can be, and the recipe that rebuilds one: kind plus tuned hyper-parameters.

A recipe is plain data (it goes to MLflow as JSON), so the promotion gate can rebuild the champion's recipe and score
it on exactly the candidate's evaluation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import polars as pl

from f1_pipeline.modeling.backtest import Lineup, RaceModel, predict_seasons, race_scores, with_averages
from f1_pipeline.modeling.estimators import Average
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.metrics import summarise
from f1_pipeline.modeling.tuning import REFERENCE_PARAMS, Family, TuningWindow, build_model

Kind = Literal["random_forest", "xgboost", "rf_xgb_average", "conditional_logit", "plackett_luce", "logit_tree_blend"]
AVERAGES: dict[Kind, tuple[Kind, ...]] = {
    "rf_xgb_average": ("random_forest", "xgboost"),
    "logit_tree_blend": ("conditional_logit", "rf_xgb_average"),
}
"""Kinds that average others; the backtest derives them from their members' predictions instead of refitting."""
KINDS: tuple[Kind, ...] = ("random_forest", "xgboost", "conditional_logit", "plackett_luce", *AVERAGES)


@dataclass(frozen=True)
class Recipe:
    """How to build the model of one mode: its kind and every family's hyper-parameters."""

    kind: Kind
    params: Mapping[Family, Mapping[str, Any]] = field(default_factory=lambda: dict(REFERENCE_PARAMS))

    def build(self, mode: Mode) -> RaceModel:
        return build_kind(self.kind, mode, self.params)


def build_kind(kind: Kind, mode: Mode, params: Mapping[Family, Mapping[str, Any]]) -> RaceModel:
    if kind in AVERAGES:
        return Average(tuple(build_kind(member, mode, params) for member in AVERAGES[kind]))
    return build_model(kind, mode, params[kind])


def recipes_to_json(recipes: Mapping[Mode, Recipe]) -> str:
    return json.dumps({mode: asdict(recipe) for mode, recipe in recipes.items()}, sort_keys=True)


def recipes_from_json(text: str) -> dict[Mode, Recipe]:
    return {mode: Recipe(kind=value["kind"], params=value["params"]) for mode, value in json.loads(text).items()}


def base_lineup(params: Mapping[Family, Mapping[str, Any]]) -> Lineup:
    """The kinds that are fitted (averages are derived from their predictions)."""
    return lambda mode: {kind: build_kind(kind, mode, params) for kind in KINDS if kind not in AVERAGES}


def choose_recipes(
    frame: pl.DataFrame, window: TuningWindow, params: Mapping[Family, Mapping[str, Any]], modes: Sequence[Mode]
) -> tuple[dict[Mode, Recipe], pl.DataFrame]:
    """Per mode, the kind with the lowest validation log loss (on the tuning seasons, never the backtest's)."""
    predictions = predict_seasons(frame, base_lineup(params), modes, window.first_season, window.seasons)
    scores = summarise(race_scores(with_averages(predictions, AVERAGES)), by=["mode", "model"]).sort("mode", "log_loss")
    best = scores.group_by("mode", maintain_order=True).first()
    recipes = {row["mode"]: Recipe(kind=row["model"], params=params) for row in best.iter_rows(named=True)}
    return recipes, scores
