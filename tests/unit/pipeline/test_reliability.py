"""The reliability model: point in time, shrunk toward the era, and better than the era rate where it should be."""

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.reliability import (
    FEATURES,
    ReliabilityInputs,
    not_classified_probabilities,
    reliability_frame,
)


def _history(seasons: range, rounds: int = 10, seed: int = 0) -> ReliabilityInputs:
    """Two teams of two drivers; team `fragile` fails 40% of the time, `solid` 5%."""
    rng = np.random.default_rng(seed)
    rows = []
    for season in seasons:
        for rnd in range(1, rounds + 1):
            for index, (driver, team) in enumerate(
                [("a", "fragile"), ("b", "fragile"), ("c", "solid"), ("d", "solid")]
            ):
                fails = rng.random() < (0.4 if team == "fragile" else 0.05)
                rows.append(
                    {
                        "season": season,
                        "round": rnd,
                        "driver_id": driver,
                        "constructor_id": team,
                        "grid": index + 1,
                        "position_order": index + 1,
                        "finish_position": None if fails else index + 1,
                    }
                )
    results = pl.DataFrame(
        rows,
        schema_overrides={"season": pl.Int32, "round": pl.Int32, "grid": pl.Int32, "finish_position": pl.Int32},
    )
    races = (
        results.select("season", "round")
        .unique()
        .with_columns(circuit_id=pl.lit("monza"), has_sprint=pl.lit(False), status=pl.lit("completed"))
    )
    return ReliabilityInputs(results=results, races=races)


def test_a_races_inputs_ignore_that_race_and_every_later_one():
    inputs = _history(range(2010, 2013))
    entries = inputs.results.select("season", "round", "driver_id", "constructor_id", "grid")
    before = reliability_frame(inputs, entries)
    later = (pl.col("season") > 2011) | ((pl.col("season") == 2011) & (pl.col("round") >= 5))
    flipped = inputs.results.with_columns(
        finish_position=pl.when(later).then(pl.lit(None, pl.Int32)).otherwise(pl.col("finish_position"))
    )
    after = reliability_frame(ReliabilityInputs(flipped, inputs.races), entries)
    race = (pl.col("season") == 2011) & (pl.col("round") == 5)
    assert before.filter(race).select(FEATURES).equals(after.filter(race).select(FEATURES))
    assert (
        not before.filter(pl.col("season") == 2012)
        .select(FEATURES)
        .equals(after.filter(pl.col("season") == 2012).select(FEATURES))
    )


def test_a_newcomers_rate_is_the_era_rate_and_a_fragile_team_reads_worse():
    frame = reliability_frame(_history(range(2010, 2012)), _history(range(2010, 2012)).results)
    first = frame.filter((pl.col("season") == 2010) & (pl.col("round") == 2))
    assert np.allclose(first["driver_rate"], first["era_rate"], atol=0.3)
    late = frame.filter(pl.col("season") == 2011).group_by("constructor_id").agg(pl.col("team_rate").mean())
    rates = dict(late.iter_rows())
    assert rates["fragile"] > rates["solid"] + 0.1


def test_walk_forward_probabilities_separate_the_teams_and_need_history():
    inputs = _history(range(2000, 2014))
    entries = inputs.results.filter(pl.col("season") == 2013).select(
        "season", "round", "driver_id", "constructor_id", "grid"
    )
    predicted = not_classified_probabilities(inputs, entries).join(entries, on=["season", "round", "driver_id"])
    assert predicted.height == 2 * entries.height
    means = dict(predicted.group_by("constructor_id").agg(pl.col("not_classified_probability").mean()).iter_rows())
    assert means["fragile"] > 0.2
    assert means["solid"] < 0.1
    with pytest.raises(ValueError, match="both classified and non-classified"):
        not_classified_probabilities(_history(range(2013, 2014)), entries)
