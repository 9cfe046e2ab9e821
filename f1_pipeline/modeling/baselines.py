"""Baselines a trained model has to beat, behind the models' fit/predict interface (`backtest.RaceModel`).

Each baseline follows the scikit-learn estimator conventions (parameters in `__init__`, learned attributes ending in
`_`, `get_params` for logging), takes a frame of (race, driver) rows and returns probabilities aligned with its rows
that sum to 1 in every race.
"""

from __future__ import annotations

import math
from typing import Self, cast

import numpy as np
import polars as pl
from scipy.optimize import minimize_scalar
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from f1_pipeline.modeling.backtest import RaceModel, completed
from f1_pipeline.modeling.feature_matrix import Mode
from f1_pipeline.modeling.field import RACE_KEY, normalise, race_index, softmax
from f1_pipeline.modeling.metrics import PODIUM_BASELINE

BACK_OF_GRID = "back"


class _MarkedDriverRate(BaseEstimator):
    """One marked driver per race (the pole-sitter, the championship leader) gets the rate at which such drivers won.

    The rest of the field shares what is left equally: the baseline claims nothing about them, and giving them a
    nonzero share keeps its log loss finite when the marked driver loses. A race without a marked driver is uniform.
    The rate is Laplace-smoothed ((wins + 1) / (races + 2)) so it is never exactly 0 or 1.
    """

    marked: pl.Expr

    def fit(self, train: pl.DataFrame) -> Self:
        is_marked = self.marked.fill_null(False)
        races = (
            _labelled(train)
            .group_by(RACE_KEY)
            .agg(has_marked=is_marked.any(), marked_won=(is_marked & pl.col("won")).any())
            .filter("has_marked")
        )
        self.win_rate_ = float((races["marked_won"].sum() + 1) / (races.height + 2))
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        is_marked = frame.select(self.marked.fill_null(False)).to_series().to_numpy()
        marked, others = _count_per_race(frame, is_marked), _count_per_race(frame, ~is_marked)
        sharing = np.maximum(np.where(is_marked, marked, others), 1)
        share = np.where(is_marked, self.win_rate_, 1 - self.win_rate_) / sharing
        return normalise(frame, np.where(marked > 0, share, 1.0))


class PoleSitter(_MarkedDriverRate):
    """After qualifying: the pole-sitter (grid 1) is the favourite."""

    marked = pl.col("grid") == 1


class ChampionshipLeader(_MarkedDriverRate):
    """Before qualifying: the championship leader is the favourite (none before a season's first race)."""

    marked = pl.col("championship_position") == 1


