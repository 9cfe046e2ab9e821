"""What "good data" means for each raw and clean table, as Great Expectations suites.

A suite is a query (the frame to validate, which may be derived: one row per race for "exactly one
winner") and the expectations over it. Key and integrity suites are blocking: downstream assets do not
run on data that breaks them. Value-range suites warn: the clean layer has already quarantined rows it
could not read, so what is left out of range is worth a look, not a stop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from f1_pipeline.cleaning.qualifying import QUALIFYING_CONTRACT
from f1_pipeline.cleaning.races import RACES_CONTRACT
from f1_pipeline.cleaning.reference import CIRCUITS_CONTRACT, CONSTRUCTORS_CONTRACT, DRIVERS_CONTRACT
from f1_pipeline.cleaning.results import RACE_RESULTS_CONTRACT, SPRINT_RESULTS_CONTRACT
from f1_pipeline.contracts import ColumnRule, Contract
from f1_pipeline.ergast.flatten import RAW_CONTRACTS
from f1_pipeline.tables import (
    CIRCUITS,
    CONSTRUCTORS,
    DRIVERS,
    QUALIFYING_RESULTS,
    RACE_RESULTS,
    RACES,
    RAW_QUALIFYING,
    RAW_RACES,
    RAW_RESULTS,
    RAW_SPRINT,
    SPRINT_RESULTS,
    Table,
)

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

Lookup = Callable[[str], list[Any]]
"""Runs a one-column query and returns its values: how a suite reads another table's keys."""


@dataclass(frozen=True)
class Suite:
    asset: str
    name: str
    description: str
    query: str
    expectations: Callable[[Lookup], Sequence[Expectation]]
    blocking: bool
    reads: tuple[str, ...] = field(default=())

    @property
    def check_name(self) -> str:
        return f"check_{self.asset}_{self.name}"


def _gxe() -> Any:
    import great_expectations.expectations as gxe

    return gxe


def _not_null(*columns: str) -> list[Expectation]:
    return [_gxe().ExpectColumnValuesToNotBeNull(column=column) for column in columns]


def _keys(key: Sequence[str], not_null: Sequence[str]) -> Callable[[Lookup], list[Expectation]]:
    def build(_: Lookup) -> list[Expectation]:
        return [*_not_null(*not_null), _gxe().ExpectCompoundColumnsToBeUnique(column_list=list(key))]

    return build


def _raw_on_schedule(lookup: Lookup) -> list[Expectation]:
    races = lookup(f"select distinct season || '|' || date || '|' || circuit_id from {RAW_RACES}")
    return [_gxe().ExpectColumnValuesToBeInSet(column="race", value_set=races)]


def _clean_integrity(lookup: Lookup) -> list[Expectation]:
    gxe = _gxe()
    return [
        gxe.ExpectColumnValuesToBeInSet(column="driver_id", value_set=lookup(f"select driver_id from {DRIVERS}")),
        gxe.ExpectColumnValuesToBeInSet(
            column="constructor_id", value_set=lookup(f"select constructor_id from {CONSTRUCTORS}")
        ),
        gxe.ExpectColumnValuesToBeInSet(column="race", value_set=lookup(f"select season || '-' || round from {RACES}")),
    ]


def _exactly(column: str, low: int, high: int | None) -> Callable[[Lookup], list[Expectation]]:
    def build(_: Lookup) -> list[Expectation]:
        return [_gxe().ExpectColumnValuesToBeBetween(column=column, min_value=low, max_value=high)]

    return build


def _no_rows(_: Lookup) -> list[Expectation]:
    return [_gxe().ExpectTableRowCountToEqual(value=0)]


_RACE_OF_ROW = "season || '-' || round as race"
_RAW_RACE_OF_ROW = "season || '|' || date || '|' || circuit_id as race"


def _raw_results_suites(table: Table) -> list[Suite]:
    return [
        Suite(
            table.asset,
            "keys",
            f"{table}: ids present, (season, round, driver, position) unique",
            f"select * from {table}",
            declared_keys(RAW_CONTRACTS[table.qualified]),
            blocking=True,
        ),
        Suite(
            table.asset,
            "on_schedule",
            f"every row of {table} belongs to a race on the schedule",
            f"select {_RAW_RACE_OF_ROW} from {table}",
            _raw_on_schedule,
            blocking=True,
            reads=(RAW_RACES.asset,),
        ),
    ]


def declared_keys(contract: Contract) -> Callable[[Lookup], list[Expectation]]:
    """The contract's required columns present, its key unique (one column's values, or the key's combinations)."""
    required = [column.name for column in contract.columns if column.rule is not None and column.rule.not_null]

    if len(contract.key) != 1:
        return _keys(contract.key, required)

    def build(_: Lookup) -> list[Expectation]:
        return [*_not_null(*required), _gxe().ExpectColumnValuesToBeUnique(column=contract.key[0])]

    return build


def declared_values(contract: Contract) -> Callable[[Lookup], list[Expectation]]:
    """A range per column declared `within` one, a set per column declared with `allowed` values."""

    def build(_: Lookup) -> list[Expectation]:
        gxe = _gxe()
        expectations = []
        for column in contract.columns:
            rule = column.rule or ColumnRule()
            if rule.within is not None:
                low, high = rule.within
                expectations.append(
                    gxe.ExpectColumnValuesToBeBetween(column=column.name, min_value=low, max_value=high)
                )
            if rule.allowed is not None:
                expectations.append(gxe.ExpectColumnValuesToBeInSet(column=column.name, value_set=list(rule.allowed)))
        return expectations

    return build


