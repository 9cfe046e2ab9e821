from collections.abc import Sequence

import pandas as pd
import pytest

from f1_pipeline.practice.suites import PRACTICE_SUITES
from f1_pipeline.quality.expectations import validate
from f1_pipeline.quality.suites import SUITES, Suite


def gxe():
    import great_expectations.expectations as expectations

    return expectations


def test_a_passing_suite():
    frame = pd.DataFrame({"season": [2021, 2021], "round": [1, 2], "driver_id": ["a", "b"]})
    outcome = validate("ok", frame, [gxe().ExpectCompoundColumnsToBeUnique(column_list=["season", "round"])])
    assert outcome.success
    assert outcome.rows == 2


def test_failures_name_the_offending_values():
    frame = pd.DataFrame({"driver_id": ["a", None, "zz"], "points": [25.0, 18.0, 99.0]})
    outcome = validate(
        "broken",
        frame,
        [
            gxe().ExpectColumnValuesToNotBeNull(column="driver_id"),
            gxe().ExpectColumnValuesToBeBetween(column="points", min_value=0, max_value=50),
            gxe().ExpectColumnValuesToBeInSet(column="driver_id", value_set=["a"]),
        ],
    )
    assert not outcome.success
    failed = {item.expectation: (item.unexpected_count, item.sample) for item in outcome.failed}
    assert failed.pop("expect_column_values_to_not_be_null")[0] == 1
    assert failed == {
        "expect_column_values_to_be_between": (1, [99.0]),
        "expect_column_values_to_be_in_set": (1, ["zz"]),
    }
    assert "| expect_column_values_to_be_between | points | NO | 1 | [99.0] |" in outcome.markdown()


def test_suites_cover_every_table_and_gate_keys_and_integrity():
    by_asset: dict[str, set[str]] = {}
    for suite in SUITES:
        by_asset.setdefault(suite.asset, set()).add(suite.name)
        if suite.name in {"keys", "integrity", "on_schedule", "one_winner", "completed_races_have_results"}:
            assert suite.blocking, suite.check_name
        if suite.name == "values":
            assert not suite.blocking, suite.check_name
    assert set(by_asset) == {
        "raw_races",
        "raw_results",
        "raw_qualifying",
        "raw_sprint",
        "races",
        "race_results",
        "sprint_results",
        "qualifying_results",
        "drivers",
        "constructors",
        "circuits",
    }
    assert {"keys", "integrity", "values", "one_winner", "completed_races_have_results"} <= by_asset["race_results"]
    assert len({suite.check_name for suite in SUITES}) == len(SUITES)


def expectations_of(asset: str, name: str, suites: Sequence[Suite] = SUITES) -> set[tuple]:
    """(expectation, column or columns, bounds or allowed values) of each expectation of a suite."""
    suite = next(suite for suite in suites if suite.asset == asset and suite.name == name)
    return {
        (
            expectation.expectation_type,
            getattr(expectation, "column", None) or tuple(getattr(expectation, "column_list", ())),
            tuple(getattr(expectation, "value_set", None) or ())
            or (getattr(expectation, "min_value", None), getattr(expectation, "max_value", None)),
        )
        for expectation in suite.expectations(lambda _: [])
    }


def between(column: str, low: float, high: float) -> tuple:
    return ("expect_column_values_to_be_between", column, (low, high))


def present(*columns: str) -> set[tuple]:
    return {("expect_column_values_to_not_be_null", column, (None, None)) for column in columns}


def unique(*columns: str) -> tuple:
    return ("expect_compound_columns_to_be_unique", columns, (None, None))


@pytest.mark.parametrize("asset", ["race_results", "sprint_results"])
def test_the_result_suites_check_what_the_results_contract_declares(asset):
    categories = ("finished", "lapped", "retired", "disqualified", "did_not_start")
    assert expectations_of(asset, "values") == {
        between("grid", 1, 99),
        between("position_order", 1, 99),
        between("finish_position", 1, 99),
        between("points", 0, 50),
        between("laps", 0, 999),
        ("expect_column_values_to_be_in_set", "status_category", categories),
    }
    assert expectations_of(asset, "keys") == present("season", "round", "driver_id", "constructor_id") | {
        unique("season", "round", "driver_id", "position_order")
    }


def test_the_qualifying_suites_check_what_its_contract_declares():
    assert expectations_of("qualifying_results", "values") == {
        between("position", 1, 99),
        between("best_seconds", 30, 1200),
    }
    assert expectations_of("qualifying_results", "keys") == present(
        "season", "round", "driver_id", "constructor_id"
    ) | {unique("season", "round", "driver_id")}


def test_the_calendar_and_reference_suites_check_what_their_contracts_declare():
    assert expectations_of("races", "keys") == present("season", "round", "date", "circuit_id", "status") | {
        unique("season", "round")
    }
    assert expectations_of("races", "values") == {
        between("round", 1, 40),
        ("expect_column_values_to_be_in_set", "status", ("scheduled", "completed", "cancelled")),
    }
    for asset in ("drivers", "constructors", "circuits"):
        identifier = f"{asset[:-1]}_id"
        assert expectations_of(asset, "keys") == present(identifier) | {
            ("expect_column_values_to_be_unique", identifier, (None, None))
        }
    assert expectations_of("circuits", "values") == {between("latitude", -90, 90), between("longitude", -180, 180)}


def test_the_practice_suites_check_what_its_contract_declares():
    assert expectations_of("practice_results", "keys", PRACTICE_SUITES) == present(
        "season", "round", "session", "driver_id", "position", "constructor_id"
    ) | {unique("season", "round", "session", "driver_id")}
    assert expectations_of("practice_results", "values", PRACTICE_SUITES) == {
        ("expect_column_values_to_be_in_set", "session", ("fp1", "fp2", "fp3", "fp4", "sq")),
        between("time_seconds", 30, 3600),
        between("laps", 0, 300),
    }
