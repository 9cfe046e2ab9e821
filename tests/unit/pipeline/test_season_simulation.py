"""Points systems against the real results, standings, the title simulation and its evaluation on real seasons."""

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.points import points_system, race_points, sprint_points
from f1_pipeline.modeling.season_simulation import (
    ENTITIES,
    Round,
    era_not_classified_rate,
    remaining_rounds,
    simulate,
    standings,
    world_champions,
)
from f1_pipeline.modeling.strength_drift import Drift, fit_drift
from f1_pipeline.modeling.title_backtest import (
    TITLE_METHODS,
    checkpoint_scores,
    checkpoints,
    title_forecasts,
    title_metrics,
)
from f1_pipeline.modeling.title_baseline import StandingsLogit
from f1_pipeline.modeling.title_odds import title_decided
from tests.modeling_data import real_features, real_inputs

POINTS_SEASONS = tuple(str(season) for season in range(2010, 2027))
KNOWN_EXCEPTIONS = {(2021, 12), (2024, 8)}
"""2021 Belgium paid half points (a race of two laps behind the safety car); in 2024 Monaco the data records
Hamilton's fastest-lap point but not his fastest-lap rank."""


@pytest.fixture(scope="module")
def recent():
    return real_inputs(POINTS_SEASONS)


def test_points_systems_reproduce_every_recorded_point_since_2010(recent):
    finals = recent.races.group_by("season").agg(final=pl.col("round").max())
    results = recent.results.join(finals, on="season")
    mismatched = set()
    for (season, rnd), race in results.group_by("season", "round"):
        system = points_system(season)
        place = race["finish_position"].fill_null(0).to_numpy()
        fastest = (race["fastest_lap_rank"] == 1).fill_null(False).to_numpy()
        awarded = race_points(system, place, fastest, final_race=rnd == race["final"][0])
        if not np.allclose(awarded, race["points"].to_numpy()):
            mismatched.add((season, rnd))
    assert mismatched == KNOWN_EXCEPTIONS
    assert results.select(pl.col("season").n_unique()).item() == 17
    for (season, rnd), sprint in recent.sprints.group_by("season", "round"):
        awarded = sprint_points(points_system(season), sprint["finish_position"].fill_null(0).to_numpy())
        assert np.allclose(awarded, sprint["points"].to_numpy()), (season, rnd)
    assert recent.sprints["season"].n_unique() == 6  # 2021-2026


def test_the_2014_finale_paid_double_and_2021_sprints_three_places():
    assert race_points(points_system(2014), np.array([1, 10, 11]), np.zeros(3), final_race=True).tolist() == [50, 2, 0]
    assert race_points(points_system(2014), np.array([1]), np.zeros(1), final_race=False).tolist() == [25]
    assert sprint_points(points_system(2021), np.array([1, 3, 4])).tolist() == [3, 1, 0]
    assert race_points(points_system(2020), np.array([10, 11]), np.ones(2), final_race=False).tolist() == [2, 0]
    assert race_points(points_system(2025), np.array([1]), np.ones(1), final_race=False).tolist() == [25]


def test_standings_match_the_real_championships(recent):
    """2021 ended 395.5 to 387.5 (sprints and Belgium's half points included); the constructors' title: Mercedes."""
    drivers = standings(recent.results, recent.sprints, 2021, 22, "driver")
    assert drivers.head(2).select("id", "points").rows() == [("max_verstappen", 395.5), ("hamilton", 387.5)]
    assert world_champions(recent.results, recent.sprints, 2021) == {
        "driver": "max_verstappen",
        "constructor": "mercedes",
    }
    assert world_champions(recent.results, recent.sprints, 2016)["driver"] == "rosberg"


def test_remaining_rounds_know_sprints_and_the_final(recent):
    rounds = remaining_rounds(recent.races, 2021, 12)
    assert [r.round for r in rounds] == list(range(13, 23))
    assert [r.round for r in rounds if r.has_sprint] == [14, 19]
    assert [r.round for r in rounds if r.final] == [22]


def _field(strengths: dict[str, float], teams: dict[str, str]) -> pl.DataFrame:
    total = sum(strengths.values())
    return pl.DataFrame(
        {
            "driver_id": list(strengths),
            "constructor_id": [teams[driver] for driver in strengths],
            "probability": [value / total for value in strengths.values()],
        }
    )


def test_a_dominant_driver_takes_the_title_and_odds_are_distributions():
    strengths = {"ace": 50.0, **{f"d{index}": 1.0 for index in range(19)}}
    teams = {"ace": "top", **{f"d{index}": f"t{index // 2}" for index in range(19)}}
    now = {
        "driver": pl.DataFrame({"id": ["d0", "ace"], "points": [60.0, 40.0], "wins": [2, 1]}),
        "constructor": pl.DataFrame({"id": ["t0", "top"], "points": [70.0, 40.0], "wins": [2, 1]}),
    }
    rounds = [Round(r, has_sprint=r % 3 == 0, final=r == 15) for r in range(6, 16)]
    odds = simulate(2023, now, _field(strengths, teams), rounds, simulations=4000)
    for entity in ENTITIES:
        assert odds.filter(entity=entity)["title_probability"].sum() == pytest.approx(1.0)
    ace = odds.filter(entity="driver", id="ace").row(0, named=True)
    assert ace["title_probability"] > 0.95
    assert ace["points_now"] == 40
    assert 40 + 10 * 20 < ace["expected_points"] < 40 + 10 * 26 + 4 * 8
    assert odds.filter(entity="constructor")["id"][0] == "top"


