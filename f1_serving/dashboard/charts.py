"""Chart geometry for the dashboard's inline SVG: plain numbers in, coordinates out, so a template only draws.

Charts are drawn on the server (no JavaScript, nothing to download) in a fixed `viewBox` that the browser scales
to the page width. Every chart carries its own title and a text description (the numbers it shows are also in a
table or a legend beside it), so it reads the same to a screen reader.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 560
HEIGHT = 300
MARGIN_LEFT = 60
MARGIN_RIGHT = 28
MARGIN_TOP = 16
MARGIN_BOTTOM = 40
DOTS_UP_TO = 30
DOT_RADIUS = 3.5
LARGEST_DOT = 11.0
"""The radius of the mark of the heaviest point of a weighted series; the others' areas scale from it."""
MAX_X_LABELS = 7
"""Labels the x axis keeps at most: a phone draws the chart about 350 pixels wide, where more would overlap."""
"""Points of the longest line up to which every point is marked: beyond it the marks hide the line."""
PALETTE = (
    "#1f5fbf",
    "#d1495b",
    "#2a9d4a",
    "#8a4fbf",
    "#c77800",
    "#0f8b8d",
    "#7a5230",
    "#c2408f",
    "#4d4d4d",
    "#6b8e23",
)
"""Distinct hues that keep at least 3:1 contrast on white (lines are also told apart by their legend labels)."""


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]
    """(x, y) in data units; y may be missing at some x (a gap is simply not drawn)."""
    weights: Sequence[float] | None = None
    """How much each point stands for (e.g. the races in a calibration bin): its mark's area is drawn in proportion,
    so a bin of one race does not look like a bin of fifty. None draws every mark alike."""


@dataclass(frozen=True)
class Line:
    name: str
    colour: str
    path: str
    """SVG polyline `points`: "x,y x,y ..." in chart coordinates."""
    dots: tuple[tuple[float, float, float], ...]
    """(x, y, radius) of each point's mark."""
    last: str | None
    """The last value, as the legend shows it (None where it says nothing, e.g. on a calibration chart)."""


@dataclass(frozen=True)
class LineChart:
    title: str
    description: str
    width: int
    height: int
    plot: tuple[float, float, float, float]
    """left, top, right, bottom of the plotting area."""
    x_ticks: tuple[Tick, ...]
    y_ticks: tuple[Tick, ...]
    y_label: str
    lines: tuple[Line, ...]
    dots: bool
    """Whether each point is marked (few points) or only the lines drawn."""
    diagonal: str | None = None
    """A reference line (y = x on a calibration chart) as polyline points, or None."""


def nice_step(span: float, ticks: int = 5) -> float:
    """A round tick step (1, 2 or 5 times a power of ten) giving about `ticks` intervals over `span`."""
    if span <= 0:
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= raw)


def _axis(low: float, high: float, ticks: int) -> tuple[float, float, float]:
    """Bounds widened to whole tick steps around [low, high], and the step."""
    if high == low:
        low, high = low - 1, high + 1
    step = nice_step(high - low, ticks)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def line_chart(
    title: str,
    description: str,
    series: Sequence[Series],
    *,
    y_label: str,
    y_format: str = "{:.0f}",
    x_labels: dict[float, str] | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    diagonal: bool = False,
    legend_values: bool = True,
    last_label: str = "",
) -> LineChart:
    """Lines for `series` on shared axes. `x_labels` names the x positions worth a tick (e.g. each season's first
    race); otherwise ticks fall on round numbers. `x_range` and `y_range` fix an axis (e.g. 0-1 for rates). The legend
    gives each line's last value after `last_label`, which says what it is of (e.g. "2026: ")."""
    xs = [x for line in series for x, _ in line.points]
    ys = [y for line in series for _, y in line.points]
    if not xs:
        raise ValueError(f"the chart {title!r} has no points to draw")
    left, top, right, bottom = MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
    x_low, x_high = x_range or (min(xs), max(xs))
    if x_high == x_low:
        x_low, x_high = x_low - 1, x_high + 1
    if y_range is None:
        y_low, y_high, y_step = _axis(min(ys), max(ys), 5)
    else:
        y_low, y_high = y_range
        y_step = nice_step(y_high - y_low, 5)

    def to_x(x: float) -> float:
        return round(left + (x - x_low) / (x_high - x_low) * (right - left), 1)

    def to_y(y: float) -> float:
        return round(bottom - (y - y_low) / (y_high - y_low) * (bottom - top), 1)

    y_ticks = tuple(
        Tick(to_y(y_low + index * y_step), y_format.format(y_low + index * y_step))
        for index in range(round((y_high - y_low) / y_step) + 1)
    )
    if x_labels is None:
        x_low_tick, _, x_step = _axis(x_low, x_high, 6)
        positions = [x_low_tick + index * x_step for index in range(int((x_high - x_low_tick) / x_step) + 1)]
        x_labels = {position: f"{position:g}" for position in positions if position >= x_low}
    labelled = sorted(x_labels.items())
    every = math.ceil(len(labelled) / MAX_X_LABELS)
    x_ticks = tuple(Tick(to_x(x), label) for x, label in labelled[::-1][::every][::-1])  # the latest always kept
    heaviest = max((weight for line in series for weight in (line.weights or ())), default=0.0)

    def radius(weights: Sequence[float] | None, index: int) -> float:
        if weights is None or heaviest <= 0:
            return DOT_RADIUS
        return round(max(1.5, LARGEST_DOT * math.sqrt(weights[index] / heaviest)), 1)

    lines = tuple(
        Line(
            name=line.name,
            colour=PALETTE[index % len(PALETTE)],
            path=" ".join(f"{to_x(x)},{to_y(y)}" for x, y in line.points),
            dots=tuple((to_x(x), to_y(y), radius(line.weights, k)) for k, (x, y) in enumerate(line.points)),
            last=f"{last_label}{y_format.format(line.points[-1][1])}" if legend_values and line.points else None,
        )
        for index, line in enumerate(series)
    )
    reference = None
    if diagonal:
        low, high = max(x_low, y_low), min(x_high, y_high)
        reference = f"{to_x(low)},{to_y(low)} {to_x(high)},{to_y(high)}"
    return LineChart(
        title=title,
        description=description,
        width=WIDTH,
        height=HEIGHT,
        plot=(left, top, right, bottom),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        y_label=y_label,
        lines=lines,
        dots=max(len(line.points) for line in series) <= DOTS_UP_TO or any(line.weights for line in series),
        diagonal=reference,
    )
