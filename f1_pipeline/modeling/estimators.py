"""Race-winner models: each turns a race's field into a distribution that sums to 1.

Two families share one interface (`fit(train) -> self`, `predict(frame) -> probabilities per row`):
- `TreeEnsemble`: the original recipe's binary classifiers (RandomForest, XGBoost or their average) whose per-driver
  scores are normalised within each race;
- `ConditionalLogit`: one linear score per driver and a softmax over the field, fitted on the likelihood of
  the actual winner, which is the quantity the backtest measures (McFadden's conditional logit);
- `PlackettLuce`: the same linear score fitted on the whole classified order (rank-ordered logit), its scale then
  recalibrated on the winners.

Every estimator also explains its predictions: `contributions(frame)` gives each feature's part in each driver's score.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
import polars as pl
from scipy.optimize import minimize, minimize_scalar
from sklearn.ensemble import RandomForestClassifier
from threadpoolctl import threadpool_limits
from xgboost import DMatrix, XGBClassifier

from f1_pipeline.modeling.feature_matrix import Mode, features_for
from f1_pipeline.modeling.field import RACE_KEY, indexed_softmax, normalise, race_index, softmax

DEFAULT_RANDOM_FOREST: dict[str, Any] = {
    "n_estimators": 100,
    "max_depth": 10,
    "min_samples_split": 5,
    "min_samples_leaf": 1,
    "max_features": "sqrt",
}
DEFAULT_XGBOOST: dict[str, Any] = {
    "learning_rate": 0.1,
    "n_estimators": 200,
    "max_depth": 6,
    "min_child_weight": 1.0,
    "subsample": 1.0,
    "colsample_bytree": 1.0,
    "reg_lambda": 1.0,
}
"""The tree estimators' default parameters, what an untuned recipe uses and Optuna tries first: chosen values, not
the libraries' own defaults (scikit-learn grows unlimited trees, XGBoost learns at 0.3 over 100 rounds)."""
RELATIVE_FEATURES = (
    "driver_elo_gap",
    "team_elo_gap",
    "driver_elo_rank",
    "team_elo_rank",
    "teammate_elo_gap",
    "field_size",
)
"""Each driver against the rest of the field: what decides a race is being better than the others."""
GRID_FEATURES = ("grid_log", "pole", "front_row")
"""A linear score needs the grid's shape: pole is worth far more over second than tenth over eleventh."""


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

    Both use class balancing (about one winner in twenty rows, weighted up); the per-race normalisation
    puts the scores back on a probability scale.
    """

    mode: Mode
    members: tuple[str, ...] = ("random_forest", "xgboost")
    random_forest: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_RANDOM_FOREST))
    xgboost: Mapping[str, Any] = field(default_factory=lambda: dict(DEFAULT_XGBOOST))
    extended: bool = True
    random_state: int = 42
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

    def contributions(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per row, each column's part in the members' mean score against the race's mean driver. XGBoost's are its
        exact TreeSHAP values (`pred_contribs`, in log-odds); the forest's are Saabas path attributions (the change
        in a node's win share credited to the feature split on, in probability points), exact for the forest's
        output and cheap, where TreeSHAP for scikit-learn would need another library."""
        x = model_matrix(frame, self.columns)
        terms = np.mean([_tree_contributions(estimator, x) for estimator in self.estimators_], axis=0)
        return _centred_on_race(frame, terms, self.columns)

    def _estimator(self, name: str, y: np.ndarray) -> RandomForestClassifier | XGBClassifier:
        if name == "random_forest":
            return RandomForestClassifier(
                **self.random_forest, class_weight="balanced", random_state=self.random_state, n_jobs=self.n_jobs
            )
        if name == "xgboost":
            positives = max(float(y.sum()), 1.0)
            return XGBClassifier(
                **self.xgboost,
                scale_pos_weight=(len(y) - positives) / positives,
                tree_method="hist",
                random_state=self.random_state,
                n_jobs=self.n_jobs,
                eval_metric="logloss",
            )
        raise ValueError(f"unknown ensemble member {name!r}: use random_forest or xgboost")


def _tree_contributions(estimator: RandomForestClassifier | XGBClassifier, x: np.ndarray) -> np.ndarray:
    if isinstance(estimator, XGBClassifier):
        return estimator.get_booster().predict(DMatrix(x, missing=np.nan), pred_contribs=True)[:, :-1]
    return np.mean([_path_contributions(tree.tree_, tree.decision_path(x), x.shape[1]) for tree in estimator], axis=0)


