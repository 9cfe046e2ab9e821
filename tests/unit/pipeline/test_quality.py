import pandas as pd

from f1_pipeline.quality.expectations import validate
from f1_pipeline.quality.suites import SUITES


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
