"""Finishing-order outcomes of a race from its win distribution: podium, top 6, points, position, teammate.

A race's win probabilities p are read as Plackett-Luce strengths (scores log p): the first place is drawn with
probability p, the next from the remaining cars in proportion to their p, and so on. This is exact for P(win) (it
is the model's own distribution) and the only finishing-order law that adds nothing to what the model said.

Everything is computed exactly or to within 1e-8, with no sampling:
- P(ahead of teammate) and the expected position come from Plackett-Luce's pairwise marginals, which are closed
  form: P(i ahead of j) = p_i / (p_i + p_j), so E[position_i] = 1 + sum over j != i of p_j / (p_i + p_j), and
  P(i ahead of every teammate) = p_i / (p_i + sum of the teammates' p) (a subset of a PL field is a PL field).
- Places 1-3 (so P(podium)) are closed form in O(cars^2) per race (`_first_three_places`).
- Later places (top 6, points) use the exponential-race form of Plackett-Luce: give car j an independent finishing
  time T_j ~ Exp(rate p_j) and order the cars by time. Then
  P(i finishes r-th) = integral over t of p_i exp(-p_i t) P(exactly r-1 other cars have T_j < t) dt,
  where the count is a sum of independent Bernoullis (probabilities 1 - exp(-p_j t)) computed by dynamic
  programming. The integral runs over log t with the trapezoid rule, whose error for these smooth, doubly
  decaying integrands falls like exp(-pi^2 / step): with a step of 0.3 the largest error against brute-force
  enumeration of every order was 3.6e-12 (7-car fields, tests/unit/pipeline/test_outcomes.py), and 20-car fields
  of very unequal strengths summed to k within 2.5e-9. Each P(top k) is P(podium) plus non-negative place
  probabilities, so P(win) <= P(podium) <= P(top 6) <= P(points) holds for every driver by construction.

Cost, measured on the 2-core machine while it ran about 18 other processes: 52 ms per 20-car race for every column
(4.1 s for 78 race-distributions), 0.12 ms per race for P(podium) alone, which is what the backtest computes for
every model. Seeded Gumbel-max sampling of the same law (`sample_orders`) serves what needs joint outcomes over
several races (the championship simulation) and checks the exact numbers in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import polars as pl

from f1_pipeline.modeling.field import RACE_KEY
from f1_pipeline.modeling.points import points_places

PROBABILITY_FLOOR = 1e-12
"""Win probabilities below this are treated as this for the derived outcomes (a zero strength never finishes)."""
TOP6 = 6
PODIUM = 3
_STEP = 0.3
"""Trapezoid step in log-time: 0.5 left errors up to 3e-4 on 20-car fields of very unequal strengths, 0.3 about 2e-9."""
CONSISTENCY_TOLERANCE = 1e-6
"""What the checks allow: far above the computation's error (below 1e-8), far below any reported digit."""
_EARLY = 1e-11
_BATCH = 64
"""Races computed together: bounds the (races, nodes, cars, places) working array to a few tens of MB."""
_HORIZON = 50.0

OUTCOME_COLUMNS = {
    "podium_probability": "P(finishing in the top 3)",
    "top6_probability": "P(finishing in the top 6)",
    "points_probability": "P(finishing in a points-paying place of that season: top 10 since 2010)",
    "expected_position": "expected finishing place (1 = winner) if every car is ranked",
    "teammate_ahead_probability": "P(finishing ahead of every teammate); null without a teammate",
    "team_win_probability": "P(one of the driver's team's cars wins): the constructors' win probability",
}
"""Derived from each race's win distribution read as a Plackett-Luce finishing order."""


def place_probabilities(strengths: np.ndarray, places: int) -> np.ndarray:
    """P(car i finishes in place r+1) for r < `places`: shape (races, cars, places) for strengths (races, cars).

    Each row is one race; a race with fewer cars is padded with zero strengths (a zero never finishes ahead of
    anyone, and gets probability 0 everywhere). Only ratios within a row matter. Places 1-3 are exact (closed form),
    later places come from the quadrature.
    """
    w = _normalised(strengths)
    exact = _first_three_places(w)[:, :, :places]
    if places <= PODIUM:
        return exact
    return np.concatenate([exact, _quadrature_places(w, places)[:, :, PODIUM:]], axis=2)


