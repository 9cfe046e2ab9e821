"""Reliability: each driver's chance of not being classified in a race (retired, disqualified, did not start).

"Not classified" is a result without a `finish_position`: a car that retired after most of the distance is still
classified (86 such retirements 2014-2025) and can score, so the status alone is not the label.

About one starter in six (2014-2025) is not classified, and the finishing-order outcomes (`outcomes.py`) need that
chance per car. It is a logistic regression, refitted per season on the seasons before it (walk-forward), over
what is known before the race:

- the team's and the driver's non-classification rates over their last `WINDOW` races, shrunk toward the era rate
  (empirical Bayes: `PRIOR_ENTRIES` pseudo-entries at the era rate), so a newcomer or a team with two bad weekends
  is not read as certain to retire;
- the era rate itself: the share of all entries not classified over the last `ERA_RACES` races;
- a street circuit, a sprint weekend, a season of new regulations;
- post-qualifying only: the starting slot as a share of the field (midfield starts run into first-lap accidents;
  a pit-lane start counts as last).

Every rate is computed *after* each race and attached to a row with an as-of join on the race's place in the
calendar minus one, as the feature matrix does, so a race's own result (and any later one) never reaches its
inputs (tests/unit/pipeline/test_reliability.py). Weather is left out: the warehouse's `wet` is empty without a
weather source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl
from sklearn.linear_model import LogisticRegression

from f1_pipeline.modeling.feature_matrix import Mode, attach_before

WINDOW = 20
"""Races of history behind the team's and the driver's rates."""
PRIOR_ENTRIES = 10.0
"""Weight of the era rate in the shrunk rates, in entries: a driver with 10 races behind him is read half from his own
record."""
ERA_RACES = 60
"""Races behind the era rate (about three seasons)."""
TRAINING_SEASONS = 12
"""Seasons before the predicted one that the regression is fitted on."""
STREET_CIRCUITS = frozenset(
    {
        "adelaide",
        "albert_park",
        "baku",
        "dallas",
        "detroit",
        "jeddah",
        "long_beach",
        "madring",
        "marina_bay",
        "miami",
        "monaco",
        "phoenix",
        "sochi",
        "valencia",
        "vegas",
        "villeneuve",
    }
)
"""Circuits on public roads or park roads, walls close to the track."""
NEW_REGULATION_SEASONS = frozenset({1989, 1995, 1998, 2009, 2014, 2017, 2022, 2026})
"""Seasons that opened with new technical regulations (new engines or a new car concept)."""
FEATURES = ("team_rate", "driver_rate", "era_rate", "street", "sprint", "new_regulations")
POST_QUALIFYING_FEATURES = (*FEATURES, "grid_share")
_KEY = ("season", "round", "driver_id")


@dataclass(frozen=True)
class ReliabilityInputs:
    results: pl.DataFrame
    """clean.race_results: season, round, driver_id, constructor_id, grid, finish_position, position_order."""
    races: pl.DataFrame
    """clean.races: season, round, circuit_id, has_sprint, status."""


def features_for(mode: Mode) -> tuple[str, ...]:
    return POST_QUALIFYING_FEATURES if mode == "post_qualifying" else FEATURES


def reliability_frame(inputs: ReliabilityInputs, entries: pl.DataFrame) -> pl.DataFrame:
    """One row per entry (season, round, driver_id, constructor_id, grid) with the point-in-time features and, for
    a completed race, `not_classified` (the label; null for a race not run)."""
    _require(entries, [*_KEY, "constructor_id", "grid"], "entries")
    entered = entries.select("season", "round").unique().with_columns(entered=pl.lit(True))
    calendar = (
        inputs.races.join(entered, on=["season", "round"], how="left")
        .filter((pl.col("status") == "completed") | pl.col("entered").fill_null(False))
        .select("season", "round", "circuit_id", pl.col("has_sprint").fill_null(False))
        .sort("season", "round")
        .with_columns(order=pl.int_range(1, pl.len() + 1))
    )
    results = (
        inputs.results.sort("position_order")
        .unique(list(_KEY), keep="first")
        .join(calendar.select("season", "round", "order"), on=["season", "round"])
        .with_columns(dnf=pl.col("finish_position").is_null().cast(pl.Float64))
    )
    era = (
        results.group_by("order")
        .agg(k=pl.col("dnf").sum(), n=pl.len())
        .sort("order")
        .select(
            "order",
            era_k=pl.col("k").rolling_sum(ERA_RACES, min_samples=1),
            era_n=pl.col("n").rolling_sum(ERA_RACES, min_samples=1),
        )
    )
    team = _rolling_counts(results, "constructor_id", "team")
    driver = _rolling_counts(results, "driver_id", "driver")
    labels = results.select(*_KEY, not_classified=pl.col("dnf"))
    rows = (
        entries.select(*_KEY, "constructor_id", "grid")
        .join(calendar, on=["season", "round"], how="left")
        .pipe(attach_before, era, [])
        .pipe(attach_before, team, ["constructor_id"])
        .pipe(attach_before, driver, ["driver_id"])
    )
    era_rate = (pl.col("era_k") / pl.col("era_n")).fill_null(0.2).clip(0.01, 0.99)
    field = pl.len().over("season", "round")
    return (
        rows.with_columns(era_rate=era_rate)
        .with_columns(
            team_rate=_shrunk("team"),
            driver_rate=_shrunk("driver"),
            street=pl.col("circuit_id").is_in(list(STREET_CIRCUITS)).cast(pl.Float64),
            sprint=pl.col("has_sprint").cast(pl.Float64),
            new_regulations=pl.col("season").is_in(list(NEW_REGULATION_SEASONS)).cast(pl.Float64),
            grid_share=pl.when(pl.col("grid") > 0).then(pl.col("grid")).otherwise(field).cast(pl.Float64) / field,
        )
        .join(labels, on=list(_KEY), how="left")
        .select(*_KEY, "constructor_id", *POST_QUALIFYING_FEATURES, "not_classified")
        .sort(*_KEY)
    )


def _rolling_counts(results: pl.DataFrame, key: str, prefix: str) -> pl.DataFrame:
    """Non-classified entries and entries over the entity's last `WINDOW` races, after each of its races."""
    return (
        results.group_by("order", key)
        .agg(k=pl.col("dnf").sum(), n=pl.len())
        .sort(key, "order")
        .select(
            "order",
            key,
            pl.col("k").rolling_sum(WINDOW, min_samples=1).over(key).alias(f"{prefix}_k"),
            pl.col("n").rolling_sum(WINDOW, min_samples=1).over(key).alias(f"{prefix}_n"),
        )
    )


