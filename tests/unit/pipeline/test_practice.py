"""Practice data without Dagster: the bundled copy, the id map, the cleaning and its quarantine."""

import gzip

import polars as pl
import pytest

from f1_pipeline.practice.bundled import BUNDLED_PRACTICE, BundledFileError, load_bundled, read_bundled
from f1_pipeline.practice.cleaning import SCHEMA, practice_results
from f1_pipeline.practice.ids import ErgastIds
from f1_pipeline.practice.raw import RAW_COLUMNS


@pytest.fixture(scope="module")
def bundled():
    return read_bundled()


def calendar_of(raw):
    """Every weekend of `raw` as a race, as `clean.races` types them."""
    return raw.select(pl.col("season").cast(pl.Int32), pl.col("round").cast(pl.Int32)).unique()


def raw_rows(*rows):
    """Raw rows (text) from partial dicts: a clean 2024 round 1 fp1 row unless a value is given."""
    base = {
        "season": "2024",
        "round": "1",
        "session": "fp1",
        "position": "1",
        "driver_id": "norris",
        "constructor_id": "mclaren",
        "time": "1:32.901",
        "time_seconds": "92.901",
        "gap": None,
        "laps": "25",
    }
    return pl.DataFrame([{**base, **row} for row in rows], schema=dict.fromkeys(RAW_COLUMNS, pl.String))


CALENDAR = pl.DataFrame({"season": [2024], "round": [1]}, schema={"season": pl.Int32, "round": pl.Int32})


def test_the_bundled_copy_holds_every_session_since_1988(bundled):
    assert bundled.columns == list(RAW_COLUMNS)
    assert bundled.height == 41_498
    assert bundled.select("season", "round").unique().height == 709
    seasons = bundled["season"].cast(pl.Int32)
    assert (seasons.min(), seasons.max()) == (1988, 2026)
    assert set(bundled["session"]) == {"fp1", "fp2", "fp3", "fp4", "sq"}
    assert bundled.filter(pl.col("driver_id").str.starts_with("f1db:"))["driver_id"].n_unique() == 54


def test_loading_seasons_slices_the_bundled_copy_and_a_season_before_1988_is_empty():
    batch = load_bundled(BUNDLED_PRACTICE, ["1987", "2024"])
    assert batch.season("1987").height == 0
    assert batch.season("2024").height == 1_310
    assert batch.season("2024").select("round").n_unique() == 24
    assert [fetched.season for fetched in batch.fetched] == ["1987", "2024"]


def test_the_whole_bundled_copy_cleans_without_quarantine(bundled):
    table, quarantined = practice_results(bundled, calendar_of(bundled))
    assert quarantined.height == 0
    assert table.schema == pl.Schema(SCHEMA)
    assert table.height == 41_498
    assert table.select("season", "round").unique().height == 709
    fastest = table.filter(season=2024, round=1, session="fp1", position=1).row(0, named=True)
    assert (fastest["driver_id"], fastest["constructor_id"], fastest["time_seconds"], fastest["laps"]) == (
        "ricciardo",
        "rb",
        92.869,
        23,
    )
    sessions = table.group_by("season", "round", "session").agg(
        n=pl.len(), last=pl.col("position").max(), distinct=pl.col("position").n_unique()
    )
    assert sessions.filter((pl.col("last") != pl.col("n")) | (pl.col("distinct") != pl.col("n"))).height == 0
    assert table.filter(pl.col("time_seconds").is_null()).height == 1_207  # no time set, and every sq row


def test_a_driver_not_classified_comes_after_the_classified_ones(bundled):
    table, _ = practice_results(bundled, calendar_of(bundled))
    session = table.filter(season=2023, round=12, session="sq").sort("position")
    assert session.height == 20
    last = session.row(-1, named=True)
    assert (last["driver_id"], last["position"], last["time_seconds"], last["laps"]) == ("hulkenberg", 20, None, 6)


