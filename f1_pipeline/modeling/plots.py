"""Evaluation figures for MLflow artifacts and Dagster metadata.

Figures are built on `matplotlib.figure.Figure` directly, never through pyplot: pyplot keeps global state (a current
figure, a backend choice) that is unsafe when Dagster runs several steps in threads, and figures it never closes
leak. Nothing here shows a window; `figure_png` renders with the Agg canvas whatever the configured backend.
"""

from __future__ import annotations

import io
from collections.abc import Mapping

import polars as pl
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def calibration_figure(curves: Mapping[str, pl.DataFrame], *, show_counts: bool = True) -> Figure:
    """Reliability curves (from `metrics.calibration`) of several models on one chart, against the diagonal.

    The counts panel (log scale) shows how few drivers the high-probability bins hold, i.e. how noisy that end is.
    """
    figure = Figure(figsize=(6.5, 7.5 if show_counts else 6.0), layout="constrained")
    if show_counts:
        reliability, counts = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    else:
        reliability, counts = figure.subplots(), None
    reliability.plot([0, 1], [0, 1], linestyle="--", color="grey", label="perfectly calibrated")
    for name, curve in curves.items():
        reliability.plot(curve["mean_probability"], curve["observed_rate"], marker="o", label=name)
        if counts is not None:
            counts.plot(curve["mean_probability"], curve["count"], marker=".", label=name)
    reliability.set(xlim=(0, 1), ylim=(0, 1), ylabel="observed win rate", title="Calibration")
    reliability.legend(loc="upper left")
    if counts is not None:
        counts.set(yscale="log", ylabel="drivers")
    (counts or reliability).set_xlabel("predicted win probability")
    return figure


def accuracy_by_season_figure(summary_by_season: pl.DataFrame, metric: str = "top1") -> Figure:
    """One line per model across seasons (from `metrics.summarise(by=[..., "season"])`), one panel per mode if any."""
    if metric not in summary_by_season.columns:
        raise ValueError(f"no {metric!r} column to plot; columns are {summary_by_season.columns}")
    modes = summary_by_season["mode"].unique().sort().to_list() if "mode" in summary_by_season.columns else []
    panels = max(len(modes), 1)
    figure = Figure(figsize=(6.5 * panels, 4.5), layout="constrained")
    axes = figure.subplots(1, panels, sharey=True, squeeze=False)[0]
    for axis, mode in zip(axes, modes or [None], strict=True):
        rows = summary_by_season if mode is None else summary_by_season.filter(pl.col("mode") == mode)
        _season_lines(axis, rows, metric)
        axis.set(title=mode or metric, xlabel="season")
    axes[0].set_ylabel(metric)
    return figure


def feature_importance_figure(importances: Mapping[str, float], title: str = "Feature importance") -> Figure:
    """Horizontal bars, the largest magnitude at the top (signed weights keep their sign but rank by size)."""
    ranked = sorted(importances.items(), key=lambda item: abs(item[1]))
    figure = Figure(figsize=(7.0, 1.0 + 0.3 * max(len(ranked), 1)), layout="constrained")
    axis = figure.subplots()
    axis.barh([name for name, _ in ranked], [value for _, value in ranked])
    axis.axvline(0, color="grey", linewidth=0.8)
    axis.set(title=title, xlabel="importance")
    return figure


def figure_png(figure: Figure, dpi: int = 110) -> bytes:
    """PNG bytes, rendered with the Agg canvas so no GUI backend or pyplot state is touched."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _season_lines(axis: Axes, rows: pl.DataFrame, metric: str) -> None:
    for (model,), line in rows.sort("model", "season").group_by("model", maintain_order=True):
        axis.plot(line["season"], line[metric], marker="o", label=str(model))
    axis.grid(alpha=0.3)
    axis.legend()
