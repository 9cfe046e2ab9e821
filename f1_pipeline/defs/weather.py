"""Weather layer: Open-Meteo's hourly rows around each race (`raw.weather`, per season) and one row per race
(`clean.weather`), or a user's CSV; nothing at all with the offline default, which the metadata says."""

from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

import dagster as dg
import polars as pl

from f1_pipeline.defs.clean import publish, race_label
from f1_pipeline.defs.metadata import markdown_preview, season_coverage, table_metadata
from f1_pipeline.defs.raw import ingestion_retry_policy, raw_layer_asset, replace_history, retried_only_if_recoverable
from f1_pipeline.defs.resources import WarehouseResource, WeatherResource
from f1_pipeline.history_guard import WEATHER_SHAPE
from f1_pipeline.modeling.feature_matrix import WEATHER_COLUMNS
from f1_pipeline.tables import CIRCUITS, RACES, RAW_WEATHER, WEATHER, writers
from f1_pipeline.weather.client import call_weight
from f1_pipeline.weather.load import load_planned
from f1_pipeline.weather.source import NO_WEATHER_REASON
from f1_pipeline.weather.tables import (
    RAW_WEATHER_CONTRACT,
    WEATHER_CONTRACT,
    WET_THRESHOLD_MM,
    csv_weather,
    empty_raw,
    empty_weather,
    race_weather,
)
from f1_pipeline.weather.windows import FORECAST, OBSERVED, locations, plan, race_windows

PLAUSIBLE: dict[str, tuple[float, float]] = {
    column.name: cast(tuple[float, float], column.rule.within)
    for column in WEATHER_CONTRACT.columns
    if column.rule is not None and column.rule.within is not None
}
"""The ranges `clean.weather` declares: bounds no race has ever been run outside of."""


WEATHER_GROUP = "weather"
"""Raw and clean weather in a group of their own: the requests need the clean calendar (dates, circuit coordinates),
so in the `raw` group they would draw `raw` downstream of `clean` in the collapsed lineage."""


def utc_today() -> date:
    """What the archive and the forecast cover depends on the day (tests set it)."""
    return datetime.now(UTC).date()


