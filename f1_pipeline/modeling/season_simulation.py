"""Championship odds: the standings now, plus a simulation of the season's remaining rounds.

Standings are summed from the points the results record (races and sprints), so they are the official ones,
penalties and half points included. The remaining rounds are simulated from the win probabilities of the next
race (the champion's pre-qualifying distribution). Cars develop and form turns, so in each simulated season the
strengths walk from round to round, per team and per driver, with deviations fitted on earlier seasons
(`strength_drift.py`; the older one-off team factor `STRENGTH_SPREAD` remains for comparison). Every remaining Grand
Prix and sprint draws a whole finishing order as a Plackett-Luce order (Gumbel-max: log strength plus Gumbel noise,
sorted) among the cars that are classified (each car retires with its own chance, or the era's rate), and pays the
season's points (`points.py`): a car not classified scores nothing; the fastest-lap point of 2019-2024 goes to a
classified car of the top ten picked by a second, independent draw from the same strengths; 2014's final race pays
double.

Teams: a constructor scores what its cars score, with each car of the next race's entry list racing for the team it
enters that race for; drivers and teams not on that list keep their points and score no more. Ties on points are
broken as the regulations do first, by the number of wins (simulated wins included), then at random.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, cast

import numpy as np
import polars as pl

from f1_pipeline.modeling.metrics import PROBABILITY_FLOOR
from f1_pipeline.modeling.points import points_places, points_system, race_points, sprint_points
from f1_pipeline.modeling.strength_drift import Drift

Entity = Literal["driver", "constructor"]
ENTITIES: tuple[Entity, ...] = ("driver", "constructor")
ENTITY_COLUMN: dict[Entity, str] = {"driver": "driver_id", "constructor": "constructor_id"}
SIMULATIONS = 100_000
"""Seasons simulated for the published odds. Measured (before the drift) on 2021 after round 10 (12 rounds, 2 sprints
left): four random seeds differed by at most 0.0030 in any title probability (20,000 simulations: 0.0083), so whole
percentages are stable. With the drift and single-precision noise, 2026 after round 11 (12 rounds left) took 4.4 s."""
BACKTEST_SIMULATIONS = 4_000
"""Per evaluated checkpoint: the backtest averages log losses over about 280 checkpoints per championship (every round
from 3 to the second-to-last of 2010-2025) and runs two simulations at each, so 4,000 keep it near a minute; a world
champion no simulated season crowned counts as 1/4,000."""
RANDOM_STATE = 2026
STRENGTH_SPREAD = 0.5
"""The simulation before the drift (kept as the backtest's `fixed` comparison): the standard deviation of one
log-strength change per team for the rest of a simulated season. Chosen then on the validation
seasons 2010-2013 (title odds after rounds 5, 10 and 15 from a walk-forward conditional logit, 10,000 simulations):
mean log loss of the actual world champion for spreads 0 / 0.25 / 0.5 / 0.75 / 1 / 1.5 was 0.912 / 0.835 / 0.777 /
0.783 / 0.808 / 0.889 (drivers) and 0.461 / 0.362 / 0.339 / 0.375 / 0.425 / 0.533 (constructors)."""
ERA_SEASONS = 3
"""Seasons of results the fallback non-classification rate is taken over (with the current season so far)."""


@dataclass(frozen=True)
class Round:
    round: int
    has_sprint: bool
    final: bool
    """The season's last round (2014 paid it double)."""


def standings(
    results: pl.DataFrame, sprints: pl.DataFrame, season: int, after_round: int, entity: Entity
) -> pl.DataFrame:
    """id, points, wins after `after_round` of `season` (every race and sprint up to it), best first.

    Wins are Grand Prix wins: the first tie-breaker of the regulations.
    """
    key = ENTITY_COLUMN[entity]
    scored = pl.col("season") == season
    until = pl.col("round") <= after_round
    rows = pl.concat(
        [
            results.filter(scored & until).select(key, "points", won=pl.col("finish_position") == 1),
            sprints.filter(scored & until).select(key, "points", won=pl.lit(False)),
        ]
    )
    return (
        rows.group_by(key)
        .agg(points=pl.col("points").fill_null(0).sum(), wins=pl.col("won").fill_null(False).sum().cast(pl.Int64))
        .rename({key: "id"})
        .sort(["points", "wins", "id"], descending=[True, True, False])
    )


def remaining_rounds(races: pl.DataFrame, season: int, after_round: int) -> list[Round]:
    """The rounds of `season` after `after_round`, with their sprints, from the calendar (cancelled races left out)."""
    calendar = races.filter((pl.col("season") == season) & (pl.col("status") != "cancelled")).sort("round")
    final = cast(int, calendar["round"].max())
    return [
        Round(int(row["round"]), bool(row["has_sprint"]), int(row["round"]) == final)
        for row in calendar.filter(pl.col("round") > after_round).iter_rows(named=True)
    ]


def simulate(
    season: int,
    now: dict[Entity, pl.DataFrame],
    field: pl.DataFrame,
    rounds: Sequence[Round],
    simulations: int = SIMULATIONS,
    random_state: int = RANDOM_STATE,
    spread: float = STRENGTH_SPREAD,
    drift: Drift | None = None,
    not_classified_rate: float = 0.0,
) -> pl.DataFrame:
    """Title probability and expected final points of every driver and constructor.

    `now` holds each championship's standings (`standings`); `field` the entrants (driver_id, constructor_id) with
    their strengths (`probability`, a win distribution) and optionally `not_classified_probability` (a car's chance
    of not being classified in a race; missing or null: `not_classified_rate`); `spread` the standard deviation of
    each team's log-strength change drawn once for the rest of a simulated season; `drift` (if given) a random walk
    of every team's and driver's log strength from round to round (`strength_drift.py`), one past season's
    deviations drawn per simulated season. Returns entity, id, points_now, title_probability, expected_points.
    """
    if field.is_empty() or field["probability"].null_count() or (field["probability"] < 0).any():
        raise ValueError("the field needs every entrant's non-negative win probability")
    field = field.sort("driver_id")  # the random draws go to cars in this order: the same whatever order rows came in
    rng = np.random.default_rng([random_state, season, rounds[0].round if rounds else 0])
    teams = field.select(pl.coalesce("constructor_id", "driver_id")).to_series().rank("dense").to_numpy() - 1
    change = rng.normal(0.0, spread, size=(simulations, int(teams.max()) + 1))[:, teams]
    log_strengths = np.log(np.clip(field["probability"].to_numpy().astype(np.float64), PROBABILITY_FLOOR, None))
    walk = _StrengthWalk(log_strengths[None, :] + change, teams, drift, rng)
    gained, won = _simulated_points(season, walk, rounds, not_classified(field, not_classified_rate), rng)
    cars = {"driver": field["driver_id"].to_list(), "constructor": field["constructor_id"].to_list()}
    parts = [_odds(entity, now[entity], cars[entity], gained, won, rng) for entity in ENTITIES]
    return pl.concat(parts)


def not_classified(field: pl.DataFrame, rate: float) -> np.ndarray:
    """Each car's chance of not being classified in a race: its own where the field has one, else `rate`."""
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"a non-classification rate is a probability below 1, got {rate}")
    if "not_classified_probability" not in field.columns:
        return np.full(field.height, rate)
    own = field["not_classified_probability"].fill_null(rate).to_numpy().astype(np.float64)
    if ((own < 0) | (own >= 1)).any():
        raise ValueError("not_classified_probability must lie in [0, 1)")
    return own