def test_bad_rows_are_quarantined_with_their_reasons_and_nothing_is_lost():
    raw = raw_rows(
        {},
        {"position": "2", "driver_id": "piastri", "time": "1:33.113", "time_seconds": "93.113"},
        {"position": "3", "driver_id": "sainz", "time": "1:3x.000", "time_seconds": None},
        {"position": "4", "driver_id": "leclerc", "time": "1:33.500", "time_seconds": "93.6"},
        {"position": "5", "driver_id": "russell", "session": "fp9"},
        {"position": "first", "driver_id": "hamilton"},
        {"position": "7", "driver_id": None},
        {"position": "8", "driver_id": "alonso", "laps": "-1"},
        {"position": "9", "driver_id": "stroll", "round": "2"},
        {"position": "10", "driver_id": "gasly"},
        {"position": "11", "driver_id": "gasly"},
        {"position": "12", "driver_id": "ocon", "time": None, "time_seconds": None, "laps": None},
    )
    table, quarantined = practice_results(raw, CALENDAR)
    assert table.height + quarantined.height == raw.height
    reasons = dict(zip(quarantined["row_key"], quarantined["reason"], strict=True))
    assert reasons["2024/1/fp1/sainz"] == "time is not a lap time"
    assert reasons["2024/1/fp1/leclerc"] == "time and time_seconds disagree"
    assert reasons["2024/1/fp9/russell"] == "session is not one of fp1, fp2, fp3, fp4, sq"
    assert reasons["2024/1/fp1/hamilton"] == "position is neither a positive integer nor a status such as NC"
    assert reasons["2024/1/fp1/"] == "driver_id is missing"
    assert reasons["2024/1/fp1/alonso"] == "laps is not a lap count"
    assert reasons["2024/2/fp1/stroll"] == "no race with this season and round on the calendar"
    assert (
        quarantined.filter(row_key="2024/1/fp1/gasly")["reason"].to_list()
        == ["the driver appears more than once in this session"] * 2
    )
    assert '"time":"1:3x.000"' in quarantined.filter(row_key="2024/1/fp1/sainz")["row"][0]
    kept = table.sort("position")
    assert kept["driver_id"].to_list() == ["norris", "piastri", "ocon"]
    assert kept["position"].to_list() == [1, 2, 3]  # the order of the rows kept, so a session still reads 1..n
    assert kept.filter(driver_id="ocon").select("time_seconds", "laps").row(0) == (None, None)


def test_a_time_without_its_seconds_is_read_from_the_clock():
    table, quarantined = practice_results(raw_rows({"time": "1:32.901", "time_seconds": None}), CALENDAR)
    assert quarantined.height == 0
    assert table["time_seconds"].to_list() == [92.901]


def test_a_missing_or_foreign_bundled_file_is_a_clear_error(tmp_path):
    with pytest.raises(BundledFileError, match="cannot read the bundled practice file") as missing:
        read_bundled(tmp_path / "none.csv.gz")
    assert "none.csv.gz" in str(missing.value)
    foreign = tmp_path / "foreign.csv.gz"
    foreign.write_bytes(gzip.compress(b"season,round,driver\n2024,1,norris\n"))
    with pytest.raises(BundledFileError, match=r"lacks the columns \['session', 'position'"):
        read_bundled(foreign)


def test_a_plain_bundled_csv_reads_like_the_gzip_one(tmp_path):
    plain = tmp_path / "practice.csv"
    plain.write_bytes(gzip.decompress(BUNDLED_PRACTICE.read_bytes()))
    assert read_bundled(plain).equals(read_bundled())


def test_f1db_ids_map_to_ergast_ids_and_unknown_ones_keep_a_prefix():
    ids = ErgastIds.load()
    assert ids.driver("max-verstappen") == "max_verstappen"
    assert ids.driver("arvid-lindblad") == "arvid_lindblad"
    assert ids.driver("some-test-driver") == "f1db:some-test-driver"
    assert ids.constructor("red-bull", "honda-rbpt", "2024") == "red_bull"
    assert ids.constructor("cooper", "maserati", "1966") == "cooper-maserati"
    assert ids.constructor("lola", "lamborghini", "1989") == "lola"
    assert ids.constructor("lola", "lamborghini", "1991") == "larrousse"
    assert ids.constructor("cadillac", "ferrari", "2026") == "cadillac"
    assert ids.constructor("new-team", "ford", "2027") == "f1db:new-team"
