"""The bundled data served through BundledTransport: the same client, paging and flattening as live mode."""

import gzip
import json
import shutil

import httpx
import polars as pl
import pytest

from f1_pipeline.ergast.bundled import BUNDLED_ERGAST, BundledTransport
from f1_pipeline.ergast.client import JOLPICA_BASE_URL, RESULTS, SCHEDULE, ErgastClient
from f1_pipeline.ergast.errors import ErgastHTTPError, MalformedPageError
from f1_pipeline.ergast.flatten import RACE_COLUMNS, RESULT_COLUMNS, flatten
from f1_pipeline.ergast.ingest import fetch_seasons
from f1_pipeline.http_source.client import RetryPolicy

CONTEXT = ["season", "round", "race_name", "date", "circuit_id"]


def season_rows(season, name="results", rows_key="Results"):
    """Every row of a bundled season file, in order, read straight from disk."""
    with gzip.open(BUNDLED_ERGAST / str(season) / f"{name}.json.gz", "rt", encoding="utf-8") as handle:
        races = json.load(handle)["MRData"]["RaceTable"]["Races"]
    return [row for race in races for row in race[rows_key]]


def page_rows(response, rows_key="Results"):
    return [row for race in response.json()["MRData"]["RaceTable"]["Races"] for row in race[rows_key]]


async def get(path, **params):
    """One raw request to the transport, as the client would make it."""
    async with httpx.AsyncClient(transport=BundledTransport(), base_url=JOLPICA_BASE_URL + "/") as http:
        return await http.get(path, params=params)


def bundled_client(bundled_dir=BUNDLED_ERGAST, **options):
    return ErgastClient(transport=BundledTransport(bundled_dir), **options)


async def call(method, *args, **options):
    async with bundled_client(**options) as api:
        return await getattr(api, method)(*args)


def race_of(fetched, round_):
    (race,) = [race for race in fetched.items if race["round"] == str(round_)]
    return race


# --- the client on real seasons -----------------------------------------------------------------


async def test_2021_results_season():
    fetched = await call("results", 2021)

    assert (fetched.total, fetched.rows, len(fetched.items)) == (440, 440, 22)
    assert fetched.pages == 5  # 440 rows at the API's 100 a page
    assert [race["round"] for race in fetched.items] == [str(n) for n in range(1, 23)]
    assert {len(race["Results"]) for race in fetched.items} == {20}
    assert fetched.url == f"{JOLPICA_BASE_URL}/2021/results.json"


async def test_season_merged_from_small_pages_equals_the_file():
    fetched = await call("results", 2021, page_size=7)  # pages end mid-race nearly every time

    assert fetched.pages == 63
    assert [row for race in fetched.items for row in race["Results"]] == season_rows(2021)
    assert len(fetched.items) == 22


@pytest.mark.parametrize(
    ("season", "round_", "race_name", "winner"),
    [
        (2021, 22, "Abu Dhabi Grand Prix", "max_verstappen"),
        (1988, 3, "Monaco Grand Prix", "prost"),
        (1988, 6, "Detroit Grand Prix", "senna"),
    ],
)
async def test_race_winners(season, round_, race_name, winner):
    race = race_of(await call("results", season), round_)

    assert race["raceName"] == race_name
    assert race["Results"][0]["position"] == "1"
    assert race["Results"][0]["Driver"]["driverId"] == winner


async def test_single_round_endpoint():
    fetched = await call("results", 2021, 22)

    assert fetched.url == f"{JOLPICA_BASE_URL}/2021/22/results.json"
    assert (fetched.total, fetched.rows, fetched.pages) == (20, 20, 1)
    assert [race["round"] for race in fetched.items] == ["22"]
    assert fetched.items[0]["Results"][0]["Driver"]["driverId"] == "max_verstappen"


@pytest.mark.parametrize(
    ("method", "rows", "races"),
    [("schedule", 22, 22), ("qualifying", 439, 22), ("sprint", 60, 3)],
)
async def test_other_endpoints_of_2021(method, rows, races):
    fetched = await call(method, 2021, page_size=50)

    assert (fetched.total, fetched.rows, len(fetched.items)) == (rows, rows, races)


async def test_season_without_sprints_is_empty_not_an_error():
    fetched = await call("sprint", 2019)

    assert (fetched.total, fetched.rows, fetched.items, fetched.pages) == (0, 0, [], 1)


# --- the transport's paging ---------------------------------------------------------------------


