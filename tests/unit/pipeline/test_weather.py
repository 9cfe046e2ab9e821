"""Race weather on the real calendar: windows, which races are asked where, the clean row against what the server
served, a forecast that gives way to history once the race is run and never reaches a completed race's features;
and a user's CSV, joined to its races or refused with a clear error."""

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import dagster as dg
import httpx
import numpy as np
import polars as pl
import pytest
from pydantic import ValidationError

from f1_pipeline.cleaning.races import races as clean_races
from f1_pipeline.cleaning.reference import circuits as clean_circuits
from f1_pipeline.defs.weather import PLAUSIBLE, read_weather
from f1_pipeline.ergast.bundled import BundledTransport
from f1_pipeline.ergast.client import RESULTS, SCHEDULE, ErgastClient
from f1_pipeline.ergast.ingest import load_seasons
from f1_pipeline.modeling.candidates import Recipe
from f1_pipeline.modeling.feature_matrix import WEATHER_COLUMNS, race_features
from f1_pipeline.modeling.training import Seasons, backtest, recipe_backtest
from f1_pipeline.modeling.weather_ablation import WITHOUT_WEATHER, blank_weather, weather_ablation
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.weather.client import OpenMeteoClient
from f1_pipeline.weather.cost import cost
from f1_pipeline.weather.load import load_planned
from f1_pipeline.weather.tables import WET_THRESHOLD_MM, csv_weather, empty_weather, feature_weather, race_weather
from f1_pipeline.weather.windows import ARCHIVE_DELAY_DAYS, locations, plan, race_windows
from tests.fake_open_meteo import FakeOpenMeteo
from tests.modeling_data import as_next_race, real_features, real_inputs

SEASON = 2021
ROUND = 10  # 2021 British Grand Prix, Silverstone, 2021-07-18 14:00 UTC


@lru_cache(maxsize=1)
def circuits() -> pl.DataFrame:
    raw = load_seasons(ErgastClient(transport=BundledTransport()), SCHEDULE, ["2019", "2020", "2021"]).frame
    return clean_circuits(raw)[0]


def race_date(races: pl.DataFrame, season: int = SEASON, rnd: int = ROUND) -> date:
    return races.filter(season=season, round=rnd)["date"][0]


def fetch(app: FakeOpenMeteo, planned: pl.DataFrame) -> pl.DataFrame:
    transport = httpx.MockTransport(app.handle)
    client = OpenMeteoClient("http://fake/v1/archive", "http://fake/v1/forecast", transport=transport)
    return load_planned(client, planned).frame


def served(variable: str, row: dict, hours: list[datetime]) -> list[float]:
    return [FakeOpenMeteo.value(variable, row["grid_latitude"], row["grid_longitude"], hour) for hour in hours]


def test_a_race_window_runs_two_hours_from_the_start_in_whole_hours():
    windows = race_windows(real_inputs().races, circuits())
    silverstone = windows.filter(season=SEASON, round=ROUND).row(0, named=True)
    assert silverstone["race_start"] == datetime(2021, 7, 18, 14, tzinfo=UTC) and not silverstone["start_assumed"]
    assert (silverstone["window_start"], silverstone["window_end"]) == (
        datetime(2021, 7, 18, 14, tzinfo=UTC),
        datetime(2021, 7, 18, 16, tzinfo=UTC),
    )
    late = (
        real_inputs()
        .races.filter(season=SEASON, round=ROUND)
        .with_columns(starts_at=pl.lit(datetime(2021, 7, 18, 22, 30, tzinfo=UTC)))
    )
    evening = race_windows(late, circuits()).row(0, named=True)
    assert (evening["window_start"], evening["window_end"]) == (
        datetime(2021, 7, 18, 22, tzinfo=UTC),
        datetime(2021, 7, 19, 1, tzinfo=UTC),
    )
    assert (evening["start_date"], evening["end_date"]) == (date(2021, 7, 18), date(2021, 7, 19))


