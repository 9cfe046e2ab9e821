"""A local stand-in for Open-Meteo's archive and forecast APIs, answering in their JSON layout.

It checks requests as the real server does (coordinate and date lists of matching lengths, UTC, known
variables, the archive's date range) and answers `{"error": true, "reason": ...}` with HTTP 400 otherwise. Weather
is a deterministic function of place and hour (`FakeOpenMeteo.value`), so tests can recompute what was served.
Scripted trouble: every n-th request a 503, a 429 with Retry-After, or a malformed body; hours left out.

By hand, to try `F1_WEATHER_SOURCE=open-meteo` offline:

    python -m tests.fake_open_meteo --port 8766
    F1_WEATHER_SOURCE=open-meteo F1_OPEN_METEO_ARCHIVE_URL=http://127.0.0.1:8766/v1/archive \
        F1_OPEN_METEO_FORECAST_URL=http://127.0.0.1:8766/v1/forecast ...
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import uvicorn

from tests import local_server

UNITS = {
    "temperature_2m": "°C",
    "precipitation": "mm",
    "rain": "mm",
    "relative_humidity_2m": "%",
    "wind_speed_10m": "m/s",
}


class FakeOpenMeteo:
    """An ASGI app and an httpx handler (`handle`) sharing one set of rules and one request log."""

    def __init__(
        self,
        *,
        archive_until: date | None = None,
        fail_every: int = 0,
        rate_limit_every: int = 0,
        malformed_every: int = 0,
        retry_after: str = "0",
        missing_hours: frozenset[datetime] = frozenset(),
        forecast_offset: float = 0.0,
    ) -> None:
        self.archive_until = archive_until or datetime.now(UTC).date() - timedelta(days=5)
        self.fail_every = fail_every
        self.rate_limit_every = rate_limit_every
        self.malformed_every = malformed_every
        self.retry_after = retry_after
        self.missing_hours = missing_hours
        self.forecast_offset = forecast_offset
        """Added to the forecast's temperatures, so a test can tell a forecast from history."""
        self.requests: list[tuple[str, dict[str, list[str]], int]] = []

    @staticmethod
    def value(variable: str, latitude: float, longitude: float, hour: datetime) -> float:
        """The weather served at a place and hour: smooth in time, different per place, wet at some places."""
        phase = hour.timestamp() / 3600
        if variable == "temperature_2m":
            return round(18 + (abs(latitude) % 9) + 4 * math.sin(phase / 24 * 2 * math.pi), 1)
        if variable in ("precipitation", "rain"):
            wet_place = int(abs(latitude * 10) + abs(longitude * 10)) % 4 == 0
            return round(0.7 + 0.1 * (int(phase) % 3), 1) if wet_place else 0.0
        if variable == "relative_humidity_2m":
            return float(50 + int(abs(longitude)) % 40)
        return round(2 + (abs(longitude) % 5) + (int(phase) % 4) * 0.5, 1)

    async def __call__(self, scope: dict, receive: object, send: object) -> None:
        if scope["type"] != "http":
            return
        query = scope["query_string"].decode()
        request = httpx.Request("GET", f"http://fake{scope['path']}" + (f"?{query}" if query else ""))
        response = self.handle(request)
        headers = [(name.encode(), value.encode()) for name, value in response.headers.items()]
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        await send({"type": "http.response.body", "body": response.content})

    def handle(self, request: httpx.Request) -> httpx.Response:
        params = parse_qs(request.url.query.decode(), keep_blank_values=True)
        number = len(self.requests) + 1
        response = self._answer(request.url.path, params, number)
        self.requests.append((request.url.path, params, response.status_code))
        return response

    def _answer(self, path: str, params: dict[str, list[str]], number: int) -> httpx.Response:
        if self.rate_limit_every and number % self.rate_limit_every == 0:
            reason = "Minutely API request limit exceeded. Please try again in one minute."
            headers = {"Retry-After": self.retry_after}
            return httpx.Response(429, headers=headers, json={"error": True, "reason": reason})
        if self.fail_every and number % self.fail_every == 0:
            return httpx.Response(503, text="Service Unavailable")
        if path not in ("/v1/archive", "/v1/forecast"):
            return httpx.Response(404, json={"error": True, "reason": "Not Found"})
        try:
            body = self._locations(path, params)
        except ValueError as error:
            return httpx.Response(400, json={"error": True, "reason": str(error)})
        if self.malformed_every and number % self.malformed_every == 0:
            return httpx.Response(200, text=json.dumps(body)[:-40], headers={"content-type": "application/json"})
        return httpx.Response(200, json=body[0] if len(body) == 1 else body)

    def _locations(self, path: str, params: dict[str, list[str]]) -> list[dict]:
        def listed(name: str) -> list[str]:
            return [item for value in params.get(name, []) for item in value.split(",") if item]

        latitudes, longitudes = [float(v) for v in listed("latitude")], [float(v) for v in listed("longitude")]
        starts = [date.fromisoformat(v) for v in listed("start_date")]
        ends = [date.fromisoformat(v) for v in listed("end_date")]
        variables = listed("hourly")
        if len(latitudes) != len(longitudes):
            raise ValueError("Parameter 'latitude' and 'longitude' must have the same number of elements")
        if not latitudes:
            raise ValueError("Parameter 'latitude' and 'longitude' must not be empty")
        if len(latitudes) > 1000:
            raise ValueError("Only up to 1000 locations can be requested at once")
        if len(starts) != len(ends):
            raise ValueError("Parameter 'start_date' and 'end_date' must have the same number of elements")
        if not starts:
            raise ValueError("Both 'start_date' and 'end_date' must be set in the url")
        if len(starts) not in (1, len(latitudes)):
            raise ValueError(
                "Parameter 'start_date' and 'end_date' must have the same number of elements as coordinates"
            )
        if params.get("timezone", ["GMT"])[0] not in ("UTC", "GMT"):
            raise ValueError("this fake answers in UTC only")
        unknown = [v for v in variables if v not in UNITS]
        if unknown:
            raise ValueError(f"Cannot initialize WeatherVariable from invalid String value {unknown[0]} for key hourly")
        if len(starts) == 1:
            starts, ends = starts * len(latitudes), ends * len(latitudes)
        if path == "/v1/archive":
            late = [end for end in ends if end > self.archive_until]
            if late:
                raise ValueError(
                    f"Parameter 'end_date' is out of allowed range from 1940-01-01 to {self.archive_until.isoformat()}"
                )
        offset = self.forecast_offset if path == "/v1/forecast" else 0.0
        return [
            self._location(lat, lon, start, end, variables, offset)
            for lat, lon, start, end in zip(latitudes, longitudes, starts, ends, strict=True)
        ]

    def _location(
        self, latitude: float, longitude: float, start: date, end: date, variables: list[str], offset: float
    ) -> dict:
        if end < start:
            raise ValueError("End-date must be larger or equals than start-date")
        first = datetime(start.year, start.month, start.day, tzinfo=UTC)
        hours = [first + timedelta(hours=h) for h in range(((end - start).days + 1) * 24)]
        hours = [hour for hour in hours if hour not in self.missing_hours]
        grid_latitude, grid_longitude = self.grid(latitude), self.grid(longitude)
        hourly: dict[str, list] = {"time": [hour.strftime("%Y-%m-%dT%H:%M") for hour in hours]}
        for variable in variables:
            shift = offset if variable == "temperature_2m" else 0.0
            hourly[variable] = [
                round(self.value(variable, grid_latitude, grid_longitude, hour) + shift, 1) for hour in hours
            ]
        return {
            "latitude": grid_latitude,
            "longitude": grid_longitude,
            "generationtime_ms": 0.42,
            "utc_offset_seconds": 0,
            "timezone": "GMT",
            "timezone_abbreviation": "GMT",
            "elevation": 38.0,
            "hourly_units": {"time": "iso8601", **{variable: UNITS[variable] for variable in variables}},
            "hourly": hourly,
        }

    @staticmethod
    def grid(coordinate: float) -> float:
        """The centre of the grid cell (0.25 degrees) a coordinate falls in, as the real server reports it."""
        return round(math.floor(coordinate / 0.25) * 0.25 + 0.125, 3)


@contextmanager
def serving(app: FakeOpenMeteo) -> Iterator[str]:
    """Run `app` on 127.0.0.1 in a thread; yields its root URL (append /v1/archive or /v1/forecast)."""
    with local_server.serving(app) as url:
        yield url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--fail-every", type=int, default=0)
    parser.add_argument("--rate-limit-every", type=int, default=0)
    parser.add_argument("--malformed-every", type=int, default=0)
    args = parser.parse_args()
    app = FakeOpenMeteo(
        fail_every=args.fail_every, rate_limit_every=args.rate_limit_every, malformed_every=args.malformed_every
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, lifespan="off")


if __name__ == "__main__":
    main()