async def test_limit_above_100_is_capped():
    response = await get("2021/results.json", limit=500)
    mr_data = response.json()["MRData"]

    assert response.status_code == 200
    assert (mr_data["limit"], mr_data["offset"], mr_data["total"]) == ("100", "0", "440")
    assert page_rows(response) == season_rows(2021)[:100]


async def test_default_limit_is_30():
    response = await get("2021/results.json")

    assert response.json()["MRData"]["limit"] == "30"
    assert len(page_rows(response)) == 30


async def test_limit_and_offset_are_honoured_exactly():
    response = await get("2021/results.json", limit=5, offset=3)
    mr_data = response.json()["MRData"]

    assert (mr_data["limit"], mr_data["offset"], mr_data["total"]) == ("5", "3", "440")
    assert page_rows(response) == season_rows(2021)[3:8]  # rows 4..8 of the season
    assert mr_data["url"] == f"{JOLPICA_BASE_URL}/2021/results.json"


async def test_page_across_two_races_groups_rows_by_race():
    response = await get("2021/results.json", limit=5, offset=18)
    races = response.json()["MRData"]["RaceTable"]["Races"]

    assert [(race["round"], len(race["Results"])) for race in races] == [("1", 2), ("2", 3)]
    assert page_rows(response) == season_rows(2021)[18:23]


async def test_schedule_pages_slice_races():
    response = await get("2021/races.json", limit=4, offset=20)
    races = response.json()["MRData"]["RaceTable"]["Races"]

    assert response.json()["MRData"]["total"] == "22"
    assert [race["round"] for race in races] == ["21", "22"]


async def test_offset_past_the_end_is_an_empty_page():
    response = await get("2021/results.json", limit=10, offset=440)

    assert response.status_code == 200
    assert response.json()["MRData"]["total"] == "440"
    assert page_rows(response) == []


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("2021/driverStandings.json", {}, 404),
        ("2021/constructorStandings.json", {}, 404),
        ("2021/results.xml", {}, 404),
        ("2021/results.json", {"limit": "ten"}, 400),
        ("2021/results.json", {"offset": "1.5"}, 400),
        ("2021/results.json", {"limit": -1}, 400),
        ("2021/results.json", {"offset": -30}, 400),
    ],
)
async def test_transport_error_statuses(path, params, code):
    response = await get(path, **params)

    assert response.status_code == code
    assert "detail" in response.json()


@pytest.mark.parametrize(
    ("method", "args", "options", "code"),
    [
        ("driver_standings", (2021,), {}, 404),
        ("constructor_standings", (2021, 5), {}, 404),
        ("results", (2021,), {"page_size": -1}, 400),
    ],
)
async def test_client_raises_http_error_from_bundled_data(method, args, options, code):
    with pytest.raises(ErgastHTTPError) as caught:
        await call(method, *args, retry=RetryPolicy(attempts=3), **options)

    assert (caught.value.status_code, caught.value.attempts) == (code, 1)  # 4xx: no retries
    assert caught.value.url.startswith(JOLPICA_BASE_URL)


# --- seasons the bundled data lacks, and files that are not the Ergast layout ---------------------------


@pytest.mark.parametrize("path", ["1949/results.json", "2099/races.json", "1949/3/qualifying.json"])
async def test_season_the_bundled_data_lacks_is_an_empty_table(path):
    # as the live API answers a season it has nothing for: 200 with no rows, not an error
    response = await get(path, limit=10)
    mr_data = response.json()["MRData"]

    assert response.status_code == 200
    assert (mr_data["total"], mr_data["offset"], mr_data["RaceTable"]["Races"]) == ("0", "0", [])
    assert mr_data["url"] == f"{JOLPICA_BASE_URL}/{path}"


async def test_client_reads_a_season_the_bundled_data_lacks_as_empty():
    fetched = await call("results", 1949)

    assert (fetched.total, fetched.rows, fetched.items) == (0, 0, [])


def write_season_file(bundled_dir, name, content):
    (bundled_dir / "2021").mkdir()
    (bundled_dir / "2021" / f"{name}.json.gz").write_bytes(content)


BROKEN_FILES = {
    "not-gzip-not-json": (b"\x00\x01 definitely not json", "not JSON"),
    "gzip-not-json": (gzip.compress(b"<html>oops</html>"), "not JSON"),
    "json-without-mrdata": (gzip.compress(b'{"data": []}'), "no MRData"),
    "races-missing": (gzip.compress(b'{"MRData": {"total": "3", "offset": "0", "RaceTable": {}}}'), "RaceTable.Races"),
}


