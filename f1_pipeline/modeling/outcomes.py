"""Finishing-order outcomes of a race from its win distribution: podium, top 6, points, position, teammate.

What is published (`finishing_outcomes` with a `not_classified_probability` column) is the joint law of
retirements and the classified order (`classified_strengths`, `joint_places`): each car is classified with the
reliability model's probability c, and the classified cars cross the line in an exponential race whose strengths are
solved so that P(win) stays p; with trouble a classified car's race goes wrong now and then (`Trouble`: its
strength is slowed for that race), which spreads the places behind the winner (how much, per race and mode:
`modeling/race_trouble.py`). The rest of this docstring describes
the order over all cars (every c = 1, no trouble), which the backtest's podium metric of every model
(`podium_probabilities`) uses.

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
from dataclasses import dataclass

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
    "podium_probability": "probability that the driver is classified in the top 3, from 0 to 1, retirements included",
    "top6_probability": "probability that the driver is classified in the top 6, from 0 to 1, retirements included",
    "points_probability": "probability that the driver is classified in a points-paying place of that season (top 10 "
    "since 2010), retirements included",
    "expected_position": "expected finishing place (1 = winner); a car not classified counts behind every classified "
    "car, sharing the places left",
    "not_classified_probability": "probability that the driver is not classified (retires, is disqualified or does "
    "not start), from the reliability model, from 0 to 1",
    "teammate_ahead_probability": "probability that the driver is classified ahead of every classified teammate (a "
    "teammate not classified counts as beaten); null without a teammate",
    "team_win_probability": "probability that one of the driver's team's cars wins: the constructors' P(win)",
}
"""Each outcome column and what it means, in the words every table holding it uses (the warehouse's prediction
assets, the published tables, the API): derived from each race's win distribution and its cars' reliability, one
joint law of retirements and the classified order (`finishing_outcomes`)."""


@dataclass(frozen=True)
class Trouble:
    """How often a classified car's race goes wrong, and how much: with chance `share` (a penalty, damage, a slow stop,
    a wrong call on tyres) a car runs slowed down for that race, its strength multiplied by one of `levels` factors
    spread evenly in log scale from 1 down to `slowdown` (the worst trouble), each as likely. Its crossing time is then
    a mixture of exponentials. Without it the order below the winner follows the strengths too faithfully: a favourite
    who does not win is almost always second or third, and the midfield's chances of the places behind him are too
    low. `front` adds to a car's share in proportion to its P(win) against the race favourite's (the favourite's share
    is `share + front`): after qualifying the front runners lose places behind the winner more often than the
    midfield does."""

    share: float = 0.0
    slowdown: float = 1.0
    levels: int = 1
    front: float = 0.0

    def __post_init__(self) -> None:
        if not (
            self.share >= 0.0
            and self.front >= 0.0
            and self.share + self.front < 1.0
            and 0.0 < self.slowdown <= 1.0
            and self.levels >= 1
        ):
            raise ValueError(
                "trouble needs 0 <= share, 0 <= front, share + front < 1, 0 < slowdown <= 1 and levels >= 1, "
                f"got {self}"
            )

    def in_field(self, p: np.ndarray) -> FieldTrouble:
        """Each car's mixture in races of win probabilities p (races, cars; 0 for padding)."""
        p = np.atleast_2d(p)
        favourite = np.maximum(p.max(axis=1, keepdims=True), PROBABILITY_FLOOR)
        share = np.where(p > 0, self.share + self.front * p / favourite, 0.0)
        speeds = self.slowdown ** (np.arange(1, self.levels + 1) / self.levels) if share.any() else np.ones(0)
        return FieldTrouble(share, tuple(float(speed) for speed in speeds))


