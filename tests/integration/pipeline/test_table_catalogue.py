"""The catalogue's writers are the graph's assets: an asset renamed or removed cannot leave a table to nobody."""

from f1_pipeline.definitions import build_definitions
from f1_pipeline.settings import PipelineSettings
from f1_pipeline.tables import CATALOGUE


def test_every_table_is_written_by_an_asset_of_the_graph():
    graph = build_definitions(PipelineSettings()).resolve_asset_graph()
    assets = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        table.qualified: sorted(set(table.writers) - assets) for table in CATALOGUE if set(table.writers) - assets
    } == {}