def test_a_race_without_a_start_time_starts_at_two_in_the_afternoon_local_solar_time():
    races = real_inputs().races.filter(season=2019).with_columns(starts_at=pl.lit(None, pl.Datetime("us", "UTC")))
    windows = race_windows(races, circuits()).join(circuits().select("circuit_id", "name"), on="circuit_id")
    start = {row["circuit_id"]: row["race_start"].hour for row in windows.iter_rows(named=True)}
    assert start["albert_park"] == 4  # 14:00 at 145 E is 04:20 UTC; the real 2019 start was 05:10 UTC
    assert start["interlagos"] == 17  # 14:00 at 46.7 W is 17:07 UTC; the real 2019 start was 17:10 UTC
    assert start["silverstone"] == 14
    assert windows["start_assumed"].all()


def test_the_archive_is_asked_for_run_races_and_the_forecast_for_the_next():
    before = as_next_race(real_inputs(), SEASON, ROUND, keep_qualifying=False)
    today = race_date(before.races) - timedelta(days=3)
    planned = plan(race_windows(before.races, circuits()), [SEASON], today)

    assert planned.filter(pl.col("ask") == "forecast").select("season", "round").rows() == [(SEASON, ROUND)]
    observed = planned.filter(pl.col("ask") == "observed")
    assert observed["end_date"].max() <= today - timedelta(days=ARCHIVE_DELAY_DAYS)
    waiting = planned.filter(pl.col("ask").is_null())
    assert waiting["skip_reason"].str.starts_with("the archive covers races until").all()
    assert observed.height + waiting.height == ROUND - 1  # every race run so far, nothing later than the next
    far = plan(race_windows(before.races, circuits()), [SEASON], today - timedelta(days=30))
    assert far.filter(round=ROUND)["skip_reason"][0].startswith("the forecast covers")


def test_a_circuit_without_coordinates_is_skipped_with_the_reason_and_the_other_races_kept():
    unlocated = circuits().with_columns(
        latitude=pl.when(pl.col("circuit_id") == "monza").then(None).otherwise(pl.col("latitude"))
    )
    planned = plan(race_windows(real_inputs().races, unlocated), [SEASON], date(2022, 6, 1))
    skipped = planned.filter(pl.col("ask").is_null())
    assert skipped.select("circuit_id", "skip_reason").rows() == [("monza", "circuit monza has no coordinates")]

    raw = fetch(FakeOpenMeteo(), planned)
    assert raw.select("round").n_unique() == planned.height - 1 == 21
    assert "monza" not in raw["circuit_id"].to_list()


def test_the_clean_row_is_what_the_server_served_over_the_race_window_a_missing_hour_left_out():
    planned = plan(race_windows(real_inputs().races, circuits()), [SEASON], date(2022, 6, 1))
    gap = datetime(2021, 7, 18, 15, tzinfo=UTC)  # inside Silverstone's window (14:00-16:00)
    raw = fetch(FakeOpenMeteo(missing_hours=frozenset({gap})), planned)
    table = race_weather(raw)

    assert table.height == planned.height == 22 and table["kind"].unique().to_list() == ["observed"]
    assert table["issued_at"].is_null().all()
    assert table.filter(pl.col("missing_hours") > 0).select("round", "missing_hours").rows() == [(ROUND, 1)]
    for row in raw.unique(["season", "round"]).iter_rows(named=True):
        clean = table.filter(season=int(row["season"]), round=row["round"]).row(0, named=True)
        steps = int((row["window_end"] - row["window_start"]) / timedelta(hours=1))
        instants = [row["window_start"] + timedelta(hours=h) for h in range(steps + 1)]
        instants = [hour for hour in instants if hour != gap]
        ending_inside = [hour for hour in instants if hour > row["window_start"]]
        temperatures = served("temperature_2m", row, instants)
        precipitation = round(sum(served("precipitation", row, ending_inside)), 6)
        assert clean["air_temperature"] == pytest.approx(sum(temperatures) / len(temperatures))
        assert clean["precipitation"] == pytest.approx(precipitation)
        assert clean["wet"] == (precipitation >= WET_THRESHOLD_MM)
        assert clean["wind_speed"] == pytest.approx(sum(served("wind_speed_10m", row, instants)) / len(instants))
    assert 0 < table["wet"].sum() < table.height  # the fake has wet and dry circuits, and both show