@dataclass(frozen=True, eq=False)
class FieldTrouble:
    """`Trouble` in given races: each car's share (races, cars) and the slowed speed factors, each as likely."""

    share: np.ndarray
    speeds: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.share.any() and not self.speeds:
            raise ValueError("trouble with a share needs at least one slowed speed")

    def components(self) -> tuple[tuple[np.ndarray, float], ...]:
        """(weight of each car, (races, 1, cars); speed factor) of each part of the crossing time's mixture."""
        share = self.share[:, None, :]
        return ((1.0 - share, 1.0), *((share / len(self.speeds), speed) for speed in self.speeds))


def _in_field(trouble: Trouble | FieldTrouble | None, p: np.ndarray) -> FieldTrouble:
    """The mixture of each car of the races p: a `Trouble` with a `front` needs the races' P(win) itself, so only
    `classified_strengths` and `finishing_outcomes`, which have it, accept one; elsewhere pass the `FieldTrouble`."""
    if isinstance(trouble, FieldTrouble):
        if trouble.share.shape != p.shape:
            raise ValueError(f"trouble for races of shape {trouble.share.shape} used on races of shape {p.shape}")
        return trouble
    trouble = trouble or NO_TROUBLE
    if trouble.front:
        raise ValueError("trouble with a front share needs the races' P(win): pass trouble.in_field(p)")
    return trouble.in_field(p)


NO_TROUBLE = Trouble()


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
    return 1.0 + pairwise_ahead(np.atleast_2d(np.asarray(strengths, dtype=np.float64))).sum(axis=2)


