"""Race-winner models: each turns a race's field into a distribution that sums to 1.

Two families share one interface (`fit(train) -> self`, `predict(frame) -> probabilities per row`):
- `TreeEnsemble`: the seed's binary classifiers (RandomForest, XGBoost or their average) whose per-driver
  scores are normalised within each race;
- `ConditionalLogit`: one linear score per driver and a softmax over the field, fitted on the likelihood of
  the actual winner, which is the quantity the backtest measures (McFadden's conditional logit).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import polars as pl
from scipy.optimize import minimize
from sklearn.ensemble import RandomForestClassifier
from xgboost import XGBClassifier

from f1_pipeline.modeling.features import Mode, features_for
from f1_pipeline.modeling.field import RACE_KEY, normalise, race_index, softmax

SEED_RANDOM_FOREST: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 10,
    "min_samples_split": 5,
    "min_samples_leaf": 1,
    "max_features": "sqrt",
}
SEED_XGBOOST: dict[str, Any] = {
    "learning_rate": 0.1,
    "n_estimators": 200,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "reg_lambda": 1.0,
}
RELATIVE_FEATURES = (
    "driver_elo_gap",
    "team_elo_gap",
    "driver_elo_rank",
    "team_elo_rank",
    "teammate_elo_gap",
    "field_size",
)
GRID_FEATURES = ("grid_log", "pole", "front_row")
"""A linear score needs the grid's shape: pole is worth far more over second than tenth over eleventh."""
"""Each driver against the rest of the field: what decides a race is being better than the others."""


def model_columns(mode: Mode, *, extended: bool = True) -> tuple[str, ...]:
    grid = GRID_FEATURES if mode == "post_qualifying" else ()
    return (*features_for(mode, extended=extended), *RELATIVE_FEATURES, *grid)


