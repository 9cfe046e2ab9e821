"""Clean transforms on real seasons from the bundled data, and on small frames for the quirks."""

import asyncio

import polars as pl
import pytest

from f1_pipeline.cleaning import qualifying, reference
from f1_pipeline.cleaning import races as calendar
from f1_pipeline.cleaning import results as results_cleaning
from f1_pipeline.cleaning.quarantine import split
from f1_pipeline.ergast.bundled import BundledTransport
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, ErgastClient
from f1_pipeline.ergast.flatten import RESULT_COLUMNS
from f1_pipeline.ergast.ingest import fetch_seasons
from f1_pipeline.tables import (
    CIRCUITS,
    CONSTRUCTORS,
    DRIVERS,
    QUALIFYING_RESULTS,
    RACE_RESULTS,
    RACES,
    SPRINT_RESULTS,
)

SEASONS = ["1950", "1988", "2021", "2026"]


@pytest.fixture(scope="module")
def raw() -> dict[str, pl.DataFrame]:
    async def load() -> dict[str, pl.DataFrame]:
        frames = {}
        for endpoint in (SCHEDULE, RESULTS, QUALIFYING, SPRINT):
            client = ErgastClient(transport=BundledTransport())
            frames[endpoint.name] = (await fetch_seasons(client, endpoint, SEASONS)).frame
        return frames

    return asyncio.run(load())


@pytest.fixture(scope="module")
def races(raw) -> pl.DataFrame:
    table, quarantined = calendar.races(raw["races"], raw["results"])
    assert quarantined.height == 0
    return table


def result_row(**values: str | None) -> dict[str, str | None]:
    row = {name: None for name, _ in RESULT_COLUMNS}
    row.update(
        season="2021",
        round="1",
        date="2021-03-28",
        circuit_id="bahrain",
        driver_id="hamilton",
        constructor_id="mercedes",
        number="44",
        position="1",
        position_text="1",
        points="25",
        grid="2",
        laps="56",
        status="Finished",
    )
    row.update(values)
    return row


