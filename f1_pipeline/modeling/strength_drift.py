"""How much a team's and a driver's strength moves from one round to the next, fitted on past seasons.

A title forecast made with twelve rounds to go has to expect that the cars' order will change: cars are developed,
form turns, a team falls back. The season simulation (`season_simulation.py`) draws a random walk of log strength
per team and per driver over the remaining rounds; this module fits the walk's per-round standard deviations on how
the walk-forward win distributions of earlier seasons moved within each season.

Log strength is a car's log win probability centred on its race; a team's is the mean over its cars, a driver's the
rest. The mean squared change between a season's race i and race i + k is fitted as `noise + k * variance` for
k = 1..`MAX_GAP` (a random walk seen through a noisy estimate): the slope is the walk's per-round variance, the
intercept the forecast's own race-to-race noise, which the walk must not count. The team and driver walks are
independent in the simulation, so the fit splits a car's walk into them (see `_season_drift`). Changes are weighted
by the smaller of the two win probabilities, so the contenders' movements decide, not the back of the field's (whose
log probabilities swing widely and do not matter for a title). Each season's fit is kept: the simulation draws one
past season's pair per simulated season, which carries the uncertainty about how much a season will move.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from f1_pipeline.modeling.metrics import PROBABILITY_FLOOR

MAX_GAP = 6
"""The longest round gap fitted: longer gaps hold fewer pairs and teams change drivers."""


@dataclass(frozen=True)
class Drift:
    """Per-round standard deviations of log strength, one (team, driver) pair per fitted season."""

    team: tuple[float, ...]
    driver: tuple[float, ...]
    seasons: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.seasons or not len(self.team) == len(self.driver) == len(self.seasons):
            raise ValueError("a drift needs one team and one driver deviation per fitted season, and a season")

    def scaled(self, factor: float) -> Drift:
        return Drift(tuple(factor * s for s in self.team), tuple(factor * s for s in self.driver), self.seasons)

    @property
    def mean_team(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.team))))

    @property
    def mean_driver(self) -> float:
        return float(np.sqrt(np.mean(np.square(self.driver))))


def log_strengths(predictions: pl.DataFrame) -> pl.DataFrame:
    """season, round, driver_id, constructor_id, probability, team (the team's mean centred log strength), driver
    (the driver's centred log strength minus the team's), with `index` the race's order within its season."""
    log_p = pl.col("probability").clip(PROBABILITY_FLOOR).log()
    centred = (log_p - log_p.mean().over("season", "round")).alias("centred")
    rows = predictions.select("season", "round", "driver_id", "constructor_id", "probability", centred).with_columns(
        team=pl.col("centred").mean().over("season", "round", "constructor_id"),
        index=pl.col("round").rank("dense").over("season").cast(pl.Int64) - 1,
    )
    return rows.with_columns(driver=pl.col("centred") - pl.col("team"))


def fit_drift(predictions: pl.DataFrame, seasons: list[int] | None = None, max_gap: int = MAX_GAP) -> Drift:
    """The per-round drift of every season in `predictions` (or `seasons`), from its win distributions.

    `predictions` are pre-race win distributions (season, round, driver_id, constructor_id, probability), one per
    race; only those of seasons before the one forecast may be passed, so the fit stays point in time.
    """
    rows = log_strengths(predictions)
    chosen = sorted(rows["season"].unique().to_list()) if seasons is None else sorted(seasons)
    fitted = [(s, _season_drift(rows.filter(pl.col("season") == s), max_gap)) for s in chosen]
    usable = [(s, pair) for s, pair in fitted if pair is not None]
    if not usable:
        raise ValueError("no season in the predictions has enough races to fit a drift")
    return Drift(
        team=tuple(pair[0] for _, pair in usable),
        driver=tuple(pair[1] for _, pair in usable),
        seasons=tuple(s for s, _ in usable),
    )


def _season_drift(rows: pl.DataFrame, max_gap: int) -> tuple[float, float] | None:
    if rows["index"].max() is None or int(rows["index"].max()) < max_gap:  # type: ignore[arg-type]
        return None
    teams = rows.group_by("index", "constructor_id").agg(pl.col("team").first(), pl.col("probability").sum())
    team_variance = _random_walk_variance(teams, "constructor_id", "team", max_gap)
    # A driver's deviation from a two-car team's mean is half the teammates' difference, so its change has half the
    # variance of one driver's own walk, and the team mean carries the other half: undo both.
    driver_variance = 2.0 * _random_walk_variance(rows, "driver_id", "driver", max_gap)
    return float(np.sqrt(max(team_variance - driver_variance / 2.0, 0.0))), float(np.sqrt(driver_variance))


def _random_walk_variance(rows: pl.DataFrame, key: str, value: str, max_gap: int) -> float:
    """The slope of the weighted mean squared change against the round gap (0 if strengths do not walk)."""
    gaps, means = [], []
    for gap in range(1, max_gap + 1):
        later = rows.select(key, pl.col("index") - gap, later=pl.col(value), p_later=pl.col("probability"))
        pairs = rows.join(later, on=[key, "index"])
        if pairs.is_empty():
            continue
        weight = np.minimum(pairs["probability"].to_numpy(), pairs["p_later"].to_numpy())
        if weight.sum() <= 0:
            continue
        change = pairs["later"].to_numpy() - pairs[value].to_numpy()
        gaps.append(gap)
        means.append(float(np.average(change**2, weights=weight)))
    if len(gaps) < 2:
        return 0.0
    slope = float(np.polyfit(np.array(gaps, dtype=np.float64), np.array(means), 1)[0])
    return max(slope, 0.0)
