"""The live practice source (F1DB's repository) against a local fake: many sessions, retries, rate limits,
malformed answers, seasons without practice, and the raw asset in live mode.

Nothing here touches the network: the fake runs on 127.0.0.1 or behind an in-process transport, and retry waits
go to a recorder instead of sleeping.
"""

import time

import dagster as dg
import httpx
import polars as pl
import pytest

from f1_pipeline.defs.practice import practice_assets
from f1_pipeline.defs.resources import PracticeResource, WarehouseResource
from f1_pipeline.ergast.errors import (
    ErgastHTTPError,
    ErgastRateLimitedError,
    ErgastUnavailableError,
    MalformedPageError,
)
from f1_pipeline.http_source.client import RetryPolicy
from f1_pipeline.practice.bundled import BUNDLED_PRACTICE, read_bundled
from f1_pipeline.practice.cleaning import practice_results
from f1_pipeline.practice.f1db import F1dbClient, fetch_seasons, session_rows
from f1_pipeline.practice.ids import ErgastIds
from f1_pipeline.practice.source import load_practice
from f1_pipeline.tables import RAW_PRACTICE
from f1_pipeline.warehouse import Warehouse
from tests.fake_f1db import FakeF1db, bundled_seasons, folder
from tests.fake_jolpica import serving

BASE = "http://f1db.test"
LISTING = f"{BASE}/api/seasons"
FILES = f"{BASE}/raw/seasons"


class Waits:
    """Records the client's retry waits instead of sleeping them."""

    def __init__(self):
        self.seconds = []

    async def __call__(self, seconds):
        self.seconds.append(seconds)


def client(transport, waits=None, attempts=3, listing=LISTING, files=FILES):
    return F1dbClient(
        listing,
        files,
        transport=transport,
        retry=RetryPolicy(attempts=attempts, backoff_seconds=0.5),
        sleep=waits or Waits(),
    )


def cleaned(raw):
    calendar = raw.select(pl.col("season").cast(pl.Int32), pl.col("round").cast(pl.Int32)).unique()
    table, quarantined = practice_results(raw, calendar)
    assert quarantined.height == 0
    return table.sort("season", "round", "session", "position")


@pytest.fixture(scope="module")
def season_2024():
    return bundled_seasons(["2024"])


@pytest.fixture(scope="module")
def bundled_2024():
    return cleaned(read_bundled().filter(season="2024"))


async def test_two_live_seasons_give_back_the_bundled_rows():
    app = FakeF1db(bundled_seasons(["2024", "2025"]))
    batch = await fetch_seasons(client(httpx.ASGITransport(app=app)), ["2024", "2025"])
    expected = cleaned(read_bundled().filter(pl.col("season").is_in(["2024", "2025"])))
    assert cleaned(batch.frame).equals(expected)
    assert expected.height == 1_310 + batch.season("2025").height
    assert batch.season("2024").select("round", "session").unique().height == 18 * 3 + 6 * 2  # six sprint weekends
    assert [(item.season, item.requests) for item in batch.fetched] == [("2024", 1 + 24 * 5), ("2025", 1 + 24 * 5)]
    assert all(status in (200, 404) for _, status in app.requests)


async def test_503s_and_429s_are_retried_honouring_retry_after(season_2024, bundled_2024):
    app = FakeF1db(season_2024, fail_every=7, rate_limit_every=11, retry_after="3")
    waits = Waits()
    batch = await fetch_seasons(client(httpx.ASGITransport(app=app), waits), ["2024"])
    assert cleaned(batch.frame).equals(bundled_2024)
    statuses = [status for _, status in app.requests]
    assert statuses.count(503) > 5 and statuses.count(429) > 5
    assert len(waits.seconds) == statuses.count(429) + statuses.count(503)
    assert waits.seconds.count(3.0) == statuses.count(429)  # the server's Retry-After, not the backoff
    assert {wait for wait in waits.seconds if wait != 3.0} == {0.5, 1.0}  # the policy's backoff after a 503


def github_limited(reset_in):
    """GitHub's answer when the hourly budget of unauthenticated API calls is spent."""
    headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + reset_in))}
    return httpx.Response(403, headers=headers, json={"message": "API rate limit exceeded"})