def test_the_odds_do_not_depend_on_the_order_the_field_comes_in():
    """A rerun reads the same next-race rows in whatever order the warehouse returns them: same odds to the bit."""
    strengths = {f"d{index}": float(20 - index) for index in range(20)}
    teams = {f"d{index}": f"t{index // 2}" for index in range(20)}
    now = {
        "driver": pl.DataFrame({"id": ["d0", "d1"], "points": [50.0, 40.0], "wins": [2, 1]}),
        "constructor": pl.DataFrame({"id": ["t0"], "points": [90.0], "wins": [3]}),
    }
    rounds = [Round(r, has_sprint=r == 8, final=r == 10) for r in range(6, 11)]
    field = _field(strengths, teams)
    forward = simulate(2023, now, field, rounds, simulations=2000)
    shuffled = simulate(2023, now, field.sample(fraction=1.0, shuffle=True, seed=7), rounds, simulations=2000)
    assert forward.equals(shuffled)


def test_with_nothing_left_to_race_the_leader_is_world_champion_and_ties_go_to_wins():
    now = {
        "driver": pl.DataFrame({"id": ["a", "b"], "points": [100.0, 100.0], "wins": [3, 4]}),
        "constructor": pl.DataFrame({"id": ["x"], "points": [200.0], "wins": [7]}),
    }
    field = _field({"a": 1.0, "b": 1.0}, {"a": "x", "b": "x"})
    odds = simulate(2022, now, field, [], simulations=100)
    assert odds.filter(entity="driver").select("id", "title_probability").rows() == [("b", 1.0), ("a", 0.0)]


def test_a_car_that_always_retires_scores_nothing_and_cannot_win_the_title():
    """Retirements come from the field's own not_classified_probability, else from the fallback rate."""
    strengths = {"ace": 50.0, **{f"d{index}": 1.0 for index in range(9)}}
    teams = {"ace": "top", **{f"d{index}": f"t{index // 2}" for index in range(9)}}
    now = {
        "driver": pl.DataFrame({"id": ["d0", "ace"], "points": [30.0, 25.0], "wins": [1, 1]}),
        "constructor": pl.DataFrame({"id": ["t0", "top"], "points": [30.0, 25.0], "wins": [1, 1]}),
    }
    rounds = [Round(r, has_sprint=False, final=r == 10) for r in range(6, 11)]
    broken = _field(strengths, teams).with_columns(
        not_classified_probability=pl.when(pl.col("driver_id") == "ace").then(0.999999).otherwise(None)
    )
    odds = simulate(2023, now, broken, rounds, simulations=2000, spread=0.0, not_classified_rate=0.1)
    ace = odds.filter(entity="driver", id="ace").row(0, named=True)
    assert ace["expected_points"] == pytest.approx(25.0, abs=0.5)
    assert ace["title_probability"] < 0.01
    reliable = simulate(2023, now, _field(strengths, teams), rounds, simulations=2000, spread=0.0)
    assert reliable.filter(entity="driver", id="ace")["title_probability"][0] > 0.95
    with pytest.raises(ValueError, match="not_classified_probability"):
        simulate(2023, now, broken.with_columns(not_classified_probability=1.5), rounds, simulations=10)


def test_a_drifting_walk_gives_a_trailing_contender_a_real_chance():
    """With strengths that move from round to round, 12 rounds leave room for a comeback a fixed order rules out."""
    strengths = {"fast": 3.0, "slow": 1.0, **{f"d{index}": 0.2 for index in range(8)}}
    teams = {"fast": "a", "slow": "b", **{f"d{index}": f"t{index // 2}" for index in range(8)}}
    now = {
        "driver": pl.DataFrame({"id": ["fast", "slow"], "points": [150.0, 100.0], "wins": [5, 1]}),
        "constructor": pl.DataFrame({"id": ["a", "b"], "points": [150.0, 100.0], "wins": [5, 1]}),
    }
    rounds = [Round(r, has_sprint=False, final=r == 20) for r in range(9, 21)]
    field = _field(strengths, teams)
    fixed = simulate(2023, now, field, rounds, simulations=4000, spread=0.0)
    drift = Drift(team=(0.3,), driver=(0.1,), seasons=(2020,))
    walking = simulate(2023, now, field, rounds, simulations=4000, spread=0.0, drift=drift)
    slow_fixed = fixed.filter(entity="driver", id="slow")["title_probability"][0]
    slow_walking = walking.filter(entity="driver", id="slow")["title_probability"][0]
    assert slow_fixed < 0.005
    assert slow_walking > 0.015


