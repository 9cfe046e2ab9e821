"""The ratings and model tables the graph writes hold what their declarations say: every declared column in its
type, every value within its rule, one row per key; the asset metadata in the Dagster UI carries the same words."""

import pytest

from f1_pipeline.contracts import Contract, schema_problems, value_problems
from f1_pipeline.modeling import elo, title_backtest
from tests.conftest import warehouse_of

DECLARED = (elo.HISTORY_CONTRACT, elo.PARAMETERS_CONTRACT, title_backtest.CHECKPOINT_CONTRACT)


@pytest.mark.parametrize("contract", DECLARED, ids=lambda contract: contract.name)
def test_a_model_table_keeps_its_declaration(pipeline, contract: Contract):
    table = warehouse_of(pipeline).query(f"select * from {contract.name}")
    assert schema_problems(table, contract.schema) == []
    assert list(table.columns) == list(contract.schema)
    assert value_problems(table, contract.rules) == []
    assert table.select(contract.key).is_unique().all()