async def test_githubs_spent_budget_is_waited_out_when_short_and_refused_when_long():
    answers = [github_limited(30), httpx.Response(200, json=[])]
    waits = Waits()
    batch = await fetch_seasons(client(httpx.MockTransport(lambda _: answers.pop(0)), waits), ["2024"])
    assert batch.frame.height == 0 and 25 < waits.seconds[0] <= 30

    requests = []

    def limited(request):
        requests.append(request)
        return github_limited(7200)

    with pytest.raises(ErgastRateLimitedError, match="asks to wait") as error:
        await fetch_seasons(client(httpx.MockTransport(limited)), ["2024"])
    assert error.value.url == f"{LISTING}/2024/races" and len(requests) == 1


async def test_a_refusal_is_not_retried_and_a_timeout_is_retried_until_the_last_attempt():
    requests = []

    def forbidden(request):
        requests.append(request)
        return httpx.Response(403, json={"message": "Forbidden"})

    with pytest.raises(ErgastHTTPError, match="HTTP 403") as error:
        await fetch_seasons(client(httpx.MockTransport(forbidden)), ["2024"])
    assert error.value.status_code == 403 and len(requests) == 1

    def timeout(request):
        requests.append(request)
        raise httpx.ConnectTimeout("timed out", request=request)

    requests.clear()
    waits = Waits()
    with pytest.raises(ErgastUnavailableError, match="ConnectTimeout after 3 attempt") as error:
        await fetch_seasons(client(httpx.MockTransport(timeout), waits), ["2024"])
    assert error.value.url == f"{LISTING}/2024/races"
    assert len(requests) == 3 and waits.seconds == [0.5, 1.0]


SESSION_URL = f"{FILES}/2024/races/{folder(1)}/free-practice-1-results.yml"


@pytest.mark.parametrize(
    ("listing", "session_file", "url", "message"),
    [
        ("<html>", None, f"{LISTING}/2024/races", "the listing is not JSON"),
        ('{"message": "hello"}', None, f"{LISTING}/2024/races", "not a list of folder entries"),
        ('[{"name": "bahrain", "type": "dir"}]', None, f"{LISTING}/2024/races", "is not named <round>-<grand prix>"),
        (None, "- position: [1\n", SESSION_URL, "not YAML"),
        (None, "position: 1\n", SESSION_URL, "not a list of results"),
        (None, "- position: 1\n  constructorId: mclaren\n", SESSION_URL, "result 1 lacks driverId"),
        (None, "- position: 1\n  driverId: {a: b}\n  constructorId: x\n", SESSION_URL, "driverId is not a single"),
    ],
)
async def test_a_malformed_answer_names_its_url(listing, session_file, url, message):
    def answer(request):
        if str(request.url) == f"{LISTING}/2024/races":
            body = listing if listing is not None else f'[{{"name": "{folder(1)}", "type": "dir"}}]'
            return httpx.Response(200, text=body)
        if str(request.url) == SESSION_URL:
            return httpx.Response(200, text=session_file)
        return httpx.Response(404)

    with pytest.raises(MalformedPageError, match=message) as error:
        await fetch_seasons(client(httpx.MockTransport(answer)), ["2024"])
    assert error.value.url == url and url in str(error.value)


async def test_seasons_without_practice_are_empty_and_a_hole_or_an_empty_listing_is_an_error(season_2024):
    seasons = {"1986": {folder(1): {}}, "1987": {folder(1): {}, folder(2): {}}, **season_2024}
    app = FakeF1db(seasons)
    batch = await fetch_seasons(client(httpx.ASGITransport(app=app)), ["1987", "2030"])
    assert batch.frame.height == 0
    assert [(item.season, item.requests) for item in batch.fetched] == [("1987", 1 + 2 * 5), ("2030", 2)]

    with pytest.raises(ErgastHTTPError, match="F1DB has no folder for season 2000") as error:
        await fetch_seasons(client(httpx.ASGITransport(app=app)), ["2000"])
    assert error.value.url == f"{LISTING}/2000/races"

    with pytest.raises(MalformedPageError, match="holds no season folders"):
        await fetch_seasons(client(httpx.ASGITransport(app=FakeF1db({}))), ["2024"])


