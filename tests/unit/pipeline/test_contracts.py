"""A published table's columns are declared once (`serving_tables.CONTRACTS`), and every artefact that lists them is
derived from that declaration: the schemas and value rules the publication is checked against, the column meanings
of the serving asset's metadata, the API's field descriptions and the docs' table reference. A column declared once
is therefore in all of them, with the same words."""

import polars as pl
import pytest

from f1_pipeline.contracts import Column, ColumnRule, Contract, SumRule, field_docs, reference_markdown
from f1_pipeline.defs.serving import columns_markdown
from f1_pipeline.publication import TABLES
from f1_pipeline.serving_tables import CONTRACTS, SCHEMAS, VALUE_RULES

REQUIRED = ColumnRule(not_null=True)


def test_a_contract_refuses_a_column_declared_twice_or_a_sum_over_an_undeclared_one():
    season = Column("season", pl.Int32, "championship year")
    with pytest.raises(ValueError, match="declares season more than once"):
        Contract("t", "a row", (season, season))
    with pytest.raises(ValueError, match="undeclared columns: mode"):
        Contract("t", "a row", (season,), sums=(SumRule("season", per=("mode",)),))
    with pytest.raises(ValueError, match=r"keyed on undeclared columns: \['round'\]"):
        Contract("t", "a row", (season,), key=("season", "round"))


def test_schema_rules_and_descriptions_come_from_the_columns_in_order():
    contract = Contract(
        "t",
        "a row",
        (
            Column("season", pl.Int32, "championship year", REQUIRED),
            Column("probability", pl.Float64, "P(win)"),
        ),
        sums=(SumRule("probability", per=("season",)),),
    )
    assert list(contract.schema.items()) == [("season", pl.Int32), ("probability", pl.Float64)]
    assert contract.rules.columns == {"season": REQUIRED}
    assert contract.rules.sums == (SumRule("probability", per=("season",)),)
    assert contract.descriptions == {"season": "championship year", "probability": "P(win)"}
    assert contract.column("probability") == Column("probability", pl.Float64, "P(win)")
    with pytest.raises(KeyError, match="the table t declares no column 'round'"):
        contract.column("round")


def test_a_name_with_two_meanings_is_a_field_only_where_a_table_is_chosen():
    race = Contract("results", "a car in a race", (Column("points", pl.Float64, "points scored in the race"),))
    season = Contract("rankings", "a season", (Column("points", pl.Float64, "points scored in the season"),))
    assert field_docs([race, season], choose={}) == {}
    assert field_docs([race, season], choose={"points": "rankings"})["points"].description == (
        "points scored in the season"
    )
    with pytest.raises(ValueError, match="no such column to choose: wins"):
        field_docs([race, season], choose={"wins": "rankings"})


def test_every_published_table_has_a_contract_and_every_column_a_meaning():
    assert [contract.name for contract in CONTRACTS] == list(TABLES)
    assert all(contract.row and column.description for contract in CONTRACTS for column in contract.columns)
    assert {name: list(schema) for name, schema in SCHEMAS.items()} == {
        contract.name: [column.name for column in contract.columns] for contract in CONTRACTS
    }
    assert all(set(VALUE_RULES[name].columns) <= set(SCHEMAS[name]) for name in SCHEMAS)


def test_the_serving_metadata_gives_every_declared_column_its_meaning():
    tables = {name: pl.DataFrame(schema=dict(schema)) for name, schema in SCHEMAS.items()}
    tables["next_race"] = tables["next_race"].with_columns(predicted_at=pl.lit(None, pl.Datetime))
    rows = [line.split(" | ") for line in columns_markdown(tables).splitlines()[2:]]
    meanings = {(table.removeprefix("| "), column): meaning.removesuffix(" |") for table, column, _, meaning in rows}
    for contract in CONTRACTS:
        for column in contract.columns:
            assert meanings[(contract.name, column.name)] == column.description
    assert meanings[("next_race", "predicted_at")] == "", "a column beyond the contract is listed without a meaning"


def test_the_reference_lists_every_column_with_its_type_meaning_and_rule():
    page = reference_markdown(CONTRACTS)
    for contract in CONTRACTS:
        section = page.split(f"## `{contract.name}`\n", 1)[1].split("\n## ", 1)[0]
        rows = [line for line in section.splitlines() if line.startswith("| `")]
        assert [row.split("`")[1] for row in rows] == [column.name for column in contract.columns]
        assert all(column.description in row for column, row in zip(contract.columns, rows, strict=True))
    calendar = page.split("## `calendar`\n", 1)[1]
    assert "| `season` | Int32 | championship year | present, from 1950 to 2100 |" in calendar
    assert (
        "| `date` | Date | race day (local date at the circuit) | present, from 1950-01-01 to 2100-12-31 |" in calendar
    )
    assert "- `probability` sums to 1 per mode, season, round" in page.split("## `next_race`\n", 1)[1]


def test_the_reference_says_a_tables_allowed_values_and_key():
    contract = Contract(
        "results",
        "a car in a race",
        (
            Column("season", pl.Int32, "championship year", REQUIRED),
            Column("status_category", pl.String, "how the race ended", ColumnRule(allowed=("finished", "retired"))),
        ),
        key=("season",),
    )
    page = reference_markdown([contract])
    assert "| `status_category` | String | how the race ended | one of finished, retired |" in page
    assert "- one row per season" in page
