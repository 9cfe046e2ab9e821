"""Finishing-order outcomes: exact against brute-force enumeration of every order, consistent on real races."""

import itertools

import numpy as np
import polars as pl
import pytest

from f1_pipeline.modeling.outcomes import (
    FieldTrouble,
    Trouble,
    classified_strengths,
    expected_positions,
    finishing_outcomes,
    joint_places,
    outcome_problems,
    place_probabilities,
    sample_orders,
    top_k_probabilities,
)
from f1_pipeline.modeling.race_trouble import TROUBLE_SHARES, trouble_of


def enumerated_places(strengths: np.ndarray) -> np.ndarray:
    """P(car c finishes in place r) by summing the Plackett-Luce probability of every order (small fields only)."""
    cars = len(strengths)
    places = np.zeros((cars, cars))
    for order in itertools.permutations(range(cars)):
        probability = 1.0
        for place, car in enumerate(order):
            probability *= strengths[car] / sum(strengths[other] for other in order[place:])
        for place, car in enumerate(order):
            places[car, place] += probability
    return places


@pytest.mark.parametrize("concentration", [0.2, 1.0, 5.0])
def test_place_probabilities_match_every_order_enumerated(concentration):
    strengths = np.random.default_rng(7).dirichlet(np.full(7, concentration))
    exact = enumerated_places(strengths)
    computed = place_probabilities(strengths[None, :], 6)[0]
    assert np.abs(computed - exact[:, :6]).max() < 1e-8
    assert np.allclose(expected_positions(strengths)[0], exact @ np.arange(1, 8), atol=1e-12)


def test_padding_a_race_with_absent_cars_changes_nothing():
    strengths = np.array([0.5, 0.3, 0.15, 0.05])
    alone = place_probabilities(strengths[None, :], 3)[0]
    padded = place_probabilities(np.array([[*strengths, 0.0, 0.0], [0.2] * 5 + [0.0]]), 3)
    assert np.allclose(padded[0, :4], alone, atol=1e-12)
    assert np.all(padded[0, 4:] == 0)


def test_a_twenty_car_field_agrees_with_gumbel_max_sampling():
    rng = np.random.default_rng(11)
    strengths = rng.dirichlet(np.full(20, 0.4))
    exact = top_k_probabilities(strengths[None, :], [3, 6, 10], np.array([20]))[0]
    places = np.argsort(sample_orders(strengths, 200_000, np.random.default_rng(0)), axis=1)
    sampled = np.column_stack([(places < k).mean(axis=0) for k in (3, 6, 10)])
    standard_error = np.sqrt(exact * (1 - exact) / 200_000)
    assert np.all(np.abs(sampled - exact) <= 5 * standard_error + 1e-9)
    assert np.allclose(exact.sum(axis=0), [3, 6, 10], atol=1e-8)


def test_a_field_smaller_than_k_has_everyone_in_the_top_k():
    top = top_k_probabilities(np.array([[0.7, 0.2, 0.1]]), [3, 6], np.array([3]))[0]
    assert np.all(top == 1.0)


def _race(season: int, rnd: int, probabilities: list[float], teams: list[str | None]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "season": season,
            "round": rnd,
            "driver_id": [f"d{index}" for index in range(len(probabilities))],
            "constructor_id": teams,
            "probability": probabilities,
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )


def test_outcomes_of_many_races_are_consistent_per_driver_and_per_race():
    rng = np.random.default_rng(3)
    races = [
        _race(2019, rnd, list(rng.dirichlet(np.full(cars, 0.5))), [f"t{index // 2}" for index in range(cars)])
        for rnd, cars in enumerate([20, 22, 12, 8], start=1)
    ]
    frame = pl.concat(races).sample(fraction=1.0, shuffle=True, seed=1)
    outcomes = finishing_outcomes(frame)
    assert outcomes.select("season", "round", "driver_id").equals(frame.select("season", "round", "driver_id"))
    sums = outcomes.group_by("round").agg(
        pl.len(), pl.col("probability", "podium_probability", "top6_probability", "points_probability").sum()
    )
    for row in sums.iter_rows(named=True):
        assert row["probability"] == pytest.approx(1, abs=1e-9)
        assert row["podium_probability"] == pytest.approx(min(3, row["len"]), abs=1e-8)
        assert row["top6_probability"] == pytest.approx(min(6, row["len"]), abs=1e-8)
        assert row["points_probability"] == pytest.approx(min(10, row["len"]), abs=1e-8)
    ordered = outcomes.select(
        (pl.col("probability") <= pl.col("podium_probability") + 1e-12)
        & (pl.col("podium_probability") <= pl.col("top6_probability") + 1e-12)
        & (pl.col("top6_probability") <= pl.col("points_probability") + 1e-12)
        & pl.col("expected_position").is_between(1, pl.len().over("round"))
    )
    assert ordered.to_series().all()
    teammates = outcomes.group_by("round", "constructor_id").agg(pl.col("teammate_ahead_probability").sum())
    assert np.allclose(teammates["teammate_ahead_probability"], 1.0)


