"""Point-in-time features on real seasons (2019-2021 of the bundled data): no row can see its own result or any
later race, the next race gets the right entrants, rookies start at the base rating."""

import dataclasses
from datetime import date, time

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from f1_pipeline.contracts import value_problems
from f1_pipeline.modeling.feature_matrix import (
    FEATURES_CONTRACT,
    MODES,
    POST_FEATURES,
    FeatureInputs,
    before_qualifying,
    features_for,
    race_features,
)
from tests.modeling_data import as_next_race, real_features, real_inputs, with_results

FEATURES = features_for("post_qualifying")
PRE_FEATURES = features_for("pre_qualifying")
LABELS = ("won", "finish_position")
OUTCOME = ("position_order", "finish_position", "position_text", "points", "status", "status_category", "laps")
PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def inputs() -> FeatureInputs:
    return real_inputs()


@pytest.fixture(scope="module")
def features() -> pl.DataFrame:
    return real_features()


def race_keys(inputs: FeatureInputs) -> list[tuple[int, int]]:
    return inputs.races.filter(status="completed").sort("season", "round").select("season", "round").rows()


def up_to(frame: pl.DataFrame, race: tuple[int, int]) -> pl.DataFrame:
    return frame.filter(pl.col("season") * 100 + pl.col("round") <= race[0] * 100 + race[1])


def of_race(frame: pl.DataFrame, race: tuple[int, int]) -> pl.DataFrame:
    return frame.filter(season=race[0], round=race[1])


def other_races(frame: pl.DataFrame, race: tuple[int, int]) -> pl.DataFrame:
    return frame.filter((pl.col("season") != race[0]) | (pl.col("round") != race[1]))


def reorder_outcome(rows: pl.DataFrame, order: list[int]) -> pl.DataFrame:
    """The race's drivers keep their car and grid; who finished where (and scored what) is reshuffled."""
    outcome = rows.select(OUTCOME)[order]
    return rows.with_columns(outcome.get_column(name) for name in OUTCOME)


def test_the_real_seasons_give_one_row_per_driver_and_race(features):
    assert features.height == 1200  # 60 races of 20 cars
    assert features.select(FEATURES_CONTRACT.key).is_duplicated().sum() == 0
    assert set(FEATURES) <= set(features.columns)
    assert features.group_by("season", "round").agg(pl.col("won").sum())["won"].to_list() == [1] * 60


@PROPERTY
@given(data=st.data())
def test_no_later_race_can_change_a_race_or_any_earlier_one(inputs, features, data):
    races = race_keys(inputs)
    index = data.draw(st.integers(0, len(races) - 2), label="race")
    later = races[data.draw(st.integers(index + 1, len(races) - 1), label="later race")]
    race = races[index]

    rows = of_race(inputs.results, later)
    changed = reorder_outcome(rows, data.draw(st.permutations(range(rows.height)), label="finishing order"))
    if data.draw(st.booleans(), label="reshuffle grid"):
        changed = changed.with_columns(pl.col("grid").shuffle(seed=data.draw(st.integers(0, 1000))))
    if data.draw(st.booleans(), label="drop a driver"):
        changed = changed.filter(pl.int_range(pl.len()) != data.draw(st.integers(0, changed.height - 1)))
    if data.draw(st.booleans(), label="add a newcomer"):
        newcomer = changed.head(1).with_columns(
            driver_id=pl.lit("newcomer"), position_order=pl.lit(changed.height + 1, pl.Int32)
        )
        changed = pl.concat([changed, newcomer])
    sessions = inputs.qualifying
    if data.draw(st.booleans(), label="rewrite qualifying"):
        grid = changed.select(
            "season", "round", "driver_id", "constructor_id", "number", position=pl.int_range(1, pl.len() + 1)
        )
        extra = grid.with_columns(
            pl.col("position").cast(pl.Int32),
            q1_seconds=80.0 + pl.col("position"),
            q2_seconds=pl.lit(None, pl.Float64),
            q3_seconds=pl.lit(None, pl.Float64),
            best_seconds=80.0 + pl.col("position"),
        )
        sessions = pl.concat([other_races(sessions, later), extra.select(sessions.columns)])
    sprints = inputs.sprints
    if of_race(sprints, later).height and data.draw(st.booleans(), label="rewrite sprint points"):
        sprints = sprints.with_columns(
            points=pl.when((pl.col("season") == later[0]) & (pl.col("round") == later[1]))
            .then(pl.col("points").reverse().over("season", "round"))
            .otherwise(pl.col("points"))
        )

    results = pl.concat([other_races(inputs.results, later), changed.select(inputs.results.columns)])
    rebuilt = race_features(with_results(inputs, results, qualifying=sessions, sprints=sprints))

    assert_frame_equal(up_to(rebuilt, race), up_to(features, race))


