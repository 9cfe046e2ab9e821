import polars as pl

from f1_pipeline.history_guard import PRACTICE_SHAPE, RESULTS_SHAPE, SCHEDULE_SHAPE, refusal, season_losses


def results(season: str, rounds: int, drivers: int = 20) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {"season": season, "round": str(r), "driver_id": f"d{d}", "number": str(d), "points": 0.0}
            for r in range(1, rounds + 1)
            for d in range(drivers)
        ]
    )


def test_a_short_season_loses_its_races_and_says_which():
    [loss] = season_losses(results("2024", 24), results("2024", 2), ["2024"], RESULTS_SHAPE)
    assert (loss.season, loss.events[:3], loss.events[-1], loss.entries, loss.rows) == (
        "2024",
        ("3", "4", "5"),
        "24",
        440,
        440,
    )
    assert loss.reason().startswith("season 2024 would lose 22 race(s) or session(s) that had rows (3, 4, 5, 6")
    assert "and 12 more" in loss.reason()
    assert "F1_X=1" in refusal("raw.results", [loss], "F1_X=1")


def test_new_races_corrected_values_and_other_seasons_are_not_losses():
    stored = pl.concat([results("2023", 22), results("2024", 10)])
    corrected = results("2024", 12).with_columns(points=pl.lit(1.0))
    assert season_losses(stored, corrected, ["2024"], RESULTS_SHAPE) == []
    assert season_losses(pl.DataFrame(), results("2024", 1), ["2024"], RESULTS_SHAPE) == []


def test_entries_beyond_the_tolerance_are_refused_within_it_accepted():
    stored = results("2024", 3)
    two_gone = stored.filter(~((pl.col("round") == "1") & pl.col("driver_id").is_in(["d0", "d1"])))
    three_gone = stored.filter(~((pl.col("round") == "1") & pl.col("driver_id").is_in(["d0", "d1", "d2"])))
    assert season_losses(stored, two_gone, ["2024"], RESULTS_SHAPE) == []
    [loss] = season_losses(stored, three_gone, ["2024"], RESULTS_SHAPE)
    assert (loss.events, loss.entries, loss.rows) == ((), 3, 3)


def test_a_lost_practice_session_or_schedule_rows():
    sessions = pl.DataFrame(
        {"season": ["2024"] * 4, "round": ["1", "1", "2", "2"], "session": ["FP1", "FP2"] * 2, "driver_id": ["a"] * 4}
    )
    [loss] = season_losses(sessions, sessions.head(3), ["2024"], PRACTICE_SHAPE)
    assert loss.events == ("2/FP2",)
    schedule = pl.DataFrame({"season": ["2024"] * 24, "round": [str(r) for r in range(1, 25)]})
    assert season_losses(schedule, schedule.head(22), ["2024"], SCHEDULE_SHAPE) == []
    [loss] = season_losses(schedule, schedule.head(21), ["2024"], SCHEDULE_SHAPE)
    assert loss.rows == 3