def test_drift_fitted_on_a_random_walk_recovers_its_step():
    """Strengths made by a known walk (team step 0.3, driver step 0.1 per round) are fitted back within 25%."""
    rng = np.random.default_rng(5)
    rows = []
    for season in (2001, 2002, 2003):
        team = rng.normal(0, 1, 10)
        driver = rng.normal(0, 0.3, 20)
        for rnd in range(1, 21):
            team += rng.normal(0, 0.3, 10)
            driver += rng.normal(0, 0.1, 20)
            score = np.repeat(team, 2) + driver
            p = np.exp(score) / np.exp(score).sum()
            rows += [(season, rnd, f"d{i}", f"t{i // 2}", float(p[i])) for i in range(20)]
    frame = pl.DataFrame(rows, schema=["season", "round", "driver_id", "constructor_id", "probability"], orient="row")
    drift = fit_drift(frame)
    assert drift.seasons == (2001, 2002, 2003)
    assert drift.mean_team == pytest.approx(0.3, rel=0.25)
    assert drift.mean_driver == pytest.approx(0.1, rel=0.35)
    with pytest.raises(ValueError, match="enough races"):
        fit_drift(frame.filter(pl.col("round") <= 2))


def test_the_era_rate_uses_only_races_before_the_checkpoint(recent):
    rate = era_not_classified_rate(recent.results, 2021, 10)
    earlier = recent.results.filter(
        pl.col("season").is_between(2018, 2020) | ((pl.col("season") == 2021) & (pl.col("round") <= 10))
    )
    assert rate == pytest.approx(earlier["finish_position"].is_null().mean())
    assert 0.05 < rate < 0.35


def test_the_standings_baseline_learns_that_a_big_gap_late_is_hopeless(recent):
    """Fitted on 2010-2019, the baseline favours the leader more as rounds run out and rules out a mathematically
    lost contender."""
    history = checkpoints(recent.results, recent.sprints, recent.races, range(2010, 2020))
    model = StandingsLogit().fit(history)
    rows = checkpoints(recent.results, recent.sprints, recent.races, [2020])
    rows = rows.with_columns(p=pl.Series(model.predict(rows)))
    sums = rows.group_by("after_round", "entity").agg(pl.col("p").sum())["p"]
    assert np.allclose(sums, 1.0)
    hamilton = rows.filter(entity="driver", id="hamilton").sort("after_round")["p"]
    assert hamilton[-1] > hamilton[0] > 0.2
    assert (rows.filter("decided_out")["p"] == 0).all()
    assert rows.filter(pl.col("points_available") < pl.col("gap")).height == rows.filter("decided_out").height


def test_title_forecasts_on_real_seasons_score_every_checkpoint(recent):
    """Every round from 3 to the second-to-last, both championships, three methods scored on the real champion."""
    features = real_features(POINTS_SEASONS[:12])
    strength = (pl.col("season_points").fill_null(0) + 1) ** 2
    predictions = features.filter(pl.col("won").is_not_null()).select(
        "season", "round", "driver_id", "constructor_id", probability=strength / strength.sum().over("season", "round")
    )
    forecasts = title_forecasts(
        recent.results, recent.sprints, recent.races, predictions, predictions, [2020], 1000, baseline_first_season=2010
    )
    table = checkpoint_scores(forecasts, TITLE_METHODS, 1000)
    assert table.height == (17 - 3) * 2
    assert table.filter(entity="driver")["world_champion"].unique().to_list() == ["hamilton"]
    for name in TITLE_METHODS:
        assert table[f"{name}_probability"].is_between(0, 1).all()
        assert (table[f"{name}_log_loss"] >= 0).all()
    late = table.filter(entity="driver", after_round=16)
    assert late["model_probability"][0] > 0.9
    metrics = title_metrics(table, forecasts)
    assert len(metrics) == 2 * len(TITLE_METHODS) * 6
    assert metrics["title_driver_model_log_loss"] == pytest.approx(
        table.filter(entity="driver")["model_log_loss"].mean()
    )
    assert 0 <= metrics["title_constructor_baseline_calibration_error"] < 0.2


def test_a_title_is_decided_only_when_the_points_left_cannot_change_it():
    odds = pl.DataFrame(
        {
            "entity": ["driver"] * 3 + ["constructor"] * 2,
            "id": ["a", "b", "c", "x", "y"],
            "points_now": [100.0, 70.0, 40.0, 100.0, 80.0],
        }
    )
    decided = title_decided(odds, {"driver": 50.0, "constructor": 20.0})
    assert decided.filter(entity="driver")["title_decided"].to_list() == [False, False, True]
    assert decided.filter(entity="constructor")["title_decided"].to_list() == [False, False]
    settled = title_decided(odds, {"driver": 25.0, "constructor": 19.0})
    assert settled["title_decided"].to_list() == [True, True, True, True, True]