@PROPERTY
@given(data=st.data())
def test_a_race_own_finishing_order_changes_only_its_labels(inputs, features, data):
    races = race_keys(inputs)
    race = races[data.draw(st.integers(0, len(races) - 1), label="race")]
    rows = of_race(inputs.results, race)
    order = data.draw(st.permutations(range(rows.height)), label="finishing order")
    results = pl.concat([other_races(inputs.results, race), reorder_outcome(rows, order)])
    rebuilt = race_features(with_results(inputs, results))

    before, after = up_to(features, race), up_to(rebuilt, race)
    assert_frame_equal(after.drop(LABELS), before.drop(LABELS))  # every feature of both modes, grid included
    assert_frame_equal(other_races(after, race), other_races(before, race))  # earlier races: labels too
    winner = rows.select(OUTCOME)[order].with_columns(driver_id=rows["driver_id"]).filter(position_order=1)
    assert of_race(after, race).filter("won")["driver_id"].to_list() == winner["driver_id"].to_list()


def test_a_race_own_grid_and_qualifying_change_only_its_post_qualifying_features(inputs, features):
    race = (2020, 5)
    rows = of_race(inputs.results, race)
    results = pl.concat(
        [other_races(inputs.results, race), rows.with_columns(grid=pl.col("grid").reverse(), pit_lane_start=False)]
    )
    this = (pl.col("season") == race[0]) & (pl.col("round") == race[1])
    sessions = inputs.qualifying.with_columns(
        position=pl.when(this).then(pl.col("position").reverse().over("season", "round")).otherwise("position"),
        best_seconds=pl.when(this)
        .then(pl.col("best_seconds").reverse().over("season", "round"))
        .otherwise("best_seconds"),
    )
    rebuilt = race_features(with_results(inputs, results, qualifying=sessions))

    # Up to R nothing but R's post-qualifying columns moves (later races may use R's qualifying as form).
    up_to = (pl.col("season") < race[0]) | ((pl.col("season") == race[0]) & (pl.col("round") <= race[1]))
    assert_frame_equal(rebuilt.filter(up_to).drop(POST_FEATURES), features.filter(up_to).drop(POST_FEATURES))
    earlier = up_to & ~this
    assert_frame_equal(rebuilt.filter(earlier), features.filter(earlier))
    own, was = of_race(rebuilt, race), of_race(features, race)
    assert own["grid"].to_list() != was["grid"].to_list()
    assert own["qualifying_position"].to_list() != was["qualifying_position"].to_list()


def test_the_table_holds_exactly_its_declared_columns(features):
    """What the contract declares (the asset's column meanings in the Dagster UI, the docs) is what is written."""
    assert features.schema == pl.Schema(FEATURES_CONTRACT.schema)
    assert value_problems(features, FEATURES_CONTRACT.rules) == []


def test_features_of_each_mode_are_columns_of_the_frame_and_pre_is_a_prefix_of_post():
    assert MODES == ("pre_qualifying", "post_qualifying")
    assert FEATURES[: len(PRE_FEATURES)] == PRE_FEATURES
    assert set(FEATURES) - set(PRE_FEATURES) == set(POST_FEATURES)
    assert not set(features_for("pre_qualifying", extended=False)) - set(PRE_FEATURES)


