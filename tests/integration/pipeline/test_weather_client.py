"""The Open-Meteo client against its documented JSON layout: a recorded-format answer, a fake that checks requests
as the real server does, failures, rate limits, malformed answers and the free API's call budget."""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from f1_pipeline.http_source.client import RetryPolicy
from f1_pipeline.http_source.throttle import RateLimit, Throttle
from f1_pipeline.weather.client import HOURLY_VARIABLES, Location, OpenMeteoClient, call_weight
from f1_pipeline.weather.errors import (
    MalformedWeatherError,
    WeatherHTTPError,
    WeatherRateLimitedError,
    WeatherUnavailableError,
)
from tests.fake_open_meteo import FakeOpenMeteo

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "open_meteo_archive_two_locations.json"
ARCHIVE, FORECAST = "http://open-meteo.test/v1/archive", "http://open-meteo.test/v1/forecast"
INTERLAGOS = Location(-23.7036, -46.6997, date(2024, 11, 3), date(2024, 11, 3))
MONZA = Location(45.6156, 9.28111, date(2024, 9, 1), date(2024, 9, 1))


class Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def client(handler, **options) -> OpenMeteoClient:
    options.setdefault("retry", RetryPolicy(attempts=3, backoff_seconds=0.5))
    options.setdefault("sleep", Sleeps())
    return OpenMeteoClient(ARCHIVE, FORECAST, transport=httpx.MockTransport(handler), **options)


async def archive(handler, locations, **options):
    async with client(handler, **options) as api:
        return await api.archive(locations)


async def test_a_recorded_two_location_answer_is_read_per_location_in_order():
    seen: list[httpx.Request] = []

    def recorded(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=FIXTURE.read_bytes(), headers={"content-type": "application/json"})

    [answer] = await archive(recorded, [INTERLAGOS, MONZA])

    params = seen[0].url.params
    assert params["latitude"] == "-23.7036,45.6156" and params["longitude"] == "-46.6997,9.28111"
    assert params["start_date"] == "2024-11-03,2024-09-01" and params["end_date"] == "2024-11-03,2024-09-01"
    assert params["hourly"] == ",".join(HOURLY_VARIABLES)
    assert params["timezone"] == "UTC" and params["wind_speed_unit"] == "ms"
    body = json.loads(FIXTURE.read_text())
    interlagos, monza = answer.series
    assert interlagos.location == INTERLAGOS and monza.location == MONZA
    assert (interlagos.latitude, interlagos.longitude, interlagos.elevation) == (-23.7, -46.700005, 760.0)
    assert interlagos.times[0] == datetime(2024, 11, 3, 0, tzinfo=UTC) and len(interlagos.times) == 24
    assert interlagos.values["precipitation"] == body[0]["hourly"]["precipitation"]
    assert monza.values["temperature_2m"][14] == 28.4
    assert answer.url == str(seen[0].url)


async def test_many_races_go_in_batches_and_come_back_in_the_order_asked():
    app = FakeOpenMeteo()
    places = [Location(10.0 * i, 5.0 * i, date(2023, 3, 1 + i), date(2023, 3, 1 + i)) for i in range(7)]

    answers = await archive(app.handle, places, batch_size=3)

    assert [len(params["latitude"][0].split(",")) for _, params, _ in app.requests] == [3, 3, 1]
    series = [item for answer in answers for item in answer.series]
    assert [item.location for item in series] == places
    for item in series:
        hour = item.times[13]
        assert item.values["temperature_2m"][13] == FakeOpenMeteo.value(
            "temperature_2m", item.latitude, item.longitude, hour
        )


async def test_a_single_location_is_answered_with_an_object_and_read_the_same():
    app = FakeOpenMeteo()
    [answer] = await archive(app.handle, [MONZA])
    assert isinstance(json.loads(app.handle(httpx.Request("GET", answer.url)).content), dict)
    assert len(answer.series) == 1 and len(answer.series[0].times) == 24


async def test_the_forecast_is_asked_at_the_forecast_url():
    app = FakeOpenMeteo(forecast_offset=5.0)
    async with client(app.handle) as api:
        [answer] = await api.forecast([MONZA])
    assert app.requests[0][0] == "/v1/forecast"
    item = answer.series[0]
    assert item.values["temperature_2m"][0] == round(
        FakeOpenMeteo.value("temperature_2m", item.latitude, item.longitude, item.times[0]) + 5.0, 1
    )


async def test_503_and_429_are_retried_with_backoff_and_retry_after():
    app = FakeOpenMeteo(fail_every=3, rate_limit_every=5, retry_after="7")
    sleeps = Sleeps()
    places = [Location(1.0 * i, 1.0, date(2022, 5, 1), date(2022, 5, 1)) for i in range(4)]

    retry = RetryPolicy(attempts=4, backoff_seconds=0.5)
    answers = await archive(app.handle, places, batch_size=1, sleep=sleeps, retry=retry)

    assert [len(answer.series) for answer in answers] == [1, 1, 1, 1]
    statuses = [status for _, _, status in app.requests]
    assert 503 in statuses and 429 in statuses
    assert 7.0 in sleeps.waits  # Retry-After honoured
    assert 0.5 in sleeps.waits  # exponential backoff's first step otherwise


