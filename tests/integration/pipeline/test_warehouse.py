import duckdb
import polars as pl
import pytest

from f1_pipeline.warehouse import MissingTableError, Warehouse


@pytest.fixture
def store(tmp_path):
    return Warehouse(tmp_path / "nested" / "w.duckdb")


def seasons(*pairs: tuple[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"season": [season for season, _ in pairs], "value": [value for _, value in pairs]})


def test_replacing_partitions_touches_only_those_partitions(store):
    store.replace_partitions("raw.t", seasons(("2020", 1), ("2020", 2), ("2021", 3)), "season", ["2020", "2021"])
    store.replace_partitions("raw.t", seasons(("2021", 30), ("2021", 31)), "season", ["2021"])
    rows = store.query("select season, value from raw.t order by value").rows()
    assert rows == [("2020", 1), ("2020", 2), ("2021", 30), ("2021", 31)]


def test_an_empty_partition_is_cleared(store):
    store.replace_partitions("raw.t", seasons(("2020", 1), ("2021", 2)), "season", ["2020", "2021"])
    store.replace_partitions("raw.t", seasons(), "season", ["2021"])
    assert store.query("select season from raw.t").rows() == [("2020",)]


def test_rows_outside_the_named_partitions_are_refused(store):
    with pytest.raises(ValueError, match="outside partitions"):
        store.replace_partitions("raw.t", seasons(("2019", 1)), "season", ["2020"])


def test_a_failed_write_leaves_the_previous_rows(store):
    store.replace_partitions("raw.t", seasons(("2020", 1)), "season", ["2020"])
    incompatible = pl.DataFrame({"season": ["2020"], "value": ["not a number"]})
    with pytest.raises(duckdb.ConversionException):
        store.replace_partitions("raw.t", incompatible, "season", ["2020"])
    assert store.query("select season, value from raw.t").rows() == [("2020", 1)]


def test_replace_table_and_read_back(store):
    store.replace_table("clean.t", seasons(("2020", 1)))
    store.replace_table("clean.t", seasons(("2021", 2)))
    assert store.read("clean.t").rows() == [("2021", 2)]
    assert store.tables() == {"clean.t"}


def test_reading_a_table_not_yet_written_says_what_to_do(store):
    store.replace_table("clean.t", seasons(("2020", 1)))
    with pytest.raises(MissingTableError, match=r"clean\.missing is not in the warehouse .* materialize it first"):
        store.read("clean.missing")


@pytest.mark.parametrize("name", ["raw.t; drop table x", "a.b.c", "1abc", "t--"])
def test_table_names_are_identifiers_only(store, name):
    with pytest.raises(ValueError, match="not a table name"):
        store.read(name)


def test_rows_without_a_partition_value_are_refused(store):
    with pytest.raises(ValueError, match="without a season"):
        store.replace_partitions("raw.t", seasons(("2020", 1), (None, 2)), "season", ["2020"])


def test_writes_in_one_transaction_land_together_or_not_at_all(store):
    store.replace_table("clean.t", seasons(("2020", 1)))
    with pytest.raises(ValueError, match="outside partitions"), store.transaction() as writes:
        writes.replace_table("clean.t", seasons(("2021", 2)))
        writes.replace_partitions("quality.q", seasons(("2019", 3)), "season", ["2020"])
    assert store.read("clean.t").rows() == [("2020", 1)]
    assert "quality.q" not in store.tables()
