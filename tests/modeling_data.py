"""Data for the modelling tests: real clean tables of a few seasons from the bundled data (no Dagster, no
warehouse) and made-up feature frames for model unit tests."""

from __future__ import annotations

import dataclasses
from functools import lru_cache

import numpy as np
import polars as pl

from f1_pipeline.cleaning.qualifying import qualifying
from f1_pipeline.cleaning.races import races
from f1_pipeline.cleaning.results import results
from f1_pipeline.ergast.bundled import BundledTransport
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, ErgastClient
from f1_pipeline.ergast.ingest import load_seasons
from f1_pipeline.modeling import elo
from f1_pipeline.modeling.feature_matrix import WEATHER_COLUMNS, FeatureInputs, features_for, race_features
from f1_pipeline.practice.bundled import read_bundled
from f1_pipeline.practice.cleaning import practice_results

REAL_SEASONS = ("2019", "2020", "2021")


@lru_cache(maxsize=4)
def real_inputs(seasons: tuple[str, ...] = REAL_SEASONS) -> FeatureInputs:
    """FeatureInputs of the bundled data's `seasons`, cleaned as the clean layer does (about 1 s)."""
    raw = {
        endpoint.name: load_seasons(ErgastClient(transport=BundledTransport()), endpoint, list(seasons)).frame
        for endpoint in (SCHEDULE, RESULTS, QUALIFYING, SPRINT)
    }
    calendar, _ = races(raw["races"], raw["results"])
    race_results, _ = results(raw["results"], calendar, "race_results")
    sprints, _ = results(raw["sprint"], calendar, "sprint_results")
    sessions, _ = qualifying(raw["qualifying"], calendar)
    practice, _ = practice_results(read_bundled().filter(pl.col("season").is_in(list(seasons))), calendar)
    return FeatureInputs(
        races=calendar,
        results=race_results,
        sprints=sprints,
        qualifying=sessions,
        ratings=elo.elo_history(race_results),
        practice=practice,
    )


@lru_cache(maxsize=4)
def real_features(seasons: tuple[str, ...] = REAL_SEASONS) -> pl.DataFrame:
    return race_features(real_inputs(seasons))


def with_results(inputs: FeatureInputs, race_results: pl.DataFrame, **changes: pl.DataFrame) -> FeatureInputs:
    """The inputs with other results (the ELO history recomputed from them, as the ratings asset does)."""
    return dataclasses.replace(inputs, results=race_results, ratings=elo.elo_history(race_results), **changes)


def as_next_race(inputs: FeatureInputs, season: int, rnd: int, *, keep_qualifying: bool) -> FeatureInputs:
    """The inputs as they were before (season, rnd) was run: no results for it and later, it is the next race
    (its practice sessions already held)."""
    later = pl.col("season") * 100 + pl.col("round") >= season * 100 + rnd
    this = (pl.col("season") == season) & (pl.col("round") == rnd)
    calendar = inputs.races.with_columns(
        status=pl.when(later).then(pl.lit("scheduled")).otherwise(pl.col("status")), is_next=this
    )
    sessions = inputs.qualifying.filter(~later | this) if keep_qualifying else inputs.qualifying.filter(~later)
    return with_results(
        inputs,
        inputs.results.filter(~later),
        races=calendar,
        sprints=inputs.sprints.filter(~later),
        qualifying=sessions,
        practice=inputs.practice.filter(~later | this),
    )


def synthetic_frame(
    seed: int,
    races: int = 30,
    drivers: int = 20,
    *,
    driver: str = "season_points",
    strength: float = 2.0,
    first_season: int = 2000,
    rounds_per_season: int = 10,
) -> pl.DataFrame:
    """Made-up feature rows with every post-qualifying column; the winner is drawn from a softmax of `driver`
    (standardised within the race) times `strength`, every other feature is noise; weather is all null.
    The rest of the order follows the same softmax (Plackett-Luce, by Gumbel noise), and about one car in eight
    behind the winner is not classified (null finish position)."""
    rng = np.random.default_rng(seed)
    order_rng = np.random.default_rng(seed + 10_000)  # its own stream: the winners stay those of `rng`
    columns = [name for name in features_for("post_qualifying") if name not in WEATHER_COLUMNS]
    rows = []
    for race in range(races):
        season, rnd = first_season + race // rounds_per_season, race % rounds_per_season + 1
        values = {name: rng.normal(size=drivers) for name in columns}
        values["driver_elo"] = 1500 + 100 * values["driver_elo"]
        values["team_elo"] = np.repeat(1500 + 100 * rng.normal(size=(drivers + 1) // 2), 2)[:drivers]
        grid = rng.permutation(drivers) + 1
        values |= {"grid": grid, "qualifying_position": grid, "pit_lane_start": np.zeros(drivers, dtype=bool)}
        signal = values[driver]
        logits = strength * (signal - signal.mean()) / signal.std()
        chances = np.exp(logits - logits.max())
        winner = rng.choice(drivers, p=chances / chances.sum())
        behind = logits + order_rng.gumbel(size=drivers)
        behind[winner] = np.inf
        finish = np.empty(drivers, dtype=np.int64)
        finish[np.argsort(-behind)] = np.arange(1, drivers + 1)
        retired = (order_rng.random(drivers) < 0.125) & (finish > 1)
        for slot in range(drivers):
            rows.append(
                {
                    "season": season,
                    "round": rnd,
                    "driver_id": f"d{slot:02d}",
                    "constructor_id": f"t{slot // 2:02d}",
                    "is_next": False,
                    "won": slot == winner,
                    "finish_position": None if retired[slot] else int(finish[slot]),
                    **{name: values[name][slot].item() for name in values},
                }
            )
    frame = pl.DataFrame(rows).with_columns(
        pl.col("season", "round", "grid", "qualifying_position", "finish_position").cast(pl.Int32),
        *(pl.lit(None, pl.Float64).alias(name) for name in WEATHER_COLUMNS),
    )
    return frame


def results_and_races(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """clean.race_results and clean.races as a synthetic feature frame implies them (what the reliability model
    reads): every race completed at one permanent circuit, no sprint."""
    completed = frame.filter(~pl.col("is_next"))
    results = completed.select(
        "season",
        "round",
        "driver_id",
        "constructor_id",
        "grid",
        "finish_position",
        position_order=pl.col("finish_position").fill_null(99),
    )
    races = (
        completed.select("season", "round")
        .unique()
        .with_columns(circuit_id=pl.lit("monza"), has_sprint=pl.lit(False), status=pl.lit("completed"))
    )
    return results, races


def two_scored_races() -> pl.DataFrame:
    """Two four-car races of 2024 (points to 10th, so everyone classified scores), one retirement in each, with the
    win, podium, not-classified and teammate chances a model gave."""
    return pl.DataFrame(
        {
            "season": [2024] * 8,
            "round": [1] * 4 + [2] * 4,
            "driver_id": ["a", "b", "c", "d"] * 2,
            "constructor_id": ["x", "x", "y", "y"] * 2,
            "won": [True, False, False, False, False, True, False, False],
            "finish_position": [1, 2, None, 3, 3, 1, 2, None],
            "probability": [0.5, 0.3, 0.1, 0.1] * 2,
            "podium_probability": [0.9, 0.8, 0.6, 0.7] * 2,
            "not_classified_probability": [0.1, 0.2, 0.4, 0.3] * 2,
            "teammate_ahead_probability": [0.6, 0.4, 0.5, 0.5] * 2,
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32, "finish_position": pl.Int32},
    )
