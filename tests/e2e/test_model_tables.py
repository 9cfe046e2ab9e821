"""The ratings, feature, model and prediction tables the graph writes hold what their declarations say, and the
docs' Model tables and Prediction tables pages show: every declared column in its type and order, every value within
its rule, one row per key."""

import pytest

from docs_hooks.table_reference import MODEL_TABLES, PREDICTION_TABLES
from f1_pipeline.contracts import Contract, schema_problems, value_problems
from tests.conftest import warehouse_of


@pytest.mark.parametrize("contract", (*MODEL_TABLES, *PREDICTION_TABLES), ids=lambda contract: contract.name)
def test_a_table_keeps_its_declaration(pipeline, contract: Contract):
    table = warehouse_of(pipeline).query(f"select * from {contract.name}")
    assert schema_problems(table, contract.schema) == []
    assert list(table.columns) == list(contract.schema)
    assert value_problems(table, contract.rules) == []
    assert table.select(contract.key).is_unique().all()