def clean_rows(races: pl.DataFrame, *rows: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    frame = pl.DataFrame(list(rows), schema={name: pl.String for name, _ in RESULT_COLUMNS})
    return results_cleaning.results(frame, races, "race_results")


def test_calendar_statuses_and_next_race(races):
    counts = dict(races.group_by("season").agg((pl.col("status") == "completed").sum()).iter_rows())
    assert counts == {1950: 7, 1988: 16, 2021: 22, 2026: 11}
    upcoming = races.filter("is_next")
    assert upcoming.select("season", "round", "race_name").rows() == [(2026, 12, "Dutch Grand Prix")]
    assert races.filter(pl.col("season") == 2026, pl.col("round") > 12)["status"].unique().to_list() == ["scheduled"]
    assert races.schema["date"] == pl.Date
    assert races.filter(pl.col("season") == 2021, pl.col("round") == 1)["starts_at"].dt.hour().item() == 15


def test_a_race_skipped_while_later_ones_ran_is_cancelled():
    results = pl.DataFrame({"season": ["2030", "2030"], "date": ["2030-03-01", "2030-03-15"], "circuit_id": ["a", "c"]})
    table, _ = calendar.races(schedule_2030(), results)
    assert table.select("round", "status", "is_next").rows() == [
        (1, "completed", False),
        (2, "cancelled", False),
        (3, "completed", False),
        (4, "scheduled", True),
    ]


def test_real_results_are_typed_and_complete(raw, races):
    table, quarantined = results_cleaning.results(raw["results"], races, "race_results")
    assert quarantined.height == 0
    assert table.height == raw["results"].height
    winner = table.filter(pl.col("season") == 1988, pl.col("round") == 3, pl.col("finish_position") == 1)
    assert winner["driver_id"].to_list() == ["prost"]
    assert table.schema["finish_position"] == pl.Int32


def clean_tables(raw: dict[str, pl.DataFrame], races: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Every clean table of the bundled seasons but practice and weather, by qualified name."""
    entrants = (raw["results"], raw["qualifying"], raw["sprint"])
    return {
        RACES.qualified: races,
        RACE_RESULTS.qualified: results_cleaning.results(raw["results"], races, RACE_RESULTS.name)[0],
        SPRINT_RESULTS.qualified: results_cleaning.results(raw["sprint"], races, SPRINT_RESULTS.name)[0],
        QUALIFYING_RESULTS.qualified: qualifying.qualifying(raw["qualifying"], races)[0],
        DRIVERS.qualified: reference.drivers(*entrants)[0],
        CONSTRUCTORS.qualified: reference.constructors(*entrants),
        CIRCUITS.qualified: reference.circuits(raw["races"])[0],
    }


CONTRACTS = (
    calendar.RACES_CONTRACT,
    results_cleaning.RACE_RESULTS_CONTRACT,
    results_cleaning.SPRINT_RESULTS_CONTRACT,
    qualifying.QUALIFYING_CONTRACT,
    reference.DRIVERS_CONTRACT,
    reference.CONSTRUCTORS_CONTRACT,
    reference.CIRCUITS_CONTRACT,
)


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda contract: contract.name)
def test_a_clean_table_holds_exactly_its_declared_columns(raw, races, contract):
    """What a table's contract declares (meanings in the asset's metadata, rules in its suites) is what it holds."""
    assert clean_tables(raw, races)[contract.name].schema == pl.Schema(contract.schema)


def test_shared_cars_keep_both_drivers(raw, races):
    table, _ = results_cleaning.results(raw["results"], races, "race_results")
    shared = table.filter(pl.col("season") == 1950, pl.col("round") == 1, pl.col("position_order") == 10)
    assert sorted(shared["driver_id"].to_list()) == ["fry", "shawe_taylor"]


def test_grid_zero_is_a_pit_lane_start_only_for_a_car_that_started(races):
    table, _ = clean_rows(
        races,
        result_row(driver_id="a", position="10", position_text="10", grid="0", points="1", status="+1 Lap"),
        result_row(driver_id="b", position="20", position_text="F", grid="0", points="0", status="Did not qualify"),
    )
    assert table.select("driver_id", "grid", "pit_lane_start", "finish_position", "status_category").rows() == [
        ("a", None, True, 10, "lapped"),
        ("b", None, False, None, "did_not_start"),
    ]


def test_times_become_seconds(races):
    table, _ = clean_rows(
        races,
        result_row(time_millis="5523897", time="1:32:03.897", fastest_lap_time="1:34.015"),
        result_row(
            driver_id="max_verstappen",
            position="2",
            position_text="2",
            points="18",
            time_millis="5524642",
            time="+0.745",
        ),
        result_row(driver_id="bottas", position="3", position_text="3", points="15", time="+1:07.667"),
    )
    assert table.select("race_time_seconds", "gap_seconds", "fastest_lap_seconds").rows() == [
        (pytest.approx(5523.897), 0.0, pytest.approx(94.015)),
        (pytest.approx(5524.642), pytest.approx(0.745), None),
        (None, pytest.approx(67.667), None),
    ]


def test_bad_rows_are_quarantined_with_every_reason(races):
    table, quarantined = clean_rows(
        races,
        result_row(),
        result_row(driver_id="bad", position="x", points="-3", time="soon"),
        result_row(driver_id="lost", date="2021-02-30"),
    )
    assert table["driver_id"].to_list() == ["hamilton"]
    reasons = dict(zip(quarantined["row_key"], quarantined["reason"], strict=True))
    assert reasons == {
        "2021/1/bad/x": "position is not a positive integer; points is not a number in range; "
        "time is not a race time or gap",
        "2021/1/lost/1": "no scheduled race on this date at this circuit",
    }


def test_qualifying_best_time_uses_whatever_sessions_exist(raw, races):
    table, quarantined = qualifying.qualifying(raw["qualifying"], races)
    assert quarantined.height == 0
    pole_2021 = table.filter(pl.col("season") == 2021, pl.col("round") == 22, pl.col("position") == 1).row(
        0, named=True
    )
    assert pole_2021["driver_id"] == "max_verstappen"
    assert pole_2021["best_seconds"] == pytest.approx(82.109)
    senna_1988 = table.filter(pl.col("season") == 1988, pl.col("round") == 3, pl.col("position") == 1).row(
        0, named=True
    )
    assert senna_1988["driver_id"] == "senna"
    assert senna_1988["q2_seconds"] is None
    assert senna_1988["best_seconds"] == senna_1988["q1_seconds"]


def test_reference_tables_take_the_latest_values_and_keep_ids_as_written(raw):
    entrants = (raw["results"], raw["qualifying"], raw["sprint"])
    drivers, flagged = reference.drivers(*entrants)
    assert flagged.height == 0
    assert drivers["driver_id"].is_unique().all()
    hamilton = drivers.filter(pl.col("driver_id") == "hamilton").row(0, named=True)
    assert (hamilton["full_name"], hamilton["first_season"], hamilton["last_season"]) == ("Lewis Hamilton", 2021, 2026)
    assert reference.constructors(*entrants)["constructor_id"].is_unique().all()
    circuits, flagged = reference.circuits(raw["races"])
    assert flagged.height == 0
    monaco = circuits.filter(pl.col("circuit_id") == "monaco").row(0, named=True)
    assert monaco["latitude"] == pytest.approx(43.7347, abs=0.01)


def driver_rows(**values: str) -> pl.DataFrame:
    """One raw result row's driver columns for 2021 round 1; columns not given are null."""
    columns = (
        "driver_id",
        "driver_code",
        "driver_permanent_number",
        "driver_given_name",
        "driver_family_name",
        "driver_date_of_birth",
        "driver_nationality",
        "driver_url",
    )
    row = {"season": "2021", "round": "1", **{column: values.get(column) for column in columns}}
    return pl.DataFrame([row], schema=dict.fromkeys(row, pl.String))


def test_ids_with_capitals_are_kept():
    drivers, _ = reference.drivers(driver_rows(driver_id="Cannoc", driver_given_name="John"))
    assert drivers["driver_id"].to_list() == ["Cannoc"]


def test_split_passes_everything_when_no_rule_fails():
    frame = pl.DataFrame({"a": ["1", "2"]})
    good, quarantined = split(frame, "t", ["a"], {"never": pl.lit(False)})
    assert good.equals(frame)
    assert quarantined.height == 0


def schedule_2030(**columns: list[str | None]) -> pl.DataFrame:
    """A four-race 2030 schedule (circuits a-d, a week apart) with `columns` overriding the defaults."""
    frame = {
        "season": ["2030"] * 4,
        "round": ["1", "2", "3", "4"],
        "circuit_id": ["a", "b", "c", "d"],
        "date": ["2030-03-01", "2030-03-08", "2030-03-15", "2030-03-22"],
        **columns,
    }
    return pl.DataFrame(frame).with_columns(
        pl.lit(None, pl.String).alias(name)
        for name in ("race_name", "time", "race_url", "qualifying_date", "sprint_date")
        if name not in columns
    )


def test_a_race_whose_results_went_missing_is_never_the_next_race():
    earlier = schedule_2030().with_columns(season=pl.lit("2029"), date=pl.col("date").str.replace("2030", "2029"))
    results = pl.DataFrame(
        {
            "season": ["2029", "2029", "2029"],
            "date": ["2029-03-01", "2029-03-08", "2029-03-22"],
            "circuit_id": ["a", "b", "d"],
        }
    )
    schedule = pl.concat([earlier, schedule_2030()])
    with_next_season_run = pl.concat(
        [results, pl.DataFrame({"season": ["2030"], "date": ["2030-03-01"], "circuit_id": ["a"]})]
    )
    table, _ = calendar.races(schedule, with_next_season_run)
    assert table.filter(pl.col("season") == 2029, pl.col("round") == 3)["status"].item() == "cancelled"
    assert table.filter("is_next").select("season", "round").rows() == [(2030, 2)]


def test_unreadable_session_dates_are_read_as_null_and_recorded():
    schedule = schedule_2030(sprint_date=["2030-02-30", None, None, None], time=["25:00", None, None, "14:00:00Z"])
    results = pl.DataFrame({"season": ["2030"], "date": ["2030-03-01"], "circuit_id": ["a"]})
    table, quarantined = calendar.races(schedule, results)
    assert table.height == 4
    assert table["sprint_date"].to_list() == [None] * 4
    assert quarantined.select("row_key", "reason").rows() == [
        (
            "2030/1",
            "sprint_date is not a date (read as null, race kept); "
            "time is not a UTC time of day (read as null, race kept)",
        )
    ]


def test_a_result_without_circuit_or_date_is_quarantined_not_left_without_a_round(races):
    table, quarantined = clean_rows(races, result_row(), result_row(driver_id="x", circuit_id=None, date=None))
    assert table["driver_id"].to_list() == ["hamilton"]
    assert quarantined["reason"].to_list() == [
        "date is missing; circuit_id is missing; no scheduled race on this date at this circuit"
    ]


def test_an_unreadable_birth_date_keeps_the_driver_and_is_recorded():
    frame = driver_rows(driver_id="x", driver_date_of_birth="31/12/1990", driver_permanent_number="7")
    drivers, flagged = reference.drivers(frame)
    assert drivers.select("driver_id", "permanent_number", "date_of_birth").rows() == [("x", 7, None)]
    assert flagged.select("source_table", "row_key", "reason").rows() == [
        ("drivers", "x", "driver_date_of_birth is unreadable (read as null, driver kept)")
    ]


def test_only_the_winner_has_a_zero_gap(races):
    table, _ = clean_rows(
        races,
        result_row(time="1:32:03.897"),
        result_row(driver_id="russell", position="2", position_text="D", points="0", time="1:32:04.000"),
    )
    assert table["gap_seconds"].to_list() == [0.0, None]
