"""ErgastClient against mock servers: paging driven by the pages, page validation, retries and backoff.

Nothing here touches the network (every client runs on `httpx.MockTransport`) or really sleeps
(the client's `sleep` is a recorder).
"""

import email.utils
import time

import httpx
import pytest

from f1_pipeline.ergast.client import RESULTS, SCHEDULE, ErgastClient
from f1_pipeline.ergast.errors import (
    ErgastHTTPError,
    ErgastRateLimitedError,
    ErgastUnavailableError,
    MalformedPageError,
)
from f1_pipeline.http_source.client import RetryPolicy, parse_retry_after

BASE = "https://ergast.test/ergast/f1"
RESULTS_URL = f"{BASE}/2021/results.json"
SCHEDULE_URL = f"{BASE}/2021/races.json"
DROP = object()


# --- fake pages -------------------------------------------------------------------------------


def result_rows(round_, count):
    return [
        {"number": str(n), "position": str(n), "Driver": {"driverId": f"driver_{round_}_{n}"}}
        for n in range(1, count + 1)
    ]


def race(round_, results=None):
    """A race of 2021; with `results`, the list of its result rows."""
    item = {"season": "2021", "round": str(round_), "raceName": f"Grand Prix {round_}", "date": f"2021-05-{round_:02d}"}
    if results is not None:
        item["Results"] = results
    return item


def as_text(value):
    return str(value) if isinstance(value, int) else value


def page(races, *, total, offset=0, limit=30, **changes):
    """A page in the Ergast layout (integers become strings, as the API writes them); DROP removes a key."""
    mr_data = {
        "xmlns": "",
        "series": "f1",
        "url": RESULTS_URL,
        "limit": as_text(limit),
        "offset": as_text(offset),
        "total": as_text(total),
        "RaceTable": {"season": "2021", "Races": races},
    }
    mr_data.update(changes)
    return {"MRData": {key: value for key, value in mr_data.items() if value is not DROP}}


def results_page(rounds_and_counts, *, total, offset=0, limit=30, **changes):
    """A results page holding `count` rows for each `(round, count)`."""
    races = [race(round_, result_rows(round_, count)) for round_, count in rounds_and_counts]
    return page(races, total=total, offset=offset, limit=limit, **changes)


# --- mock servers -------------------------------------------------------------------------------


class CappedServer:
    """Serves one season as Jolpica does: at most `cap` rows a page whatever is asked, regrouped by race.

    With `rows_key=None` the rows are the races themselves (races.json).
    """

    def __init__(self, races, rows_key="Results", cap=7, reported_limit=None):
        self.races = races
        self.rows_key = rows_key
        self.cap = cap
        self.reported_limit = reported_limit
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        limit = min(int(request.url.params["limit"]), self.cap)
        offset = int(request.url.params["offset"])
        if self.rows_key is None:
            served, total = self.races[offset : offset + limit], len(self.races)
        else:
            flat = [(item, row) for item in self.races for row in item[self.rows_key]]
            served, total = [], len(flat)
            for item, row in flat[offset : offset + limit]:
                if not served or served[-1]["round"] != item["round"]:
                    served.append({**item, self.rows_key: []})
                served[-1][self.rows_key].append(row)
        shown_limit = limit if self.reported_limit is None else self.reported_limit
        return httpx.Response(200, json=page(served, total=total, offset=offset, limit=shown_limit))

    def param(self, name):
        return [int(request.url.params[name]) for request in self.requests]


class Script:
    """A mock server answering the n-th request with the n-th step; the last step repeats.

    A step is a JSON body (served with 200) or a callable taking the request and returning a Response
    (or raising, like a transport failure).
    """

    def __init__(self, *steps):
        self.steps = steps
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        step = self.steps[min(len(self.requests), len(self.steps)) - 1]
        return step(request) if callable(step) else httpx.Response(200, json=step)


def status(code, retry_after=None):
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    return lambda request: httpx.Response(code, headers=headers, json={"detail": f"status {code}"})


def raw(body):
    return lambda request: httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"})


def raises(error_type):
    def step(request):
        raise error_type(f"{error_type.__name__} from the mock server", request=request)

    return step


class Sleeps(list):
    """The client's `sleep`: records the requested waits instead of waiting."""

    async def __call__(self, seconds):
        self.append(seconds)


def make_client(handler, *, retry=None, page_size=100, sleeps=None):
    return ErgastClient(
        BASE,
        transport=httpx.MockTransport(handler),
        retry=retry or RetryPolicy(attempts=5, backoff_seconds=1),
        page_size=page_size,
        sleep=Sleeps() if sleeps is None else sleeps,
    )


async def fetch(handler, endpoint=RESULTS, **client_options):
    async with make_client(handler, **client_options) as api:
        return await api.fetch(endpoint, 2021)


