"""The weather tables: Open-Meteo's hourly rows per race (raw), one row per race (clean), and what features use.

Hourly values follow Open-Meteo's conventions: temperature, humidity and wind are instants at the full hour, and
precipitation and rain at hour T are the sum over the hour before T. So a race's temperature is the mean of the
instants from the first to the last hour of its window, and its precipitation the sum of the hours ending inside
it. A missing or null hour is left out of the mean and the sum, and counted in `missing_hours`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from f1_pipeline.contracts import Column, Contract, within
from f1_pipeline.tables import RAW_WEATHER, WEATHER
from f1_pipeline.weather.client import HOURLY_VARIABLES, Answer
from f1_pipeline.weather.windows import FORECAST, OBSERVED, Kind

SOURCE = "open-meteo"
WET_THRESHOLD_MM = 1.0
"""A race is wet when at least 1 mm of precipitation falls over its window: the usual threshold of a wet day,
above the trace amounts a reanalysis spreads over dry afternoons."""

UTC_TIME = pl.Datetime("us", "UTC")
WEATHER_CONTRACT = Contract(
    WEATHER.qualified,
    WEATHER.row,
    (
        Column("season", pl.Int32, "championship year"),
        Column("round", pl.Int32, "round on the calendar"),
        Column("circuit_id", pl.String, "the circuit's Ergast id"),
        Column("kind", pl.String, "observed (archive, for a race that was run) or forecast (for the race to come)"),
        Column(
            "issued_at",
            UTC_TIME,
            "when the forecast was fetched (Open-Meteo's answer carries no model run time); null if observed",
        ),
        Column(
            "race_start", UTC_TIME, "race start in UTC; where the calendar has no time, 14:00 local mean solar time"
        ),
        Column("start_assumed", pl.Boolean, "the calendar has no start time: the default hour was used"),
        Column(
            "air_temperature",
            pl.Float64,
            "mean air temperature at 2 m over the race window, in C",
            within(-30.0, 55.0),
        ),
        Column(
            "precipitation",
            pl.Float64,
            "precipitation (rain, showers, snow) over the race window, in mm",
            within(0.0, 300.0),
        ),
        Column("rain", pl.Float64, "rain over the race window, in mm"),
        Column("wet", pl.Boolean, f"precipitation over the race window of at least {WET_THRESHOLD_MM:g} mm"),
        Column(
            "wind_speed",
            pl.Float64,
            "mean wind speed at 10 m over the race window, in m/s",
            within(0.0, 60.0),
        ),
        Column(
            "relative_humidity",
            pl.Float64,
            "mean relative humidity at 2 m over the race window, in percent",
            within(0.0, 100.0),
        ),
        Column("missing_hours", pl.Int32, "hours of the window the source did not give (left out of means and sums)"),
        Column("source", pl.String, "open-meteo or csv"),
        Column("url", pl.String, "the request that answered (Open-Meteo)"),
    ),
    key=("season", "round"),
)
"""`clean.weather`, one row per race (the `check_weather_one_row_per_race` asset check holds the key). The ranges are
bounds no race has ever been run outside of (C, mm, m/s, percent): a value beyond them is a broken answer
(`check_weather_values_plausible`)."""
CLEAN_SCHEMA = WEATHER_CONTRACT.schema
_HOURLY_WORDS = {
    "temperature_2m": "air temperature at 2 m at the hour, in C",
    "precipitation": "precipitation (rain, showers, snow) over the hour ending at `time`, in mm",
    "rain": "rain over the hour ending at `time`, in mm",
    "relative_humidity_2m": "relative humidity at 2 m at the hour, in percent",
    "wind_speed_10m": "wind speed at 10 m at the hour, in m/s",
}
RAW_WEATHER_CONTRACT = Contract(
    RAW_WEATHER.qualified,
    RAW_WEATHER.row,
    (
        Column("season", pl.String, "championship year (the partition's key, as text)"),
        *(WEATHER_CONTRACT.column(name) for name in ("round", "circuit_id", "kind", "race_start", "start_assumed")),
        Column("window_start", UTC_TIME, "the first hour of the race window (UTC)"),
        Column("window_end", UTC_TIME, "the last hour of the race window (UTC)"),
        Column("time", UTC_TIME, "the hour this row's values belong to (UTC)"),
        *(Column(name, pl.Float64, _HOURLY_WORDS[name]) for name in HOURLY_VARIABLES),
        Column("grid_latitude", pl.Float64, "latitude of the weather model's grid cell that answered"),
        Column("grid_longitude", pl.Float64, "longitude of that grid cell"),
        Column("elevation", pl.Float64, "the grid cell's elevation, in m"),
        WEATHER_CONTRACT.column("source"),
        WEATHER_CONTRACT.column("url"),
        Column("fetched_at", UTC_TIME, "when the answer was fetched (UTC)"),
    ),
)
"""`raw.weather`: the source's hourly rows around each race, as answered; `clean.weather` reduces them to a row per
race. Columns both tables hold are declared once, in `WEATHER_CONTRACT`."""
RAW_SCHEMA = RAW_WEATHER_CONTRACT.schema


def raw_rows(
    answers: Sequence[Answer], asked: pl.DataFrame, kind: Kind, fetched_at: datetime, source: str = SOURCE
) -> pl.DataFrame:
    """Every hour Open-Meteo gave for the `asked` races (plan rows in the order they were asked), untouched."""
    pairs = [(answer.url, series) for answer in answers for series in answer.series]
    if len(pairs) != asked.height:
        raise ValueError(f"{asked.height} race(s) asked, {len(pairs)} answered")
    frames = [
        pl.DataFrame(
            {"time": series.times, **series.values},
            schema={"time": UTC_TIME, **dict.fromkeys(series.values, pl.Float64)},
        ).with_columns(
            season=pl.lit(str(race["season"])),
            round=pl.lit(race["round"], pl.Int32),
            circuit_id=pl.lit(race["circuit_id"]),
            kind=pl.lit(kind),
            race_start=pl.lit(race["race_start"], UTC_TIME),
            start_assumed=pl.lit(race["start_assumed"]),
            window_start=pl.lit(race["window_start"], UTC_TIME),
            window_end=pl.lit(race["window_end"], UTC_TIME),
            grid_latitude=pl.lit(series.latitude, pl.Float64),
            grid_longitude=pl.lit(series.longitude, pl.Float64),
            elevation=pl.lit(series.elevation, pl.Float64),
            source=pl.lit(source),
            url=pl.lit(url),
            fetched_at=pl.lit(fetched_at, UTC_TIME),
        )
        for (url, series), race in zip(pairs, asked.iter_rows(named=True), strict=True)
    ]
    return pl.concat([empty_raw(), *(frame.select(*RAW_SCHEMA) for frame in frames)])


def empty_raw() -> pl.DataFrame:
    return pl.DataFrame(schema=RAW_SCHEMA)


def race_weather(raw: pl.DataFrame) -> pl.DataFrame:
    """One row per race from its hourly rows (see the module's note on instants and accumulations)."""
    instant = pl.col("time").is_between(pl.col("window_start"), pl.col("window_end"))
    accumulated = (pl.col("time") > pl.col("window_start")) & (pl.col("time") <= pl.col("window_end"))
    window_hours = ((pl.col("window_end") - pl.col("window_start")).dt.total_hours() + 1).first()
    present = pl.col("temperature_2m").filter(instant).is_not_null().sum()
    precipitation = pl.col("precipitation").filter(accumulated)
    rain = pl.col("rain").filter(accumulated)
    table = raw.group_by("season", "round").agg(
        pl.col("circuit_id", "kind", "race_start", "start_assumed", "source", "url", "fetched_at").first(),
        air_temperature=pl.col("temperature_2m").filter(instant).mean(),
        precipitation=pl.when(precipitation.is_not_null().any()).then(precipitation.sum()),
        rain=pl.when(rain.is_not_null().any()).then(rain.sum()),
        wind_speed=pl.col("wind_speed_10m").filter(instant).mean(),
        relative_humidity=pl.col("relative_humidity_2m").filter(instant).mean(),
        missing_hours=(window_hours - present).cast(pl.Int32),
    )
    return (
        table.with_columns(
            season=pl.col("season").cast(pl.Int32),
            issued_at=pl.when(pl.col("kind") == FORECAST).then(pl.col("fetched_at")),
            wet=pl.col("precipitation") >= WET_THRESHOLD_MM,
        )
        .select(*CLEAN_SCHEMA)
        .cast(pl.Schema(CLEAN_SCHEMA))
        .sort("season", "round")
    )


def csv_weather(weather: pl.DataFrame, races: pl.DataFrame) -> pl.DataFrame:
    """A user's table (season, round, air_temperature, wet, wind_speed) in the clean layout: observed for a race
    that was run, forecast for one to come."""
    table = weather.join(
        races.select("season", "round", "circuit_id", "starts_at", "status"), on=["season", "round"]
    ).with_columns(
        kind=pl.when(pl.col("status") == "completed").then(pl.lit(OBSERVED)).otherwise(pl.lit(FORECAST)),
        race_start=pl.col("starts_at"),
        start_assumed=pl.col("starts_at").is_null(),
        wet=pl.col("wet") != 0,
        source=pl.lit("csv"),
    )
    absent = [pl.lit(None, dtype).alias(name) for name, dtype in CLEAN_SCHEMA.items() if name not in table.columns]
    return table.with_columns(absent).select(*CLEAN_SCHEMA).sort("season", "round")


def empty_weather() -> pl.DataFrame:
    return pl.DataFrame(schema=CLEAN_SCHEMA)


def feature_weather(weather: pl.DataFrame, races: pl.DataFrame) -> pl.DataFrame:
    """What a race's features may use: the observed weather of a race that was run, the forecast of the race to
    come. A forecast row of a race since run is never used for it (it was not what happened); nor is an observed
    row for a race still to come (it cannot exist before the race)."""
    wanted = (pl.col("kind") == OBSERVED) & (pl.col("status") == "completed") | (pl.col("kind") == FORECAST) & pl.col(
        "is_next"
    )
    return (
        weather.join(races.select("season", "round", "status", "is_next"), on=["season", "round"])
        .filter(wanted)
        .select("season", "round", "air_temperature", pl.col("wet").cast(pl.Float64), "wind_speed")
    )