class GridSlotRate(BaseEstimator):
    """Each driver scored by how often his starting slot won in training, normalised per race.

    Pit-lane starts and unknown grids share one slot, "back". Rates are additively smoothed towards the overall win
    rate (`smoothing` pseudo-starts at that rate), so a rarely used slot is not 0 and a slot never seen in training
    falls back to an average driver's chance instead of add-one's 1/2.
    """

    def __init__(self, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing

    def fit(self, train: pl.DataFrame) -> Self:
        train = _labelled(train)
        self.base_rate_ = cast(float, train["won"].mean())
        prior_wins = self.smoothing * self.base_rate_
        slots = train.group_by(slot=_grid_slot()).agg(wins=pl.col("won").sum(), starts=pl.len())
        rates = (slots["wins"] + prior_wins) / (slots["starts"] + self.smoothing)
        self.slot_win_rate_ = dict(zip(slots["slot"].to_list(), rates.to_list(), strict=True))
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        rate = _grid_slot().replace_strict(self.slot_win_rate_, default=self.base_rate_, return_dtype=pl.Float64)
        return normalise(frame, frame.select(rate).to_series().to_numpy())


class EloOnly(BaseEstimator):
    """p proportional to 10^(elo / scale) within a race, with the scale fitted to the races rather than assumed.

    The scale maximises the conditional (per-race softmax) log likelihood of the winners, searched on log10(scale)
    within `bounds`; the likelihood is concave in ln(10) / scale, so the bounded one-dimensional search finds the
    optimum.
    """

    def __init__(self, bounds: tuple[float, float] = (10.0, 100_000.0)) -> None:
        self.bounds = bounds

    def fit(self, train: pl.DataFrame) -> Self:
        train = _labelled(train)
        elo = _elo(train)
        result = minimize_scalar(
            lambda exponent: -race_log_likelihood(train, elo * math.log(10) / 10**exponent),
            bounds=tuple(math.log10(bound) for bound in self.bounds),
            method="bounded",
        )
        self.scale_ = float(10**result.x)
        self.log_likelihood_ = float(-result.fun)
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return softmax(frame, _elo(frame) * math.log(10) / self.scale_)


class EloGridLogistic(BaseEstimator):
    """A logistic regression on the rating gap to the field's best and the starting slot, normalised per race.

    The gap rather than the raw rating, because only the rating relative to this field says who is favourite; a
    pit-lane start or unknown grid counts as starting behind the whole field (field size + 1). Features are
    standardised so `C` regularises both alike.
    """

    features = ("elo_gap", "grid")

    def __init__(self, C: float = 1.0, max_iter: int = 1000) -> None:  # noqa: N803 (scikit-learn's name)
        self.C = C
        self.max_iter = max_iter

    def fit(self, train: pl.DataFrame) -> Self:
        train = _labelled(train)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter))
        self.model_: Pipeline = model.fit(self._design(train), train["won"].to_numpy())
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        return normalise(frame, self.model_.predict_proba(self._design(frame))[:, 1])

    def feature_importances(self) -> dict[str, float]:
        """|coefficient| of each standardised feature as a share of the total, comparable with the models' plots."""
        check_is_fitted(self)
        weights = np.abs(self.model_[-1].coef_[0])
        return dict(zip(self.features, (weights / weights.sum()).tolist(), strict=True))

    def _design(self, frame: pl.DataFrame) -> np.ndarray:
        elo = pl.Series(_elo(frame))
        return (
            frame.select(*RACE_KEY, "grid")
            .with_columns(elo=elo)
            .select(
                elo_gap=pl.col("elo") - pl.col("elo").max().over(RACE_KEY),
                grid=pl.when(pl.col("grid") >= 1).then("grid").otherwise(pl.len().over(RACE_KEY) + 1),
            )
            .to_numpy()
            .astype(np.float64)
        )


BASELINES: dict[Mode, dict[str, type[RaceModel]]] = {
    "post_qualifying": {
        "pole_sitter": PoleSitter,
        "grid_slot_rate": GridSlotRate,
        "elo_only": EloOnly,
        "elo_grid_logistic": EloGridLogistic,
    },
    "pre_qualifying": {"championship_leader": ChampionshipLeader, "elo_only": EloOnly},
}


def baselines_for(mode: Mode) -> dict[str, RaceModel]:
    """Fresh, unfitted baselines that only use what is known at `mode`'s prediction time."""
    return {name: baseline() for name, baseline in BASELINES[mode].items()}


def race_log_likelihood(frame: pl.DataFrame, logits: np.ndarray) -> float:
    """Sum over races of ln softmax(logits) at the winners: the likelihood a per-race (conditional logit) model fits."""
    winners = softmax(frame, logits)[frame["won"].to_numpy()]
    return float(np.log(np.clip(winners, 1e-300, None)).sum())


def _labelled(train: pl.DataFrame) -> pl.DataFrame:
    """Training needs outcomes; an unlabelled (future) race slipped into training would be silently read as a loss."""
    if train.is_empty():
        raise ValueError("cannot fit on an empty frame")
    if train["won"].null_count():
        raise ValueError("`won` is null for some training rows: fit only on finished races")
    return train


def _count_per_race(frame: pl.DataFrame, flags: np.ndarray) -> np.ndarray:
    """How many rows of each row's race are flagged, aligned with the rows."""
    races = race_index(frame)
    return np.bincount(races, weights=flags)[races]


