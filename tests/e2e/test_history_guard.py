"""A live source that answers a season short must not erase its history: the run fails, nothing is written."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg

from f1_pipeline.tables import RACE_RESULTS, RACES, RAW_RESULTS
from tests.conftest import edit_season_file, run_job, warehouse_of
from tests.fake_jolpica import FakeJolpica, serving

DOWNSTREAM = {"race_results", "candidate_model", "champion_model", "next_race_predictions", "serving_data"}


def keep_rounds(last: int) -> Callable[[dict[str, Any]], None]:
    """A season's results cut to rounds 1..last, with `MRData.total` matching: consistent, but short."""

    def edit(body: dict[str, Any]) -> None:
        races = [race for race in body["MRData"]["RaceTable"]["Races"] if int(race["round"]) <= last]
        body["MRData"]["RaceTable"]["Races"] = races
        total = sum(len(race["Results"]) for race in races)
        body["MRData"].update(total=str(total), limit=str(total))

    return edit


def correct_first_result(body: dict[str, Any]) -> None:
    result = body["MRData"]["RaceTable"]["Races"][0]["Results"][0]
    result["points"] = str(float(result["points"]) - 1)


def failures(result: dg.ExecuteInProcessResult) -> list[str]:
    steps = (event for event in result.all_events if event.event_type_value == "STEP_FAILURE")
    return [str(event.event_specific_data.error) for event in steps]


def test_a_short_season_is_refused_and_corrections_and_new_races_are_accepted(settings_for, bundled_copy: Path):
    results_file = bundled_copy / "2024" / "results.json.gz"
    original = results_file.read_bytes()

    def live_run(*edits: Callable[[dict[str, Any]], None], job: str = "ingest_and_clean", **overrides: Any) -> Any:
        """One run of 2024 against a fresh fake Jolpica serving the original season file with `edits` applied."""
        results_file.write_bytes(original)
        for edit in edits:
            edit_season_file(bundled_copy, "2024", "results", edit)
        with serving(FakeJolpica(bundled_copy, page_cap=1000)) as base_url:
            live = settings_for(data_source="live", ergast_base_url=base_url, requests_per_second=1000, **overrides)
            return run_job(live, "2024", "2024", job=job)

    warehouse = warehouse_of(settings_for())

    def stored_2024() -> list[tuple[Any, ...]]:
        return warehouse.query(f"select * from {RAW_RESULTS} where season = '2024' order by all").rows()

    assert live_run(keep_rounds(20)).success  # nothing stored yet: 20 rounds are new history
    assert live_run(keep_rounds(22)).success  # two new races are accepted
    full = stored_2024()
    assert {row[1] for row in full} == {str(round_) for round_ in range(1, 23)}
    races_before = warehouse.read(RACES)

    refused = live_run(keep_rounds(2), job="main")
    assert not refused.success
    [message] = [text for text in failures(refused) if "refused to replace stored history" in text]
    assert "season 2024 would lose 20 race(s) or session(s) that had rows (3, 4, 5" in message
    assert "F1_ACCEPT_HISTORY_LOSS=true" in message
    assert stored_2024() == full  # the stored season is unchanged, raw and clean
    assert warehouse.read(RACES).equals(races_before)
    assert warehouse.query(f"select count(distinct round) from {RACE_RESULTS} where season = 2024").item() == 22
    materialized = {event.asset_key.to_user_string() for event in refused.get_asset_materialization_events()}
    assert materialized and materialized.isdisjoint(DOWNSTREAM)  # no model registered, nothing published
    assert not (settings_for().serving_dir / "CURRENT").exists()

    assert live_run(keep_rounds(22), correct_first_result).success  # a corrected result is not a loss
    corrected = stored_2024()
    assert corrected != full and len(corrected) == len(full)

    assert live_run(keep_rounds(2), accept_history_loss=True).success  # a person said so
    assert {row[1] for row in stored_2024()} == {"1", "2"}