def _first_three_places(w: np.ndarray) -> np.ndarray:
    """P(first), P(second), P(third) exactly, in O(cars^2) per race.

    With A[j, l] = P(j first, l second) = w_j w_l / (1 - w_j) and M[j, l] = A[j, l] / (1 - w_j - w_l),
    P(i second) = sum over j of A[j, i] and P(i third) = w_i (sum of M over pairs without i).
    """
    first = w[:, :, None]
    pair = w[:, :, None] + w[:, None, :]
    eye = np.eye(w.shape[1], dtype=bool)
    a = np.divide(first * w[:, None, :], 1.0 - first, out=np.zeros(pair.shape), where=(first < 1.0) & ~eye)
    m = np.divide(a, 1.0 - pair, out=np.zeros(pair.shape), where=(pair < 1.0) & ~eye)
    second = a.sum(axis=1)
    third = w * (m.sum(axis=(1, 2))[:, None] - m.sum(axis=2) - m.sum(axis=1))
    return np.clip(np.stack([w, second, third], axis=2), 0.0, 1.0)


def _quadrature_places(w: np.ndarray, places: int) -> np.ndarray:
    """P(car i finishes in place r+1), r < `places`, by the exponential-race integral (module docstring)."""
    races, cars = w.shape
    places = max(1, min(places, cars - 1))
    t = np.exp(_nodes(w, places))  # (nodes,)
    survival = np.exp(-w[:, None, :] * t[None, :, None])  # (races, nodes, cars): P(T_j > t)
    count = np.zeros((races, t.size, cars, places))  # P(exactly r other cars finished by t), r < places
    count[..., 0] = 1.0
    for j in range(cars):
        q = (1.0 - survival[:, :, j, None]) * (np.arange(cars) != j)  # car j, for every car i but itself
        moved = count[..., :-1] * q[..., None]
        count *= 1.0 - q[..., None]
        count[..., 1:] += moved
    density = w[:, None, :] * t[None, :, None] * survival * _STEP  # p_i e^{-p_i t} dt, with dt = t d(log t)
    return np.einsum("bnc,bncr->bcr", density, count)


def top_k_probabilities(strengths: np.ndarray, ks: Sequence[int], cars: np.ndarray) -> np.ndarray:
    """P(car i finishes in the top k) for each k: shape (races, cars, len(ks)) for padded strengths (races, cars);
    `cars` is each race's field size, and k at or beyond it gives 1 (padding gets 0)."""
    width = strengths.shape[1]
    cumulative = np.cumsum(place_probabilities(strengths, max(ks)), axis=2)
    real = np.arange(width)[None, :] < cars[:, None]
    columns = [
        np.where(k >= cars[:, None], real.astype(np.float64), cumulative[:, :, min(k, cumulative.shape[2]) - 1])
        for k in ks
    ]
    return np.clip(np.stack(columns, axis=2), 0.0, 1.0)


def _normalised(strengths: np.ndarray) -> np.ndarray:
    w = np.atleast_2d(np.asarray(strengths, dtype=np.float64))
    if w.ndim != 2 or not np.all(np.isfinite(w)) or np.any(w < 0) or np.any(w.sum(axis=1) <= 0):
        raise ValueError("strengths must be finite, non-negative, with a positive total in every race")
    return w / w.sum(axis=1, keepdims=True)


def _nodes(w: np.ndarray, places: int) -> np.ndarray:
    """Log-times covering every race's integrand for the first `places` places.

    Before 1e-11 / p_max hardly anyone can have finished (that piece of the integral is below 1e-11). A car is in the
    first `places` places only while at least cars - places others have not finished; the slowest such set has the
    smallest strengths, so beyond (50 + ln C(cars, places)) / (their total) what is left is below exp(-50).
    """
    start = np.log(_EARLY / w.max())
    ordered = np.sort(np.where(w > 0, w, np.inf), axis=1)
    cars = (w > 0).sum(axis=1)
    slow = [row[: max(n - places, 1)].sum() for row, n in zip(ordered, cars, strict=True)]
    stop = np.log((_HORIZON + _log_binomial(w.shape[1], places)) / min(slow))
    return np.arange(start, stop + _STEP, _STEP)