def test_the_forecast_is_replaced_by_history_once_the_race_is_run():
    app = FakeOpenMeteo(forecast_offset=5.0)
    before = as_next_race(real_inputs(), SEASON, ROUND, keep_qualifying=False)
    today = race_date(before.races) - timedelta(days=2)
    forecast = race_weather(fetch(app, plan(race_windows(before.races, circuits()), [SEASON], today)))
    [upcoming] = forecast.filter(round=ROUND).iter_rows(named=True)
    assert upcoming["kind"] == "forecast" and upcoming["issued_at"] is not None

    features = race_features(replace(before, weather=feature_weather(forecast, before.races)))
    next_rows = features.filter(pl.col("is_next"))
    assert next_rows["air_temperature"].unique().to_list() == [upcoming["air_temperature"]]

    after = real_inputs()
    later = race_date(after.races) + timedelta(days=ARCHIVE_DELAY_DAYS + 3)
    history = race_weather(fetch(app, plan(race_windows(after.races, circuits()), [SEASON], later)))
    [observed] = history.filter(round=ROUND).iter_rows(named=True)
    assert observed["kind"] == "observed" and observed["issued_at"] is None
    assert observed["air_temperature"] == pytest.approx(upcoming["air_temperature"] - 5.0)
    run = race_features(replace(after, weather=feature_weather(history, after.races))).filter(
        season=SEASON, round=ROUND
    )
    assert run["air_temperature"].unique().to_list() == [observed["air_temperature"]]


def test_a_forecast_never_reaches_a_completed_races_features():
    inputs = real_inputs()
    rows = pl.DataFrame(
        {
            "season": [SEASON, SEASON],
            "round": [5, 6],
            "kind": ["forecast", "observed"],
            "air_temperature": [30.0, 20.0],
            "wet": [True, False],
            "wind_speed": [3.0, 4.0],
        },
        schema_overrides={"season": pl.Int32, "round": pl.Int32},
    )
    features = race_features(replace(inputs, weather=feature_weather(rows, inputs.races)))
    stale = features.filter(season=SEASON, round=5)
    assert stale.select(WEATHER_COLUMNS).null_count().row(0) == (stale.height,) * 3
    assert features.filter(season=SEASON, round=6)["air_temperature"].unique().to_list() == [20.0]
    assert features.filter(season=SEASON, round=6)["wet"].unique().to_list() == [0.0]


def write(tmp_path, text: str):
    path = tmp_path / "weather.csv"
    path.write_text(text)
    return path


def test_a_weather_file_fills_its_races_and_leaves_the_others_null(tmp_path):
    inputs = real_inputs()
    weather = read_weather(write(tmp_path, "season,round,air_temperature,wet,wind_speed\n2020,5,31.5,0,2.5\n"))
    table = csv_weather(weather, inputs.races)
    assert table.select("kind", "source", "wet").rows() == [("observed", "csv", False)]
    features = race_features(replace(inputs, weather=feature_weather(table, inputs.races)))
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


def test_the_weather_source_is_offline_by_default_and_a_file_goes_with_the_csv_source(tmp_path):
    assert PipelineSettings().weather_source == "none"
    with pytest.raises(ValidationError, match="F1_WEATHER_SOURCE=csv and F1_WEATHER_PATH go together"):
        PipelineSettings(weather_source="csv")
    with pytest.raises(ValidationError, match="F1_WEATHER_SOURCE=csv and F1_WEATHER_PATH go together"):
        PipelineSettings(weather_path=tmp_path / "weather.csv")
    assert PipelineSettings(weather_source="csv", weather_path=tmp_path / "weather.csv").weather_source == "csv"