def test_teams_and_teammates():
    outcomes = finishing_outcomes(_race(2025, 1, [0.6, 0.2, 0.15, 0.05], ["a", "a", "b", None]))
    assert outcomes["team_win_probability"].to_list() == pytest.approx([0.8, 0.8, 0.15, None], nan_ok=True)
    assert outcomes["teammate_ahead_probability"][:2].to_list() == pytest.approx([0.75, 0.25])
    assert outcomes["teammate_ahead_probability"][2:].to_list() == [None, None]


def test_a_frame_that_is_not_a_distribution_is_refused():
    with pytest.raises(ValueError, match="sum to 1"):
        finishing_outcomes(_race(2025, 1, [0.6, 0.2], ["a", "b"]))
    with pytest.raises(ValueError, match="constructor_id"):
        finishing_outcomes(_race(2025, 1, [0.6, 0.4], ["a", "b"]).drop("constructor_id"))


def test_points_places_follow_the_season():
    """In 2005 eight places scored: a 10-car race's P(points) sums to 8 there, to 10 in 2015."""
    probabilities = list(np.random.default_rng(5).dirichlet(np.ones(10)))
    teams = [f"t{index}" for index in range(10)]
    both = finishing_outcomes(pl.concat([_race(2005, 1, probabilities, teams), _race(2015, 1, probabilities, teams)]))
    totals = both.group_by("season").agg(pl.col("points_probability").sum()).sort("season")
    assert totals["points_probability"].to_list() == pytest.approx([8, 10], abs=1e-8)


def test_outcome_problems_name_the_races_that_break_a_guarantee():
    rng = np.random.default_rng(9)
    good = finishing_outcomes(
        pl.concat(
            _race(2020, rnd, list(rng.dirichlet(np.ones(10))), [f"t{i // 2}" for i in range(10)]) for rnd in (1, 2)
        )
    )
    assert outcome_problems(good).is_empty()
    broken = good.with_columns(
        podium_probability=pl.when((pl.col("round") == 2) & (pl.col("driver_id") == "d0"))
        .then(pl.col("probability") / 2)
        .otherwise("podium_probability")
    )
    problems = outcome_problems(broken)
    assert problems["round"].to_list() == [2]
    assert problems["unordered"][0] == 1