def era_not_classified_rate(
    results: pl.DataFrame, season: int, after_round: int, seasons_back: int = ERA_SEASONS
) -> float:
    """The share of starters not classified over the `seasons_back` seasons before `season` and its rounds up to
    `after_round`: the fallback retirement chance when the field carries none (point in time: only earlier races)."""
    earlier = results.filter(
        pl.col("season").is_between(season - seasons_back, season - 1)
        | ((pl.col("season") == season) & (pl.col("round") <= after_round))
    )
    if earlier.is_empty():
        raise ValueError(f"no results before {season} round {after_round + 1} to take a non-classification rate from")
    return float(earlier["finish_position"].is_null().mean())  # type: ignore[arg-type]


class _StrengthWalk:
    """Log strengths of every simulated season, moved before each round after the first by the drift's random walk
    (per team and per driver, one past season's deviations per simulated season); without a drift they hold."""

    def __init__(self, start: np.ndarray, teams: np.ndarray, drift: Drift | None, rng: np.random.Generator) -> None:
        self.scores, self.teams, self.rng = start.copy(), teams, rng
        self.team_sd = self.driver_sd = None
        if drift is not None:
            pick = rng.integers(len(drift.seasons), size=start.shape[0])
            self.team_sd = np.asarray(drift.team)[pick][:, None]
            self.driver_sd = np.asarray(drift.driver)[pick][:, None]

    def step(self) -> None:
        if self.team_sd is None or self.driver_sd is None:
            return
        simulations, cars = self.scores.shape
        team = self.rng.standard_normal((simulations, int(self.teams.max()) + 1), dtype=np.float32)[:, self.teams]
        driver = self.rng.standard_normal((simulations, cars), dtype=np.float32)
        self.scores += team * self.team_sd + driver * self.driver_sd