def test_next_race_without_qualifying_gets_the_latest_race_entrants(inputs, features):
    frame = race_features(as_next_race(inputs, 2021, 22, keep_qualifying=False))
    upcoming = frame.filter("is_next")
    latest = of_race(features, (2021, 21)).select("driver_id", "constructor_id")
    assert upcoming.select("season", "round").unique().rows() == [(2021, 22)]
    assert_frame_equal(upcoming.select("driver_id", "constructor_id"), latest)
    labels_and_post = (*LABELS, *POST_FEATURES)
    assert upcoming.select(labels_and_post).null_count().row(0) == (upcoming.height,) * len(labels_and_post)
    # What was known before the race is what the same race shows once it has run.
    ran = of_race(features, (2021, 22)).join(upcoming.select("driver_id"), on="driver_id")
    assert_frame_equal(upcoming.select(PRE_FEATURES), ran.select(PRE_FEATURES))


def test_next_race_with_qualifying_gets_the_qualifying_entrants_on_their_qualifying_grid(inputs, features):
    rookie = of_race(inputs.qualifying, (2021, 22)).tail(1).with_columns(driver_id=pl.lit("rookie"))
    unbound = as_next_race(inputs, 2021, 22, keep_qualifying=True)
    entrants_but_mazepin = of_race(unbound.qualifying, (2021, 22)).filter(pl.col("driver_id") != "mazepin")
    with_rookie = dataclasses.replace(
        unbound,
        qualifying=pl.concat([other_races(unbound.qualifying, (2021, 22)), entrants_but_mazepin, rookie]),
    )
    upcoming = race_features(with_rookie).filter("is_next")
    entrants = of_race(with_rookie.qualifying, (2021, 22))
    assert sorted(upcoming["driver_id"]) == sorted(entrants["driver_id"])
    assert "mazepin" not in upcoming["driver_id"]  # raced round 21, not in this qualifying
    assert upcoming["won"].null_count() == upcoming.height
    placed = upcoming.join(entrants.select("driver_id", "position"), on="driver_id")
    assert (placed["grid"] == placed["position"]).all()
    assert (placed["qualifying_position"] == placed["position"]).all()
    assert not upcoming["pit_lane_start"].any()
    newcomer = upcoming.filter(driver_id="rookie").row(0, named=True)
    assert newcomer["driver_elo"] == 1500.0
    assert newcomer["driver_starts"] == 0
    assert newcomer["driver_avg_finish_5"] is None
    ran = of_race(features, (2021, 22)).join(upcoming.select("driver_id"), on="driver_id")
    shown = upcoming.filter(pl.col("driver_id") != "rookie").sort("driver_id")
    assert_frame_equal(shown.select(PRE_FEATURES), ran.sort("driver_id").select(PRE_FEATURES))


def test_won_is_null_exactly_for_the_next_race(inputs):
    frame = race_features(as_next_race(inputs, 2021, 10, keep_qualifying=False))
    assert (frame["won"].is_null() == frame["is_next"]).all()
    assert frame.filter("is_next").select("season", "round").unique().rows() == [(2021, 10)]
    assert frame["season"].max() == 2021
    assert frame.filter(season=2021)["round"].max() == 10  # later races of the calendar are not rows yet


def test_rookies_and_new_teams_start_at_the_base_rating(features):
    debuts = features.filter(pl.col("driver_starts") == 0)
    assert debuts.height >= 20 + 8  # the 2019 opening grid, then later debuts (Latifi, Aitken, Mazepin, ...)
    assert (debuts["driver_elo"] == 1500.0).all()
    assert debuts["driver_avg_finish_5"].null_count() == debuts.height
    key = pl.col("season") * 100 + pl.col("round")
    first_race = key == key.min().over("constructor_id")
    new_teams = features.filter(first_race)
    assert {"alphatauri", "alpine", "aston_martin"} <= set(new_teams["constructor_id"])
    assert (new_teams["team_elo"] == 1500.0).all()
    veterans = features.filter(pl.col("driver_starts") > 0)
    assert (veterans["driver_elo"] != 1500.0).mean() > 0.99


def test_season_standings_count_only_earlier_races_and_sprints(inputs, features):
    row = of_race(features, (2021, 22)).filter(driver_id="max_verstappen").row(0, named=True)
    earlier = inputs.results.filter(season=2021, driver_id="max_verstappen").filter(pl.col("round") < 22)
    sprint = inputs.sprints.filter(season=2021, driver_id="max_verstappen").filter(pl.col("round") < 22)
    assert row["season_points"] == pytest.approx(earlier["points"].sum() + sprint["points"].sum())
    assert row["season_wins"] == (earlier["finish_position"] == 1).sum()
    assert row["championship_position"] == 1
    assert row["points_behind_leader"] == 0.0
    opener = of_race(features, (2021, 1))
    assert opener["championship_position"].null_count() == opener.height
    assert (opener["season_points"] == 0).all()


