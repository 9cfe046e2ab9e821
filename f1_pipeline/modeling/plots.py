"""Evaluation figures for MLflow artifacts and Dagster metadata.

Figures are built on `matplotlib.figure.Figure` directly, never through pyplot: pyplot keeps global state (a current
figure, a backend choice) that is unsafe when Dagster runs several steps in threads, and figures it never closes
leak. Nothing here shows a window; `figure_png` renders with the Agg canvas whatever the configured backend.

Every figure draws a model in the same colour (`model_colour`) and names models, modes and metrics in plain words
(`model_label`, `MODE_LABELS`, `METRIC_LABELS`), so figures side by side read the same way. Legends sit outside the
axes, where no line can hide an entry.
"""

from __future__ import annotations

import io
import zlib
from collections.abc import Mapping

import polars as pl
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

MODEL_COLOURS = {
    "candidate": "#000000",
    "conditional_logit": "#1f77b4",
    "conditional_logit_core_features": "#17becf",
    "plackett_luce": "#9467bd",
    "random_forest": "#2ca02c",
    "xgboost": "#ff7f0e",
    "rf_xgb_average": "#bcbd22",
    "logit_tree_blend": "#8c564b",
    "elo_only": "#d62728",
    "elo_grid_logistic": "#e377c2",
    "pole_sitter": "#7f7f7f",
    "grid_slot_rate": "#393b79",
    "championship_leader": "#637939",
}
"""A fixed colour per model and baseline (the candidate in black: it is one of the model families, picked out)."""
SPARE_COLOURS = ("#843c39", "#5254a3", "#8ca252", "#bd9e39", "#ad494a", "#a55194", "#6b6ecf", "#e7ba52")
"""For a model not in the map: picked by its name, so it too keeps one colour in every figure."""
MODEL_LABELS = {
    "candidate": "candidate (chosen model family)",
    "conditional_logit": "conditional logit",
    "conditional_logit_core_features": "conditional logit, core features",
    "plackett_luce": "Plackett-Luce",
    "random_forest": "random forest",
    "xgboost": "XGBoost",
    "rf_xgb_average": "forest + XGBoost average",
    "logit_tree_blend": "logit + trees blend",
    "elo_only": "ELO only",
    "elo_grid_logistic": "ELO + grid logistic",
    "pole_sitter": "pole sitter wins",
    "grid_slot_rate": "grid slot win rate",
    "championship_leader": "championship leader wins",
}
MODE_LABELS = {"pre_qualifying": "before qualifying", "post_qualifying": "after qualifying"}
MODE_LINES = {"post_qualifying": "-", "pre_qualifying": "--"}
"""A model's two modes share its colour and differ by line style."""
METRIC_LABELS = {
    "top1": "favourite won (share of races)",
    "top3": "winner in the top 3 (share of races)",
    "log_loss": "log loss (lower is better)",
    "brier": "Brier score (lower is better)",
}


def model_colour(model: str) -> str:
    if model in MODEL_COLOURS:
        return MODEL_COLOURS[model]
    return SPARE_COLOURS[zlib.crc32(model.encode()) % len(SPARE_COLOURS)]


def model_label(model: str) -> str:
    return MODEL_LABELS.get(model, model.replace("_", " "))


def calibration_figure(
    curves: Mapping[str | tuple[str, str | None], pl.DataFrame], *, show_counts: bool = True
) -> Figure:
    """Reliability curves (from `metrics.calibration`) on one chart, against the diagonal, keyed by model or by
    (model, mode).

    The counts panel (log scale) shows how few drivers the high-probability bins hold, i.e. how noisy that end is.
    """
    figure = Figure(figsize=(7.0, 8.5 if show_counts else 7.0), layout="constrained")
    if show_counts:
        reliability, counts = figure.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    else:
        reliability, counts = figure.subplots(), None
    reliability.plot([0, 1], [0, 1], linestyle=":", color="grey", label="perfectly calibrated")
    for key, curve in curves.items():
        model, mode = (key, None) if isinstance(key, str) else key
        style = {"color": model_colour(model), "linestyle": MODE_LINES.get(mode or "", "-")}
        label = model_label(model) if mode is None else f"{model_label(model)}, {MODE_LABELS.get(mode, mode)}"
        reliability.plot(curve["mean_probability"], curve["observed_rate"], marker="o", label=label, **style)
        if counts is not None:
            counts.plot(curve["mean_probability"], curve["count"], marker=".", **style)
    reliability.set(xlim=(0, 1), ylim=(0, 1), ylabel="how often the driver won", title="Calibration")
    reliability.grid(alpha=0.3)
    if counts is not None:
        counts.set(yscale="log", ylabel="drivers in the bin")
    (counts or reliability).set_xlabel("predicted win probability")
    figure.legend(loc="outside lower center", ncols=2, fontsize="small")
    return figure


def accuracy_by_season_figure(summary_by_season: pl.DataFrame, metric: str = "top1") -> Figure:
    """One line per model across seasons (from `metrics.summarise(by=[..., "season"])`), one panel per mode if any,
    one legend for all panels."""
    if metric not in summary_by_season.columns:
        raise ValueError(f"no {metric!r} column to plot; columns are {summary_by_season.columns}")
    modes = summary_by_season["mode"].unique().sort().to_list() if "mode" in summary_by_season.columns else []
    modes.sort(key=lambda mode: list(MODE_LABELS).index(mode) if mode in MODE_LABELS else len(MODE_LABELS))
    panels = max(len(modes), 1)
    figure = Figure(figsize=(4.8 * panels, 4.8), layout="constrained")  # two panels fit the Dagster UI dialog
    axes = figure.subplots(1, panels, sharey=True, squeeze=False)[0]
    for axis, mode in zip(axes, modes or [None], strict=True):
        rows = summary_by_season if mode is None else summary_by_season.filter(pl.col("mode") == mode)
        _season_lines(axis, rows, metric)
        axis.set(title=MODE_LABELS.get(mode, mode) if mode else METRIC_LABELS.get(metric, metric), xlabel="season")
    axes[0].set_ylabel(METRIC_LABELS.get(metric, metric))
    handles: dict[str, Artist] = {}
    for axis in axes:
        for handle, label in zip(*axis.get_legend_handles_labels(), strict=True):
            handles.setdefault(label, handle)
    figure.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=3, fontsize="small")
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
        name = str(model)
        axis.plot(line["season"], line[metric], marker="o", color=model_colour(name), label=model_label(name))
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))  # seasons, never 2022.25
    axis.grid(alpha=0.3)