def _log_binomial(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def expected_positions(strengths: np.ndarray) -> np.ndarray:
    """1 + the expected number of cars ahead, from the pairwise marginals p_j / (p_i + p_j), per (races, cars)."""
    w = np.atleast_2d(np.asarray(strengths, dtype=np.float64))
    mine, theirs = w[:, :, None], w[:, None, :]
    total = mine + theirs
    ahead = np.divide(np.broadcast_to(theirs, total.shape), total, out=np.zeros(total.shape), where=total > 0)
    return 0.5 + ahead.sum(axis=2)  # the diagonal adds the 1/2 a car "is ahead of itself"; 1 - 1/2 is the rest


def sample_orders(strengths: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Finishing orders drawn with the Gumbel-max trick, shape (samples, cars): entry [s, r] is the car in place r+1.

    Adding independent standard Gumbel noise to the log strengths and sorting draws an exact Plackett-Luce order.
    Strengths are one field (cars,) or one per sample (samples, cars).
    """
    scores = np.log(np.clip(np.asarray(strengths, dtype=np.float64), PROBABILITY_FLOOR, None))
    noisy = scores + rng.gumbel(size=(samples, scores.shape[-1]))
    return np.argsort(-noisy, axis=1)


def finishing_outcomes(predictions: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The predictions with `OUTCOME_COLUMNS` added, one distribution per race and `by` group (e.g. model, mode).

    Needs `probability` (P(win), summing to 1 per distribution), `driver_id` and `constructor_id` (teammates; a null
    team has none). Rows keep their order.
    """
    key = [*by, *RACE_KEY]
    _require(predictions, [*key, "driver_id", "constructor_id", "probability"])
    team = [*key, "constructor_id"]
    p = pl.col("probability")
    rows = _indexed(predictions, key).with_columns(
        _points_places=pl.col("season").map_elements(points_places, return_dtype=pl.Int64)
    )
    top = _top_k_columns(rows)
    has_team = pl.col("constructor_id").is_not_null()
    teammates = pl.len().over(team) > 1
    return rows.with_columns(
        podium_probability=pl.Series(top[:, 0]),
        top6_probability=pl.Series(top[:, 1]),
        points_probability=pl.Series(top[:, 2]),
        expected_position=pl.Series(_expected_positions(rows)),
        teammate_ahead_probability=pl.when(has_team & teammates).then(
            pl.col("_strength") / pl.col("_strength").sum().over(team)
        ),
        team_win_probability=pl.when(has_team).then(p.sum().over(team)),
    ).drop("_race", "_slot", "_points_places", "_total", "_strength")


def outcome_problems(table: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The races (per `by` group) whose outcome columns break what any finishing order guarantees: P(win) summing to
    1, P(podium) to min(3, field), P(win) <= P(podium) <= P(top 6) <= P(points) for every driver and an expected
    place within [1, field]. One row per offending race with what is wrong; empty when all is well."""
    key = [*by, *RACE_KEY]
    tolerance = CONSISTENCY_TOLERANCE
    p, podium, top6, points = (
        pl.col(name) for name in ("probability", "podium_probability", "top6_probability", "points_probability")
    )
    per_race = table.group_by(key).agg(
        field=pl.len(),
        win_total=p.sum(),
        podium_total=podium.sum(),
        unordered=((p > podium + tolerance) | (podium > top6 + tolerance) | (top6 > points + tolerance)).sum(),
        outside=(~pl.col("expected_position").is_between(1 - tolerance, pl.len() + tolerance)).sum(),
        missing=pl.any_horizontal(
            podium.is_null(), top6.is_null(), points.is_null(), pl.col("expected_position").is_null()
        ).sum(),
    )
    wrong = (
        ((pl.col("win_total") - 1).abs() > tolerance)
        | ((pl.col("podium_total") - pl.min_horizontal("field", 3)).abs() > tolerance)
        | (pl.col("unordered") > 0)
        | (pl.col("outside") > 0)
        | (pl.col("missing") > 0)
    )
    return per_race.filter(wrong).sort(key)


def podium_probabilities(predictions: pl.DataFrame, by: Sequence[str] = ()) -> np.ndarray:
    """P(podium) of every row (exact, closed form): what the podium metrics score, for any model's win distribution."""
    key = [*by, *RACE_KEY]
    _require(predictions, [*key, "probability"])
    strengths, races, slots = _padded(_indexed(predictions, key), "_strength")
    if not races.size:
        return np.zeros(0)
    w = _normalised(strengths)
    podium = np.concatenate(
        [_first_three_places(w[start : start + 16 * _BATCH]).sum(axis=2) for start in range(0, len(w), 16 * _BATCH)]
    )
    return np.clip(podium, 0.0, 1.0)[races, slots]


def _require(predictions: pl.DataFrame, columns: Sequence[str]) -> None:
    missing = set(columns) - set(predictions.columns)
    if missing:
        raise ValueError(f"predictions lack the column(s) {', '.join(sorted(missing))}")


def _indexed(predictions: pl.DataFrame, key: list[str]) -> pl.DataFrame:
    """The rows numbered by distribution (`_race`) and place within it (`_slot`), with their floored strength;
    refused unless each distribution is one (non-negative, summing to 1)."""
    p = pl.col("probability")
    rows = predictions.with_columns(
        _race=pl.struct(key).rank("dense").cast(pl.Int64) - 1,
        _slot=pl.int_range(pl.len()).over(key),
        _total=p.sum().over(key),
        _strength=pl.max_horizontal(p, pl.lit(PROBABILITY_FLOOR)),
    )
    _refuse_non_distributions(rows, key)
    return rows


def _refuse_non_distributions(rows: pl.DataFrame, key: list[str]) -> None:
    p = pl.col("probability")
    bad = rows.filter(p.is_null() | p.is_nan() | (p < 0) | ((pl.col("_total") - 1).abs() > 1e-6).over(key))
    if not bad.is_empty():
        first = bad.row(0, named=True)
        raise ValueError(
            f"win probabilities must be non-negative and sum to 1 per race: {bad.select(key).n_unique()} race(s) do "
            f"not, e.g. {first['season']}/{first['round']} (sum {first['_total']:g})"
        )


def _padded(rows: pl.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(races, widest field) matrix of a column, zero-padded; with each row's race and slot."""
    races, slots = rows["_race"].to_numpy(), rows["_slot"].to_numpy()
    matrix = np.zeros((races.max() + 1 if races.size else 0, slots.max() + 1 if slots.size else 0))
    matrix[races, slots] = rows[column].to_numpy()
    return matrix, races, slots


def _top_k_columns(rows: pl.DataFrame) -> np.ndarray:
    """P(podium), P(top 6), P(points) per row, computed race batch by race batch (bounded memory)."""
    strengths, races, slots = _padded(rows, "_strength")
    result = np.zeros((rows.height, 3))
    if not rows.height:
        return result
    places_of_race = np.zeros(strengths.shape[0], dtype=np.int64)
    places_of_race[races] = rows["_points_places"].to_numpy()
    cars = (strengths > 0).sum(axis=1)
    ks = sorted({PODIUM, TOP6, *places_of_race.tolist()})
    per_race = np.zeros((strengths.shape[0], strengths.shape[1], 3))
    for start in range(0, strengths.shape[0], _BATCH):
        batch = slice(start, start + _BATCH)
        top = top_k_probabilities(strengths[batch], ks, cars[batch])
        points = np.searchsorted(ks, places_of_race[batch])
        per_race[batch, :, 0] = top[:, :, ks.index(PODIUM)]
        per_race[batch, :, 1] = top[:, :, ks.index(TOP6)]
        per_race[batch, :, 2] = np.take_along_axis(top, points[:, None, None], axis=2)[:, :, 0]
    result[:] = per_race[races, slots]
    return result


def _expected_positions(rows: pl.DataFrame) -> np.ndarray:
    strengths, races, slots = _padded(rows, "_strength")
    return expected_positions(strengths)[races, slots]