def test_ratings_features_are_the_ratings_known_before_the_race(inputs, features):
    for entity, key, column in (("driver", "driver_id", "driver_elo"), ("team", "constructor_id", "team_elo")):
        before = inputs.ratings.filter(entity=entity).select(
            "season", "round", pl.col("entity_id").alias(key), "rating_before"
        )
        joined = features.join(before, on=["season", "round", key], how="left")
        assert joined["rating_before"].null_count() == 0
        opener = joined.filter(season=2020, round=1, driver_id="hamilton")
        assert opener[column].item() == pytest.approx(opener["rating_before"].item())
        np.testing.assert_allclose(joined[column].to_numpy(), joined["rating_before"].to_numpy())


def held_after_qualifying(races: pl.DataFrame, prefix: str) -> pl.Expr:
    """The calendar's own words, independently of the code under test: a later day, or the same day later."""
    date, time = pl.col(f"{prefix}_date"), pl.col(f"{prefix}_time")
    return (date > pl.col("qualifying_date")) | (
        (date == pl.col("qualifying_date")) & (time > pl.col("qualifying_time"))
    )


def weekend_sessions(inputs: FeatureInputs) -> list[tuple[int, int, str, bool]]:
    """Every (season, round, session) with practice rows or a sprint, and whether it was held after qualifying."""
    prefixes = {"fp1": "first_practice", "fp2": "second_practice", "fp3": "third_practice", "sprint": "sprint"}
    held = pl.concat(
        [
            inputs.practice.select("season", "round", "session").unique(),
            inputs.sprints.select("season", "round", session=pl.lit("sprint")).unique(),
        ]
    ).join(inputs.races, on=["season", "round"])
    late = pl.coalesce(
        *(
            pl.when(pl.col("session") == name).then(held_after_qualifying(inputs.races, prefix))
            for name, prefix in prefixes.items()
        )
    ).fill_null(False)
    return held.select("season", "round", "session", late=late).sort("season", "round", "session").rows()


