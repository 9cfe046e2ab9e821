"""Figures render to PNG without pyplot."""

import sys

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from f1_pipeline.modeling.metrics import calibration
from f1_pipeline.modeling.plots import (
    accuracy_by_season_figure,
    calibration_figure,
    feature_importance_figure,
    figure_png,
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
    figure = calibration_figure({"elo_only": curve(1), "xgboost": curve(2)}, show_counts=show_counts)
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
