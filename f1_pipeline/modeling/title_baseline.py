"""A standings baseline for title odds: a conditional logit on each contender's points gap to the leader and the
points still available, fitted walk-forward on the checkpoints of earlier seasons.

It knows nothing about the cars, only the table and the calendar, so a simulation worth publishing has to beat it.
Gaps are measured in race wins (the winner's points that season), so seasons with different scales train one model:
the score is a * gap / sqrt(wins left) + b * gap / wins left, where "wins left" is the points still available
divided by a win's points. A contender who cannot catch the leader even by winning everything left (gap above the
points available) gets exactly 0: the title is mathematically lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Self

import numpy as np
import polars as pl
from scipy.optimize import minimize

CHECKPOINT_KEY = ("season", "after_round", "entity")


def win_points(season: int) -> float:
    """A Grand Prix win's points: 25 from 2010, 10 from 1991 (9 before)."""
    return 25.0 if season >= 2010 else 10.0 if season >= 1991 else 9.0


def standings_features(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` (season, after_round, entity, id, points, points_available) with gap, wins_left, decided_out and
    the two scores' features added; points_available is what the leader could still add (races, sprints, bonuses)."""
    wins = pl.col("season").map_elements(win_points, return_dtype=pl.Float64)
    gap = pl.col("points").max().over(CHECKPOINT_KEY) - pl.col("points")
    left = (pl.col("points_available") / wins).clip(1e-9)
    return frame.with_columns(
        gap=gap,
        decided_out=gap > pl.col("points_available"),
        x_sqrt=gap / wins / left.sqrt(),
        x_linear=gap / wins / left,
    )


@dataclass
class StandingsLogit:
    """Softmax over a checkpoint's contenders of -(a * x_sqrt + b * x_linear); contenders mathematically out get 0."""

    l2: float = 1e-3
    coef_: np.ndarray = field(init=False, repr=False)

    def fit(self, checkpoints: pl.DataFrame) -> Self:
        """`checkpoints`: `standings_features` rows with `champion` (bool), one champion per checkpoint."""
        rows = checkpoints.filter(~pl.col("decided_out"))
        index = rows.select(pl.struct(*CHECKPOINT_KEY).rank("dense") - 1).to_series().to_numpy()
        x = rows.select("x_sqrt", "x_linear").to_numpy()
        won = rows["champion"].to_numpy()
        groups = int(index.max()) + 1

        def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
            p = _grouped_softmax(index, -(x @ weights), groups)
            nll = -np.log(np.clip(p[won], 1e-300, None)).sum() / groups
            gradient = (x[won].sum(axis=0) - p @ x) / groups  # d(nll)/dw for score -x @ w
            return nll + self.l2 * weights @ weights, gradient + 2 * self.l2 * weights

        self.coef_ = minimize(loss, np.ones(2), jac=True, method="L-BFGS-B").x
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """P(title) per row of `standings_features` rows, summing to 1 per checkpoint."""
        index = frame.select(pl.struct(*CHECKPOINT_KEY).rank("dense") - 1).to_series().to_numpy()
        score = -(frame.select("x_sqrt", "x_linear").to_numpy() @ self.coef_)
        score = np.where(frame["decided_out"].to_numpy(), -np.inf, score)
        return _grouped_softmax(index, score, int(index.max()) + 1)


def _grouped_softmax(index: np.ndarray, score: np.ndarray, groups: int) -> np.ndarray:
    top = np.full(groups, -np.inf)
    np.maximum.at(top, index, score)
    e = np.exp(score - top[index])
    total = np.zeros(groups)
    np.add.at(total, index, e)
    return e / total[index]