ONE_RACE = results_page([(1, 3)], total=3, limit=100)
FIRST_PAGE_URL = f"{RESULTS_URL}?limit=100&offset=0"


# --- paging -------------------------------------------------------------------------------------

ROWS_PER_RACE = [6, 5, 8, 4, 7]
SEASON = [race(round_, result_rows(round_, count)) for round_, count in enumerate(ROWS_PER_RACE, start=1)]


async def test_results_follow_offset_until_total_when_server_caps_limit():
    server = CappedServer(SEASON, cap=7)
    fetched = await fetch(server)

    assert server.param("offset") == [0, 7, 14, 21, 28]
    assert server.param("limit") == [100] * 5  # the client asks for its page size; the server decides
    assert (fetched.total, fetched.rows, fetched.pages) == (30, 30, 5)
    assert fetched.url == RESULTS_URL


async def test_race_split_across_pages_is_merged_into_one_race():
    fetched = await fetch(CappedServer(SEASON, cap=7))

    # race 2 starts on page 1 (row 7) and ends on page 2; race 3 spans pages 2 and 3, and so on
    assert [item["round"] for item in fetched.items] == ["1", "2", "3", "4", "5"]
    assert [len(item["Results"]) for item in fetched.items] == ROWS_PER_RACE
    assert fetched.items == SEASON


async def test_paging_follows_rows_received_even_when_page_reports_a_bigger_limit():
    server = CappedServer(SEASON, cap=7, reported_limit=100)
    fetched = await fetch(server)

    assert server.param("offset") == [0, 7, 14, 21, 28]
    assert fetched.items == SEASON


async def test_page_size_below_server_cap_is_what_is_asked_for():
    server = CappedServer(SEASON, cap=7)
    fetched = await fetch(server, page_size=5)

    assert server.param("limit") == [5] * 6
    assert server.param("offset") == [0, 5, 10, 15, 20, 25]
    assert fetched.items == SEASON


async def test_schedule_pages_count_races_themselves():
    schedule = [race(round_) for round_ in range(1, 13)]
    server = CappedServer(schedule, rows_key=None, cap=5)
    async with make_client(server) as api:
        fetched = await api.schedule(2021)

    assert server.param("offset") == [0, 5, 10]
    assert fetched.url == SCHEDULE_URL
    assert (fetched.total, fetched.rows, fetched.pages) == (12, 12, 3)
    assert fetched.items == schedule


async def test_empty_season_is_one_page_and_no_rows():
    server = Script(page([], total=0, limit=0))
    fetched = await fetch(server)

    assert len(server.requests) == 1
    assert (fetched.total, fetched.rows, fetched.pages, fetched.items) == (0, 0, 1, [])


async def test_round_endpoint_path():
    server = Script(ONE_RACE)
    async with make_client(server) as api:
        fetched = await api.results(2021, 1)

    assert fetched.url == f"{BASE}/2021/1/results.json"
    assert server.requests[0].url.path == "/ergast/f1/2021/1/results.json"


async def test_client_must_be_entered():
    with pytest.raises(RuntimeError, match="async with"):
        await make_client(Script(ONE_RACE)).results(2021)


# --- malformed pages ----------------------------------------------------------------------------

FIRST_OF_TEN = results_page([(1, 7)], total=10, limit=7)

MALFORMED = {
    "body-not-json": ([raw("<html>busy</html>")], "not JSON", 0),
    "json-array": ([raw("[1, 2]")], "no MRData", 0),
    "json-without-mrdata": ([{"data": {}}], "no MRData", 0),
    "mrdata-not-object": ([{"MRData": "nope"}], "no MRData", 0),
    "total-missing": ([page([], total=DROP)], "total/offset", 0),
    "offset-missing": ([page([], total=0, offset=DROP)], "total/offset", 0),
    "total-not-numeric": ([page([], total="many")], "total/offset", 0),
    "offset-not-numeric": ([page([], total=0, offset="first")], "total/offset", 0),
    "total-null": ([page([], total=None)], "total/offset", 0),
    "racetable-missing": ([page([], total=0, RaceTable=DROP)], "RaceTable.Races", 0),
    "races-missing": ([page([], total=0, RaceTable={"season": "2021"})], "RaceTable.Races", 0),
    "races-not-list": ([page([], total=0, RaceTable={"Races": {}})], "RaceTable.Races", 0),
    "race-not-object": ([page(["race"], total=1)], "not an object", 0),
    "race-without-results": ([page([race(1)], total=1)], "no Results list", 0),
    "empty-page-before-total": ([FIRST_OF_TEN, results_page([], total=10, offset=7)], "empty at offset 7", 7),
    "page-reports-other-offset": ([FIRST_OF_TEN, results_page([(2, 3)], total=10, offset=0)], "offset 7", 7),
}