def sample_orders(strengths: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Finishing orders drawn with the Gumbel-max trick, shape (samples, cars): entry [s, r] is the car in place r+1.

    Adding independent standard Gumbel noise to the log strengths and sorting draws an exact Plackett-Luce order.
    Strengths are one field (cars,) or one per sample (samples, cars).
    """
    scores = np.log(np.clip(np.asarray(strengths, dtype=np.float64), PROBABILITY_FLOOR, None))
    noisy = scores + rng.gumbel(size=(samples, scores.shape[-1]))
    return np.argsort(-noisy, axis=1)


def finishing_outcomes(
    predictions: pl.DataFrame, by: Sequence[str] = (), trouble: Trouble = NO_TROUBLE
) -> pl.DataFrame:
    """The predictions with `OUTCOME_COLUMNS` added, one distribution per race and `by` group (e.g. model, mode).

    Needs `probability` (P(win), summing to 1 per distribution), `driver_id` and `constructor_id` (teammates; a null
    team has none). With a `not_classified_probability` column (the reliability model's) every outcome comes from the
    joint law of retirements and the classified order (`joint_places`; the column is then the one used, raised
    where P(win) asks for it); without one, every car is taken to finish. Rows keep their order.
    """
    key = [*by, *RACE_KEY]
    _require(predictions, [*key, "driver_id", "constructor_id", "probability"])
    if "not_classified_probability" not in predictions.columns:
        predictions = predictions.with_columns(not_classified_probability=pl.lit(0.0))
    team = [*key, "constructor_id"]
    rows = _indexed(predictions, key).with_columns(
        _points_places=pl.col("season").map_elements(points_places, return_dtype=pl.Int64),
        _team=pl.when(pl.col("constructor_id").is_not_null() & (pl.len().over(team) > 1))
        .then(pl.struct(team).rank("dense").cast(pl.Int64))
        .otherwise(-1),
    )
    columns = _joint_columns(rows, trouble)
    has_team = pl.col("constructor_id").is_not_null()
    return rows.with_columns(
        podium_probability=pl.Series(columns[:, 0]),
        top6_probability=pl.Series(columns[:, 1]),
        points_probability=pl.Series(columns[:, 2]),
        expected_position=pl.Series(columns[:, 3]),
        not_classified_probability=pl.Series(columns[:, 4]),
        teammate_ahead_probability=pl.when(pl.col("_team") >= 0).then(pl.Series(columns[:, 5])),
        team_win_probability=pl.when(has_team).then(pl.col("probability").sum().over(team)),
    ).drop("_race", "_slot", "_points_places", "_total", "_strength", "_team")


def _joint_columns(rows: pl.DataFrame, trouble: Trouble) -> np.ndarray:
    """P(podium), P(top 6), P(points), expected place, P(not classified), P(ahead of teammates) per row."""
    result = np.zeros((rows.height, 6))
    if not rows.height:
        return result
    p, races, slots = _padded(rows, "probability")
    failing, _, _ = _padded(rows.with_columns(_c=1.0 - pl.col("not_classified_probability")), "_c")
    team = np.full(p.shape, -1, dtype=np.int64)
    team[races, slots] = rows["_team"].to_numpy()
    real = np.zeros(p.shape, dtype=bool)
    real[races, slots] = True
    places_of_race = np.zeros(p.shape[0], dtype=np.int64)
    places_of_race[races] = rows["_points_places"].to_numpy()
    per_race = np.zeros((*p.shape, 6))
    for start in range(0, p.shape[0], _JOINT_BATCH):
        batch = slice(start, start + _JOINT_BATCH)
        win = np.where(real[batch], np.maximum(p[batch], PROBABILITY_FLOOR), 0.0)
        field_trouble = trouble.in_field(win)
        strengths, c = classified_strengths(win, np.where(real[batch], failing[batch], 0.0), field_trouble)
        places, ahead = joint_places(
            strengths, c, team[batch], max(TOP6, int(places_of_race[batch].max())), field_trouble
        )
        cumulative = np.cumsum(places, axis=2)
        width = places.shape[2]
        field = real[batch].sum(axis=1, keepdims=True)
        others = c.sum(axis=1, keepdims=True) - c
        behind = pairwise_ahead(strengths, field_trouble)
        classified_place = c * (1 + np.einsum("bij,bj->bi", behind, c))
        per_race[batch, :, 0] = cumulative[:, :, min(PODIUM, width) - 1]
        per_race[batch, :, 1] = cumulative[:, :, min(TOP6, width) - 1]
        points = np.minimum(places_of_race[batch], width) - 1
        per_race[batch, :, 2] = np.take_along_axis(cumulative, points[:, None, None], axis=2)[:, :, 0]
        per_race[batch, :, 3] = classified_place + (1 - c) * (1 + others + field) / 2
        per_race[batch, :, 4] = 1 - c
        per_race[batch, :, 5] = ahead
    result[:] = per_race[races, slots]
    return result


_JOINT_BATCH = 16
"""Races computed together: bounds the (races, nodes, cars, cars) working array to a few tens of MB."""


def pairwise_ahead(s: np.ndarray, trouble: Trouble | FieldTrouble | None = None) -> np.ndarray:
    """P(car j crosses before car i | both classified), (races, i, j), zero on the diagonal and where j is padding
    (where i is, the row is meaningless: its P(classified) of 0 cancels it): for exponential times s_j / (s_i + s_j),
    averaged over whether each car is troubled."""
    components = _in_field(trouble, s).components()
    ahead = np.zeros((*s.shape, s.shape[1]))
    for weight_i, speed_i in components:
        for weight_j, speed_j in components:
            mine, theirs = speed_i * s[:, :, None], speed_j * s[:, None, :]
            total = mine + theirs
            share = np.divide(np.broadcast_to(theirs, total.shape), total, out=np.zeros(total.shape), where=total > 0)
            ahead += np.swapaxes(weight_i, 1, 2) * weight_j * share
    np.einsum("bii->bi", ahead)[:] = 0.0
    return ahead


def outcome_problems(table: pl.DataFrame, by: Sequence[str] = ()) -> pl.DataFrame:
    """The races (per `by` group) whose outcome columns break what any finishing order guarantees: P(win) summing to
    1, P(podium) summing to at most min(3, field) (exactly, when every car is taken to finish), P(win) <= P(podium)
    <= P(top 6) <= P(points) <= P(classified) for every driver and an expected place within [1, field].
    One row per offending race with what is wrong; empty when all is well."""
    key = [*by, *RACE_KEY]
    tolerance = CONSISTENCY_TOLERANCE
    p, podium, top6, points = (
        pl.col(name) for name in ("probability", "podium_probability", "top6_probability", "points_probability")
    )
    failing = pl.col("not_classified_probability") if "not_classified_probability" in table.columns else pl.lit(0.0)
    per_race = table.group_by(key).agg(
        field=pl.len(),
        win_total=p.sum(),
        podium_total=podium.sum(),
        everyone_finishes=(failing == 0).all(),
        unordered=(
            (p > podium + tolerance)
            | (podium > top6 + tolerance)
            | (top6 > points + tolerance)
            | (points > 1 - failing + tolerance)
        ).sum(),
        outside=(~pl.col("expected_position").is_between(1 - tolerance, pl.len() + tolerance)).sum(),
        missing=pl.any_horizontal(
            podium.is_null(), top6.is_null(), points.is_null(), pl.col("expected_position").is_null(), failing.is_null()
        ).sum(),
    )
    podium_gap = pl.col("podium_total") - pl.min_horizontal("field", 3)
    wrong = (
        ((pl.col("win_total") - 1).abs() > tolerance)
        | (podium_gap > tolerance)
        | (pl.col("everyone_finishes") & (podium_gap.abs() > tolerance))
        | (pl.col("unordered") > 0)
        | (pl.col("outside") > 0)
        | (pl.col("missing") > 0)
    )
    return per_race.filter(wrong).drop("everyone_finishes").sort(key)


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


def classified_strengths(
    p: np.ndarray, classified: np.ndarray, trouble: Trouble | FieldTrouble | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The Plackett-Luce strengths s of the classified order that keep every car's P(win) at p, and the P(classified)
    used (raised where p asks for it); both (races, cars), zero-padded.

    The win model was fitted on real winners, so its p already counts a car's chance of retiring: using p itself as
    the strengths of the classified order would count retirements twice and move P(win). The strengths are instead
    solved so that the joint distribution's P(win) equals p, by the fixed point s <- s p / win(s) (win(s) is
    increasing in s_i and decreasing in the others', and the iteration converges in a few tens of steps).
    A car can win only if classified, and its P(win) tends to c_i when s_i grows without bound, so p_i >= c_i has no
    solution: there c_i is raised to sqrt(p_i) (>= p_i, equal only at 0 and 1), i.e. the reliability model yields to
    the win model, whose p was fitted on the outcome itself.
    """
    p = np.atleast_2d(np.asarray(p, dtype=np.float64))
    real = p > 0
    c = np.where(real, np.maximum(np.atleast_2d(classified), np.sqrt(np.clip(p, 0.0, 1.0))), 0.0)
    c = np.clip(c, 0.0, 1.0)
    s = np.where(real, np.maximum(p, PROBABILITY_FLOOR), 0.0)
    field_trouble = _in_field(trouble.in_field(s) if isinstance(trouble, Trouble) else trouble, s)
    for _ in range(_FIXED_POINT_STEPS):
        win = _win_probabilities(s, c, field_trouble)
        if np.abs(win - p)[real].max(initial=0.0) < _FIXED_POINT_TOLERANCE:
            break
        ratio = np.divide(p, win, out=np.ones_like(p), where=win > 0)
        s = np.where(real, np.maximum(s * ratio, PROBABILITY_FLOOR), 0.0)
        s /= s.sum(axis=1, keepdims=True)
    return s, c


_FIXED_POINT_STEPS = 500
_FIXED_POINT_TOLERANCE = 1e-10


def _log_unfinished(s: np.ndarray, c: np.ndarray, t: np.ndarray, trouble: FieldTrouble) -> np.ndarray:
    """log P(car j is not a classified car past the line by time t) = log(1 - c_j + c_j S_j(t)), S_j the survival of
    its crossing time (`Trouble`: a mixture of exponentials): shape (races, nodes, cars); a padded car (c = 0)
    contributes 0. Summed directly rather than in log space (every term is at most 1), and kept at or above the
    smallest normal float, whose log (about -708) is a factor of 0 in every product yet a finite number in the sums
    of logs (the teammates')."""
    fast = -s[:, None, :] * t[None, :, None]
    survival = sum(weight * np.exp(speed * fast) for weight, speed in trouble.components())
    return np.log(np.maximum((1.0 - c)[:, None, :] + c[:, None, :] * survival, np.finfo(np.float64).tiny))


def _density(s: np.ndarray, c: np.ndarray, t: np.ndarray, trouble: FieldTrouble) -> np.ndarray:
    """c_j f_j(t) t dlog t: a classified crossing's density on the log-time grid, (races, nodes, cars)."""
    rate = s[:, None, :] * t[None, :, None]
    f = sum(weight * speed * rate * np.exp(-speed * rate) for weight, speed in trouble.components())
    return c[:, None, :] * f * _STEP


def _win_probabilities(s: np.ndarray, c: np.ndarray, trouble: FieldTrouble) -> np.ndarray:
    """P(car i wins | at least one car is classified) of the joint law, by the log-time trapezoid rule."""
    t = np.exp(_joint_nodes(s, trouble))
    unfinished = _log_unfinished(s, c, t, trouble)
    others = unfinished.sum(axis=2, keepdims=True) - unfinished
    win = (_density(s, c, t, trouble) * np.exp(others)).sum(axis=1)
    anyone = 1.0 - np.prod(np.where(s > 0, 1.0 - c, 1.0), axis=1, keepdims=True)
    return win / anyone


def _joint_nodes(s: np.ndarray, trouble: FieldTrouble) -> np.ndarray:
    """Log-times covering the integrands: before 1e-11 / s_max nobody has finished; a car that may be the only one
    classified left keeps its density until its survival is below e^{-50}, so the grid runs to 50 / (the smallest
    rate: the slowest car's, troubled)."""
    positive = s[s > 0]
    slowest = positive.min() * min((1.0, *trouble.speeds))
    return np.arange(np.log(_EARLY / positive.max()), np.log(_HORIZON / slowest) + _STEP, _STEP)


def joint_places(
    s: np.ndarray,
    c: np.ndarray,
    team: np.ndarray,
    places: int | None = None,
    trouble: Trouble | FieldTrouble | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """P(car i is classified in place r+1) for the first `places` places (every place by default), shape (races,
    cars, places), and P(car i is classified ahead of every classified teammate) (races, cars), for classified-order
    strengths s and P(classified) c.

    Exponential race with retirements: car j independently is classified with probability c_j and then crosses the
    line at T_j ~ Exp(s_j); the classified cars are ordered by time. So
    P(i in place r) = c_i integral s_i e^{-s_i t} P(exactly r-1 other classified cars crossed by t) dt, where car j
    has crossed by t with probability c_j (1 - e^{-s_j t}) (a Poisson-binomial count, by dynamic programming).
    `team` numbers each car's team in its race (-1: no teammates).
    """
    trouble = _in_field(trouble, s)
    races, cars = s.shape
    places = cars if places is None else min(places, cars)
    t = np.exp(_joint_nodes(s, trouble))
    unfinished = _log_unfinished(s, c, t, trouble)
    crossed = 1.0 - np.exp(unfinished)  # (races, nodes, cars): c_j (1 - e^{-s_j t})
    count = np.zeros((races, t.size, cars, places))
    count[..., 0] = 1.0
    for j in range(cars):
        q = crossed[:, :, j, None] * (np.arange(cars) != j)
        moved = count[..., :-1] * q[..., None]
        count *= 1.0 - q[..., None]
        count[..., 1:] += moved
    density = _density(s, c, t, trouble)
    placed = np.einsum("bnc,bncr->bcr", density, count)
    mates = (team[:, :, None] == team[:, None, :]) & (team[:, :, None] >= 0) & ~np.eye(cars, dtype=bool)
    beaten = np.einsum("bnj,bij->bni", unfinished, mates.astype(np.float64))
    ahead = (density * np.exp(beaten)).sum(axis=1)
    return np.clip(placed, 0.0, 1.0), np.clip(ahead, 0.0, 1.0)
