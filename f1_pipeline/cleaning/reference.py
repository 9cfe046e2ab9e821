"""Drivers, constructors and circuits: one row per id, with the most recent values the API gave.

Ids are kept exactly as the API writes them (a few genuine Ergast ids contain capitals, such as
`Cannoc`), because the live API and every other table join on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl


def _latest(frames: Sequence[pl.DataFrame], entity: str) -> pl.DataFrame:
    """One row per `{entity}_id` with its `{entity}_*` columns as last seen in (season, round) order,
    and the first and last season it appears in."""
    key = f"{entity}_id"
    columns = [column for column in frames[0].columns if column.startswith(f"{entity}_")]
    stacked = pl.concat([frame.select("season", "round", *columns) for frame in frames])
    ordered = stacked.with_columns(
        pl.col("season").cast(pl.Int32, strict=False).alias("__season"),
        pl.col("round").cast(pl.Int32, strict=False).alias("__round"),
    ).sort("__season", "__round", nulls_last=False)
    return (
        ordered.filter(pl.col(key).is_not_null() & (pl.col(key) != ""))
        .group_by(key, maintain_order=True)
        .agg(pl.all().last(), first_season=pl.col("__season").min(), last_season=pl.col("__season").max())
        .drop("__season", "__round")
        .sort(key)
    )


_SEASONS = ("first_season", "last_season")


def drivers(*entrants: pl.DataFrame) -> pl.DataFrame:
    """Every driver seen in results, qualifying or sprints."""
    return _latest(entrants, "driver").select(
        "driver_id",
        *_SEASONS,
        code=pl.col("driver_code"),
        permanent_number=pl.col("driver_permanent_number").cast(pl.Int32, strict=False),
        given_name=pl.col("driver_given_name"),
        family_name=pl.col("driver_family_name"),
        full_name=pl.concat_str("driver_given_name", "driver_family_name", separator=" ", ignore_nulls=True),
        date_of_birth=pl.col("driver_date_of_birth").str.to_date(strict=False),
        nationality=pl.col("driver_nationality"),
        url=pl.col("driver_url"),
    )


def constructors(*entrants: pl.DataFrame) -> pl.DataFrame:
    """Every constructor seen in results, qualifying or sprints."""
    return _latest(entrants, "constructor").select(
        "constructor_id",
        *_SEASONS,
        name=pl.col("constructor_name"),
        nationality=pl.col("constructor_nationality"),
        url=pl.col("constructor_url"),
    )


def circuits(raw_races: pl.DataFrame) -> pl.DataFrame:
    """Every circuit on a schedule, with coordinates as numbers (weather is looked up by them)."""
    return _latest([raw_races], "circuit").select(
        "circuit_id",
        *_SEASONS,
        name=pl.col("circuit_name"),
        locality=pl.col("circuit_locality"),
        country=pl.col("circuit_country"),
        latitude=pl.col("circuit_lat").cast(pl.Float64, strict=False),
        longitude=pl.col("circuit_long").cast(pl.Float64, strict=False),
        url=pl.col("circuit_url"),
    )