def _shrunk(prefix: str) -> pl.Expr:
    k, n = pl.col(f"{prefix}_k").fill_null(0), pl.col(f"{prefix}_n").fill_null(0)
    return (k + PRIOR_ENTRIES * pl.col("era_rate")) / (n + PRIOR_ENTRIES)


def _design(frame: pl.DataFrame, mode: Mode) -> np.ndarray:
    """Rates on the logit scale (their effect is multiplicative on the odds), flags as they are."""
    columns = []
    for name in features_for(mode):
        values = frame[name].to_numpy().astype(np.float64)
        if name.endswith("_rate"):
            clipped = np.clip(values, 1e-3, 1 - 1e-3)
            values = np.log(clipped / (1 - clipped))
        columns.append(values)
    return np.column_stack(columns)


def fit(train: pl.DataFrame, mode: Mode) -> LogisticRegression:
    """The regression on labelled rows; refused without both outcomes in them."""
    labelled = train.filter(pl.col("not_classified").is_not_null())
    if labelled["not_classified"].n_unique() < 2:
        raise ValueError("reliability training rows need both classified and non-classified entries")
    model = LogisticRegression(C=1.0, max_iter=1000)
    return model.fit(_design(labelled, mode), labelled["not_classified"].to_numpy())


def walk_forward(frame: pl.DataFrame, mode: Mode, seasons: Sequence[int]) -> pl.DataFrame:
    """season, round, driver_id, not_classified_probability for the rows of `seasons`, each season predicted by a
    regression fitted on the `TRAINING_SEASONS` seasons before it (never on its own races)."""
    parts = []
    for season in sorted(set(seasons)):
        rows = frame.filter(pl.col("season") == season)
        if rows.is_empty():
            continue
        train = frame.filter(pl.col("season").is_between(season - TRAINING_SEASONS, season - 1))
        model = fit(train, mode)
        parts.append(
            rows.select(*_KEY).with_columns(
                not_classified_probability=pl.Series(model.predict_proba(_design(rows, mode))[:, 1])
            )
        )
    if not parts:
        return pl.DataFrame(schema={**dict.fromkeys(_KEY, pl.Int32), "not_classified_probability": pl.Float64})
    return pl.concat(parts)


def not_classified_probabilities(inputs: ReliabilityInputs, entries: pl.DataFrame) -> pl.DataFrame:
    """mode, season, round, driver_id, not_classified_probability for every entry and both modes (walk-forward):
    the regressions learn from every recorded result of the seasons before each entry's season."""
    columns = [*_KEY, "constructor_id", "grid"]
    first = entries["season"].min()
    history = inputs.results.filter(pl.col("season") >= cast(int, first) - TRAINING_SEASONS).select(columns)
    everyone = pl.concat([history.cast(entries.select(columns).schema), entries.select(columns)]).unique(list(_KEY))
    frame = reliability_frame(inputs, everyone)
    seasons = entries["season"].unique().to_list()
    predicted = pl.concat(
        walk_forward(frame, mode, seasons)
        .with_columns(mode=pl.lit(mode))
        .select("mode", *_KEY, "not_classified_probability")
        for mode in ("pre_qualifying", "post_qualifying")
    ).cast({"season": entries.schema["season"], "round": entries.schema["round"]})
    return predicted.join(entries.select(_KEY), on=list(_KEY), how="semi")


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = set(columns) - set(frame.columns)
    if missing:
        raise ValueError(f"{what} lack the column(s) {', '.join(sorted(missing))}")
