"""Figures render to PNG without pyplot."""

import sys

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from f1_pipeline.modeling.metrics import calibration
from f1_pipeline.modeling.plots import (
    MODEL_COLOURS,
    accuracy_by_season_figure,
    calibration_figure,
    feature_importance_figure,
    figure_png,
    model_colour,
)

PNG = b"\x89PNG\r\n\x1a\n"


def curve(seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    races = 50
    frame = pl.DataFrame(
        {
            "season": np.repeat(2024, races * 4),
            "round": np.repeat(np.arange(races), 4),
            "won": np.tile([True, False, False, False], races),
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )
    favourite = rng.uniform(0.3, 0.9, races)
    probability = np.column_stack([favourite, *((1 - favourite) / 3 for _ in range(3))]).ravel()
    return calibration(frame, probability)


def summary(with_mode: bool) -> pl.DataFrame:
    rows = [
        {"model": model, "mode": mode, "season": season, "races": 20, "top1": top1, "log_loss": 1.5}
        for mode in ("pre_qualifying", "post_qualifying")
        for model, top1 in (("elo_only", 0.4), ("xgboost", 0.55))
        for season in (2022, 2023, 2024)
    ]
    frame = pl.DataFrame(rows)
    return frame if with_mode else frame.filter(mode="post_qualifying").drop("mode")


@pytest.mark.parametrize("show_counts", [True, False])
def test_calibration_figure(show_counts):
    figure = calibration_figure({("elo_only", None): curve(1), ("xgboost", None): curve(2)}, show_counts=show_counts)
    assert isinstance(figure, Figure)
    assert len(figure.axes) == (2 if show_counts else 1)
    reliability = figure.axes[0]
    assert len(reliability.lines) == 3  # the diagonal and one line per model
    assert figure_png(figure).startswith(PNG)


@pytest.mark.parametrize(("with_mode", "panels"), [(True, 2), (False, 1)])
def test_accuracy_by_season_one_panel_per_mode(with_mode, panels):
    figure = accuracy_by_season_figure(summary(with_mode))
    assert len(figure.axes) == panels
    assert all(len(axis.lines) == 2 for axis in figure.axes)
    assert figure_png(figure).startswith(PNG)


def test_accuracy_by_season_needs_the_metric():
    with pytest.raises(ValueError, match="brier"):
        accuracy_by_season_figure(summary(True), metric="brier")


def test_feature_importance_bars_are_sorted_largest_on_top():
    figure = feature_importance_figure({"grid": 0.2, "driver_elo": 0.7, "team_elo": -0.1})
    labels = [label.get_text() for label in figure.axes[0].get_yticklabels()]
    assert labels == ["team_elo", "grid", "driver_elo"]  # barh draws bottom to top
    assert figure_png(figure).startswith(PNG)


def test_no_pyplot_state_is_used():
    figure_png(feature_importance_figure({"a": 1.0}))
    pyplot = sys.modules.get("matplotlib.pyplot")
    assert pyplot is None or not pyplot.get_fignums()


def line_colours(axis):
    return {line.get_label(): line.get_color() for line in axis.lines if not line.get_label().startswith("_")}


def test_a_model_keeps_its_colour_in_every_panel_and_figure():
    accuracy = accuracy_by_season_figure(summary(True))
    calibration = calibration_figure(
        {("elo_only", "pre_qualifying"): curve(1), ("xgboost", "post_qualifying"): curve(2)}, show_counts=False
    )
    panels = [line_colours(axis) for axis in accuracy.axes]
    assert panels[0] == panels[1] == {"ELO only": MODEL_COLOURS["elo_only"], "XGBoost": MODEL_COLOURS["xgboost"]}
    assert line_colours(calibration.axes[0]) == {
        "perfectly calibrated": "grey",
        "ELO only, before qualifying": MODEL_COLOURS["elo_only"],
        "XGBoost, after qualifying": MODEL_COLOURS["xgboost"],
    }


def test_every_known_model_has_its_own_colour_and_an_unknown_one_a_stable_colour():
    assert len(set(MODEL_COLOURS.values())) == len(MODEL_COLOURS)
    by_name_only = calibration_figure({"xgboost": curve(1)}, show_counts=False)
    assert line_colours(by_name_only.axes[0])["XGBoost"] == MODEL_COLOURS["xgboost"]
    assert model_colour("a_new_kind") == model_colour("a_new_kind")
    assert model_colour("a_new_kind") not in MODEL_COLOURS.values()


def test_modes_are_panels_in_race_weekend_order_with_plain_titles_and_one_legend_outside():
    figure = accuracy_by_season_figure(summary(True))
    assert [axis.get_title() for axis in figure.axes] == ["before qualifying", "after qualifying"]
    assert figure.axes[0].get_ylabel() == "favourite won (share of races)"
    assert all(axis.get_legend() is None for axis in figure.axes)  # no legend drawn over the lines
    assert all(tick == int(tick) for tick in figure.axes[0].get_xticks())  # whole seasons
    (legend,) = figure.legends
    assert sorted(text.get_text() for text in legend.get_texts()) == ["ELO only", "XGBoost"]