def _simulated_points(
    season: int,
    walk: _StrengthWalk,
    rounds: Sequence[Round],
    not_classified_probability: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Points and Grand Prix wins each car adds over the remaining rounds, each drawn from the walk's log strengths
    (simulations, cars): two (simulations, cars) arrays. A car not classified in a simulated race or sprint scores
    nothing."""
    system = points_system(season)
    simulations, cars = walk.scores.shape
    gained = np.zeros((simulations, cars))
    won = np.zeros((simulations, cars), dtype=np.int64)
    rows = np.arange(simulations)[:, None]
    for index, race in enumerate(rounds):
        if index:
            walk.step()
        scores = walk.scores
        place = _classified_places(scores, not_classified_probability, rng)
        fastest = np.zeros((simulations, cars), dtype=bool)
        if system.fastest_lap:
            eligible = (place >= 1) & (place <= points_places(season))
            draw = np.where(eligible, scores + _gumbel(rng, place.shape), -np.inf)
            fastest[rows, draw.argmax(axis=1)[:, None]] = True
        gained += race_points(system, place, fastest, race.final)
        won += place == 1
        if race.has_sprint and system.sprint:
            gained += sprint_points(system, _classified_places(scores, not_classified_probability, rng))
    return gained, won


def _classified_places(
    scores: np.ndarray, not_classified_probability: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """1-based places of a Plackett-Luce order (Gumbel-max over the log strengths) among the cars that finish;
    0 for a car drawn as not classified (`race_points` pays it nothing)."""
    out = rng.random(scores.shape, dtype=np.float32) < not_classified_probability[None, :]
    noisy = np.where(out, -np.inf, scores + _gumbel(rng, scores.shape))
    place = _places(np.argsort(-noisy, axis=1))
    return np.where(out, 0, place)


def _gumbel(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard Gumbel noise in single precision (-ln -ln U): about twice as fast as `Generator.gumbel`, and far finer
    than the Monte Carlo error of a title probability."""
    uniform = rng.random(shape, dtype=np.float32)
    return -np.log(-np.log(np.clip(uniform, np.float32(1e-30), None)))


def _places(orders: np.ndarray) -> np.ndarray:
    """1-based place of every car, from orders (entry [s, r] = the car in place r+1)."""
    place = np.empty_like(orders)
    np.put_along_axis(place, orders, np.arange(1, orders.shape[1] + 1)[None, :], axis=1)
    return place


def _odds(
    entity: Entity,
    now: pl.DataFrame,
    cars: list[str],
    gained: np.ndarray,
    won: np.ndarray,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """One championship: who holds the most points at the end of each simulated season (ties: wins, then chance)."""
    ids = sorted({*now["id"].to_list(), *(car for car in cars if car is not None)})
    index = {name: position for position, name in enumerate(ids)}
    points_now = np.zeros(len(ids))
    wins_now = np.zeros(len(ids))
    for row in now.iter_rows(named=True):
        points_now[index[row["id"]]] = row["points"]
        wins_now[index[row["id"]]] = row["wins"]
    final = np.tile(points_now, (gained.shape[0], 1))
    wins = np.tile(wins_now, (gained.shape[0], 1))
    for car, name in enumerate(cars):
        if name is not None:
            final[:, index[name]] += gained[:, car]
            wins[:, index[name]] += won[:, car]
    ranking = final * 1e4 + wins * 10 + rng.random(final.shape)  # points, then wins, then chance
    titles = np.bincount(ranking.argmax(axis=1), minlength=len(ids))
    return pl.DataFrame(
        {
            "entity": entity,
            "id": ids,
            "points_now": points_now,
            "title_probability": titles / gained.shape[0],
            "expected_points": final.mean(axis=0),
        }
    ).sort("title_probability", "points_now", descending=True)


def world_champions(results: pl.DataFrame, sprints: pl.DataFrame, season: int) -> dict[Entity, str]:
    """Who won each title: the most points over the whole season, then the most wins."""
    last = cast(int, results.filter(pl.col("season") == season)["round"].max())
    return {entity: standings(results, sprints, season, last, entity)["id"][0] for entity in ENTITIES}
