"""Throttle on a fake clock: the schedule of sends is checked without waiting for it."""

import asyncio

import httpx
import pytest

from f1_pipeline.ergast.client import ErgastClient
from f1_pipeline.http_source.client import RetryPolicy
from f1_pipeline.http_source.throttle import RateLimit, Throttle

EPSILON = 1e-9


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it (or a test moves it)."""

    def __init__(self, start=0.0):
        self.now = start
        self.sleeps = []

    def __call__(self):
        return self.now

    async def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # let other tasks run, as a real sleep would


def make_throttle(clock, *limits):
    return Throttle([RateLimit(requests, per) for requests, per in limits], clock=clock, sleep=clock.sleep)


async def send_in_sequence(throttle, clock, count, gap=0.0):
    """Acquire `count` times in a row, `gap` seconds of work after each; the clock time of each send."""
    times = []
    for _ in range(count):
        await throttle.acquire()
        times.append(clock.now)
        clock.now += gap
    return times


def busiest_window(times, seconds):
    """The most sends in any window `[t, t + seconds)` that starts at a send."""
    return max(sum(1 for time in times if start <= time < start + seconds - EPSILON) for start in times)


BURST_AND_MINUTE = ((4, 1.0), (10, 60.0))


async def test_first_four_go_immediately():
    clock = FakeClock()
    times = await send_in_sequence(make_throttle(clock, *BURST_AND_MINUTE), clock, 4)

    assert times == [0.0] * 4
    assert clock.sleeps == []


async def test_fifth_waits_until_a_second_after_the_first():
    clock = FakeClock(start=1000.0)
    times = await send_in_sequence(make_throttle(clock, *BURST_AND_MINUTE), clock, 6, gap=0.125)

    assert times[:4] == [1000.0, 1000.125, 1000.25, 1000.375]
    assert times[4] == 1001.0  # a second after the first send, not after the fourth
    assert clock.sleeps == [0.5]
    assert times[5] == 1001.125  # the first send has left the window: no wait


async def test_fifth_sent_at_once_waits_the_whole_second():
    clock = FakeClock()
    times = await send_in_sequence(make_throttle(clock, *BURST_AND_MINUTE), clock, 5)

    assert times == [0.0, 0.0, 0.0, 0.0, pytest.approx(1.0)]
    assert clock.sleeps == [pytest.approx(1.0)]


async def test_eleventh_waits_for_the_minute_window():
    clock = FakeClock()
    times = await send_in_sequence(make_throttle(clock, *BURST_AND_MINUTE), clock, 12)

    assert times[:10] == [0.0] * 4 + [1.0] * 4 + [2.0] * 2
    assert times[10] == pytest.approx(60.0)  # a minute after the first send
    assert times[11] == pytest.approx(60.0)  # the minute window now holds sends from t=1 on only
    assert busiest_window(times, 60.0) <= 10


async def test_no_limits_never_waits():
    clock = FakeClock()
    times = await send_in_sequence(make_throttle(clock), clock, 50)

    assert times == [0.0] * 50
    assert clock.sleeps == []


@pytest.mark.parametrize("work_seconds", [0.0, 0.3, 7.0], ids=["instant", "short-requests", "slow-requests"])
async def test_concurrent_acquires_never_exceed_any_window(work_seconds):
    clock = FakeClock()
    throttle = make_throttle(clock, *BURST_AND_MINUTE)
    times = []

    async def request():
        await throttle.acquire()
        times.append(clock.now)
        if work_seconds:
            await clock.sleep(work_seconds)  # other tasks run and the clock moves while this one "works"

    await asyncio.gather(*(request() for _ in range(30)))

    assert len(times) == 30
    assert times == sorted(times)
    assert busiest_window(times, 1.0) <= 4
    assert busiest_window(times, 60.0) <= 10
    assert max(times) >= 120.0  # 30 sends at 10 a minute need three minute windows


# --- through the client -------------------------------------------------------------------------


def schedule_server(clock, races_per_season=5, cap=2, failures=0):
    """A races.json server capping pages at `cap` races; records the clock at each request.

    The first `failures` requests answer 503.
    """
    sent = []

    def handler(request):
        sent.append(clock.now)
        if len(sent) <= failures:
            return httpx.Response(503)
        season = request.url.path.split("/")[-2]
        offset = int(request.url.params["offset"])
        races = [{"season": season, "round": str(n)} for n in range(1, races_per_season + 1)]
        mr_data = {"limit": str(cap), "offset": str(offset), "total": str(races_per_season)}
        return httpx.Response(200, json={"MRData": {**mr_data, "RaceTable": {"Races": races[offset : offset + cap]}}})

    return handler, sent


def throttled_client(clock, handler, limit, retry=None):
    return ErgastClient(
        "https://ergast.test/f1",
        transport=httpx.MockTransport(handler),
        throttle=make_throttle(clock, limit),
        retry=retry or RetryPolicy(),
        sleep=clock.sleep,
    )


async def test_client_requests_respect_the_throttle():
    clock = FakeClock()
    handler, sent = schedule_server(clock)
    async with throttled_client(clock, handler, (4, 1.0)) as api:
        fetched = await asyncio.gather(*(api.schedule(season) for season in range(2000, 2006)))

    assert [item.rows for item in fetched] == [5] * 6
    assert len(sent) == 18  # three pages per season
    assert busiest_window(sent, 1.0) <= 4
    assert max(sent) >= 4.0  # eighteen requests at four a second span five seconds


async def test_client_retries_are_throttled_too():
    clock = FakeClock()
    handler, sent = schedule_server(clock, races_per_season=1, failures=2)
    retry = RetryPolicy(attempts=3, backoff_seconds=0)  # no backoff: only the throttle spaces the attempts
    async with throttled_client(clock, handler, (1, 1.0), retry) as api:
        fetched = await api.schedule(2000)

    assert fetched.rows == 1
    assert sent == [0.0, pytest.approx(1.0), pytest.approx(2.0)]


def test_one_throttle_paces_requests_across_event_loops():
    """Each asset of a run has its own event loop; the hourly budget must carry over between them."""
    clock = FakeClock()
    throttle = make_throttle(clock, (100, 1.0), (6, 3600.0))
    first = asyncio.run(send_in_sequence(throttle, clock, 4))
    second = asyncio.run(send_in_sequence(throttle, clock, 4))

    assert first == [0.0] * 4
    assert second[:2] == [0.0, 0.0]
    assert second[2] == pytest.approx(3600.0)  # the 7th request of the hour waits for the first to age out
