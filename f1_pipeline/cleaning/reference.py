"""Drivers, constructors and circuits: one row per id, with the most recent values the API gave.

Ids are kept exactly as the API writes them (a few genuine Ergast ids contain capitals, such as
`Cannoc`), because the live API and every other table join on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from f1_pipeline.cleaning import quarantine as rules
from f1_pipeline.contracts import REQUIRED, Column, Contract, within
from f1_pipeline.tables import CIRCUITS, CONSTRUCTORS, DRIVERS, Table


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


def _entity(table: Table, id_column: str, *columns: Column) -> Contract:
    """One row per id, present and unique, with the seasons it appears in."""
    return Contract(
        table.qualified,
        table.row,
        (
            Column(id_column, pl.String, "the Ergast id, as the API writes it", REQUIRED),
            Column("first_season", pl.Int32, "the first season it appears in"),
            Column("last_season", pl.Int32, "the last season it appears in"),
            *columns,
        ),
        key=(id_column,),
    )


_WIKIPEDIA = Column("url", pl.String, "its Wikipedia page, as the API gives it")
_NATIONALITY = Column("nationality", pl.String, "nationality, as the API words it")
DRIVERS_CONTRACT = _entity(
    DRIVERS,
    "driver_id",
    Column("code", pl.String, "three-letter code; null for early drivers"),
    Column("permanent_number", pl.Int32, "permanent car number (from 2014); null without one"),
    Column("given_name", pl.String, "given name"),
    Column("family_name", pl.String, "family name"),
    Column("full_name", pl.String, "given and family name"),
    Column("date_of_birth", pl.Date, "date of birth; null when unreadable"),
    _NATIONALITY,
    _WIKIPEDIA,
)
CONSTRUCTORS_CONTRACT = _entity(
    CONSTRUCTORS, "constructor_id", Column("name", pl.String, "the team's name"), _NATIONALITY, _WIKIPEDIA
)
CIRCUITS_CONTRACT = _entity(
    CIRCUITS,
    "circuit_id",
    Column("name", pl.String, "the circuit's name"),
    Column("locality", pl.String, "the town or city of the circuit"),
    Column("country", pl.String, "the circuit's country"),
    Column("latitude", pl.Float64, "latitude in degrees; null when unreadable", within(-90, 90)),
    Column("longitude", pl.Float64, "longitude in degrees; null when unreadable", within(-180, 180)),
    _WIKIPEDIA,
)


Flagged = tuple[pl.DataFrame, pl.DataFrame]
"""(table, quarantine records of values read as null; the rows themselves are kept)."""


def drivers(*entrants: pl.DataFrame) -> Flagged:
    """Every driver seen in results, qualifying or sprints."""
    latest = _latest(entrants, "driver")
    flagged = rules.flag(
        latest,
        "drivers",
        ["driver_id"],
        rules.kept(
            "driver",
            {
                "driver_permanent_number is unreadable": rules.not_int("driver_permanent_number"),
                "driver_date_of_birth is unreadable": rules.not_date("driver_date_of_birth"),
            },
        ),
    )
    return latest.select(
        "driver_id",
        *_SEASONS,
        code=pl.col("driver_code"),
        permanent_number=pl.col("driver_permanent_number").cast(pl.Int32, strict=False),
        given_name=pl.col("driver_given_name"),
        family_name=pl.col("driver_family_name"),
        full_name=pl.concat_str("driver_given_name", "driver_family_name", separator=" ", ignore_nulls=True),
        date_of_birth=rules.as_date("driver_date_of_birth"),
        nationality=pl.col("driver_nationality"),
        url=pl.col("driver_url"),
    ), flagged


def constructors(*entrants: pl.DataFrame) -> pl.DataFrame:
    """Every constructor seen in results, qualifying or sprints."""
    return _latest(entrants, "constructor").select(
        "constructor_id",
        *_SEASONS,
        name=pl.col("constructor_name"),
        nationality=pl.col("constructor_nationality"),
        url=pl.col("constructor_url"),
    )


def circuits(raw_races: pl.DataFrame) -> Flagged:
    """Every circuit on a schedule, with coordinates as numbers (weather is looked up by them)."""
    latest = _latest([raw_races], "circuit")
    flagged = rules.flag(
        latest,
        "circuits",
        ["circuit_id"],
        rules.kept(
            "circuit",
            {
                "circuit_lat is unreadable": rules.not_number("circuit_lat") | rules.outside("circuit_lat", -90, 90),
                "circuit_long is unreadable": rules.not_number("circuit_long")
                | rules.outside("circuit_long", -180, 180),
            },
        ),
    )
    return latest.select(
        "circuit_id",
        *_SEASONS,
        name=pl.col("circuit_name"),
        locality=pl.col("circuit_locality"),
        country=pl.col("circuit_country"),
        latitude=pl.col("circuit_lat").cast(pl.Float64, strict=False),
        longitude=pl.col("circuit_long").cast(pl.Float64, strict=False),
        url=pl.col("circuit_url"),
    ), flagged