def enumerated_joint(strengths: np.ndarray, classified: np.ndarray, team: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P(car c classified in place r) and P(car c classified ahead of every classified teammate), by summing over
    every set of classified cars and every order of it (small fields only)."""
    cars = len(strengths)
    places, ahead = np.zeros((cars, cars)), np.zeros(cars)
    for mask in itertools.product([False, True], repeat=cars):
        chance = np.prod(np.where(mask, classified, 1 - classified))
        finishers = [car for car in range(cars) if mask[car]]
        for order in itertools.permutations(finishers):
            probability = chance
            for place, car in enumerate(order):
                probability *= strengths[car] / sum(strengths[other] for other in order[place:])
            for place, car in enumerate(order):
                places[car, place] += probability
                mates = [o for o in order[place + 1 :] if team[o] == team[car] and team[car] >= 0]
                if len(mates) == sum(1 for o in finishers if o != car and team[o] == team[car] and team[car] >= 0):
                    ahead[car] += probability
    return places, ahead


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_joint_law_of_retirements_and_order_matches_every_case_enumerated(seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(6))
    classified = rng.uniform(0.5, 0.99, 6)
    team = np.array([0, 0, 1, 1, 2, -1])
    strengths, used = classified_strengths(p[None, :], classified[None, :])
    places, ahead = joint_places(strengths, used, team[None, :])
    exact_places, exact_ahead = enumerated_joint(strengths[0], used[0], team)
    assert np.abs(places[0] - exact_places).max() < 1e-8
    assert np.abs(ahead[0] - exact_ahead).max() < 1e-8
    nobody = np.prod(1 - used[0])
    assert np.allclose(exact_places[:, 0] / (1 - nobody), p, atol=1e-9)  # P(win) stays the model's
    assert np.allclose(exact_places.sum(axis=1), used[0], atol=1e-12)
    assert np.all(used[0] >= classified)  # raised only where P(win) needs it


def enumerated_troubled(
    strengths: np.ndarray, classified: np.ndarray, team: np.ndarray, trouble: FieldTrouble
) -> tuple[np.ndarray, np.ndarray]:
    """`enumerated_joint` averaged over how each car's race goes (untroubled, or one of the trouble levels, each car
    with its own share): given that, every crossing time is exponential with the cars' strengths times their speed
    factors, so the order is Plackett-Luce with those strengths."""
    cars = len(strengths)
    weights = np.array([weight[0, 0] for weight, _ in trouble.components()])  # (parts, cars)
    speeds = np.array([speed for _, speed in trouble.components()])
    places, ahead = np.zeros((cars, cars)), np.zeros(cars)
    for parts in itertools.product(range(len(speeds)), repeat=cars):
        weight = np.prod(weights[list(parts), np.arange(cars)])
        more_places, more_ahead = enumerated_joint(strengths * speeds[list(parts)], classified, team)
        places += weight * more_places
        ahead += weight * more_ahead
    return places, ahead


@pytest.mark.parametrize(
    "trouble",
    [
        Trouble(share=0.2, slowdown=0.1),
        Trouble(share=0.3, slowdown=0.05, levels=2),
        Trouble(share=0.1, slowdown=0.05, levels=2, front=0.3),
    ],
)
def test_the_law_with_trouble_matches_every_case_enumerated_and_keeps_the_win_chance(trouble):
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(4))
    classified = rng.uniform(0.85, 0.99, 4)  # a car alone classified wins whatever its strength: keep that rare
    team = np.array([0, 0, 1, -1])
    field = trouble.in_field(p[None, :])
    strengths, used = classified_strengths(p[None, :], classified[None, :], trouble)
    places, ahead = joint_places(strengths, used, team[None, :], trouble=field)
    exact_places, exact_ahead = enumerated_troubled(strengths[0], used[0], team, field)
    assert np.abs(places[0] - exact_places).max() < 1e-8
    assert np.abs(ahead[0] - exact_ahead).max() < 1e-8
    nobody = np.prod(1 - used[0])
    assert np.allclose(exact_places[:, 0] / (1 - nobody), p, atol=1e-9)
    calm_strengths, calm_used = classified_strengths(p[None, :], classified[None, :])
    calm, _ = joint_places(calm_strengths, calm_used, team[None, :])
    favourite = int(np.argmax(p))
    assert places[0, favourite, 1:3].sum() < calm[0, favourite, 1:3].sum()  # a favourite beaten is less often 2nd/3rd
    race = _race(2024, 1, p.tolist(), ["a", "a", "b", None]).with_columns(
        not_classified_probability=pl.Series(1 - classified)
    )
    outcomes = finishing_outcomes(race, trouble=trouble)
    others = used[0].sum() - used[0]
    expected = exact_places @ np.arange(1, 5) + (1 - used[0]) * (1 + others + 4) / 2
    assert np.allclose(outcomes["expected_position"].to_numpy(), expected, atol=1e-8)
    assert np.allclose(outcomes["teammate_ahead_probability"][:2].to_numpy(), exact_ahead[:2], atol=1e-8)


def test_trouble_outside_its_range_is_refused():
    for share, slowdown, levels, front in (
        (1.0, 0.5, 1, 0.0),
        (-0.1, 0.5, 1, 0.0),
        (0.2, 0.0, 1, 0.0),
        (0.2, 1.5, 1, 0.0),
        (0.2, 0.5, 0, 0.0),
        (0.1, 0.5, 1, -0.1),
        (0.5, 0.5, 1, 0.5),
    ):
        with pytest.raises(ValueError, match="trouble needs"):
            Trouble(share, slowdown, levels, front)


def test_front_trouble_falls_with_the_win_chance_and_needs_it():
    trouble = Trouble(share=0.1, slowdown=0.01, levels=3, front=0.1)
    field = trouble.in_field(np.array([[0.5, 0.25, 0.25, 0.0]]))
    assert np.allclose(field.share, [[0.2, 0.15, 0.15, 0.0]])  # the favourite 0.2, padding none
    with pytest.raises(ValueError, match="needs the races' P\\(win\\)"):
        joint_places(np.full((1, 3), 1 / 3), np.ones((1, 3)), np.full((1, 3), -1), trouble=trouble)
    with pytest.raises(ValueError, match="races of shape"):  # another batch's shares are refused, not broadcast
        joint_places(np.full((2, 4), 1 / 4), np.ones((2, 4)), np.full((2, 4), -1), trouble=field)
    with pytest.raises(ValueError, match="slowed speed"):
        FieldTrouble(np.full((1, 2), 0.1), ())


def test_trouble_spreads_the_places_behind_the_winner():
    race = _race(2024, 1, [0.5, 0.2, *[0.3 / 18] * 18], [f"t{i // 2}" for i in range(20)])
    troubled = finishing_outcomes(race, trouble=trouble_of(TROUBLE_SHARES["pre_qualifying"][0], "pre_qualifying"))
    calm = finishing_outcomes(race)
    assert troubled["top6_probability"][0] < calm["top6_probability"][0]
    assert troubled["top6_probability"][10] > calm["top6_probability"][10]
    assert np.allclose(troubled["probability"], calm["probability"])
    assert outcome_problems(troubled).is_empty()


def test_a_favourite_more_likely_to_win_than_to_be_classified_is_made_reliable_enough():
    strengths, used = classified_strengths(np.array([[0.9, 0.05, 0.05]]), np.array([[0.8, 0.9, 0.9]]))
    assert used[0, 0] == pytest.approx(np.sqrt(0.9))
    places, _ = joint_places(strengths, used, np.array([[-1, -1, -1]]))
    assert places[0, 0, 0] / (1 - np.prod(1 - used[0])) == pytest.approx(0.9, abs=1e-9)


def test_retirements_lower_the_points_chance_of_a_dominant_field_and_stay_consistent():
    race = _race(2024, 1, [0.6, 0.2, *[0.2 / 18] * 18], [f"t{i // 2}" for i in range(20)])
    certain = finishing_outcomes(race)
    risky = finishing_outcomes(race.with_columns(not_classified_probability=pl.lit(0.15)))
    assert certain["points_probability"].max() > 0.9999
    assert risky["points_probability"].max() < 0.86
    assert np.allclose(risky["probability"], race["probability"])
    assert risky["not_classified_probability"].min() == pytest.approx(1 - max(0.85, np.sqrt(0.6)))
    assert outcome_problems(risky).is_empty()
    assert risky["podium_probability"].sum() < 3


def test_expected_place_counts_cars_not_classified_behind_the_classified_ones():
    p = np.array([0.4, 0.25, 0.15, 0.12, 0.08])
    failing = np.array([0.1, 0.3, 0.2, 0.15, 0.25])
    race = _race(2024, 1, p.tolist(), ["a", "a", "b", "b", None]).with_columns(
        not_classified_probability=pl.Series(failing)
    )
    outcomes = finishing_outcomes(race)
    strengths, used = classified_strengths(p[None, :], 1 - failing[None, :])
    s, c = strengths[0], used[0]
    expected = np.zeros(5)
    for mask in itertools.product([False, True], repeat=5):
        chance = np.prod(np.where(mask, c, 1 - c))
        finishers = [car for car in range(5) if mask[car]]
        shared = (len(finishers) + 1 + 5) / 2  # the places left, shared by the cars not classified
        for order in itertools.permutations(finishers):
            probability = chance
            for place, car in enumerate(order):
                probability *= s[car] / sum(s[other] for other in order[place:])
            places = {car: place + 1 for place, car in enumerate(order)}
            expected += probability * np.array([places.get(car, shared) for car in range(5)])
    assert np.allclose(outcomes["expected_position"].to_numpy(), expected, atol=1e-8)
