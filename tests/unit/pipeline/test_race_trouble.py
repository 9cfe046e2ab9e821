"""The published race law's trouble, chosen race by race from the races before it: point in time, within its window,
and the same share for the next race as the backtested races before it ask for."""

import polars as pl
import pytest

from f1_pipeline.modeling.backtest import completed
from f1_pipeline.modeling.estimators import ConditionalLogit
from f1_pipeline.modeling.outcomes import NO_TROUBLE, Trouble, finishing_outcomes, outcome_problems
from f1_pipeline.modeling.race_trouble import TROUBLE_SHARES, shares_by_race, trouble_of
from f1_pipeline.registry.scoring import with_outcomes
from tests.modeling_data import real_features, two_scored_races

SHARES = (0.4, 0.3, 0.2)


def _losses(rounds: list[tuple[float, float, float]]) -> pl.DataFrame:
    """One completed race per round of 2020, each share's loss."""
    return pl.DataFrame(
        {"season": [2020] * len(rounds), "round": range(1, len(rounds) + 1)}
        | {str(share): [row[index] for row in rounds] for index, share in enumerate(SHARES)},
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )


def _races(rounds: range) -> pl.DataFrame:
    return pl.DataFrame(
        {"season": 2020, "round": list(rounds)}, schema_overrides={"season": pl.Int32, "round": pl.Int32}
    )


def test_a_race_takes_the_share_that_scored_best_before_it_and_the_first_without_a_past():
    losses = _losses([(3.0, 2.0, 1.0), (3.0, 2.0, 1.0), (1.0, 5.0, 5.0)])
    chosen = shares_by_race(_races(range(1, 5)), losses, SHARES)
    assert chosen["trouble_share"].to_list() == [0.4, 0.2, 0.2, 0.4]


def test_a_race_never_looks_at_its_own_or_later_results():
    losses = _losses([(3.0, 2.0, 1.0), (3.0, 2.0, 1.0), (1.0, 5.0, 5.0)])
    changed = losses.with_columns(pl.when(pl.col("round") >= 2).then(0.0).otherwise(pl.col("0.2")).alias("0.2"))
    before = shares_by_race(_races(range(1, 3)), losses, SHARES)
    after = shares_by_race(_races(range(1, 3)), changed, SHARES)
    assert before.equals(after)


def test_only_the_window_of_races_just_before_counts():
    losses = _losses([(0.0, 9.0, 9.0)] + [(2.0, 1.0, 2.0)] * 3)
    assert shares_by_race(_races(range(5, 6)), losses, SHARES, window=3)["trouble_share"].item() == 0.3
    assert shares_by_race(_races(range(5, 6)), losses, SHARES, window=4)["trouble_share"].item() == 0.4


@pytest.fixture(scope="module")
def backtest():
    """A season of real walk-forward pre-qualifying predictions (trained on the seasons before), with their races'
    feature rows and a reliability of 0.85."""
    frame = real_features()
    season = frame["season"].max()
    rows = completed(frame).filter(pl.col("season") == season)
    model = ConditionalLogit("pre_qualifying").fit(completed(frame).filter(pl.col("season") < season))
    predictions = rows.select("season", "round", "driver_id").with_columns(
        probability=pl.Series(model.predict(rows)), mode=pl.lit("pre_qualifying")
    )
    failing = predictions.select("mode", "season", "round", "driver_id", not_classified_probability=pl.lit(0.15))
    return rows, predictions, failing


def test_backtested_races_each_get_a_share_from_the_races_before_them(backtest):
    rows, predictions, failing = backtest
    outcomes = with_outcomes(predictions, rows, failing)
    per_race = outcomes.group_by("season", "round").agg(
        shares=pl.col("trouble_share").n_unique(), trouble_share=pl.col("trouble_share").first()
    )
    assert (per_race["shares"] == 1).all()
    assert per_race["trouble_share"].is_in(list(TROUBLE_SHARES["pre_qualifying"])).all()
    first = per_race.sort("round").row(0, named=True)
    assert first["trouble_share"] == TROUBLE_SHARES["pre_qualifying"][0]
    assert outcome_problems(outcomes, by=("mode",)).is_empty()
    assert outcomes.select("season", "round", "driver_id").equals(predictions.select("season", "round", "driver_id"))


def test_the_next_race_takes_its_share_from_the_history_and_the_api_keeps_it(backtest):
    rows, predictions, failing = backtest
    history = with_outcomes(predictions, rows, failing).join(
        rows.select("season", "round", "driver_id", "won", "finish_position"), on=["season", "round", "driver_id"]
    )
    last = rows["round"].max()
    next_rows = rows.filter(pl.col("round") == last).drop("won", "finish_position")
    upcoming = predictions.filter(pl.col("round") == last)
    earlier = history.filter(pl.col("round") < last)
    scored = with_outcomes(upcoming, next_rows, failing, earlier)
    assert scored["trouble_share"].n_unique() == 1
    assert scored["trouble_share"][0] == history.filter(pl.col("round") == last)["trouble_share"][0]
    republished = with_outcomes(
        upcoming,
        next_rows,
        scored.select("mode", "season", "round", "driver_id", "not_classified_probability", "trouble_share"),
    )
    assert republished["podium_probability"].to_list() == pytest.approx(scored["podium_probability"].to_list())


def test_rows_without_results_take_the_first_share():
    race = two_scored_races().with_columns(mode=pl.lit("pre_qualifying"))
    predictions = race.select("mode", "season", "round", "driver_id", "probability")
    failing = race.select("mode", "season", "round", "driver_id", "not_classified_probability")
    unlabelled = with_outcomes(predictions, race.select("season", "round", "driver_id", "constructor_id"), failing)
    assert set(unlabelled["trouble_share"]) == {TROUBLE_SHARES["pre_qualifying"][0]}
    assert outcome_problems(unlabelled, by=("mode",)).is_empty()


def test_after_qualifying_the_front_runners_meet_more_trouble(backtest):
    """One law after qualifying: every car's share 0.1, the favourite's 0.2; a favourite who does not win is then
    less often second or third than with 0.1 on every car alike."""
    rows, predictions, failing = backtest
    post = predictions.with_columns(mode=pl.lit("post_qualifying"))
    outcomes = with_outcomes(post, rows, failing.with_columns(mode=pl.lit("post_qualifying")))
    assert set(outcomes["trouble_share"]) == {TROUBLE_SHARES["post_qualifying"][0]}
    assert outcome_problems(outcomes, by=("mode",)).is_empty()
    even = finishing_outcomes(
        outcomes.drop("podium_probability", "top6_probability", "points_probability", "trouble_share"),
        by=("mode",),
        trouble=Trouble(share=0.1, slowdown=0.01, levels=3),
    )
    favourites = outcomes.with_columns(even_podium=even["podium_probability"]).filter(
        pl.col("probability") == pl.col("probability").max().over("season", "round")
    )
    beaten = favourites["podium_probability"] - favourites["probability"]
    assert (beaten < favourites["even_podium"] - favourites["probability"]).all()


def test_a_published_share_is_rebuilt_in_the_law_it_was_published_with():
    """After qualifying the law's front applies to the share it lists; a share of 0, published before that law, is
    the law without trouble it was then (the API rescoring an older publication)."""
    assert trouble_of(0.1, "post_qualifying") == Trouble(share=0.1, slowdown=0.01, levels=3, front=0.1)
    assert trouble_of(0.0, "post_qualifying") == NO_TROUBLE
    assert trouble_of(0.3, "pre_qualifying") == Trouble(share=0.3, slowdown=0.01, levels=3)