def _grid_slot() -> pl.Expr:
    """The slot as text, so the pit lane and unknown grids can be one more slot rather than a null."""
    return pl.when(pl.col("grid") >= 1).then(pl.col("grid").cast(pl.Utf8)).otherwise(pl.lit(BACK_OF_GRID))


def _elo(frame: pl.DataFrame) -> np.ndarray:
    """Ratings with a missing one set to its race's lowest, i.e. treated like a newcomer (nobody rated → all 0)."""
    elo = pl.col("driver_elo")
    return frame.select(elo.fill_null(elo.min().over(RACE_KEY)).fill_null(0.0)).to_series().to_numpy()


class GridPodiumRate(BaseEstimator):
    """After qualifying, P(podium) of each driver: how often his starting slot finished in the top 3 in training.

    The podium counterpart of `GridSlotRate` (the same slots, pit lane and unknown grids as "back", smoothed towards
    the overall podium rate with `smoothing` pseudo-starts). It predicts podium membership directly rather than a win
    distribution, so it is scored only by the podium metrics. Each race's rates are scaled to sum to min(3, field),
    as any finishing order's do, without letting a slot exceed 1.
    """

    def __init__(self, smoothing: float = 1.0) -> None:
        self.smoothing = smoothing

    def fit(self, train: pl.DataFrame) -> Self:
        train = _labelled(train).with_columns(podium=pl.col("finish_position").is_between(1, 3).fill_null(False))
        self.base_rate_ = cast(float, train["podium"].mean())
        slots = train.group_by(slot=_grid_slot()).agg(podiums=pl.col("podium").sum(), starts=pl.len())
        rates = (slots["podiums"] + self.smoothing * self.base_rate_) / (slots["starts"] + self.smoothing)
        self.slot_podium_rate_ = dict(zip(slots["slot"].to_list(), rates.to_list(), strict=True))
        return self

    def predict_podium(self, frame: pl.DataFrame) -> np.ndarray:
        check_is_fitted(self)
        rate = _grid_slot().replace_strict(self.slot_podium_rate_, default=self.base_rate_, return_dtype=pl.Float64)
        rates = frame.select(rate).to_series().to_numpy()
        races = race_index(frame)
        scaled = np.empty_like(rates)
        for race in np.unique(races):
            members = races == race
            scaled[members] = capped_scale(rates[members], min(3, int(members.sum())))
        return scaled


def capped_scale(values: np.ndarray, total: float) -> np.ndarray:
    """Non-negative values scaled to sum to `total` with none above 1: those that would exceed 1 are set to 1 and the
    rest rescaled to what is left, until none does."""
    scaled = np.zeros_like(values, dtype=np.float64)
    free = np.ones(values.size, dtype=bool)
    while True:
        room = total - (~free).sum()
        weights = np.where(free, np.maximum(values, 0), 0.0)
        if weights.sum() <= 0:
            scaled[free] = room / max(free.sum(), 1)
            return scaled
        scaled = np.where(free, weights / weights.sum() * room, 1.0)
        over = free & (scaled > 1)
        if not over.any():
            return scaled
        free &= ~over


def grid_podium_backtest(frame: pl.DataFrame, seasons: list[int], train_first_season: int) -> pl.DataFrame:
    """season, round, driver_id and the baseline's P(podium) (`PODIUM_BASELINE`) for every completed race of
    `seasons`, each season's rates learned from the seasons before it (walk-forward, like the models)."""
    parts = []
    for season in seasons:
        test = completed(frame).filter(pl.col("season") == season)
        train = completed(frame).filter(pl.col("season").is_between(train_first_season, season - 1))
        if test.is_empty() or train.is_empty():
            continue
        rate = GridPodiumRate().fit(train).predict_podium(test)
        parts.append(test.select(*RACE_KEY, "driver_id").with_columns(pl.Series(PODIUM_BASELINE, rate)))
    schema = {"season": pl.Int32, "round": pl.Int32, "driver_id": pl.String, PODIUM_BASELINE: pl.Float64}
    return pl.concat(parts) if parts else pl.DataFrame(schema=schema)
