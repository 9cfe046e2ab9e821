"""ELO ratings for drivers and teams, race by race, point in time.

Chess ELO rates two players from one game. A Grand Prix is a field of ~20, so it is read as every pair of
entrants meeting once: the one classified ahead (lower `position_order`, the API's finishing order, which ranks
retirements too) scores 1, the other 0, a shared position 0.5. An entity's new rating is

    R_a + K / (n - 1) * sum_b (S_ab - E_ab),      E_ab = 1 / (1 + 10 ** ((R_b - R_a) / 400))

K is divided by the n - 1 opponents so a race moves a rating about as much as one head-to-head game would
whatever the field size (1950s fields of 30+, modern fields of 20). Since S_ab + S_ba = E_ab + E_ba = 1 the
update is zero-sum: rookies enter at the base and the mean rating of everyone rated so far stays at the base.

Teams (constructors) are rated the same way from the team's best car in each race (its lowest
`position_order`): a second car far behind then says nothing about the team, which rates the car a team can
build rather than its weaker driver; a team with one car is treated like a team with two. A driver listed
several times in one race (shared drives in the 1950s) likewise counts once, with his best result.

At the first race of each season every rating can be pulled toward the base (`carryover` < 1): cars change
over the winter, so last season's form is only partly informative. Drivers and teams are rated independently;
each has its own `EloConfig`. The defaults were tuned on pairwise log loss over the 1980-2013 seasons (warmed up
from 1950), see `tune`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import numpy.typing as npt
import polars as pl

from f1_pipeline.contracts import FINITE, REQUIRED, Column, ColumnRule, Contract
from f1_pipeline.tables import ELO_HISTORY, ELO_PARAMETERS

DRIVER = "driver"
TEAM = "team"
ENTITIES = (DRIVER, TEAM)
"""The rating entities: drivers and teams are rated apart, each with its own K and carry-over."""
SCALE = 400.0
"""Rating gap at which the stronger entity is expected to score 10 times as often as the weaker."""

_ENTITY_COLUMN = {DRIVER: "driver_id", TEAM: "constructor_id"}
_INPUT_COLUMNS = ("season", "round", "driver_id", "constructor_id", "position_order")
_ENTITY = Column("entity", pl.String, "the rating entity: driver or team (constructor)", ColumnRule(allowed=ENTITIES))
_RATED_RACE = (
    Column("season", pl.Int32, "championship year", REQUIRED),
    Column("round", pl.Int32, "the race's round in its season, from 1", REQUIRED),
    _ENTITY,
)
HISTORY_CONTRACT = Contract(
    ELO_HISTORY.qualified,
    ELO_HISTORY.row,
    (
        *_RATED_RACE,
        Column("entity_id", pl.String, "the driver's or the constructor's Ergast id", REQUIRED),
        Column("rating_before", pl.Float64, "rating known before the race (after the new-season carry-over)", FINITE),
        Column("rating_after", pl.Float64, "rating after the race", FINITE),
        Column(
            "races_before", pl.Int32, "earlier rated races of this driver or team; 0 marks a debut, rated at the base"
        ),
    ),
    key=("season", "round", "entity", "entity_id"),
)
HISTORY_SCHEMA = pl.Schema(HISTORY_CONTRACT.schema)
PARAMETERS_CONTRACT = Contract(
    ELO_PARAMETERS.qualified,
    ELO_PARAMETERS.row,
    (
        _ENTITY,
        Column("base", pl.Float64, "the rating a debutant starts at, and the field's mean", FINITE),
        Column("k", pl.Float64, "how far one race moves a rating (K, shared among the race's opponents)", FINITE),
        Column("carryover", pl.Float64, "the share of a rating's distance from the base kept over a winter", FINITE),
        Column("log_loss", pl.Float64, "pairwise log loss on the tuning seasons (lower is better)", FINITE),
    ),
    key=("entity",),
)
"""The K and carry-over `tune` chose per rating entity, each with the base it rates from."""


@dataclass(frozen=True)
class EloConfig:
    """Parameters of one rating system (drivers or teams).

    base: the rating a newcomer gets, and the mean of all ratings (the update is zero-sum).
    k: the most a race can move a rating (split over the n - 1 opponents of the field).
    carryover: the share of a rating's distance from the base kept into a new season; 1.0 keeps it all.
    """

    base: float = 1500.0
    k: float = 32.0
    carryover: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.base):
            raise ValueError(f"base must be finite, got {self.base}")
        if not (math.isfinite(self.k) and self.k >= 0):
            raise ValueError(f"k must be finite and >= 0, got {self.k}")
        if not 0.0 <= self.carryover <= 1.0:
            raise ValueError(f"carryover must be in [0, 1], got {self.carryover}")


# Tuned by `tune` on the seasons 1980-2013 (ratings warmed up from 1950), the grid's lowest pairwise log loss.
# The valley is flat: drivers K 96-128 x carry-over 0.75-0.9 are all within 0.0005 of 0.6012 (0.6931 is a
# coin toss; K 32 without carry-over scores 0.6140), teams K 128-176 x 0.85-0.95 within 0.0007 of 0.4962.
# A race moves a rating by up to K, so a driver's rating follows a few races' form; teams keep 90% over winter.
DRIVER_ELO = EloConfig(k=112.0, carryover=0.8)
TEAM_ELO = EloConfig(k=144.0, carryover=0.9)


def expected_score(rating_a: npt.ArrayLike, rating_b: npt.ArrayLike) -> np.ndarray | float:
    """Expected score of a against b (probability a finishes ahead, ties counting half); broadcasts like numpy."""
    gap = (np.asarray(rating_b, dtype=np.float64) - np.asarray(rating_a, dtype=np.float64)) / SCALE
    return 1.0 / (1.0 + np.power(10.0, gap))


@dataclass(frozen=True)
class _Field:
    """One rating entity's races prepared once as integer arrays, so replaying them under many configs is cheap.

    Rows are one per (race, entity), grouped by race in (season, round) order and within a race sorted by
    result, best first: for i < j in a race, entity i finished ahead of or level with entity j.
    """

    entity: str
    season: np.ndarray  # per race
    round: np.ndarray  # per race
    offsets: np.ndarray  # race r is rows offsets[r]:offsets[r + 1]
    entity_index: np.ndarray  # per row, an index into entity_ids
    entity_ids: np.ndarray  # object array of ids, sorted
    races_before: np.ndarray  # per row
    wins: list[np.ndarray]  # per race: actual score of each row summed over the field, sum_b S_ab
    ahead: list[np.ndarray]  # per race: (n, n) bool, row i strictly ahead of column j (the untied pairs)

    @property
    def races(self) -> int:
        return len(self.season)


def _validated(results: pl.DataFrame) -> pl.DataFrame:
    missing = [name for name in _INPUT_COLUMNS if name not in results.columns]
    if missing:
        raise ValueError(f"results lack the columns {missing}")
    frame = results.select(_INPUT_COLUMNS)
    nulls = {name: count for name, count in frame.null_count().row(0, named=True).items() if count}
    if nulls:
        raise ValueError(f"results have nulls, which cannot be rated: {nulls}")
    return frame


def _field(results: pl.DataFrame, entity: str) -> _Field:
    if entity not in _ENTITY_COLUMN:
        raise ValueError(f"entity must be one of {ENTITIES}, got {entity!r}")
    rows = (
        _validated(results)
        .group_by("season", "round", pl.col(_ENTITY_COLUMN[entity]).alias("entity_id"))
        .agg(pl.col("position_order").min())
        .sort("season", "round", "position_order", "entity_id")
        .with_columns(
            race=pl.struct("season", "round").rle_id(),
            races_before=pl.int_range(pl.len(), dtype=pl.Int32).over("entity_id"),
            entity_index=pl.col("entity_id").rank("dense").cast(pl.Int64) - 1,
        )
    )
    races = rows.group_by("race", maintain_order=True).agg(pl.col("season", "round").first(), size=pl.len())
    offsets = np.concatenate([[0], np.cumsum(races["size"].to_numpy())]).astype(np.int64)
    position = rows["position_order"].to_numpy()
    wins, ahead = [], []
    for start, stop in itertools.pairwise(offsets):
        place = position[start:stop]
        better = place[:, None] < place[None, :]
        ahead.append(better)
        wins.append(better.sum(axis=1) + 0.5 * ((place[:, None] == place[None, :]).sum(axis=1) - 1))
    return _Field(
        entity=entity,
        season=races["season"].to_numpy(),
        round=races["round"].to_numpy(),
        offsets=offsets,
        entity_index=rows["entity_index"].to_numpy(),
        entity_ids=np.asarray(rows["entity_id"].unique().sort().to_list(), dtype=object),
        races_before=rows["races_before"].to_numpy(),
        wins=wins,
        ahead=ahead,
    )


@dataclass(frozen=True)
class _Replay:
    before: np.ndarray
    after: np.ndarray
    loss_sum: float
    pairs: int

    @property
    def mean_loss(self) -> float:
        if self.pairs == 0:
            raise ValueError("the seasons to score have no untied pair")
        return self.loss_sum / self.pairs


def _replay(field: _Field, config: EloConfig, scored: np.ndarray | None = None) -> _Replay:
    """Run the ratings race by race; if `scored` (bool per race) is given, sum the pairwise log loss there.

    Only earlier races and the carry-over shape `before` for a race, so a row never depends on its own race or
    a later one. Stops after the last scored race when scoring (what comes after cannot change the loss).
    """
    ratings = np.full(len(field.entity_ids), config.base)
    before = np.full(len(field.entity_index), np.nan)
    after = np.full(len(field.entity_index), np.nan)
    last = field.races if scored is None or not scored.any() else int(np.flatnonzero(scored)[-1]) + 1
    loss_sum, pairs = 0.0, 0
    for race in range(last):
        if race > 0 and field.season[race] != field.season[race - 1] and config.carryover != 1.0:
            # Entities never rated sit at the base, which this leaves unchanged: rookies still enter at the base.
            ratings = config.base + config.carryover * (ratings - config.base)
        start, stop = field.offsets[race], field.offsets[race + 1]
        who = field.entity_index[start:stop]
        current = ratings[who]
        before[start:stop] = current
        size = stop - start
        if size < 2:
            after[start:stop] = current
            continue
        # exponent[a, b] = ln(10) * (R_b - R_a) / 400, so E_ab = 1 / (1 + e ** exponent) and -ln E_ab is stable.
        exponent = (current[None, :] - current[:, None]) * (math.log(10.0) / SCALE)
        expected = 1.0 / (1.0 + np.exp(exponent))
        # The diagonal (an entity against itself) holds 0.5 in `expected` and is left out of `wins`: take it off.
        updated = current + config.k / (size - 1) * (field.wins[race] - (expected.sum(axis=1) - 0.5))
        ratings[who] = updated
        after[start:stop] = updated
        if scored is not None and scored[race]:
            # -ln E_ab for the pairs where a finished strictly ahead of b: ties carry no binary outcome.
            ahead = field.ahead[race]
            loss_sum += float(np.logaddexp(0.0, exponent[ahead]).sum())
            pairs += int(ahead.sum())
    return _Replay(before, after, loss_sum, pairs)


def _history(field: _Field, config: EloConfig) -> pl.DataFrame:
    replay = _replay(field, config)
    sizes = np.diff(field.offsets)
    return pl.DataFrame(
        {
            "season": np.repeat(field.season, sizes),
            "round": np.repeat(field.round, sizes),
            "entity": [field.entity] * len(field.entity_index),
            "entity_id": field.entity_ids[field.entity_index],
            "rating_before": replay.before,
            "rating_after": replay.after,
            "races_before": field.races_before,
        },
        schema=HISTORY_SCHEMA,
    )


def elo_history(results: pl.DataFrame, driver: EloConfig = DRIVER_ELO, team: EloConfig = TEAM_ELO) -> pl.DataFrame:
    """Driver and team ratings before and after every race in `results` (rows of clean.race_results).

    Uses season, round, driver_id, constructor_id and position_order; any row order. One row per (race, rating
    entity, entity id), sorted by season, round, entity and rating_after (best first). `rating_before` is what was
    known before the race (after any new-season carry-over); `races_before` counts the entity's earlier rated races,
    so 0 marks a debut, which is rated at the base.
    """
    frames = [_history(_field(results, entity), config) for entity, config in ((DRIVER, driver), (TEAM, team))]
    return pl.concat(frames).sort(
        ["season", "round", "entity", "rating_after", "entity_id"], descending=[False, False, False, True, False]
    )


def _scored_races(field: _Field, seasons: Collection[int]) -> np.ndarray:
    scored = np.isin(field.season, np.fromiter(seasons, dtype=np.int64))
    if not scored.any():
        raise ValueError("no race of results falls in the seasons to score")
    return scored


def pairwise_log_loss(
    results: pl.DataFrame, config: EloConfig, seasons: Collection[int], entity: str = DRIVER
) -> float:
    """Mean binary log loss of E_ab against the outcome, over every untied pair in the races of `seasons`.

    This is what the ratings claim to know (the chance a finishes ahead of b), so it is the objective for K and
    the carry-over. Ratings use the whole history before each race, also races outside `seasons` (warm-up).
    Drivers and teams are rated independently, so one rating entity needs only its own config.
    """
    field = _field(results, entity)
    return _replay(field, config, _scored_races(field, seasons)).mean_loss


def tune(
    results: pl.DataFrame,
    ks: Sequence[float],
    carryovers: Sequence[float],
    seasons: Collection[int],
    entity: str = DRIVER,
    base: float = 1500.0,
) -> pl.DataFrame:
    """Grid search of K x carry-over on `pairwise_log_loss`; columns entity, k, carryover, log_loss; best first.

    The races are prepared once and replayed per grid point, so a grid of ~20 points takes a couple of seconds.
    """
    field = _field(results, entity)
    scored = _scored_races(field, seasons)
    rows = []
    for k in ks:
        for carryover in carryovers:
            loss = _replay(field, EloConfig(base=base, k=k, carryover=carryover), scored).mean_loss
            rows.append({"entity": entity, "k": float(k), "carryover": float(carryover), "log_loss": loss})
    schema = {name: PARAMETERS_CONTRACT.schema[name] for name in ("entity", "k", "carryover", "log_loss")}
    return pl.DataFrame(rows, schema=schema).sort("log_loss", "k", "carryover")


# Functions for the asset checks: each returns the plain value the check compares with its threshold.


def non_finite(history: pl.DataFrame) -> int:
    """Rows whose rating before or after is null, NaN or infinite (a rating that broke the arithmetic)."""
    bad = ~pl.col("rating_before").is_finite().fill_null(False) | ~pl.col("rating_after").is_finite().fill_null(False)
    return history.filter(bad).height


def field_mean_drift(history: pl.DataFrame, driver: EloConfig = DRIVER_ELO, team: EloConfig = TEAM_ELO) -> float:
    """Largest distance from the base of the mean current rating of everyone rated so far, over races and rating
    entities.

    After each race the current rating of an entity is its last `rating_after`, pulled toward the base by the
    carry-over once per season started since (which the history shows only at its next race, so the configs
    the history was built with are needed). The update is zero-sum, rookies enter at the base and the carry-over
    shrinks toward the base, so this mean is the base up to rounding; a larger drift means ratings were created
    or destroyed.
    """
    drift = 0.0
    for entity, config in ((DRIVER, driver), (TEAM, team)):
        rows = history.filter(pl.col("entity") == entity)
        if rows.is_empty():
            continue
        rows = rows.with_columns(
            race=pl.struct("season", "round").rank("dense").cast(pl.Int64) - 1,
            year=pl.col("season").rank("dense").cast(pl.Int64) - 1,
            entity_index=pl.col("entity_id").rank("dense").cast(pl.Int64) - 1,
        )
        race, index = rows["race"].to_numpy(), rows["entity_index"].to_numpy()
        shape = (int(race.max()) + 1, int(index.max()) + 1)
        # Per (race, entity): the row index of the entity's latest rated race up to this one, -1 before its first.
        latest = np.full(shape, -1, dtype=np.int64)
        latest[race, index] = np.arange(rows.height)
        latest = np.maximum.accumulate(latest, axis=0)
        rated = latest >= 0
        deviation = rows["rating_after"].to_numpy() - config.base
        year_of_race = np.zeros(shape[0], dtype=np.int64)
        year_of_race[race] = rows["year"].to_numpy()
        seasons_since = year_of_race[:, None] - rows["year"].to_numpy()[latest]
        current = np.where(rated, deviation[latest] * np.power(config.carryover, seasons_since), 0.0)
        mean = current.sum(axis=1) / rated.sum(axis=1)
        drift = max(drift, float(np.abs(mean).max()))
    return drift


def rookies_not_at_base(history: pl.DataFrame, base: float = 1500.0, tolerance: float = 1e-9) -> int:
    """Rows of a debut (races_before == 0) whose rating before the race is not the base."""
    debut = (pl.col("races_before") == 0) & ((pl.col("rating_before") - base).abs() > tolerance)
    return history.filter(debut.fill_null(True)).height


def completed_seasons(races: pl.DataFrame) -> list[int]:
    """Seasons of a calendar (clean.races) with a completed race and no race still scheduled."""
    per_season = races.group_by("season").agg(
        completed=(pl.col("status") == "completed").any(), pending=(pl.col("status") == "scheduled").any()
    )
    return sorted(per_season.filter(pl.col("completed") & ~pl.col("pending"))["season"].to_list())


def world_champion_rank_at_season_end(
    history: pl.DataFrame, results: pl.DataFrame, seasons: Collection[int] | None = None
) -> pl.DataFrame:
    """Per season, the world champion and his driver-rating rank at season end (1 = best).

    The world champion is the driver with the most points summed over the season's rows of race_results (ties broken
    by wins). That is not always the official title: until 1990 only a driver's best results counted (dropped
    scores) and sprint points are not in race_results, so a few seasons name another driver. A driver's
    season-end rating is his `rating_after` at his last race that season; he is ranked among the drivers who
    raced that season. `seasons` restricts to complete seasons (see `completed_seasons`); by default every
    season in `results`. Columns: season, world_champion_id, points, rank, drivers.
    """
    totals = results.group_by("season", "driver_id").agg(
        pl.col("points").sum(), wins=(pl.col("position_order") == 1).sum()
    )
    if seasons is not None:
        totals = totals.filter(pl.col("season").is_in(list(seasons)))
    world_champions = (
        totals.sort("season", "points", "wins", "driver_id", descending=[False, True, True, False])
        .group_by("season", maintain_order=True)
        .first()
        .select("season", world_champion_id="driver_id", points="points")
    )
    season_end = (
        history.filter(pl.col("entity") == DRIVER)
        .sort("season", "round")
        .group_by("season", "entity_id")
        .agg(pl.col("rating_after").last())
        .with_columns(
            rank=pl.col("rating_after").rank("min", descending=True).over("season").cast(pl.Int32),
            drivers=pl.len().over("season").cast(pl.Int32),
        )
    )
    return (
        world_champions.join(
            season_end, left_on=["season", "world_champion_id"], right_on=["season", "entity_id"], how="left"
        )
        .select("season", "world_champion_id", "points", "rank", "drivers")
        .sort("season")
    )


def share_in_top(ranks: pl.DataFrame, top: int = 3) -> float:
    """Share of the seasons of `world_champion_rank_at_season_end` whose world champion ranks within `top` (missing:
    not)."""
    if ranks.is_empty():
        return float("nan")
    return float(cast(float, (ranks["rank"].fill_null(top + 1) <= top).mean()))