async def test_a_retry_after_beyond_the_policy_stops_at_once_naming_the_url():
    app = FakeOpenMeteo(rate_limit_every=1, retry_after="3600")
    with pytest.raises(WeatherRateLimitedError, match="wait 3600 s") as raised:
        await archive(app.handle, [MONZA])
    assert len(app.requests) == 1 and "/v1/archive?latitude=45.6156" in raised.value.url


async def test_a_server_that_keeps_failing_gives_up_after_the_last_attempt():
    app = FakeOpenMeteo(fail_every=1)
    with pytest.raises(WeatherHTTPError, match=r"HTTP 503 after 3 attempt\(s\)") as raised:
        await archive(app.handle, [MONZA])
    assert len(app.requests) == 3 and raised.value.url.startswith(ARCHIVE)


async def test_a_refused_request_is_not_retried_and_carries_the_servers_reason():
    app = FakeOpenMeteo(archive_until=date(2024, 8, 1))
    with pytest.raises(WeatherHTTPError, match="HTTP 400: Parameter 'end_date' is out of allowed range") as raised:
        await archive(app.handle, [MONZA])
    assert len(app.requests) == 1 and raised.value.status_code == 400


async def test_timeouts_end_as_unavailable_after_the_last_attempt():
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    with pytest.raises(WeatherUnavailableError, match=r"ConnectTimeout after 3 attempt\(s\)"):
        await archive(timeout, [MONZA])


def answering(body: str):
    return lambda request: httpx.Response(200, text=body, headers={"content-type": "application/json"})


def location_body(**changes) -> dict:
    body = json.loads(FIXTURE.read_text())[1]
    body.update(changes)
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("<html>502 Bad Gateway</html>", "answer is not JSON"),
        (json.dumps([location_body()]), r"asked for 2 location\(s\), the answer has 1"),
        (json.dumps({"error": False}), "expected a list of 2 location object"),
        (json.dumps([location_body(), location_body(utc_offset_seconds=3600)]), "location 1 is not in UTC"),
        (json.dumps([location_body(), location_body(hourly={"temperature_2m": [1.0]})]), "no hourly.time list"),
    ],
)
async def test_a_malformed_answer_is_refused_naming_the_url(body, message):
    with pytest.raises(MalformedWeatherError, match=message) as raised:
        await archive(answering(body), [INTERLAGOS, MONZA])
    assert raised.value.url.startswith(ARCHIVE + "?latitude=-23.7036")


async def test_ragged_or_non_numeric_hourly_values_are_refused():
    short = location_body()
    short["hourly"] = {**short["hourly"], "rain": short["hourly"]["rain"][:-1]}
    with pytest.raises(MalformedWeatherError, match=r"location 0: hourly.rain is missing or not one value per hour"):
        await archive(answering(json.dumps(short)), [MONZA])
    texty = location_body()
    texty["hourly"] = {**texty["hourly"], "wind_speed_10m": ["calm"] * 24}
    with pytest.raises(MalformedWeatherError, match=r"hourly\.wind_speed_10m holds a value that is not a number"):
        await archive(answering(json.dumps(texty)), [MONZA])


async def test_a_cut_answer_from_the_server_is_malformed():
    app = FakeOpenMeteo(malformed_every=1)
    with pytest.raises(MalformedWeatherError, match="answer is not JSON"):
        await archive(app.handle, [INTERLAGOS, MONZA])


def test_call_weight_follows_the_published_rule():
    two_weeks = Location(0, 0, date(2024, 1, 1), date(2024, 1, 14))
    four_weeks = Location(0, 0, date(2024, 1, 1), date(2024, 1, 28))
    assert call_weight([two_weeks], variables=15) == 1.5  # Open-Meteo's own examples
    assert call_weight([four_weeks], variables=15) == 3.0
    assert call_weight([MONZA, INTERLAGOS]) == 2.0  # five variables over a day or two: one call per location


class Clock:
    """A clock that only moves when the throttle sleeps, so the test sees the schedule without waiting for it."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_the_throttle_is_charged_one_call_per_location():
    clock, app = Clock(), FakeOpenMeteo()
    sent: list[float] = []

    def stamped(request: httpx.Request) -> httpx.Response:
        sent.append(clock.now)
        return app.handle(request)

    throttle = Throttle([RateLimit(4, 60.0)], clock=clock, sleep=clock.sleep)
    places = [Location(1.0 * i, 1.0, date(2022, 5, 1), date(2022, 5, 1)) for i in range(6)]
    await archive(stamped, places, batch_size=3, throttle=throttle)

    # 3 calls, then 3 more: the second request must wait until the first call leaves the minute window.
    assert sent == [0.0, 60.0]