def _path_contributions(tree: Any, paths: Any, width: int) -> np.ndarray:
    """Saabas attribution of one fitted scikit-learn tree: along each row's path, the step in the node's share of
    the winning class is credited to the feature the parent split on; the steps add up to leaf minus root."""
    share = tree.value[:, 0, 1] / tree.value[:, 0, :].sum(axis=1)
    parent = np.full(tree.node_count, -1)
    for children in (tree.children_left, tree.children_right):
        split = children >= 0
        parent[children[split]] = np.flatnonzero(split)
    child = np.flatnonzero(parent >= 0)
    steps = np.zeros((tree.node_count, width))
    steps[child, tree.feature[parent[child]]] = share[child] - share[parent[child]]
    return np.asarray(paths @ steps)


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
class _LinearScore:
    """A linear score per driver over standardised features (missing values become 0 plus an indicator); the
    field's softmax of the score is the win distribution. Subclasses say how the weights are fitted."""

    mode: Mode
    l2: float = 1.0
    extended: bool = True
    coef_: np.ndarray = field(init=False, repr=False, compare=False)
    """The fitted weights, set by the subclass's `_fit`."""

    def fit(self, train: pl.DataFrame) -> Self:
        """Standardise, then fit the weights in one BLAS thread: L-BFGS makes hundreds of tiny BLAS calls, and
        OpenBLAS's thread pool spinning on a busy 2-core machine made a fit 10-20 times slower (measured 0.7 s
        against 10-17 s for 1980-2013)."""
        with threadpool_limits(limits=1, user_api="blas"):
            self._fit(train, self._standardise(train))
        return self

    def _fit(self, train: pl.DataFrame, x: np.ndarray) -> None:
        raise NotImplementedError

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return softmax(frame, self.scores(frame))

    def contributions(self, frame: pl.DataFrame) -> pl.DataFrame:
        """Per row, each column's share of the driver's score against the race's mean driver: weight times the
        standardised value centred on the race (a missing value's indicator folded into its column), so a row's
        contributions add up to its score minus the race's mean score, the part that decides the softmax."""
        width = len(self.columns)
        design = self._design(model_matrix(frame, self.columns))
        terms = design * self.coef_ * self.score_scale
        folded = terms[:, :width] + terms[:, width:]
        return _centred_on_race(frame, folded, self.columns)

    @property
    def columns(self) -> tuple[str, ...]:
        return model_columns(self.mode, extended=self.extended)

    @property
    def score_scale(self) -> float:
        return 1.0

    def feature_importances(self) -> dict[str, float]:
        """|weight| of each standardised feature (the missing-value indicators folded into their feature)."""
        width = len(self.columns)
        weights = np.abs(self.coef_[:width]) + np.abs(self.coef_[width:])
        return dict(zip(self.columns, (weights / weights.sum()).tolist(), strict=True))

    def _standardise(self, train: pl.DataFrame) -> np.ndarray:
        raw = model_matrix(train, self.columns)
        self.mean_, self.scale_ = _observed_moments(raw)
        return self._design(raw)

    def scores(self, frame: pl.DataFrame) -> np.ndarray:
        """Each driver's linear score; the softmax of a race's scores is its distribution."""
        return self.score_scale * (self._design(model_matrix(frame, self.columns)) @ self.coef_)

    def _design(self, raw: np.ndarray) -> np.ndarray:
        missing = np.isnan(raw)
        standard = np.where(missing, 0.0, (raw - self.mean_) / self.scale_)
        return np.hstack([standard, missing.astype(np.float64)])


@dataclass
class ConditionalLogit(_LinearScore):
    """Softmax over the field of a linear score, with an L2 penalty.

    Fitted by L-BFGS on the mean log likelihood of each race's winner, so it optimises the backtest's log loss.
    """

    def _fit(self, train: pl.DataFrame, x: np.ndarray) -> None:
        races, won = race_index(train), winners(train)
        races_count = races.max() + 1

        def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
            probability = indexed_softmax(races, x @ weights)
            log_likelihood = np.log(np.clip(probability[won == 1], 1e-300, None)).sum()
            gradient = (x[won == 1].sum(axis=0) - probability @ x) / races_count
            penalty = self.l2 * weights @ weights / races_count
            return -log_likelihood / races_count + penalty, -gradient + 2 * self.l2 * weights / races_count

        solution = minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
        self.coef_ = solution.x


@dataclass
class PlackettLuce(_LinearScore):
    """Rank-ordered logit: the classified order of each race as successive choices, each place a softmax of the
    linear score over the cars not yet placed, with an L2 penalty; then one temperature refitted on the winners.

    Every place carries information about strength, not only the winner's, but a finishing order fitted as a whole
    spreads the scores too little for the win (the midfield's order is noisier than the front's). So non-classified
    cars are left out of the orders (a retirement says little about pace), place k's choice is weighted
    `place_decay ** (k - 1)`, and the score is multiplied by the temperature that maximises the training races'
    winner likelihood over the whole field, the quantity the backtest measures.
    """

    place_decay: float = 0.5

    def _fit(self, train: pl.DataFrame, x: np.ndarray) -> None:
        self.coef_ = _fit_rank_ordered(x, _classified_orders(train), self.place_decay, self.l2)
        self.temperature_ = _winner_temperature(train, x @ self.coef_)

    @property
    def score_scale(self) -> float:
        return self.temperature_


