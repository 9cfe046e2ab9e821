"""Metadata previews read well in the Dagster UI: three decimals, plain headers, the latest race first."""

import polars as pl

from f1_pipeline.defs.metadata import latest_first, markdown_preview, other_table_metadata, table_metadata
from f1_pipeline.modeling.training import TUNING_STUDIES_CONTRACT
from f1_pipeline.tables import RACE_RESULTS, TUNING_STUDIES


def test_decimals_are_three_places_and_metric_headers_plain():
    frame = pl.DataFrame({"model": ["candidate"], "log_loss": [1.4912345678901234], "top1": [0.4166666666666667]})
    header, rule, row = markdown_preview(frame).splitlines()
    assert header == "| model | log loss | favourite won |"
    assert rule == "|---|---|---|"
    assert row == "| candidate | 1.491 | 0.417 |"


def test_a_pipe_in_a_value_does_not_break_the_table():
    assert markdown_preview(pl.DataFrame({"status": ["+1 Lap|x"], "n": [None]})).splitlines()[-1] == "| +1 Lap\\|x |  |"


def test_the_preview_of_a_race_table_starts_at_the_latest_race_keeping_the_order_within_it():
    frame = pl.DataFrame(
        {
            "season": [1950, 1950, 2026, 2026, 2025],
            "round": [1, 1, 12, 12, 24],
            "position": [1, 2, 1, 2, 1],
        }
    )
    assert latest_first(frame).rows() == [(2026, 12, 1), (2026, 12, 2), (2025, 24, 1), (1950, 1, 1), (1950, 1, 2)]
    preview = table_metadata(RACE_RESULTS, frame)["preview"].value
    assert preview.splitlines()[2] == "| 2026 | 12 | 1 |"


def test_a_table_without_seasons_keeps_its_order():
    frame = pl.DataFrame({"entity": ["driver", "team"], "log_loss": [0.6, 0.5]})
    assert latest_first(frame).equals(frame)


def test_a_second_table_an_asset_writes_says_what_each_column_means_under_its_own_name():
    studies = pl.DataFrame({"estimator": ["xgboost"], "trials": [3]})
    columns = other_table_metadata(TUNING_STUDIES, studies, TUNING_STUDIES_CONTRACT.descriptions)[
        "tuning_studies_columns"
    ].columns
    assert [(column.name, column.description) for column in columns] == [
        ("estimator", TUNING_STUDIES_CONTRACT.descriptions["estimator"]),
        ("trials", TUNING_STUDIES_CONTRACT.descriptions["trials"]),
    ]