@pytest.mark.parametrize(("content", "fragment"), BROKEN_FILES.values(), ids=BROKEN_FILES.keys())
async def test_broken_season_file_ends_in_malformed_page_error(tmp_path, content, fragment):
    write_season_file(tmp_path, "results", content)
    with pytest.raises(MalformedPageError) as caught:
        await call("results", 2021, bundled_dir=tmp_path)

    assert caught.value.url.startswith(f"{JOLPICA_BASE_URL}/2021/results.json")
    assert fragment in str(caught.value)


async def test_season_file_may_be_plain_json(tmp_path):
    write_season_file(tmp_path, "races", gzip.decompress((BUNDLED_ERGAST / "2021" / "races.json.gz").read_bytes()))
    fetched = await call("schedule", 2021, bundled_dir=tmp_path, page_size=5)

    assert (fetched.rows, fetched.pages) == (22, 5)


# --- flatten and ingest -------------------------------------------------------------------------


async def test_flatten_results_gives_one_row_per_result_with_race_context():
    frame = flatten(await call("results", 2021))

    assert frame.height == 440
    assert frame.columns == [name for name, _ in RESULT_COLUMNS]
    assert frame.columns[:5] == CONTEXT
    assert set(frame.schema.values()) == {pl.String}
    first = frame.row(0, named=True)
    assert {name: first[name] for name in CONTEXT} == {
        "season": "2021",
        "round": "1",
        "race_name": "Bahrain Grand Prix",
        "date": "2021-03-28",
        "circuit_id": "bahrain",
    }
    finale = frame.filter(pl.col("round") == "22")
    assert finale.height == 20
    assert finale["circuit_id"].unique().to_list() == ["yas_marina"]
    assert finale.row(0, named=True)["driver_id"] == "max_verstappen"
    assert frame.group_by("round").len()["len"].unique().to_list() == [20]
    assert frame.select(CONTEXT).null_count().row(0) == (0, 0, 0, 0, 0)


async def test_flatten_does_not_depend_on_page_size():
    big_pages = flatten(await call("results", 2021))
    small_pages = flatten(await call("results", 2021, page_size=7))

    assert small_pages.equals(big_pages)


async def test_flatten_schedule_gives_one_row_per_race():
    frame = flatten(await call("schedule", 2021))

    assert frame.height == 22
    assert frame.columns == [name for name, _ in RACE_COLUMNS]
    assert set(frame.schema.values()) == {pl.String}
    assert frame["round"].to_list() == [str(n) for n in range(1, 23)]


async def test_fetch_seasons_over_two_seasons():
    batch = await fetch_seasons(bundled_client(page_size=30), RESULTS, ["2020", "2021"])

    assert batch.frame.height == 340 + 440
    assert batch.frame.group_by("season").len().sort("season").rows() == [("2020", 340), ("2021", 440)]
    assert batch.pages == 12 + 15  # ceil(340 / 30) + ceil(440 / 30)
    assert batch.pages > 2
    assert [item.url for item in batch.fetched] == [
        f"{JOLPICA_BASE_URL}/2020/results.json",
        f"{JOLPICA_BASE_URL}/2021/results.json",
    ]
    assert set(batch.frame.schema.values()) == {pl.String}


async def test_fetch_seasons_schedule_keeps_race_columns():
    batch = await fetch_seasons(bundled_client(page_size=30), SCHEDULE, ["2020", "2021"])

    assert batch.frame.columns == [name for name, _ in RACE_COLUMNS]
    assert batch.frame.height == 17 + 22


async def test_fetch_seasons_with_a_season_the_bundled_data_lacks_keeps_the_others():
    batch = await fetch_seasons(bundled_client(), RESULTS, ["2021", "1949"])

    assert batch.frame["season"].unique().to_list() == ["2021"]
    assert batch.frame.height == 440


async def test_a_season_missing_inside_the_bundled_range_is_an_error_not_an_empty_season(tmp_path):
    for season in ("2019", "2021"):
        shutil.copytree(BUNDLED_ERGAST / season, tmp_path / season)
    async with ErgastClient(transport=BundledTransport(tmp_path)) as client:
        assert (await client.results(2022)).rows == 0  # after the bundled seasons: nothing yet, as the live API says
        with pytest.raises(ErgastHTTPError) as caught:
            await client.results(2020)
    assert caught.value.status_code == 404


async def test_a_bundled_folder_without_seasons_is_an_error(tmp_path):
    async with ErgastClient(transport=BundledTransport(tmp_path / "typo")) as client:
        with pytest.raises(ErgastHTTPError) as caught:
            await client.results(2021)
    assert caught.value.status_code == 404
