"""End to end: the real asset graph materialized from the bundled data, and what a user would check."""

from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from docs_hooks.table_reference import RAW_TABLES
from f1_pipeline.contracts import Contract, schema_problems, value_problems
from f1_pipeline.defs.partitions import season_partitions
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import DRIVERS, QUALIFYING_RESULTS, QUARANTINE, RACE_RESULTS, RACES, RAW_RACES, RAW_RESULTS
from tests.conftest import run_job, warehouse_of

LAST_SEASON = season_partitions.get_last_partition_key()


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineSettings, dg.ExecuteInProcessResult]:
    settings = PipelineSettings(warehouse_path=tmp_path_factory.mktemp("warehouse") / "f1.duckdb")
    return settings, run_job(settings, "1950", LAST_SEASON)


def scalar(settings: PipelineSettings, sql: str) -> object:
    return warehouse_of(settings).query(sql).item()


def materialization(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, object]:
    """Metadata of the asset's materialization (a range run records one per season, all alike)."""
    events = result.asset_materializations_for_node(asset)
    assert events, f"{asset} was not materialized"
    return {key: value.value for key, value in events[-1].metadata.items()}


def test_every_asset_materializes_and_every_check_passes(full_run):
    _, result = full_run
    assert result.success
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) >= 20
    assert [e.check_name for e in evaluations if not e.passed] == []


def test_raw_tables_hold_every_row_of_the_bundled_api_files(full_run):
    settings, _ = full_run
    counts = {
        table: scalar(settings, f"select count(*) from raw.{table}")
        for table in ("races", "results", "qualifying", "sprint")
    }
    assert counts == {"races": 1172, "results": 27481, "qualifying": 26914, "sprint": 568}
    assert scalar(settings, f"select count(distinct season) from {RAW_RACES}") == 77


@pytest.mark.parametrize("contract", RAW_TABLES, ids=lambda item: item.name)
def test_raw_tables_and_the_quarantine_hold_what_they_declare(full_run, contract: Contract):
    """The raw tables' declarations (the assets' column meanings, the Raw tables page, the keys suites) are what the
    warehouse holds: every column in its type and order, ids present, one row per key."""
    settings, _ = full_run
    table = warehouse_of(settings).query(f"select * from {contract.name}")
    assert table.columns == list(contract.schema)  # in order; the types by kind (DuckDB names UTC Etc/UTC)
    assert schema_problems(table, contract.schema) == value_problems(table, contract.rules) == []
    if contract.key:
        assert table.select(contract.key).is_unique().all()


def test_completed_races_and_result_rows(full_run):
    settings, _ = full_run
    assert scalar(settings, f"select count(*) from {RACES} where status = 'completed'") == 1160
    assert scalar(settings, f"select count(*) from {RACE_RESULTS}") == 27481
    assert scalar(settings, f"select count(*) from {QUARANTINE}") == 0


@pytest.mark.parametrize(
    ("season", "race", "winner"),
    [
        (2021, "Abu Dhabi Grand Prix", "max_verstappen"),
        (1988, "Monaco Grand Prix", "prost"),
        (2008, "Brazilian Grand Prix", "massa"),
    ],
)
def test_famous_winners(full_run, season, race, winner):
    settings, _ = full_run
    winners = warehouse_of(settings).query(
        f"""select res.driver_id from {RACE_RESULTS} res join {RACES} r using (season, round)
           where r.season = ? and r.race_name = ? and res.finish_position = 1""",
        [season, race],
    )
    assert winners.get_column("driver_id").to_list() == [winner]


def test_next_race_is_the_first_without_results(full_run):
    settings, _ = full_run
    upcoming = warehouse_of(settings).query(f"select season, round, race_name, status from {RACES} where is_next")
    assert upcoming.rows() == [(2026, 12, "Dutch Grand Prix", "scheduled")]


def test_typed_columns_a_model_can_use(full_run):
    settings, _ = full_run
    store = warehouse_of(settings)
    abu_dhabi = store.query(f"select * from {RACE_RESULTS} where season = 2021 and round = 22 order by position_order")
    winner = abu_dhabi.row(0, named=True)
    assert winner["race_time_seconds"] == pytest.approx(5417.345)  # 1:30:17.345
    assert abu_dhabi.row(1, named=True)["gap_seconds"] == pytest.approx(2.256, abs=0.01)
    assert abu_dhabi.schema["points"] == pl.Float64
    categories = set(store.query(f"select distinct status_category from {RACE_RESULTS}").to_series().to_list())
    assert categories == {"finished", "lapped", "retired", "disqualified", "did_not_start"}
    assert scalar(settings, f"select count(*) from {RACE_RESULTS} where pit_lane_start") > 0
    assert scalar(settings, f"select count(*) from {DRIVERS} where driver_id = 'Cannoc'") == 1
    pole = store.query(
        f"select driver_id, q3_seconds from {QUALIFYING_RESULTS} where season=2021 and round=22 and position = 1"
    )
    assert pole.rows() == [("max_verstappen", pytest.approx(82.109, abs=0.001))]


def test_metadata_shown_in_the_ui(full_run):
    _, result = full_run
    results_meta = materialization(result, "race_results")
    assert results_meta["dagster/row_count"] == 27481
    assert results_meta["season_coverage"] == "1950-2026 (77 seasons)"
    assert results_meta["quarantined_rows"] == 0
    columns = {column.name: column.description for column in results_meta["dagster/column_schema"].columns}
    assert columns["finish_position"].startswith("classified position; null when not classified")
    assert str(materialization(result, "drivers")["preview"]).startswith(
        "| driver_id | first_season | last_season | code |"
    )
    raw_meta = materialization(result, "raw_results")
    seasons = season_partitions.get_partition_keys()
    assert raw_meta["source"] == "bundled"
    assert (raw_meta["rows_in_run"], raw_meta["seasons_in_run"]) == (27481, len(seasons))
    assert raw_meta["pages_in_run"] >= 275  # 100-row pages: the real paging path, not one file read
    per_season = {event.partition: event.metadata for event in result.asset_materializations_for_node("raw_results")}
    assert sorted(per_season) == seasons  # one materialization per season partition, each with its own figures
    assert per_season["2021"]["dagster/row_count"].value == 440
    assert per_season["2021"]["pages"].value == 5
    assert per_season["2021"]["url"].value == "https://api.jolpi.ca/ergast/f1/2021/results.json"
    assert per_season["1950"]["season_coverage"].value == "1950 (1 season)"


def test_rematerializing_a_season_replaces_exactly_that_season(settings_for, bundled_copy: Path):
    from tests.conftest import edit_season_file

    settings = settings_for(bundled_dir=bundled_copy)
    assert run_job(settings, "2020", "2021", job="ingest_and_clean").success
    before = warehouse_of(settings).query(f"select season, count(*) as n from {RAW_RESULTS} group by all order by 1")

    edit_season_file(bundled_copy, "2021", "results", lambda body: body["MRData"]["RaceTable"]["Races"].pop())
    correction = settings_for(bundled_dir=bundled_copy, accept_history_loss=True)  # a lost race needs a person
    assert run_job(correction, "2021", "2021", job="ingest_and_clean").success

    after = warehouse_of(settings).query(f"select season, count(*) as n from {RAW_RESULTS} group by all order by 1")
    assert after.rows() == [("2020", before.row(0)[1]), ("2021", before.row(1)[1] - 20)]
    assert scalar(settings, f"select count(*) from {RACES} where season = 2021 and status = 'completed'") == 21