def raw_weather_asset(retry_policy: dg.RetryPolicy) -> dg.AssetsDefinition:
    @raw_layer_asset(RAW_WEATHER, retry_policy, group_name=WEATHER_GROUP, deps=writers(RACES, CIRCUITS))
    def raw_weather(
        context: dg.AssetExecutionContext, weather: WeatherResource, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        """Open-Meteo's hourly rows on the UTC days of each race's window, untouched, with the request's URL and
        fetch time: the archive for races that were run, the forecast for the next race once within 16 days."""
        seasons = context.partition_keys
        store = warehouse.warehouse()
        if weather.weather_source != "open-meteo":
            store.replace_partitions(RAW_WEATHER, empty_raw(), "season", seasons)
            reason = NO_WEATHER_REASON if weather.weather_source == "none" else "the csv source has no raw rows"
            return dg.MaterializeResult(
                metadata={
                    **table_metadata(RAW_WEATHER, empty_raw(), RAW_WEATHER_CONTRACT.descriptions),
                    "source": weather.weather_source,
                    "reason": reason,
                }
            )
        windows = race_windows(store.read(RACES), store.read(CIRCUITS))
        planned = plan(windows, [int(season) for season in seasons], utc_today())
        with retried_only_if_recoverable():
            batch = load_planned(weather.client(), planned)
        replace_history(context, warehouse, RAW_WEATHER, batch.frame, seasons, WEATHER_SHAPE)
        skipped = planned.filter(pl.col("ask").is_null())
        for season in seasons:
            rows = batch.frame.filter(pl.col("season") == season)
            context.add_asset_metadata(
                {"dagster/row_count": rows.height, "races": rows["round"].n_unique(), "rows": rows.height},
                partition_key=season,
            )
        return dg.MaterializeResult(
            metadata={
                **table_metadata(RAW_WEATHER, batch.frame, RAW_WEATHER_CONTRACT.descriptions),
                "source": weather.weather_source,
                "archive_url": weather.open_meteo_archive_url,
                "forecast_url": weather.open_meteo_forecast_url,
                "fetched_at": dg.MetadataValue.timestamp(batch.fetched_at),
                "seasons_in_run": season_coverage(seasons),
                "requests": len(batch.urls),
                "calls": call_weight(locations(planned.filter(pl.col("ask").is_not_null()))),
                "races_observed": planned.filter(pl.col("ask") == OBSERVED).height,
                "races_forecast": planned.filter(pl.col("ask") == FORECAST).height,
                "races_skipped": skipped.height,
                "skipped": dg.MetadataValue.md(
                    markdown_preview(skipped.select("season", "round", "circuit_id", "skip_reason"), rows=25)
                ),
                "first_request": dg.MetadataValue.url(batch.urls[0]) if batch.urls else "none",
            }
        )

    return raw_weather


def weather_assets(retry_backoff_seconds: float) -> list[dg.AssetsDefinition]:
    """Built from settings, because the fetch step retries like the other raw assets."""
    return [raw_weather_asset(ingestion_retry_policy(retry_backoff_seconds)), weather_table]


@dg.asset(name=WEATHER.asset, deps=writers(RAW_WEATHER, RACES), group_name=WEATHER_GROUP, kinds={"duckdb", "polars"})
def weather_table(weather: WeatherResource, warehouse: WarehouseResource) -> dg.MaterializeResult:
    """One row per race: air temperature, precipitation over the race window, the wet flag, wind and humidity,
    observed (history) or forecast (with when it was fetched). Empty, and says why, without a weather source."""
    store = warehouse.warehouse()
    races = store.read(RACES)
    if weather.weather_source == "none":
        return publish(
            store,
            WEATHER,
            empty_weather(),
            column_docs=WEATHER_CONTRACT.descriptions,
            extra={"source": "none", "reason": NO_WEATHER_REASON},
        )
    if weather.weather_source == "csv":
        table = csv_weather(read_weather(Path(str(weather.weather_path))), races)
    else:
        table = race_weather(store.read(RAW_WEATHER))
    upcoming = table.join(
        races.filter(pl.col("is_next")).select("season", "round", "race_name"), on=["season", "round"]
    )
    return publish(
        store,
        WEATHER,
        table,
        column_docs=WEATHER_CONTRACT.descriptions,
        extra={
            "source": weather.weather_source,
            "observed_races": table.filter(pl.col("kind") == OBSERVED).height,
            "forecast_races": table.filter(pl.col("kind") == FORECAST).height,
            "wet_races": table.filter(pl.col("wet")).height,
            "wet_threshold_mm": WET_THRESHOLD_MM,
            "next_race": race_label(upcoming),
            "next_race_forecast": dg.MetadataValue.md(markdown_preview(upcoming, rows=1)),
        },
    )


def read_weather(path: Path) -> pl.DataFrame:
    """A weather table (season, round, air_temperature, wet, wind_speed), one row per race; a clear error otherwise."""
    try:
        frame = pl.read_csv(path)
    except (OSError, pl.exceptions.PolarsError) as error:
        raise dg.Failure(f"cannot read the weather file {path}: {error}") from error
    missing = [column for column in ("season", "round", *WEATHER_COLUMNS) if column not in frame.columns]
    if missing:
        raise dg.Failure(f"the weather file {path} lacks the columns {', '.join(missing)}")
    try:
        typed = frame.select(
            pl.col("season", "round").cast(pl.Int32), *(pl.col(column).cast(pl.Float64) for column in WEATHER_COLUMNS)
        )
    except pl.exceptions.PolarsError as error:
        raise dg.Failure(f"the weather file {path} has a value that is not a number: {error}") from error
    if typed.select("season", "round").is_duplicated().any():
        raise dg.Failure(f"the weather file {path} has more than one row for a race")
    return typed


@dg.asset_check(asset=weather_table, blocking=True)
def check_weather_one_row_per_race(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Features join weather on the race: a second row would duplicate every driver of that race."""
    table = warehouse.warehouse().read(WEATHER)
    duplicates = table.height - table.select("season", "round").n_unique()
    return dg.AssetCheckResult(passed=duplicates == 0, metadata={"actual": duplicates, "threshold": 0})


@dg.asset_check(asset=weather_table, additional_deps=writers(CIRCUITS))
def check_weather_races_have_coordinates(weather: WeatherResource, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """A race whose circuit has no coordinates cannot be looked up; the other races are kept, and this says which."""
    if weather.weather_source != "open-meteo":
        return dg.AssetCheckResult(passed=True, metadata={"actual": 0, "threshold": 0, "reason": "nothing looked up"})
    store = warehouse.warehouse()
    windows = race_windows(store.read(RACES), store.read(CIRCUITS))
    wanted = (pl.col("status") == "completed") | pl.col("is_next")
    unlocated = windows.filter(wanted & (pl.col("latitude").is_null() | pl.col("longitude").is_null()))
    return races_check(unlocated, ["season", "round", "circuit_id"])


@dg.asset_check(asset=weather_table)
def check_weather_hours_complete(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Every hour of each race window was served; a gap leaves that hour out of the means and sums."""
    table = warehouse.warehouse().read(WEATHER)
    gaps = table.filter(pl.col("missing_hours") > 0)
    return races_check(gaps, ["season", "round", "missing_hours"])


@dg.asset_check(asset=weather_table)
def check_weather_values_plausible(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Values outside what any race has seen mean a broken answer, not weather."""
    table = warehouse.warehouse().read(WEATHER)
    outside = table.filter(pl.any_horizontal(~pl.col(name).is_between(*bounds) for name, bounds in PLAUSIBLE.items()))
    return races_check(outside, ["season", "round", *PLAUSIBLE], threshold=f"0 races outside {PLAUSIBLE}")


def races_check(failing: pl.DataFrame, columns: list[str], threshold: int | str = 0) -> dg.AssetCheckResult:
    """Passes when no race fails; otherwise counts them and shows the first 25 with the columns that say why."""
    return dg.AssetCheckResult(
        passed=failing.is_empty(),
        metadata={
            "actual": failing.height,
            "threshold": threshold,
            "races": dg.MetadataValue.md(markdown_preview(failing.select(*columns), rows=25)),
        },
    )


WEATHER_CHECKS = [
    check_weather_one_row_per_race,
    check_weather_races_have_coordinates,
    check_weather_hours_complete,
    check_weather_values_plausible,
]
