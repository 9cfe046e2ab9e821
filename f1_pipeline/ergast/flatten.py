"""The API's nested rows flattened into tables of strings, one column per API field.

Raw tables keep the API's values as they came (every scalar a string, missing fields null): the
meaning of a value is decided in `f1_pipeline.cleaning`, where it can be tested and quarantined.
The columns are declared rather than discovered, so every season has the same schema even when an
old season lacks a field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import polars as pl

from f1_pipeline.contracts import REQUIRED, Column, Contract
from f1_pipeline.ergast.client import QUALIFYING, RESULTS, SCHEDULE, SPRINT, Endpoint, Fetched
from f1_pipeline.tables import RAW_QUALIFYING, RAW_RACES, RAW_RESULTS, RAW_SPRINT, Table

Path = tuple[str, ...]


def _session(prefix: str, key: str) -> tuple[tuple[str, Path], ...]:
    return ((f"{prefix}_date", (key, "date")), (f"{prefix}_time", (key, "time")))


RACE_COLUMNS: tuple[tuple[str, Path], ...] = (
    ("season", ("season",)),
    ("round", ("round",)),
    ("race_name", ("raceName",)),
    ("race_url", ("url",)),
    ("date", ("date",)),
    ("time", ("time",)),
    ("circuit_id", ("Circuit", "circuitId")),
    ("circuit_name", ("Circuit", "circuitName")),
    ("circuit_url", ("Circuit", "url")),
    ("circuit_lat", ("Circuit", "Location", "lat")),
    ("circuit_long", ("Circuit", "Location", "long")),
    ("circuit_locality", ("Circuit", "Location", "locality")),
    ("circuit_country", ("Circuit", "Location", "country")),
    *_session("first_practice", "FirstPractice"),
    *_session("second_practice", "SecondPractice"),
    *_session("third_practice", "ThirdPractice"),
    *_session("qualifying", "Qualifying"),
    *_session("sprint", "Sprint"),
    *_session("sprint_qualifying", "SprintQualifying"),
    *_session("sprint_shootout", "SprintShootout"),
)

_RACE_CONTEXT: tuple[tuple[str, Path], ...] = (
    ("season", ("season",)),
    ("round", ("round",)),
    ("race_name", ("raceName",)),
    ("date", ("date",)),
    ("circuit_id", ("Circuit", "circuitId")),
)

_ENTRANT: tuple[tuple[str, Path], ...] = (
    ("number", ("number",)),
    ("position", ("position",)),
    ("driver_id", ("Driver", "driverId")),
    ("driver_permanent_number", ("Driver", "permanentNumber")),
    ("driver_code", ("Driver", "code")),
    ("driver_url", ("Driver", "url")),
    ("driver_given_name", ("Driver", "givenName")),
    ("driver_family_name", ("Driver", "familyName")),
    ("driver_date_of_birth", ("Driver", "dateOfBirth")),
    ("driver_nationality", ("Driver", "nationality")),
    ("constructor_id", ("Constructor", "constructorId")),
    ("constructor_url", ("Constructor", "url")),
    ("constructor_name", ("Constructor", "name")),
    ("constructor_nationality", ("Constructor", "nationality")),
)

RESULT_COLUMNS: tuple[tuple[str, Path], ...] = (
    *_RACE_CONTEXT,
    *_ENTRANT,
    ("position_text", ("positionText",)),
    ("points", ("points",)),
    ("grid", ("grid",)),
    ("laps", ("laps",)),
    ("status", ("status",)),
    ("time_millis", ("Time", "millis")),
    ("time", ("Time", "time")),
    ("fastest_lap_rank", ("FastestLap", "rank")),
    ("fastest_lap_lap", ("FastestLap", "lap")),
    ("fastest_lap_time", ("FastestLap", "Time", "time")),
    ("fastest_lap_speed_units", ("FastestLap", "AverageSpeed", "units")),
    ("fastest_lap_speed", ("FastestLap", "AverageSpeed", "speed")),
)

QUALIFYING_COLUMNS: tuple[tuple[str, Path], ...] = (
    *_RACE_CONTEXT,
    *_ENTRANT,
    ("q1", ("Q1",)),
    ("q2", ("Q2",)),
    ("q3", ("Q3",)),
)


def _get(node: Any, path: Path) -> str | None:
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return None if node is None or isinstance(node, (Mapping, list)) else str(node)


def _frame(rows: Iterable[Any], columns: Sequence[tuple[str, Path]]) -> pl.DataFrame:
    data: dict[str, list[Any]] = {name: [] for name, _ in columns}
    for row in rows:
        for name, path in columns:
            data[name].append(_get(row, path))
    return pl.DataFrame(data, schema={name: pl.String for name, _ in columns})


def columns_for(endpoint: Endpoint) -> tuple[tuple[str, Path], ...]:
    if endpoint.rows is None:
        return RACE_COLUMNS
    return QUALIFYING_COLUMNS if endpoint.rows == "QualifyingResults" else RESULT_COLUMNS


def flatten(fetched: Fetched) -> pl.DataFrame:
    """One row per API row; result rows carry their race's season, round, name, date and circuit."""
    endpoint = fetched.endpoint
    columns = columns_for(endpoint)
    if endpoint.rows is None:
        return _frame(fetched.items, columns)
    race_columns = [(name, path) for name, path in columns if (name, path) in _RACE_CONTEXT]
    row_columns = [(name, path) for name, path in columns if (name, path) not in _RACE_CONTEXT]
    rows = ({**_race_context(race, race_columns), **row} for race in fetched.items for row in race[endpoint.rows])
    return _frame(rows, [(name, (name,)) for name, _ in race_columns] + row_columns)


def _race_context(race: Mapping[str, Any], columns: Sequence[tuple[str, Path]]) -> dict[str, str | None]:
    return {name: _get(race, path) for name, path in columns}


_RACE_IDS = ("season", "round", "date", "circuit_id")
_ROW_IDS = (*_RACE_IDS, "driver_id", "constructor_id")


def raw_contract(table: Table, endpoint: Endpoint) -> Contract:
    """The raw table an endpoint fills: each column is the API's text at a place in its answer, which its meaning
    names; the ids a row cannot go without, and the key no two rows share (a shared car's drivers each hold their
    own classification row, so a result's key includes the position)."""
    key: tuple[str, ...]
    required: tuple[str, ...]
    if endpoint.rows is None:
        key, required = ("season", "round"), _RACE_IDS
    elif endpoint.rows == "QualifyingResults":
        key, required = ("season", "round", "driver_id"), _ROW_IDS
    else:
        key, required = ("season", "round", "driver_id", "position"), (*_ROW_IDS, "position")

    def words(name: str, path: Path) -> str:
        inside = endpoint.rows is not None and (name, path) not in _RACE_CONTEXT
        where = f"{endpoint.lists}[].{endpoint.rows}[]." if inside else f"{endpoint.lists}[]."
        return f"the API's `{where}{'.'.join(path)}`, as text"

    return Contract(
        table.qualified,
        table.row,
        tuple(
            Column(name, pl.String, words(name, path), REQUIRED if name in required else None)
            for name, path in columns_for(endpoint)
        ),
        key=key,
    )


RAW_CONTRACTS: dict[str, Contract] = {
    table.qualified: raw_contract(table, endpoint)
    for table, endpoint in (
        (RAW_RACES, SCHEDULE),
        (RAW_RESULTS, RESULTS),
        (RAW_QUALIFYING, QUALIFYING),
        (RAW_SPRINT, SPRINT),
    )
}
"""The raw tables of the Ergast API by qualified name: what their assets' metadata describe and their suites key on."""