def _clean_results_suites(table: Table, contract: Contract) -> list[Suite]:
    """Keys (the contract's required columns present, its key unique) and references block; the contract's ranges
    and categories warn."""
    asset = table.asset
    return [
        Suite(
            asset,
            "keys",
            f"{asset}: ids present, key unique",
            f"select * from {table}",
            declared_keys(contract),
            blocking=True,
        ),
        Suite(
            asset,
            "integrity",
            f"{asset} reference known drivers, constructors and races",
            f"select driver_id, constructor_id, {_RACE_OF_ROW} from {table}",
            _clean_integrity,
            blocking=True,
            reads=(DRIVERS.asset, CONSTRUCTORS.asset, RACES.asset),
        ),
        Suite(
            asset,
            "values",
            f"{asset}: positions, points, times in range",
            f"select * from {table}",
            declared_values(contract),
            blocking=False,
        ),
    ]


SUITES: tuple[Suite, ...] = (
    Suite(
        RAW_RACES.asset,
        "keys",
        "schedule rows have season, round, date, circuit; (season, round) unique",
        f"select * from {RAW_RACES}",
        declared_keys(RAW_CONTRACTS[RAW_RACES.qualified]),
        blocking=True,
    ),
    *_raw_results_suites(RAW_RESULTS),
    *_raw_results_suites(RAW_SPRINT),
    Suite(
        RAW_QUALIFYING.asset,
        "keys",
        "qualifying rows have ids; (season, round, driver) unique",
        f"select * from {RAW_QUALIFYING}",
        declared_keys(RAW_CONTRACTS[RAW_QUALIFYING.qualified]),
        blocking=True,
    ),
    Suite(
        RAW_QUALIFYING.asset,
        "on_schedule",
        "every qualifying row belongs to a race on the schedule",
        f"select {_RAW_RACE_OF_ROW} from {RAW_QUALIFYING}",
        _raw_on_schedule,
        blocking=True,
        reads=(RAW_RACES.asset,),
    ),
    Suite(
        DRIVERS.asset,
        "keys",
        "driver ids present and unique",
        f"select * from {DRIVERS}",
        declared_keys(DRIVERS_CONTRACT),
        blocking=True,
    ),
    Suite(
        CONSTRUCTORS.asset,
        "keys",
        "constructor ids present and unique",
        f"select * from {CONSTRUCTORS}",
        declared_keys(CONSTRUCTORS_CONTRACT),
        blocking=True,
    ),
    Suite(
        CIRCUITS.asset,
        "keys",
        "circuit ids present and unique",
        f"select * from {CIRCUITS}",
        declared_keys(CIRCUITS_CONTRACT),
        blocking=True,
    ),
    Suite(
        CIRCUITS.asset,
        "values",
        "coordinates on the globe",
        f"select * from {CIRCUITS}",
        declared_values(CIRCUITS_CONTRACT),
        blocking=False,
    ),
    Suite(
        RACES.asset,
        "keys",
        "(season, round) present and unique",
        f"select * from {RACES}",
        declared_keys(RACES_CONTRACT),
        blocking=True,
    ),
    Suite(
        RACES.asset,
        "values",
        "known statuses, sane rounds",
        f"select * from {RACES}",
        declared_values(RACES_CONTRACT),
        blocking=False,
    ),
    Suite(
        RACES.asset,
        "no_cancelled_races",
        "no race lacks results while a later one has them (a cancellation, or results gone missing)",
        f"select season, round, race_name, date from {RACES} where status = 'cancelled'",
        _no_rows,
        blocking=False,
    ),
    Suite(
        RACES.asset,
        "single_next_race",
        "at most one race is flagged as next",
        f"select count(*) filter (where is_next) as next_races from {RACES}",
        _exactly("next_races", 0, 1),
        blocking=True,
    ),
    *_clean_results_suites(RACE_RESULTS, RACE_RESULTS_CONTRACT),
    Suite(
        RACE_RESULTS.asset,
        "one_winner",
        "exactly one winning car in every completed race",
        f"""select r.season, r.round, count(distinct coalesce(res.number, -1)) filter (where res.finish_position = 1)
                 as winning_cars
             from {RACES} r left join {RACE_RESULTS} res using (season, round)
             where r.status = 'completed' group by all""",
        _exactly("winning_cars", 1, 1),
        blocking=True,
        reads=(RACES.asset,),
    ),
    Suite(
        RACE_RESULTS.asset,
        "completed_races_have_results",
        "every completed race has result rows",
        f"""select r.season, r.round, count(res.driver_id) as result_rows
             from {RACES} r left join {RACE_RESULTS} res using (season, round)
             where r.status = 'completed' group by all""",
        _exactly("result_rows", 1, None),
        blocking=True,
        reads=(RACES.asset,),
    ),
    *_clean_results_suites(SPRINT_RESULTS, SPRINT_RESULTS_CONTRACT),
    *_clean_results_suites(QUALIFYING_RESULTS, QUALIFYING_CONTRACT),
)