def _classified_orders(frame: pl.DataFrame) -> np.ndarray:
    """Row numbers of each race's classified cars in finishing order, padded with -1 (races x longest order)."""
    placed = (
        frame.with_row_index("row")
        .filter(pl.col("finish_position").is_not_null())
        .sort("finish_position")
        .group_by(*RACE_KEY, maintain_order=True)
        .agg("row")
        .filter(pl.col("row").list.len() >= 2)
    )
    padded = placed["row"].to_list()
    longest = max((len(rows) for rows in padded), default=0)
    orders = np.full((len(padded), longest), -1, dtype=np.int64)
    for race, rows in enumerate(padded):
        orders[race, : len(rows)] = rows
    return orders


def _fit_rank_ordered(x: np.ndarray, orders: np.ndarray, place_decay: float, l2: float) -> np.ndarray:
    """Weights maximising the place-weighted rank-ordered log likelihood (mean per race) minus the L2 penalty."""
    valid = orders >= 0
    rows = np.where(valid, orders, 0)
    place_weight = np.where(valid, place_decay ** np.arange(orders.shape[1], dtype=np.float64), 0.0)
    features = x[rows] * valid[..., None]  # races x places x columns
    races_count = orders.shape[0]

    def loss(weights: np.ndarray) -> tuple[float, np.ndarray]:
        # the field's exp(score) from its best car, so the sums of what remains at each place cannot overflow
        scores = features @ weights
        top = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True)
        strength = np.where(valid, np.exp(scores - top), 0.0)
        remaining = np.cumsum(strength[:, ::-1], axis=1)[:, ::-1]  # sum over the cars placed k-th or later
        remaining = np.where(valid, np.maximum(remaining, 1e-300), 1.0)
        log_likelihood = (place_weight * (scores - top - np.log(remaining))).sum()
        # d/dw log(remaining at place k) = sum over j >= k of (strength_j / remaining_k) x_j
        expected = strength * np.cumsum(place_weight / remaining, axis=1)
        gradient = np.einsum("rk,rkc->c", place_weight - expected, features)
        penalty = l2 * weights @ weights
        return (
            (-log_likelihood + penalty) / races_count,
            (-gradient + 2 * l2 * weights) / races_count,
        )

    return minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B").x


def _winner_temperature(frame: pl.DataFrame, scores: np.ndarray) -> float:
    """The factor on the score that maximises the mean log likelihood of the winners over their whole fields."""
    races, won = race_index(frame), winners(frame) == 1

    def loss(temperature: float) -> float:
        return -np.log(np.clip(indexed_softmax(races, temperature * scores)[won], 1e-300, None)).mean()

    return float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x)


def _centred_on_race(frame: pl.DataFrame, terms: np.ndarray, columns: Sequence[str]) -> pl.DataFrame:
    """Per-row terms minus their race's mean, one column per feature, beside the row's race and driver."""
    races = race_index(frame)
    sizes = np.bincount(races).astype(np.float64)
    means = np.stack([np.bincount(races, weights=terms[:, index]) for index in range(terms.shape[1])], axis=1)
    centred = terms - means[races] / sizes[races, None]
    return frame.select(*RACE_KEY, "driver_id").hstack(pl.DataFrame(centred, schema=list(columns)))


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
    """The mean of several models' distributions (still a distribution): the original recipe's RF + XGBoost
    average, or a blend of the conditional logit with it."""

    members: tuple[Any, ...]

    def fit(self, train: pl.DataFrame) -> Self:
        for member in self.members:
            member.fit(train)
        return self

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        return np.mean([member.predict(frame) for member in self.members], axis=0)

    def contributions(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The members' contributions averaged column by column (each in its member's own score units)."""
        parts = [member.contributions(frame) for member in self.members]
        columns = [column for column in parts[0].columns if column not in (*RACE_KEY, "driver_id")]
        return parts[0].with_columns(
            (pl.sum_horizontal(part[column] for part in parts) / len(parts)).alias(column) for column in columns
        )

    def feature_importances(self) -> dict[str, float]:
        shares: dict[str, float] = {}
        for member in self.members:
            for name, share in member.feature_importances().items():
                shares[name] = shares.get(name, 0.0) + share / len(self.members)
        return shares
