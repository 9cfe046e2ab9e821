"""What good `clean.practice_results` means, as Great Expectations suites (see `f1_pipeline.quality.suites`).

Keys, references and positions are blocking: features built on practice must not run on a session with a driver
twice, a weekend that is not a race, an id that no source knows, or a broken order. Ranges and completeness warn.
Ids with the `f1db:` prefix (drivers who never started a race) are by design absent from `clean.drivers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from f1_pipeline.practice.cleaning import PRACTICE_CONTRACT
from f1_pipeline.practice.ids import F1DB_PREFIX, ErgastIds
from f1_pipeline.quality.suites import Lookup, Suite, declared_keys, declared_values
from f1_pipeline.tables import CONSTRUCTORS, DRIVERS, PRACTICE_RESULTS, RACES

if TYPE_CHECKING:
    from great_expectations.expectations import Expectation

FASTEST_LAP_SECONDS = (40, 300)
"""Every session's fastest lap since 1988 is 54-170 s; outside this band a time is in the wrong unit or wrong."""
RACE_OF_ROW = "season || '-' || round as race"


def _ergast_id(column: str) -> str:
    """The column, null where it holds an `f1db:` id (null values are not checked against a set)."""
    return f"case when starts_with({column}, '{F1DB_PREFIX}') then null else {column} end as {column}"


def _integrity(lookup: Lookup) -> list[Expectation]:
    """Ids known to the warehouse or to the F1DB-to-Ergast map: a reserve driver may practise in a season that is
    loaded and race only in one that is not (loading 2026 alone: `tsunoda`), which makes the id no less real."""
    import great_expectations.expectations as gxe

    ids = ErgastIds.load()
    drivers = set(lookup(f"select driver_id from {DRIVERS}")) | ids.ergast_drivers()
    constructors = set(lookup(f"select constructor_id from {CONSTRUCTORS}")) | ids.ergast_constructors()
    return [
        gxe.ExpectColumnValuesToBeInSet(column="driver_id", value_set=sorted(drivers)),
        gxe.ExpectColumnValuesToBeInSet(column="constructor_id", value_set=sorted(constructors)),
        gxe.ExpectColumnValuesToBeInSet(column="race", value_set=lookup(f"select season || '-' || round from {RACES}")),
    ]


def _one_to_n(_: Lookup) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeInSet(column="positions_one_to_n", value_set=[True])]


def _fastest(_: Lookup) -> list[Expectation]:
    import great_expectations.expectations as gxe

    low, high = FASTEST_LAP_SECONDS
    return [gxe.ExpectColumnValuesToBeBetween(column="fastest_seconds", min_value=low, max_value=high)]


def _covered(_: Lookup) -> list[Expectation]:
    import great_expectations.expectations as gxe

    return [gxe.ExpectColumnValuesToBeBetween(column="practice_rows", min_value=1)]


PRACTICE_SUITES: tuple[Suite, ...] = (
    Suite(
        PRACTICE_RESULTS.asset,
        "keys",
        "practice rows have season, round, session, driver, constructor and position; one row per driver and session",
        f"select * from {PRACTICE_RESULTS}",
        declared_keys(PRACTICE_CONTRACT),
        blocking=True,
    ),
    Suite(
        PRACTICE_RESULTS.asset,
        "integrity",
        "practice rows reference races on the calendar, and drivers and constructors in the warehouse or the "
        "F1DB-to-Ergast map (f1db: ids aside)",
        f"select {_ergast_id('driver_id')}, {_ergast_id('constructor_id')}, {RACE_OF_ROW} from {PRACTICE_RESULTS}",
        _integrity,
        blocking=True,
        reads=(DRIVERS.asset, CONSTRUCTORS.asset, RACES.asset),
    ),
    Suite(
        PRACTICE_RESULTS.asset,
        "positions",
        "each session's positions are 1..n, once each",
        f"""select season, round, session,
                   max(position) = count(*) and min(position) = 1 and count(distinct position) = count(*)
                     as positions_one_to_n
              from {PRACTICE_RESULTS} group by all""",
        _one_to_n,
        blocking=True,
    ),
    Suite(
        PRACTICE_RESULTS.asset,
        "values",
        "known sessions; best laps of 30 s to an hour; lap counts in range",
        f"select * from {PRACTICE_RESULTS}",
        declared_values(PRACTICE_CONTRACT),
        blocking=False,
    ),
    Suite(
        PRACTICE_RESULTS.asset,
        "fastest_lap_plausible",
        f"each session's fastest lap is {FASTEST_LAP_SECONDS[0]}-{FASTEST_LAP_SECONDS[1]} s",
        f"select season, round, session, min(time_seconds) as fastest_seconds from {PRACTICE_RESULTS} group by all "
        "having count(time_seconds) > 0",
        _fastest,
        blocking=False,
    ),
    Suite(
        PRACTICE_RESULTS.asset,
        "completed_races_have_practice",
        "every completed race since the first season with practice data has practice rows",
        f"""select r.season, r.round, count(p.driver_id) as practice_rows
              from {RACES} r left join {PRACTICE_RESULTS} p using (season, round)
             where r.status = 'completed' and r.season >= (select min(season) from {PRACTICE_RESULTS})
             group by all""",
        _covered,
        blocking=False,
        reads=(RACES.asset,),
    ),
)
