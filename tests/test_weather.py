"""Weather from a user's CSV: joined to its races when given, refused with a clear error when unreadable."""

from dataclasses import replace

import dagster as dg
import polars as pl
import pytest

from f1_pipeline.defs.features import read_weather
from f1_pipeline.modeling.features import WEATHER_COLUMNS, race_features
from tests.modeling_data import real_features, real_inputs


def write(tmp_path, text: str):
    path = tmp_path / "weather.csv"
    path.write_text(text)
    return path


def test_a_weather_file_fills_its_races_and_leaves_the_others_null(tmp_path):
    weather = read_weather(write(tmp_path, "season,round,air_temperature,wet,wind_speed\n2020,5,31.5,0,2.5\n"))
    features = race_features(replace(real_inputs(), weather=weather))
    race = features.filter(season=2020, round=5)
    assert race["air_temperature"].unique().to_list() == [31.5]
    assert race["wet"].unique().to_list() == [0.0]
    others = features.filter(~((pl.col("season") == 2020) & (pl.col("round") == 5)))
    assert others.select(WEATHER_COLUMNS).null_count().row(0) == (others.height,) * 3
    assert features.drop(WEATHER_COLUMNS).equals(real_features().drop(WEATHER_COLUMNS))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("season,round,air_temperature\n2020,5,31\n", "lacks the columns wet, wind_speed"),
        ("season,round,air_temperature,wet,wind_speed\n2020,5,hot,0,1\n", "not a number"),
        ("season,round,air_temperature,wet,wind_speed\n2020,5,30,0,1\n2020,5,31,0,1\n", "more than one row"),
    ],
)
def test_a_bad_weather_file_is_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(dg.Failure, match=message):
        read_weather(write(tmp_path, text))


def test_a_missing_weather_file_is_named(tmp_path):
    with pytest.raises(dg.Failure, match="cannot read the weather file"):
        read_weather(tmp_path / "absent.csv")
