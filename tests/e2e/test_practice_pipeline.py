"""Practice through the real code location: `ingest_and_clean` on a couple of seasons writes `clean.practice_results`
as the bundled copy says, and its blocking checks stop data that references a driver no source knows."""

import gzip

import polars as pl

from f1_pipeline.practice.bundled import BUNDLED_PRACTICE, read_bundled
from f1_pipeline.tables import PRACTICE_RESULTS, QUARANTINE, RAW_PRACTICE
from tests.conftest import run_job, warehouse_of

PRACTICE_CHECKS = {
    "check_practice_results_keys",
    "check_practice_results_integrity",
    "check_practice_results_positions",
    "check_practice_results_values",
    "check_practice_results_fastest_lap_plausible",
    "check_practice_results_completed_races_have_practice",
}


def check_outcomes(result):
    return {
        evaluation.check_name: evaluation.passed
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key.to_user_string() == "practice_results"
    }


def test_ingest_and_clean_writes_the_practice_table_of_the_seasons_run(settings_for):
    settings = settings_for()
    result = run_job(settings, "2025", "2026")
    assert result.success
    assert check_outcomes(result) == dict.fromkeys(PRACTICE_CHECKS, True)
    store = warehouse_of(settings)
    table = store.read(PRACTICE_RESULTS)
    assert table.columns == [
        "season",
        "round",
        "session",
        "position",
        "driver_id",
        "constructor_id",
        "time_seconds",
        "laps",
    ]
    expected = read_bundled().filter(pl.col("season").is_in(["2025", "2026"]))
    assert table.height == expected.height == 1_991
    assert table.select("season", "round").unique().height == 36
    fastest = table.filter(season=2025, round=1, session="fp1").sort("position").row(0, named=True)
    assert (fastest["driver_id"], fastest["constructor_id"], fastest["time_seconds"], fastest["laps"]) == (
        "norris",
        "mclaren",
        77.252,
        21,
    )
    assert set(store.read(RAW_PRACTICE)["season"]) == {"2025", "2026"}
    assert store.query(f"select count(*) from {QUARANTINE} where source_table = 'practice_results'").item() == 0


def test_an_unknown_driver_fails_the_blocking_check_and_a_bad_time_is_quarantined(settings_for, tmp_path):
    practice = tmp_path / "practice.csv.gz"
    lines = gzip.decompress(BUNDLED_PRACTICE.read_bytes()).decode().splitlines()
    lines += [
        "2026,1,fp1,23,ghost_driver,mclaren,1:40.000,100.000,,3",  # an Ergast-looking id no table knows
        "2026,1,fp2,23,f1db:test-driver,mclaren,1:4x.0,,,3",  # a time that is not a time
    ]
    practice.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    settings = settings_for(practice_bundled_path=practice)
    result = run_job(settings, "2026", "2026")
    assert not result.success
    outcomes = check_outcomes(result)
    assert outcomes["check_practice_results_integrity"] is False
    assert outcomes["check_practice_results_keys"] is True
    integrity = next(
        evaluation
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "check_practice_results_integrity"
    )
    assert integrity.metadata["unexpected_rows"].value == 1
    details = integrity.metadata["details"].value
    assert "ghost_driver" in details
    assert "tsunoda" not in details  # in 2026 practice, in no 2026 result loaded: a real id all the same
    store = warehouse_of(settings)
    assert store.read(PRACTICE_RESULTS).filter(driver_id="ghost_driver").height == 1
    quarantined = store.query(f"select row_key, reason from {QUARANTINE} where source_table = 'practice_results'")
    assert quarantined.rows() == [("2026/1/fp2/f1db:test-driver", "time is not a lap time")]
