"""What a materialized graph writes is what the catalogue lists: every table, each by the asset it names."""

from f1_pipeline.tables import CATALOGUE
from tests.conftest import warehouse_of


def test_the_materialized_warehouse_holds_exactly_the_catalogued_tables(pipeline):
    assert warehouse_of(pipeline).tables() == {table.qualified for table in CATALOGUE}


def test_each_asset_writes_the_table_its_materialization_names(trained):
    """Every asset that describes a table (`dagster/table_name`) is a writer of it in the catalogue."""
    _, result = trained
    writers = {table.qualified: table.writers for table in CATALOGUE}
    described = {
        (event.asset_key.to_user_string(), event.materialization.metadata["dagster/table_name"].value)
        for event in result.get_asset_materialization_events()
        if "dagster/table_name" in event.materialization.metadata
    }
    assert len(described) >= 20
    assert [(asset, table) for asset, table in sorted(described) if asset not in writers.get(table, ())] == []