@pytest.mark.parametrize(("steps", "fragment", "offset"), MALFORMED.values(), ids=MALFORMED.keys())
async def test_malformed_page_raises_naming_its_url(steps, fragment, offset):
    with pytest.raises(MalformedPageError) as caught:
        await fetch(Script(*steps))

    error = caught.value
    assert error.url.startswith(RESULTS_URL)
    assert f"offset={offset}" in error.url
    assert error.url in str(error)
    assert fragment in str(error)


async def test_pages_holding_more_rows_than_total_raise():
    with pytest.raises(MalformedPageError) as caught:
        await fetch(Script(results_page([(1, 7)], total=5, limit=7)))

    assert caught.value.url == RESULTS_URL
    assert "7 rows but total promised 5" in str(caught.value)
    assert RESULTS_URL in str(caught.value)


async def test_schedule_pages_adding_up_to_fewer_races_than_total_raise():
    # the second page serves round 2 again instead of round 3: three rows received, two races held
    first = page([race(1), race(2)], total=3, limit=2)
    again = page([race(2)], total=3, offset=2, limit=2)
    with pytest.raises(MalformedPageError) as caught:
        await fetch(Script(first, again), endpoint=SCHEDULE)

    assert caught.value.url == SCHEDULE_URL
    assert "2 rows but total promised 3" in str(caught.value)


async def test_total_shrinking_between_pages_is_an_error():
    first = results_page([(1, 5)], total=10, limit=5)
    shrunk = results_page([(2, 2)], total=7, offset=5, limit=5)
    with pytest.raises(MalformedPageError, match="total changed from 10 to 7"):
        await fetch(Script(first, shrunk))


# --- retries ------------------------------------------------------------------------------------


async def test_429_and_5xx_are_retried_with_exponential_backoff():
    sleeps = Sleeps()
    server = Script(status(429), status(503), status(500), status(502), ONE_RACE)
    fetched = await fetch(server, sleeps=sleeps)

    assert fetched.rows == 3
    assert len(server.requests) == 5
    assert sleeps == [1, 2, 4, 8]


async def test_backoff_is_capped_by_max_wait():
    sleeps = Sleeps()
    retry = RetryPolicy(attempts=5, backoff_seconds=1, max_wait_seconds=3)
    await fetch(Script(status(503), status(503), status(503), status(503), ONE_RACE), retry=retry, sleeps=sleeps)

    assert sleeps == [1, 2, 3, 3]


@pytest.mark.parametrize("code", [429, 503])
async def test_retry_after_seconds_sets_the_wait(code):
    sleeps = Sleeps()
    fetched = await fetch(Script(status(code, retry_after="7"), ONE_RACE), sleeps=sleeps)

    assert fetched.rows == 3
    assert sleeps == [7]


@pytest.mark.parametrize("header", ["600", "Thu, 31 Dec 2099 23:59:59 GMT"], ids=["seconds", "http-date"])
async def test_a_retry_after_beyond_the_longest_wait_fails_at_once_and_says_why(header):
    sleeps = Sleeps()
    server = Script(status(429, retry_after=header), ONE_RACE)
    retry = RetryPolicy(attempts=3, backoff_seconds=1, max_wait_seconds=30)
    with pytest.raises(ErgastRateLimitedError) as caught:
        await fetch(server, retry=retry, sleeps=sleeps)

    assert len(server.requests) == 1
    assert sleeps == []
    assert caught.value.status_code == 429
    assert caught.value.retry_after > 30
    assert "longer than the retry policy allows" in str(caught.value)
    assert caught.value.url == FIRST_PAGE_URL


async def test_a_retry_after_within_the_longest_wait_is_honoured():
    sleeps = Sleeps()
    retry = RetryPolicy(attempts=3, backoff_seconds=1, max_wait_seconds=30)
    await fetch(Script(status(503, retry_after="Thu, 01 Jan 1970 00:00:10 GMT"), ONE_RACE), retry=retry, sleeps=sleeps)

    assert sleeps == [0]


async def test_an_entry_of_another_season_is_refused():
    other = page([race(1, result_rows(1, 2)) | {"season": "2020"}], total=2)
    with pytest.raises(MalformedPageError, match="of season '2020', not 2021"):
        await fetch(Script(other))


async def test_an_entry_without_a_season_is_refused():
    seasonless = page([{key: value for key, value in race(1, result_rows(1, 2)).items() if key != "season"}], total=2)
    with pytest.raises(MalformedPageError, match="of season None, not 2021"):
        await fetch(Script(seasonless))


NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("7", 7.0),
        ("  12 ", 12.0),
        ("0", 0.0),
        (email.utils.formatdate(NOW + 90, usegmt=True), 90.0),
        (email.utils.formatdate(NOW + 90, usegmt=False), 90.0),  # numeric zone: "+0000"
        ("Tue, 14 Nov 2023 23:13:20 +0100", 0.0),  # NOW itself, written in another zone: no wait
        (email.utils.formatdate(NOW - 3600, usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("   ", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, now=NOW) == expected


def test_parse_retry_after_rfc850_date():
    assert parse_retry_after("Tuesday, 14-Nov-23 22:13:20 GMT", now=NOW) == 0.0
    assert parse_retry_after("Tuesday, 14-Nov-23 22:14:20 GMT", now=NOW) == 60.0


@pytest.fixture
def local_time_utc_plus_5(monkeypatch):
    monkeypatch.setenv("TZ", "XXX-05")  # POSIX zone 5 hours ahead of UTC
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_parse_retry_after_asctime_date_is_gmt_whatever_the_local_zone(local_time_utc_plus_5):
    assert parse_retry_after("Tue Nov 14 22:14:20 2023", now=NOW) == 60.0


async def test_persistent_500_ends_in_http_error_after_every_attempt():
    sleeps = Sleeps()
    server = Script(status(500))
    with pytest.raises(ErgastHTTPError) as caught:
        await fetch(server, retry=RetryPolicy(attempts=3, backoff_seconds=1), sleeps=sleeps)

    error = caught.value
    assert (error.status_code, error.attempts) == (500, 3)
    assert len(server.requests) == 3
    assert sleeps == [1, 2]
    assert error.url == FIRST_PAGE_URL  # the page that failed, paging parameters included
    assert FIRST_PAGE_URL in str(error)


@pytest.mark.parametrize("code", [400, 404])
async def test_client_errors_are_not_retried(code):
    sleeps = Sleeps()
    server = Script(status(code), ONE_RACE)
    with pytest.raises(ErgastHTTPError) as caught:
        await fetch(server, sleeps=sleeps)

    assert (caught.value.status_code, caught.value.attempts) == (code, 1)
    assert len(server.requests) == 1
    assert sleeps == []
    assert caught.value.url.startswith(RESULTS_URL)


async def test_timeouts_are_retried_then_succeed():
    sleeps = Sleeps()
    server = Script(raises(httpx.ConnectTimeout), raises(httpx.ReadTimeout), ONE_RACE)
    fetched = await fetch(server, sleeps=sleeps)

    assert fetched.rows == 3
    assert len(server.requests) == 3
    assert sleeps == [1, 2]


@pytest.mark.parametrize("error_type", [httpx.ConnectTimeout, httpx.ReadTimeout, httpx.ConnectError])
async def test_persistent_transport_failure_ends_in_unavailable_error(error_type):
    server = Script(raises(error_type))
    with pytest.raises(ErgastUnavailableError) as caught:
        await fetch(server, retry=RetryPolicy(attempts=4, backoff_seconds=1))

    assert len(server.requests) == 4
    assert caught.value.url == FIRST_PAGE_URL
    assert FIRST_PAGE_URL in str(caught.value)
    assert error_type.__name__ in str(caught.value)


async def test_a_failing_later_page_is_retried_without_refetching_earlier_pages():
    sleeps = Sleeps()
    server = Script(FIRST_OF_TEN, status(503), results_page([(1, 3)], total=10, offset=7, limit=7))
    fetched = await fetch(server, sleeps=sleeps)

    assert [request.url.params["offset"] for request in server.requests] == ["0", "7", "7"]
    assert sleeps == [1]
    assert [len(item["Results"]) for item in fetched.items] == [10]


async def test_driver_standings_page_through_the_standings_table():
    standings = [{"position": str(n), "points": str(30 - n), "Driver": {"driverId": f"d{n}"}} for n in range(1, 13)]

    def standings_page(request):
        limit, offset = min(int(request.url.params["limit"]), 5), int(request.url.params["offset"])
        listing = {"season": "2021", "round": "22", "DriverStandings": standings[offset : offset + limit]}
        mr_data = {
            "limit": str(limit),
            "offset": str(offset),
            "total": str(len(standings)),
            "StandingsTable": {"season": "2021", "StandingsLists": [listing]},
        }
        return httpx.Response(200, json={"MRData": mr_data})

    server = Script(standings_page)
    async with ErgastClient(BASE, transport=httpx.MockTransport(server)) as client:
        fetched = await client.driver_standings(2021)

    assert [str(request.url.copy_with(query=None)) for request in server.requests[:1]] == [
        f"{BASE}/2021/driverStandings.json"
    ]
    assert len(server.requests) == 3
    [listing] = fetched.items
    assert [row["Driver"]["driverId"] for row in listing["DriverStandings"]] == [f"d{n}" for n in range(1, 13)]
