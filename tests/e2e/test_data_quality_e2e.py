"""Broken input through the real graph: blocking checks stop downstream, bad rows are quarantined, nothing is lost."""

import json
from pathlib import Path

from f1_pipeline.tables import QUARANTINE, RACE_RESULTS, RAW_RESULTS
from tests.conftest import edit_season_file, run_job, warehouse_of


def first_result(body: dict) -> dict:
    return body["MRData"]["RaceTable"]["Races"][0]["Results"][0]


def check_outcomes(result) -> dict[str, bool]:
    return {evaluation.check_name: evaluation.passed for evaluation in result.get_asset_check_evaluations()}


def test_a_missing_driver_id_fails_the_blocking_check_and_nothing_downstream_runs(settings_for, bundled_copy):
    edit_season_file(bundled_copy, "2021", "results", lambda body: first_result(body)["Driver"].pop("driverId"))
    settings = settings_for(bundled_dir=bundled_copy)

    result = run_job(settings, "2020", "2021")

    assert not result.success
    assert check_outcomes(result)["check_raw_results_keys"] is False
    for downstream in ("race_results", "drivers", "constructors", "races"):
        assert result.asset_materializations_for_node(downstream) == []
    assert RACE_RESULTS.qualified not in warehouse_of(settings).tables()


def test_a_result_on_no_scheduled_race_fails_referential_integrity(settings_for, bundled_copy):
    def move_race(body: dict) -> None:
        body["MRData"]["RaceTable"]["Races"][3]["date"] = "2021-02-30"

    edit_season_file(bundled_copy, "2021", "qualifying", move_race)
    result = run_job(settings_for(bundled_dir=bundled_copy), "2021", "2021")

    assert check_outcomes(result)["check_raw_qualifying_on_schedule"] is False
    assert result.asset_materializations_for_node("qualifying_results") == []


def corrupt_points(bundled_dir: Path, row: int) -> None:
    def corrupt(body: dict) -> None:
        body["MRData"]["RaceTable"]["Races"][0]["Results"][row]["points"] = "twenty-five"

    edit_season_file(bundled_dir, "2021", "results", corrupt)


def test_an_unreadable_value_is_quarantined_with_its_reason(settings_for, bundled_copy):
    corrupt_points(bundled_copy, row=-1)
    settings = settings_for(bundled_dir=bundled_copy)

    result = run_job(settings, "2021", "2021")

    assert result.success
    store = warehouse_of(settings)
    quarantined = store.query(f"select * from {QUARANTINE}").rows(named=True)
    assert len(quarantined) == 1
    assert quarantined[0]["source_table"] == "race_results"
    assert quarantined[0]["reason"] == "points is not a number in range"
    assert quarantined[0]["row_key"] == "2021/1/mazepin/20"
    assert json.loads(quarantined[0]["row"])["points"] == "twenty-five"
    assert store.query(f"select count(*) from {RACE_RESULTS}").item() == 440 - 1
    [event] = result.asset_materializations_for_node("race_results")
    assert event.metadata["quarantined_rows"].value == 1


def test_a_malformed_page_fails_with_its_url_and_keeps_the_season_already_loaded(settings_for, bundled_copy: Path):
    settings = settings_for(bundled_dir=bundled_copy)
    assert run_job(settings, "2021", "2021", job="ingest_and_clean").success
    (bundled_copy / "2021" / "results.json.gz").write_bytes(b"<html>502 Bad Gateway</html>")

    result = run_job(settings, "2021", "2021", job="ingest_and_clean")

    assert not result.success
    [failure] = [event for event in result.all_events if event.event_type_value == "STEP_FAILURE"]
    message = str(failure.event_specific_data.error)
    assert "MalformedPageError" in message
    assert "page is not JSON" in message
    assert "/2021/results.json" in message
    assert warehouse_of(settings).query(f"select count(*) from {RAW_RESULTS} where season = '2021'").item() == 440


def test_quarantining_a_winner_is_not_silent_the_one_winner_check_stops_downstream(settings_for, bundled_copy):
    corrupt_points(bundled_copy, row=0)
    settings = settings_for(bundled_dir=bundled_copy)

    result = run_job(settings, "2021", "2021")

    assert not result.success
    assert check_outcomes(result)["check_race_results_one_winner"] is False
    assert warehouse_of(settings).query(f"select row_key from {QUARANTINE}").item() == "2021/1/hamilton/1"