def model_matrix(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The feature pipeline every model shares: relative-to-field columns, then floats with NaN for missing."""
    over = list(RACE_KEY)
    relative = frame.with_columns(
        driver_elo_gap=pl.col("driver_elo") - pl.col("driver_elo").max().over(over),
        team_elo_gap=pl.col("team_elo") - pl.col("team_elo").max().over(over),
        driver_elo_rank=pl.col("driver_elo").rank("min", descending=True).over(over),
        team_elo_rank=pl.col("team_elo").rank("dense", descending=True).over(over),
        teammate_elo_gap=pl.col("driver_elo") - pl.col("driver_elo").mean().over(*over, "constructor_id"),
        field_size=pl.len().over(over),
        grid_log=pl.col("grid").log(),
        pole=(pl.col("grid") == 1).cast(pl.Float64),
        front_row=(pl.col("grid") <= 2).cast(pl.Float64),
    )
    return relative.select(pl.col(column).cast(pl.Float64) for column in columns).to_numpy().astype(np.float64)


def winners(frame: pl.DataFrame) -> np.ndarray:
    return frame["won"].cast(pl.Float64).to_numpy()


@dataclass
class TreeEnsemble:
    """RandomForest and/or XGBoost on the binary "won" target, averaged, then normalised per race.

    Both use the seed's class balancing (about one winner in twenty rows); the per-race normalisation puts the
    scores back on a probability scale.
    """

    mode: Mode
    members: tuple[str, ...] = ("random_forest", "xgboost")
    random_forest: Mapping[str, Any] = field(default_factory=lambda: dict(SEED_RANDOM_FOREST))
    xgboost: Mapping[str, Any] = field(default_factory=lambda: dict(SEED_XGBOOST))
    extended: bool = True
    seed: int = 42
    n_jobs: int = 2

    def fit(self, train: pl.DataFrame) -> Self:
        x, y = model_matrix(train, self.columns), winners(train)
        self.estimators_ = [_predicting_in_one_thread(self._estimator(name, y).fit(x, y)) for name in self.members]
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        x = model_matrix(frame, self.columns)
        scores = np.mean([estimator.predict_proba(x)[:, 1] for estimator in self.estimators_], axis=0)
        return normalise(frame, scores)

    @property
    def columns(self) -> tuple[str, ...]:
        return model_columns(self.mode, extended=self.extended)

    def feature_importances(self) -> dict[str, float]:
        """Mean of the members' impurity/gain importances, for the MLflow plot."""
        shares = np.mean([estimator.feature_importances_ for estimator in self.estimators_], axis=0)
        return dict(zip(self.columns, shares.tolist(), strict=True))

    def _estimator(self, name: str, y: np.ndarray) -> RandomForestClassifier | XGBClassifier:
        if name == "random_forest":
            return RandomForestClassifier(
                **self.random_forest, class_weight="balanced", random_state=self.seed, n_jobs=self.n_jobs
            )
        if name == "xgboost":
            positives = max(float(y.sum()), 1.0)
            return XGBClassifier(
                **self.xgboost,
                scale_pos_weight=(len(y) - positives) / positives,
                tree_method="hist",
                random_state=self.seed,
                n_jobs=self.n_jobs,
                eval_metric="logloss",
            )
        raise ValueError(f"unknown ensemble member {name!r}: use random_forest or xgboost")


def _predicting_in_one_thread(
    estimator: RandomForestClassifier | XGBClassifier,
) -> RandomForestClassifier | XGBClassifier:
    """A forest's threads add their trees' probabilities in whatever order they finish, so two predictions of one
    fitted forest can differ in the last bit; one thread makes every run reproduce the same numbers (its fit stays
    parallel and is deterministic anyway, as is XGBoost)."""
    if isinstance(estimator, RandomForestClassifier):
        estimator.set_params(n_jobs=1)
    return estimator


@dataclass
class ConditionalLogit:
    """Softmax over the field of a linear score, with an L2 penalty; missing values become 0 plus an indicator.

    Fitted by L-BFGS on the mean log likelihood of each race's winner, so it optimises the backtest's log loss.
    """

    mode: Mode
    l2: float = 1.0
    extended: bool = True

    def fit(self, train: pl.DataFrame) -> Self:
        raw = model_matrix(train, self.columns)
        self.mean_, self.scale_ = _observed_moments(raw)
        x = self._design(raw)
        races, won = race_index(train), winners(train)
        races_count = races.max() + 1

        def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
            logits = x @ weights
            probability = softmax(train, logits)
            log_likelihood = np.log(np.clip(probability[won == 1], 1e-300, None)).sum()
            expected = np.zeros((races_count, x.shape[1]))
            np.add.at(expected, races, probability[:, None] * x)
            gradient = (x[won == 1].sum(axis=0) - expected.sum(axis=0)) / races_count
            penalty = self.l2 * weights @ weights / races_count
            return -log_likelihood / races_count + penalty, -gradient + 2 * self.l2 * weights / races_count

        solution = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
        self.coef_ = solution.x
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return softmax(frame, self._design(model_matrix(frame, self.columns)) @ self.coef_)

    @property
    def columns(self) -> tuple[str, ...]:
        return model_columns(self.mode, extended=self.extended)

    def feature_importances(self) -> dict[str, float]:
        """|weight| of each standardised feature (the missing-value indicators folded into their feature)."""
        width = len(self.columns)
        weights = np.abs(self.coef_[:width]) + np.abs(self.coef_[width:])
        return dict(zip(self.columns, (weights / weights.sum()).tolist(), strict=True))

    def _design(self, raw: np.ndarray) -> np.ndarray:
        missing = np.isnan(raw)
        standard = np.where(missing, 0.0, (raw - self.mean_) / self.scale_)
        return np.hstack([standard, missing.astype(np.float64)])


def _observed_moments(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and spread of each column's observed values; a column never observed (weather offline) gets (0, 1)."""
    observed = ~np.isnan(raw)
    counts = np.maximum(observed.sum(axis=0), 1)
    filled = np.where(observed, raw, 0.0)
    mean = filled.sum(axis=0) / counts
    spread = np.sqrt((np.where(observed, raw - mean, 0.0) ** 2).sum(axis=0) / counts)
    return mean, np.where(spread > 0, spread, 1.0)


@dataclass
class Average:
    """The mean of several models' distributions (still a distribution): the seed's RF + XGBoost average, or a
    blend of the conditional logit with it."""

    members: tuple[Any, ...]

    def fit(self, train: pl.DataFrame) -> Self:
        for member in self.members:
            member.fit(train)
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return np.mean([member.predict(frame) for member in self.members], axis=0)

    def feature_importances(self) -> dict[str, float]:
        shares: dict[str, float] = {}
        for member in self.members:
            for name, share in member.feature_importances().items():
                shares[name] = shares.get(name, 0.0) + share / len(self.members)
        return shares