def test_the_calendar_orders_each_weekend_sessions():
    races = pl.DataFrame(
        {
            "season": [2019, 2021, 2022, 2023, 2024, 2024],
            "round": [1, 10, 4, 4, 5, 6],
            "first_practice_date": [
                None,
                date(2021, 7, 16),
                date(2022, 4, 22),
                date(2023, 4, 28),
                date(2024, 4, 19),
                date(2024, 5, 3),
            ],
            "first_practice_time": [None, None, time(11, 30), time(9, 30), time(3, 30), None],
            "second_practice_date": [None, date(2021, 7, 17), date(2022, 4, 23), None, None, None],
            "second_practice_time": [None, None, time(10, 30), None, None, None],
            "sprint_qualifying_date": [None, None, None, date(2023, 4, 29), date(2024, 4, 19), date(2024, 5, 3)],
            "sprint_qualifying_time": [None, None, None, time(9, 30), time(7, 30), time(20, 30)],
            "qualifying_date": [
                None,
                date(2021, 7, 16),
                date(2022, 4, 22),
                date(2023, 4, 28),
                date(2024, 4, 20),
                date(2024, 5, 3),
            ],
            "qualifying_time": [None, None, time(15, 0), time(13, 0), time(7, 0), time(20, 0)],
            "sprint_date": [
                None,
                date(2021, 7, 17),
                date(2022, 4, 23),
                date(2023, 4, 29),
                date(2024, 4, 20),
                date(2024, 5, 4),
            ],
            "sprint_time": [None, None, time(14, 30), time(13, 30), time(3, 0), time(16, 0)],
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )

    def earlier(session: str) -> list[bool]:
        return before_qualifying(races, session)["before_qualifying"].to_list()

    assert earlier("fp1") == [True] * 6  # no date (2019), same day without times (2021), or earlier
    assert earlier("fp2") == [True, False, False, True, True, True]  # 2021-22 sprint weekends: after Friday qualifying
    assert earlier("sq") == [
        False,
        False,
        False,
        False,
        True,
        False,
    ]  # unknown: after; 2023 shootout after; 20:30 > 20:00
    assert earlier("sprint") == [False, False, False, False, True, False]  # only the 2024- format runs it first
    assert earlier("fp4") == [True] * 6


def test_practice_features_are_this_weekend_sessions_before_qualifying(inputs, features):
    race = of_race(features, (2021, 10))  # British GP: sprint weekend, FP2 and the sprint on Saturday after qualifying
    practice = of_race(inputs.practice, (2021, 10))
    fp1 = practice.filter(session="fp1").with_columns(
        gap=(pl.col("time_seconds") / pl.col("time_seconds").min() - 1) * 100
    )
    expected = fp1.select("driver_id", expected=pl.col("gap").clip(upper_bound=5.0))
    joined = race.join(expected, on="driver_id")
    assert joined.height == race.height
    np.testing.assert_allclose(joined["practice_best_gap"], joined["expected"])
    np.testing.assert_allclose(joined["practice_last_gap"], joined["expected"])
    fp1_positions = fp1.select("driver_id", "position")
    assert (
        (race.join(fp1_positions, on="driver_id").select(pl.col("practice_mean_position") == pl.col("position")))
        .to_series()
        .all()
    )
    normal = of_race(features, (2021, 9))  # three practice sessions before Saturday qualifying
    sessions = of_race(inputs.practice, (2021, 9))["session"].unique().sort().to_list()
    assert sessions == ["fp1", "fp2", "fp3"]
    assert normal["practice_mean_gap"].null_count() == 0
    assert (normal["practice_mean_gap"] >= normal["practice_best_gap"]).all()
    assert (features.group_by("season", "round").agg(pl.col("practice_best_gap").min())["practice_best_gap"] == 0).all()


@PROPERTY
@given(data=st.data())
def test_no_prediction_sees_a_session_held_after_its_prediction_time(inputs, features, data):
    """Rewriting a weekend session moves only that race's features, and never a pre-qualifying one when the session
    was held after qualifying (FP2 and the sprint on the 2021 sprint weekends); post-qualifying features are built just
    before the start, after every session of the weekend."""
    sessions = weekend_sessions(inputs)
    late = [session for session in sessions if session[3]]
    assert {(2021, 10, "fp2"), (2021, 10, "sprint")} <= {session[:3] for session in late}
    season, rnd, session, after = data.draw(
        st.sampled_from(late) if data.draw(st.booleans()) else st.sampled_from(sessions)
    )
    this = (pl.col("season") == season) & (pl.col("round") == rnd)
    practice, sprints = inputs.practice, inputs.sprints
    if session == "sprint":  # a new order, same points (the standings are another feature's business)
        sprints = sprints.with_columns(
            position_order=pl.when(this)
            .then(pl.col("position_order").reverse().over("season", "round"))
            .otherwise("position_order")
        )
    else:
        chosen = this & (pl.col("session") == session)
        shift = data.draw(st.floats(0.5, 5.0), label="seconds lost")
        practice = practice.with_columns(
            time_seconds=pl.when(chosen)
            .then(pl.col("time_seconds").reverse().over("season", "round", "session") + shift)
            .otherwise("time_seconds"),
            position=pl.when(chosen)
            .then(pl.col("position").reverse().over("season", "round", "session"))
            .otherwise("position"),
        )
        if data.draw(st.booleans(), label="drop the session's last"):
            practice = practice.filter(
                ~(chosen & (pl.col("position") == pl.col("position").max().over("season", "round", "session")))
            )
    rebuilt = race_features(dataclasses.replace(inputs, practice=practice, sprints=sprints))

    race = (season, rnd)
    assert_frame_equal(other_races(rebuilt, race), other_races(features, race))
    if after:
        assert_frame_equal(of_race(rebuilt, race).select(PRE_FEATURES), of_race(features, race).select(PRE_FEATURES))
    else:  # the test can fail: a session before qualifying does move the pre-qualifying features
        assert not of_race(rebuilt, race).select(PRE_FEATURES).equals(of_race(features, race).select(PRE_FEATURES))