async def test_an_empty_session_file_is_a_session_without_results(season_2024):
    seasons = {"2024": {**season_2024["2024"], folder(1): {"free-practice-3-results.yml": ""}}}
    batch = await fetch_seasons(client(httpx.ASGITransport(app=FakeF1db(seasons))), ["2024"])
    assert batch.frame.filter(round="1").height == 0
    assert batch.frame.filter(round="2").height > 0


F1DB_FILE = """\
- position: 1
  driverNumber: 3
  driverId: daniel-ricciardo
  constructorId: rb
  engineManufacturerId: honda-rbpt
  tyreManufacturerId: pirelli
  time: "1:32.869"
  gap:
  interval:
  laps: 23
- position: NC
  driverNumber: 27
  driverId: nico-hulkenberg
  constructorId: haas
  engineManufacturerId: ferrari
  tyreManufacturerId: pirelli
  time: 1:40.100
  gap: ~
  interval:
  laps: 6
- position: 3
  driverNumber: 50
  driverId: reserve-driver
  constructorId: haas
  engineManufacturerId: ferrari
  tyreManufacturerId: pirelli
  time: "1:41.5"
  gap: "+8.631"
  laps: x
"""


def test_a_session_file_in_f1dbs_layout_becomes_raw_rows_with_ergast_ids():
    rows = session_rows("http://f1db.test/file.yml", F1DB_FILE, "2024", 1, "fp1", ErgastIds.load())
    assert [row["driver_id"] for row in rows] == ["ricciardo", "hulkenberg", "f1db:reserve-driver"]
    assert [row["constructor_id"] for row in rows] == ["rb", "haas", "haas"]
    assert [row["position"] for row in rows] == ["1", "NC", "3"]
    assert rows[1]["time"] == "1:40.100"  # unquoted, still the clock text rather than a base-60 number
    assert (rows[0]["gap"], rows[1]["gap"], rows[2]["gap"]) == (None, None, "+8.631")
    assert rows[2]["laps"] == "x"  # the raw layer keeps it; the cleaning quarantines it


def test_the_raw_asset_ingests_a_live_season_from_the_local_server(tmp_path, season_2024):
    app = FakeF1db(season_2024)
    warehouse = tmp_path / "warehouse.duckdb"
    with serving(app) as url:
        root = url.removesuffix("/ergast/f1")
        resources = {
            "practice": PracticeResource(
                practice_source="live",
                practice_bundled_path=str(BUNDLED_PRACTICE),
                practice_listing_url=f"{root}/api/seasons",
                practice_files_url=f"{root}/raw/seasons",
                request_attempts=1,
                requests_per_second=200,
            ),
            "warehouse": WarehouseResource(path=str(warehouse)),
        }
        result = dg.materialize(practice_assets(0.0)[:1], partition_key="2024", resources=resources)
    assert result.success
    raw = Warehouse(warehouse, read_only=True).read(RAW_PRACTICE)
    assert raw.height == 1_310 and set(raw["season"]) == {"2024"}
    metadata = result.asset_materializations_for_node("raw_practice")[-1].metadata
    assert metadata["source"].value == f"F1DB {root}/raw/seasons"
    assert metadata["requests_in_run"].value == 1 + 24 * 5


def test_the_practice_source_setting_chooses_the_bundled_copy_or_f1db(season_2024, bundled_2024):
    def no_client():
        raise AssertionError("the bundled source must not build a live client")

    bundled = load_practice("bundled", ["2024"], bundled_path=BUNDLED_PRACTICE, client=no_client)
    assert cleaned(bundled.frame).equals(bundled_2024) and bundled.requests == 0
    app = FakeF1db(season_2024)
    live = load_practice(
        "live", ["2024"], bundled_path=BUNDLED_PRACTICE, client=lambda: client(httpx.ASGITransport(app=app))
    )
    assert cleaned(live.frame).equals(bundled_2024) and live.requests == len(app.requests) == 1 + 24 * 5
    with pytest.raises(ValueError, match="unknown data source 'ftp'"):
        load_practice("ftp", ["2024"], bundled_path=BUNDLED_PRACTICE, client=no_client)