def test_with_weather_the_backtest_scores_the_candidates_kind_without_it_on_the_same_races():
    plain = real_features()
    assert weather_ablation(plain, Recipe("conditional_logit"), "pre_qualifying") == {}  # no weather: no twin
    race = pl.col("season") * 100 + pl.col("round")
    frame = plain.with_columns(
        air_temperature=(race % 17 + 10).cast(pl.Float64),
        wet=(race % 5 == 0).cast(pl.Float64),
        wind_speed=(race % 7).cast(pl.Float64),
    )
    # A forest: a race's weather is the same for its whole field, so a softmax of a linear score cancels it out.
    recipes = {"pre_qualifying": Recipe("random_forest")}
    predictions = backtest(frame, recipes, Seasons(2019, 2020, 2021))

    def rows(model: str) -> pl.DataFrame:
        return predictions.filter(model=model).select("season", "round", "driver_id").sort(pl.all())

    assert rows(WITHOUT_WEATHER).height > 0 and rows(WITHOUT_WEATHER).equals(rows("candidate"))
    without = recipe_backtest(blank_weather(frame), recipes, Seasons(2019, 2020, 2021))
    twin = predictions.filter(model=WITHOUT_WEATHER).sort("season", "round", "driver_id")
    assert twin["probability"].to_numpy() == pytest.approx(without.sort("season", "round", "driver_id")["probability"])
    with_weather = predictions.filter(model="candidate").sort("season", "round", "driver_id")
    assert not np.allclose(with_weather["probability"].to_numpy(), twin["probability"].to_numpy())


def cost_row(what: str, asked: pl.DataFrame, batch_size: int) -> str:
    spent = cost([locations(asked.filter(ask=kind)) for kind in ("observed", "forecast")], batch_size)
    calls = f"{spent.calls:g}"
    return f"| {what} | {asked.height} | {spent.requests} | {calls} | {spent.throttled_seconds:g} s |"


def test_the_documented_backfill_cost_is_what_the_client_sends_over_the_bundled_calendar():
    seasons = [str(season) for season in range(1950, 2027)]
    bundled = ErgastClient(transport=BundledTransport())
    schedule, results = (load_seasons(bundled, endpoint, seasons).frame for endpoint in (SCHEDULE, RESULTS))
    calendar, _ = clean_races(schedule, results)
    windows = race_windows(calendar, clean_circuits(schedule)[0])
    full = plan(windows, list(range(1950, 2027)), date(2026, 11, 28)).filter(pl.col("ask") == "observed")
    season = plan(windows, [2026], date(2026, 8, 20)).filter(pl.col("ask").is_not_null())
    rows = [
        cost_row("Full backfill 1950-2026, `F1_WEATHER_BATCH_SIZE=100` (default)", full, 100),
        cost_row("Full backfill 1950-2026, `F1_WEATHER_BATCH_SIZE=1000`", full, 1000),
        cost_row("One season, 2026 three days before round 12 (daily refresh)", season, 100),
    ]
    documented = (Path(__file__).resolve().parents[3] / "docs" / "weather.md").read_text()
    for row in rows:
        assert row in documented, row
    assert full.height == windows.filter(pl.col("status") == "completed").height  # every race that was run


def test_without_a_weather_source_the_features_are_those_of_no_weather():
    inputs = real_inputs()
    offline = race_features(replace(inputs, weather=feature_weather(empty_weather(), inputs.races)))
    assert offline.equals(real_features())
    assert offline.select(WEATHER_COLUMNS).null_count().row(0) == (offline.height,) * 3


def test_the_plausible_weather_is_the_ranges_the_weather_table_declares():
    assert PLAUSIBLE == {
        "air_temperature": (-30.0, 55.0),
        "precipitation": (0.0, 300.0),
        "wind_speed": (0.0, 60.0),
        "relative_humidity": (0.0, 100.0),
    }
