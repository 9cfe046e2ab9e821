"""ELO ratings on small hand-made races: exact updates, zero sum, rookies, point in time, shared drives, checks."""

import math

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling import elo
from f1_pipeline.modeling.elo import EloConfig

PLAIN = EloConfig(base=1500.0, k=32.0, carryover=1.0)


def results(*races: tuple[int, int, list[tuple[str, str, int]]]) -> pl.DataFrame:
    """Rows of race_results from (season, round, [(driver, team, position_order), ...])."""
    rows = [
        {
            "season": season,
            "round": rnd,
            "driver_id": driver,
            "constructor_id": team,
            "position_order": position,
            "points": {1: 10.0, 2: 8.0}.get(position, 0.0),
        }
        for season, rnd, entries in races
        for driver, team, position in entries
    ]
    schema = {
        "season": pl.Int32,
        "round": pl.Int32,
        "driver_id": pl.Utf8,
        "constructor_id": pl.Utf8,
        "position_order": pl.Int32,
        "points": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def random_results(seed: int, seasons: int = 3, rounds: int = 5) -> pl.DataFrame:
    """A made-up championship: fields of 6-10 from a pool of 14 drivers in 7 teams, shared positions included."""
    rng = np.random.default_rng(seed)
    races = []
    for season in range(2000, 2000 + seasons):
        for rnd in range(1, rounds + 1):
            drivers = rng.choice(14, size=int(rng.integers(6, 11)), replace=False)
            positions = rng.permutation(len(drivers)) + 1
            positions[positions == 3] = 2  # a tie
            races.append(
                (season, rnd, [(f"d{d}", f"t{d // 2}", int(p)) for d, p in zip(drivers, positions, strict=True)])
            )
    return results(*races)


def rating(history: pl.DataFrame, season: int, rnd: int, entity: str, column: str = "rating_after") -> float:
    return history.filter(season=season, round=rnd, entity_id=entity)[column].item()


def test_expected_score_broadcasts_and_is_symmetric():
    assert elo.expected_score(1500, 1500) == 0.5
    assert elo.expected_score(1900, 1500) == pytest.approx(10 / 11)
    grid = elo.expected_score(np.array([[1400.0], [1600.0]]), np.array([1500.0, 1700.0]))
    assert grid.shape == (2, 2)
    np.testing.assert_allclose(grid + elo.expected_score(np.array([1500.0, 1700.0]), np.array([[1400.0], [1600.0]])), 1)


def test_a_three_driver_race_by_hand():
    history = elo.elo_history(
        results(
            (2000, 1, [("a", "x", 1), ("b", "y", 2), ("c", "z", 3)]),
            (2000, 2, [("a", "x", 3), ("b", "y", 2), ("c", "z", 1)]),
        ),
        PLAIN,
        PLAIN,
    )
    # Race 1, everyone at 1500 so E = 0.5 per pair; K / (n - 1) = 16: the winner +16, the middle 0, the last -16.
    first = history.filter(round=1, entity="driver")
    assert first["entity_id"].to_list() == ["a", "b", "c"]
    assert first["rating_before"].to_list() == [1500.0, 1500.0, 1500.0]
    assert first["rating_after"].to_list() == [1516.0, 1500.0, 1484.0]
    # Race 2, the order reversed: c (1484) beats a (1516) and b (1500), b beats a.
    assert rating(history, 2000, 2, "c") == pytest.approx(1501.1029041612487, abs=1e-9)
    assert rating(history, 2000, 2, "b") == pytest.approx(1500.0, abs=1e-9)
    assert rating(history, 2000, 2, "a") == pytest.approx(1498.8970958387513, abs=1e-9)
    # One car per team here, so the teams move exactly like their drivers.
    teams = history.filter(entity="team").sort("season", "round", "entity_id")["rating_after"].to_list()
    assert teams == pytest.approx([1516.0, 1500.0, 1484.0, 1498.8970958387513, 1500.0, 1501.1029041612487])
    assert history.filter(round=2)["races_before"].unique().to_list() == [1]


def test_a_team_is_rated_by_its_best_car():
    history = elo.elo_history(
        results((2000, 1, [("a", "x", 1), ("b", "y", 2), ("c", "y", 3), ("d", "x", 4)])), PLAIN, PLAIN
    )
    teams = history.filter(entity="team")
    assert teams["entity_id"].to_list() == ["x", "y"]
    assert teams["rating_after"].to_list() == [1516.0, 1484.0]  # one pair, K / 1 = 32, E = 0.5: +-16


def test_history_columns_types_and_order():
    history = elo.elo_history(random_results(1))
    assert history.schema == elo.HISTORY_SCHEMA
    expected = history.sort(
        ["season", "round", "entity", "rating_after", "entity_id"], descending=[False, False, False, True, False]
    )
    assert history.equals(expected)
    assert history.select("season", "round", "entity", "entity_id").is_unique().all()


def test_row_order_of_the_input_does_not_matter():
    frame = random_results(2)
    assert elo.elo_history(frame).equals(elo.elo_history(frame.sample(fraction=1.0, shuffle=True, seed=3)))


def test_ratings_are_zero_sum_and_the_mean_stays_at_the_base():
    driver, team = EloConfig(base=1000.0, k=80.0, carryover=0.6), EloConfig(base=1000.0, k=50.0, carryover=0.9)
    history = elo.elo_history(random_results(4), driver, team)
    per_race = history.group_by("season", "round", "entity").agg(
        change=(pl.col("rating_after") - pl.col("rating_before")).sum()
    )
    assert per_race["change"].abs().max() < 1e-9
    # The current ratings of everyone after the last race, pulled to the base once per season started since.
    last = history.sort("season", "round").group_by("entity", "entity_id").last()
    shrink = pl.when(pl.col("entity") == "driver").then(driver.carryover).otherwise(team.carryover)
    now = last.with_columns(current=1000.0 + (pl.col("rating_after") - 1000.0) * shrink ** (2002 - pl.col("season")))
    assert now.group_by("entity").agg(pl.col("current").mean())["current"].to_list() == pytest.approx([1000.0] * 2)
    assert elo.field_mean_drift(history, driver, team) < 1e-9
    assert elo.field_mean_drift(history, driver, EloConfig(base=1000.0, k=50.0, carryover=1.0)) > 1e-3


def test_rookies_start_at_the_base_even_after_a_carry_over():
    config = EloConfig(k=40.0, carryover=0.5)
    history = elo.elo_history(random_results(5, seasons=4), config, config)
    debuts = history.filter(races_before=0)
    assert debuts.height >= 14 + 7
    assert debuts["rating_before"].unique().to_list() == [1500.0]
    assert elo.rookies_not_at_base(history, 1500.0) == 0
    assert elo.rookies_not_at_base(history.with_columns(pl.col("rating_before") + 1), 1500.0) == debuts.height


def test_a_later_race_does_not_change_earlier_rows():
    frame = random_results(6)
    history = elo.elo_history(frame)
    last_race = (frame["season"] == 2002) & (frame["round"] == 5)
    reversed_order = frame.with_columns(
        position_order=pl.when(last_race).then(100 - pl.col("position_order")).otherwise(pl.col("position_order"))
    )
    changed = elo.elo_history(reversed_order)
    assert not changed.equals(history)
    before_last = (pl.col("season") < 2002) | (pl.col("round") < 5)
    assert changed.filter(before_last).equals(history.filter(before_last))
    # In the changed race itself only what came out of it moved.
    key = ["entity", "entity_id"]
    assert (
        changed.filter(~before_last)
        .sort(key)["rating_before"]
        .equals(history.filter(~before_last).sort(key)["rating_before"])
    )


def test_a_shared_drive_counts_once_with_the_best_result():
    shared = results((1955, 1, [("fangio", "mercedes", 1), ("moss", "maserati", 2), ("fangio", "ferrari", 4)]))
    single = results((1955, 1, [("fangio", "mercedes", 1), ("moss", "maserati", 2)]))
    history = elo.elo_history(shared, PLAIN, PLAIN)
    drivers = history.filter(entity="driver")
    assert drivers["entity_id"].to_list() == ["fangio", "moss"]
    assert drivers.equals(elo.elo_history(single, PLAIN, PLAIN).filter(entity="driver"))
    assert drivers["rating_after"].to_list() == [1516.0, 1484.0]
    assert history.filter(entity="team")["entity_id"].to_list() == ["mercedes", "maserati", "ferrari"]


def test_drivers_sharing_a_car_tie():
    history = elo.elo_history(results((1957, 1, [("a", "x", 1), ("b", "x", 1), ("c", "y", 2)])), PLAIN, PLAIN)
    drivers = history.filter(entity="driver").sort("entity_id")
    # a and b: 0.5 against each other, 1 against c; K / 2 = 16.
    assert drivers["rating_after"].to_list() == [1508.0, 1508.0, 1484.0]


def test_carry_over_pulls_ratings_toward_the_base_at_a_new_season():
    frame = results(
        (2000, 1, [("a", "x", 1), ("b", "y", 2)]),
        (2000, 2, [("a", "x", 1), ("b", "y", 2)]),
        (2001, 1, [("a", "x", 1), ("b", "y", 2), ("c", "z", 3)]),
    )
    half = EloConfig(k=32.0, carryover=0.5)
    history = elo.elo_history(frame, half, half)
    assert rating(history, 2000, 2, "a", "rating_before") == rating(history, 2000, 1, "a")  # same season: kept
    end = rating(history, 2000, 2, "a")
    assert rating(history, 2001, 1, "a", "rating_before") == pytest.approx(1500 + 0.5 * (end - 1500))
    assert rating(history, 2001, 1, "c", "rating_before") == 1500.0
    kept = elo.elo_history(frame, PLAIN, PLAIN)
    assert rating(kept, 2001, 1, "a", "rating_before") == rating(kept, 2000, 2, "a")


def test_config_is_validated():
    with pytest.raises(ValueError, match="carryover"):
        EloConfig(carryover=1.5)
    with pytest.raises(ValueError, match="k must"):
        EloConfig(k=-1.0)
    with pytest.raises(ValueError, match="nulls"):
        elo.elo_history(results((2000, 1, [("a", "x", 1)])).with_columns(position_order=pl.lit(None, pl.Int32)))


def test_pairwise_log_loss_is_ln2_without_learning_and_counts_only_the_scored_seasons():
    frame = random_results(7)
    assert elo.pairwise_log_loss(frame, EloConfig(k=0.0), range(2001, 2003)) == pytest.approx(math.log(2))
    warm = elo.pairwise_log_loss(frame, EloConfig(k=32.0), [2002])
    # The 2002 loss does not depend on races after 2002 and uses 2000-2001 as warm-up.
    later = frame.vstack(frame.filter(season=2002).with_columns(season=pl.lit(2003, pl.Int32)))
    assert elo.pairwise_log_loss(later, EloConfig(k=32.0), [2002]) == pytest.approx(warm)
    with pytest.raises(ValueError, match="no race"):
        elo.pairwise_log_loss(frame, PLAIN, [1990])


def test_tune_returns_the_grid_best_first():
    frame = random_results(8, seasons=4)
    table = elo.tune(frame, [0.0, 16.0, 64.0], [0.5, 1.0], range(2001, 2004), entity="team")
    assert table.columns == ["entity", "k", "carryover", "log_loss"]
    assert table.height == 6
    assert table["log_loss"].is_sorted()
    best = table.row(0, named=True)
    assert best["entity"] == "team"
    direct = elo.pairwise_log_loss(
        frame, EloConfig(k=best["k"], carryover=best["carryover"]), range(2001, 2004), "team"
    )
    assert best["log_loss"] == pytest.approx(direct)


def test_non_finite_counts_broken_ratings():
    history = elo.elo_history(random_results(9))
    assert elo.non_finite(history) == 0
    broken = history.with_columns(
        rating_after=pl.when(pl.int_range(pl.len()) < 3).then(float("nan")).otherwise(pl.col("rating_after"))
    )
    assert elo.non_finite(broken) == 3


def test_world_champion_rank_at_season_end():
    frame = results(
        (2000, 1, [("d", "w", 1), ("a", "x", 2), ("b", "y", 3), ("c", "z", 4)]),
        (2001, 1, [("b", "y", 1), ("a", "x", 2), ("c", "z", 3), ("d", "w", 4)]),
        (2001, 2, [("d", "w", 1), ("a", "x", 2), ("b", "y", 3), ("c", "z", 4)]),
        (2001, 3, [("d", "w", 1), ("a", "x", 2), ("c", "z", 3), ("b", "y", 4)]),
    )
    history = elo.elo_history(frame, PLAIN, PLAIN)
    ranks = elo.world_champion_rank_at_season_end(history, frame)
    # 2001: a scores 24 points from three second places, d 20 from two wins after a last place, and rates higher.
    assert ranks.rows() == [(2000, "d", 10.0, 1, 4), (2001, "a", 24.0, 2, 4)]
    assert elo.share_in_top(ranks, top=1) == 0.5
    assert elo.world_champion_rank_at_season_end(history, frame, seasons=[2000])["season"].to_list() == [2000]


def test_completed_seasons_leave_out_a_season_in_progress():
    races = pl.DataFrame(
        {
            "season": [2024, 2024, 2025, 2025, 2026],
            "status": ["completed", "cancelled", "completed", "scheduled", "scheduled"],
        }
    )
    assert elo.completed_seasons(races) == [2024]
